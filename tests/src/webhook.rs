//! A webhook receiver on loopback: records every post (as the fake provider records requests)
//! and answers 200, or
//! starts later on an address given out first (a receiver that comes back).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;

use crate::Recorded;

/// A running (or not yet running) receiver.
#[derive(Debug, Clone)]
pub struct WebhookReceiver {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Recorded>>>,
}

impl WebhookReceiver {
    /// Starts one on a free port.
    ///
    /// # Panics
    ///
    /// If it cannot bind.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let receiver = Self {
            addr: listener.local_addr().expect("addr"),
            received: Arc::default(),
        };
        receiver.serve(listener);
        receiver
    }

    /// An address nothing listens on yet: posts to it are refused until [`Self::come_up`].
    ///
    /// # Panics
    ///
    /// If no port can be had.
    pub async fn not_yet() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        Self {
            addr,
            received: Arc::default(),
        }
    }

    /// Starts listening on the address [`Self::not_yet`] gave out.
    ///
    /// # Panics
    ///
    /// If the address was taken meanwhile.
    pub async fn come_up(&self) {
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("the receiver's port is still free");
        self.serve(listener);
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .fallback(record)
            .with_state(Arc::clone(&self.received));
        tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, app).await;
        });
    }

    /// Its URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}/hooks/byok", self.addr)
    }

    /// Every post so far.
    ///
    /// # Panics
    ///
    /// If the lock was poisoned.
    #[must_use]
    pub fn received(&self) -> Vec<Recorded> {
        self.received.lock().expect("lock").clone()
    }
}

async fn record(
    State(received): State<Arc<Mutex<Vec<Recorded>>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> StatusCode {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    received.lock().expect("lock").push(Recorded {
        peer,
        method: parts.method.to_string(),
        version: format!("{:?}", parts.version),
        uri: parts.uri.to_string(),
        headers: crate::header_pairs(&parts.headers),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    StatusCode::OK
}
