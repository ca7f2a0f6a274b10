//! A provider written against the socket, for what the fake provider's HTTP server hides: it
//! closes a keep-alive connection the moment it has been idle for a set time (as uvicorn does
//! after 5 s), can take its time answering, and counts the connections open to it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const ANSWER: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}";

/// The provider; it stops with the test's runtime.
#[derive(Debug)]
pub struct KeepAliveProvider {
    addr: SocketAddr,
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    open: AtomicUsize,
    opened: AtomicUsize,
    answered: AtomicUsize,
}

impl KeepAliveProvider {
    /// Closes connections idle for `idle`; answers each request after `delay`.
    pub async fn start(idle: Duration, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let counts = Arc::new(Counts::default());
        let shared = Arc::clone(&counts);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let counts = Arc::clone(&shared);
                counts.open.fetch_add(1, Ordering::SeqCst);
                counts.opened.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    serve(stream, idle, delay, &counts).await;
                    counts.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Self { addr, counts }
    }

    /// Its base URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections open now.
    #[must_use]
    pub fn open(&self) -> usize {
        self.counts.open.load(Ordering::SeqCst)
    }

    /// Connections opened so far.
    #[must_use]
    pub fn opened(&self) -> usize {
        self.counts.opened.load(Ordering::SeqCst)
    }

    /// Requests answered so far.
    #[must_use]
    pub fn answered(&self) -> usize {
        self.counts.answered.load(Ordering::SeqCst)
    }
}

/// Answers requests on `stream` until it has been idle for `idle`, then closes it.
async fn serve(mut stream: TcpStream, idle: Duration, delay: Duration, counts: &Counts) {
    let mut buf = Vec::new();
    loop {
        // A request's head and its body (by Content-Length).
        let mut chunk = [0u8; 4096];
        let complete = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    buf.drain(..end + 4 + length);
                    break true;
                }
            }
            match tokio::time::timeout(idle, stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                _ => break false, // idle too long, closed or failed: close
            }
        };
        if !complete {
            return;
        }
        tokio::time::sleep(delay).await;
        if stream.write_all(ANSWER).await.is_err() {
            return;
        }
        counts.answered.fetch_add(1, Ordering::SeqCst);
    }
}
