//! byok-proxy: forwards LLM API requests to allowlisted providers with the caller's own key.
//!
//! The browser sends the user's provider key in `X-BYOK-Key`; the proxy turns it into the
//! provider's auth header, streams the answer back untouched and forgets the key. It never logs
//! a key (the header is marked sensitive before tracing, bodies are never logged, upstream
//! errors are scrubbed), never lets the client choose the upstream host, and never follows a
//! redirect.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = byok_proxy::Settings::default();
//! let listener = tokio::net::TcpListener::bind(settings.listen).await?;
//! let state = byok_proxy::AppState::new(settings)?;
//! byok_proxy::serve(listener, state, std::future::pending()).await;
//! # Ok(()) }
//! ```
//!
//! Routes: `/{provider}/{*path}` (pass-through), `POST /v1/chat/completions` and
//! `POST /v1/embeddings` (unified, `model` = `provider/model`), `POST /byok/test/{provider}`,
//! `/byok/grants` (key grants, see [`grants`]), `GET /byok/usage` (see [`usage`]),
//! `GET /byok/providers`, `GET /healthz`,
//! `GET /metrics`, and the static UI at `/`.
//!
//! State that several instances share (grants, their counters, rate limits, usage) goes through one
//! [`store`]: in this process by default, or Redis.

mod error;
pub mod forward;
mod limits;
mod metrics;
mod pipeline;
mod provider;
mod request_log;
mod routes;
mod serve;
mod upstream;
mod web;

pub mod config;
pub mod grants;
pub mod scrub;
pub mod server_secret;
pub mod store;
pub mod tiers;
pub mod usage;

use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::HeaderMap;
use axum::response::Response;
use secrecy::ExposeSecret;

pub use config::{Args, FallbackPolicy, LogFormat, Settings};
pub use error::ProxyError;
pub use forward::KEY_HEADER;
pub use pipeline::KEY_SOURCE_HEADER;
pub use provider::Provider;
pub use serve::serve;
pub use upstream::BuildError;

use limits::{Bucket, Fingerprinter, KeyFingerprint, RateLimiter, Slots};
use metrics::Metrics;
use store::{Store, StoreError};

/// Locks `mutex`, poisoned or not. Everything behind our locks (counters, rate-limit buckets,
/// idle connections) is updated in steps that leave it consistent, so a panic elsewhere while
/// holding one leaves nothing to repair.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// State of the proxy as one worker sees it: what every worker shares, plus this worker's own
/// provider connections. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    shared: Arc<Shared>,
    /// Pooled connections are driven by the event loop that opened them, so each worker has its
    /// own pool: a request never waits on another thread's connection.
    client: upstream::Client,
    /// This worker's counters (see [`metrics`]).
    counters: Arc<metrics::Shard>,
    /// The shared store, through this worker's own connection.
    store: Store,
}

/// What every request handler shares, across workers.
#[derive(Debug)]
pub struct Shared {
    /// The validated settings.
    pub settings: Settings,
    metrics: Metrics,
    ip_limiter: RateLimiter<IpAddr>,
    key_limiter: RateLimiter<KeyFingerprint>,
    grant_ip_limiter: RateLimiter<IpAddr>,
    grant_key_limiter: RateLimiter<KeyFingerprint>,
    slots: Arc<Slots>,
    /// Open client connections, across workers.
    connections: Arc<Slots>,
    fingerprints: Fingerprinter,
    /// When a store failure was last logged (Unix seconds), so a dead store logs once a second,
    /// not once a request.
    store_warned: AtomicU64,
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.shared
    }
}

impl AppState {
    /// State for `settings`: an HTTP client that ignores system proxies, never follows
    /// redirects and verifies TLS with the platform's roots.
    ///
    /// # Errors
    ///
    /// When the TLS configuration cannot be built, or an upstream base URL is not an absolute
    /// http(s) URL (the configuration checks that first).
    pub fn new(settings: Settings) -> Result<Self, BuildError> {
        // Several crates may race to install a provider; any installed one is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = upstream::client(
            upstream::tls_config(&settings.upstream_roots)?,
            settings.connect_timeout,
            settings.upstream_idle_timeout,
            &settings.upstreams,
        )?;
        let metrics = Metrics::default();
        let store = if settings.redis_urls.is_empty() {
            Store::Memory(Arc::default())
        } else {
            let urls: Vec<String> = settings
                .redis_urls
                .iter()
                .map(|u| u.expose_secret().to_owned()) // given to the client, never logged
                .collect();
            Store::Redis(Arc::new(
                store::redis::RedisStore::new(&urls, settings.store_timeout)
                    .map_err(|e| BuildError(format!("Redis client: {e}")))?,
            ))
        };
        Ok(Self {
            client,
            counters: metrics.shard(),
            store,
            shared: Arc::new(Shared {
                metrics,
                ip_limiter: RateLimiter::new(settings.rate_limit_per_ip),
                key_limiter: RateLimiter::new(settings.rate_limit_per_key),
                grant_ip_limiter: RateLimiter::new(settings.grants.create_per_minute),
                grant_key_limiter: RateLimiter::new(settings.grants.create_per_minute),
                slots: Slots::new(settings.max_concurrent),
                connections: Slots::new(settings.max_connections),
                fingerprints: Fingerprinter::new(settings.secret.fingerprint_key()),
                store_warned: AtomicU64::new(0),
                settings,
            }),
        })
    }

    /// The same shared state (limits, metrics, the concurrency cap) with a connection pool and
    /// counters of its own, for another worker thread.
    #[must_use]
    pub fn for_worker(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            client: self.client.for_worker(),
            counters: self.shared.metrics.shard(),
            store: self.store.for_worker(),
        }
    }

    /// Takes one request from `bucket`'s rate limit: in the shared store when there is one
    /// (so every instance enforces one limit), else in this process. While the store cannot be
    /// reached, this process's limiter stands in (fail open to the local limit, logged and
    /// counted).
    ///
    /// # Errors
    ///
    /// [`ProxyError::RateLimited`] with the time until a request is allowed.
    pub(crate) async fn rate_limit(&self, bucket: Bucket) -> Result<(), ProxyError> {
        let per_minute = match bucket {
            Bucket::Ip(_) => self.settings.rate_limit_per_ip,
            Bucket::Key(_) => self.settings.rate_limit_per_key,
            Bucket::GrantCreateIp(_) | Bucket::GrantCreateKey(_) => {
                self.settings.grants.create_per_minute
            }
        };
        if per_minute == 0 {
            return Ok(());
        }
        if self.store.is_shared() {
            match self.store.hit(&bucket.to_string(), per_minute).await {
                Ok(None) => return Ok(()),
                Ok(Some(wait)) => return Err(ProxyError::RateLimited(wait)),
                Err(e) => {
                    self.metrics.store_fallback();
                    self.warn_store(&e, "rate limit; using this instance's own limiter");
                }
            }
        }
        let now = std::time::Instant::now();
        match bucket {
            Bucket::Ip(ip) => self.ip_limiter.check(ip, now),
            Bucket::Key(kf) => self.key_limiter.check(kf, now),
            Bucket::GrantCreateIp(ip) => self.grant_ip_limiter.check(ip, now),
            Bucket::GrantCreateKey(kf) => self.grant_key_limiter.check(kf, now),
        }
        .map_err(ProxyError::RateLimited)
    }

    /// Logs and counts a failed store operation that fails closed; the error to answer with.
    pub(crate) fn store_failed(&self, op: &'static str, e: &StoreError) -> ProxyError {
        self.metrics.store_error(op);
        self.warn_store(e, op);
        ProxyError::StoreUnavailable
    }

    pub(crate) fn warn_store(&self, e: &StoreError, during: &str) {
        let now = store::now_ms() / 1000;
        if self.store_warned.swap(now, Ordering::Relaxed) != now {
            tracing::warn!(error = %e, during, "shared store unavailable");
        }
    }

    /// Counts `result` in the metrics under `label` and turns it into a response.
    pub(crate) fn finish(
        &self,
        label: &'static str,
        result: Result<Response, ProxyError>,
    ) -> Response {
        routes::finish(self, label, result)
    }

    /// `None` when the store answers, else why not (for `/healthz`).
    pub(crate) async fn store_health(&self) -> Option<String> {
        self.store.ping().await.err().map(|e| e.to_string())
    }

    /// Whether the request authenticates as the app (`Authorization: Bearer <app token>`).
    #[must_use]
    pub fn is_app(&self, headers: &HeaderMap) -> bool {
        let Some(token) = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        self.settings
            .app_tokens
            .iter()
            .any(|t| constant_time_eq(t.expose_secret().as_bytes(), token.trim().as_bytes()))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
