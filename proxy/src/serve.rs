//! Serving connections: the accept loop one worker runs, and graceful shutdown.
//!
//! hyper serves each connection directly (HTTP/1.1, and HTTP/2 by prior knowledge) with the
//! service from [`Routes::service`]: pass-through requests go straight to the pipeline, the
//! rest to the router, all behind the same middleware.

use std::io;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::time::MissedTickBehavior;

use crate::AppState;
use crate::routes::Routes;

/// Serves connections accepted from `listener` until `stop` completes, then closes idle
/// connections and waits for those with a request in flight (running streams) to finish.
///
/// Bound that wait from outside (as `byok-proxy` does with its grace period): a stream may run
/// for as long as the provider keeps sending. Accept failures (out of file descriptors, say)
/// pause accepting rather than end serving.
pub async fn serve(listener: TcpListener, state: AppState, stop: impl Future<Output = ()>) {
    let routes = Routes::new(state);
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Head and body copied into one buffer, one write: answers here come in small pieces (SSE
    // events, short JSON), for which that is cheaper than keeping a queue of buffers to write
    // vectored (~400 fewer instructions per request; hyper bounds the buffer).
    builder.http1().writev(false);
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
            _ = keep_near.tick() => continue,
            () = &mut stop => break,
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
        });
    }
    drop(listener);
    graceful.shutdown().await;
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
