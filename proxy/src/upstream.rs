//! The HTTP client that talks to providers, and the body that relays their answers.
//!
//! hyper's own client, not a higher-level one: the pipeline already does what such clients add
//! (URL building, header policy, timeouts), and the proxy's hot path is just "send these
//! headers and this body to this URI, hand back the answer". What it guarantees:
//!
//! - TLS with rustls (ring) and the platform's root certificates; HTTP/1.1 and HTTP/2 by ALPN.
//! - No proxy from the environment (`HTTP_PROXY` and friends are never read) and no redirects
//!   (hyper's client never follows them; the pipeline turns a 3xx into a 502).
//! - A connect timeout; idle pooled connections closed after 90 s.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls_platform_verifier::BuilderVerifierExt;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use crate::AppState;
use crate::provider::Provider;

/// The client: hyper over rustls, bodies from axum.
pub type Client = hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Body>;

/// Failure to set up the HTTP client.
#[derive(Debug, thiserror::Error)]
#[error("could not build the HTTP client: {0}")]
pub struct BuildError(String);

/// The TLS settings every client shares: rustls with ring and the platform's verifier.
///
/// # Errors
///
/// When the platform's certificate verifier cannot be set up.
pub fn tls_config() -> Result<rustls::ClientConfig, BuildError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map_err(|e| BuildError(e.to_string()))?
        .with_no_client_auth())
}

/// A client as described in the module docs, with its own connection pool.
#[must_use]
pub fn client(tls: rustls::ClientConfig, connect_timeout: Duration) -> Client {
    let mut http = HttpConnector::new();
    // The scheme is checked by the TLS layer (`https_or_http`): only http and https.
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_timer(TokioTimer::new())
        .build(https)
}

/// A provider's answer on its way to the client: frames pass through untouched, bytes are
/// counted, and a gap longer than the idle timeout ends it with an error. Holds a concurrency
/// slot until dropped. Dropping it (the client went away) drops the upstream body, which closes
/// that connection and so cancels the provider's work.
pub struct Relay {
    inner: Incoming,
    state: AppState,
    provider: Provider,
    idle: Duration,
    /// When the last frame arrived; the timer is only re-armed when it fires, not per frame.
    last: Instant,
    timer: Pin<Box<Sleep>>,
    done: bool,
    _permit: OwnedSemaphorePermit,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("provider", &self.provider)
            .field("idle", &self.idle)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// Relays `inner` for `provider`.
    pub fn new(
        state: AppState,
        provider: Provider,
        inner: Incoming,
        permit: OwnedSemaphorePermit,
    ) -> Self {
        let idle = state.settings.idle_timeout;
        let last = Instant::now();
        Self {
            inner,
            state,
            provider,
            idle,
            last,
            timer: Box::pin(tokio::time::sleep_until(last + idle)),
            done: false,
            _permit: permit,
        }
    }

    fn fail(
        &mut self,
        message: &'static str,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.done = true;
        Poll::Ready(Some(Err(std::io::Error::other(message))))
    }
}

impl http_body::Body for Relay {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.state.metrics.bytes(this.provider, data.len());
                }
                this.last = Instant::now();
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(e))) => {
                tracing::warn!(provider = %this.provider, error = %e, "upstream stream failed");
                return this.fail("upstream stream failed");
            }
            Poll::Ready(None) => {
                this.done = true;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        loop {
            ready!(this.timer.as_mut().poll(cx));
            let deadline = this.last + this.idle;
            if Instant::now() < deadline {
                // Frames arrived since the timer was armed: wait for the rest of the gap.
                this.timer.as_mut().reset(deadline);
                continue;
            }
            let idle_ms = u64::try_from(this.idle.as_millis()).unwrap_or(u64::MAX);
            tracing::warn!(provider = %this.provider, idle_ms, "upstream stream idle too long");
            return this.fail("upstream stream idle timeout");
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
