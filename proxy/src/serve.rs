//! Serving connections: the accept loop one worker runs, and graceful shutdown.
//!
//! hyper serves each connection directly (HTTP/1.1, and HTTP/2 by prior knowledge) with the
//! service from [`Routes::service`]: pass-through requests go straight to the pipeline, the
//! rest to the router, all behind the same middleware.
//!
//! Clients are bounded: a request's head must arrive within the header-read timeout (which
//! also closes HTTP/1.1 connections idle that long), and past the connection cap, shared by
//! the workers, a new connection gets a short 503 and is closed without being read.

use std::io;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::MissedTickBehavior;

use crate::api::Routes;
use crate::state::AppState;

/// The most a client connection buffers either way: a request head larger than this is
/// answered 431, and a client reading an answer slower than the provider sends it holds at most
/// this much before the provider is made to wait (hyper's default, ~400 KiB, let a few hundred
/// slow readers hold a hundred MiB). nginx allows 32 KiB of request headers.
const MAX_CLIENT_BUFFER: usize = 64 * 1024;

/// Serves connections accepted from `listener` until `stop` completes, then closes idle
/// connections and waits for those with a request in flight (running streams) to finish.
///
/// Bound that wait from outside (as `byok-proxy` does with its grace period): a stream may run
/// for as long as the provider keeps sending. Accept failures (out of file descriptors, say)
/// pause accepting rather than end serving.
pub async fn serve(listener: TcpListener, state: AppState, stop: impl Future<Output = ()>) {
    let connections = std::sync::Arc::clone(&state.connections);
    let header_read_timeout = state.settings.header_read_timeout;
    let routes = Routes::new(state.clone());
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Head and body copied into one buffer, one write: answers here come in small pieces (SSE
    // events, short JSON), for which that is cheaper than keeping a queue of buffers to write
    // vectored (~400 fewer instructions per request; hyper bounds the buffer).
    builder
        .http1()
        .writev(false)
        .max_buf_size(MAX_CLIENT_BUFFER)
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let mut stop = std::pin::pin!(stop);
    // A timer always due within a second keeps the event loop's next wake-up near. Without it,
    // a request arming its first-byte deadline when no other timer is pending makes tokio
    // interrupt its own loop (an eventfd write, then one more epoll_wait): ~0.2 times per
    // request under load. With it, no such writes, and half the epoll_waits.
    let mut keep_near = tokio::time::interval(Duration::from_secs(1));
    keep_near.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(&err).await;
                    continue;
                }
            },
            _ = keep_near.tick() => {
                state.client.sweep_idle();
                continue;
            }
            () = &mut stop => break,
        };
        let Some(open) = connections.try_take() else {
            state.metrics.connection_refused();
            tokio::spawn(refuse(stream));
            continue;
        };
        // Small writes (SSE events) leave at once instead of waiting for an ACK.
        let _ = stream.set_nodelay(true);
        let service = routes.service(client);
        let connection = builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                // A client that goes away mid-request is routine, not an error of ours.
                tracing::debug!(error = %err, "connection ended");
            }
            drop(open);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The answer to a connection over the cap, written before reading anything.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 129\r\n\r\n\
{\"error\":{\"message\":\"the proxy has too many open connections; retry shortly\",\
\"type\":\"proxy_error\",\"code\":\"too_many_connections\"}}";

/// Answers a connection over the cap with [`REFUSAL`] and closes it, within a second.
///
/// The request is never read. Closing a socket with unread data makes the kernel send a reset,
/// which can destroy the answer before the client reads it; so, as nginx's lingering close
/// does, the write side is shut first and what the client sends is read and dropped until it
/// closes too or the second is up.
async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(REFUSAL).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        io::Result::Ok(())
    })
    .await;
}

/// Waits out an accept failure: a connection that died in the queue is skipped; anything else
/// (out of file descriptors, memory) pauses accepting so running requests can finish.
async fn accept_failed(err: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %err, "cannot accept connections; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::REFUSAL;

    #[test]
    fn the_refusal_is_a_complete_answer() {
        let text = std::str::from_utf8(REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "too_many_connections");
    }
}
