//! The app state: every area built from the settings, once per process, plus what each worker
//! keeps of its own (provider connections, counters, its store connection).
//!
//! Handlers and the pipeline unpack it and hand each area the narrow pieces it needs (`&Store`,
//! a seal key, the plans, a metrics shard); no area below takes the whole state.

use std::ops::Deref;
use std::sync::Arc;

use axum::response::{IntoResponse, Response};

use crate::alerts::Alerts;
use crate::config::Settings;
use crate::core::headers::KEY_SOURCE_NAME;
use crate::core::key::{Fingerprinter, Fingerprints};
use crate::core::{BuildError, ProxyError};
use crate::http::Client;
use crate::http::tls::tls_config;
use crate::limits::{RateLimits, Slots};
use crate::metrics::{Metrics, Shard};
use crate::seal::SealKeys;
use crate::store::Store;
use crate::usage::Ledger;

/// State of the proxy as one worker sees it: what every worker shares, plus this worker's own
/// provider connections. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    shared: Arc<Shared>,
    /// Pooled connections are driven by the event loop that opened them, so each worker has its
    /// own pool: a request never waits on another thread's connection.
    pub(crate) client: Client,
    /// This worker's counters (see [`crate::metrics`]).
    pub(crate) counters: Arc<Shard>,
    /// The shared store, through this worker's own connection.
    pub(crate) store: Store,
    /// Key fingerprints, with this worker's cache of recent ones.
    pub(crate) fingerprints: Arc<Fingerprints>,
}

/// What every request handler shares, across workers.
#[derive(Debug)]
pub struct Shared {
    /// The validated settings.
    pub settings: Settings,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) limits: RateLimits,
    /// Upstream requests in flight, across workers.
    pub(crate) slots: Arc<Slots>,
    /// Open client connections, across workers.
    pub(crate) connections: Arc<Slots>,
    /// Makes each worker's [`Fingerprints`].
    pub(crate) fingerprinter: Fingerprinter,
    /// The keys requests' keys may be sealed to.
    pub(crate) seal_keys: SealKeys,
    /// Webhook alerts (off without a webhook).
    pub(crate) alerts: Alerts,
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.shared
    }
}

impl AppState {
    /// State for `settings`: an HTTP client that ignores system proxies, never follows
    /// redirects and verifies TLS with the platform's roots, and the store they name.
    ///
    /// # Errors
    ///
    /// When the TLS configuration cannot be built, an upstream base URL is not an absolute
    /// http(s) URL (the configuration checks that first), or the Redis client cannot be made.
    pub fn new(settings: Settings) -> Result<Self, BuildError> {
        // Several crates may race to install a provider; any installed one is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::new(&settings.upstream)?;
        let metrics = Arc::new(Metrics::default());
        let store = Store::new(&settings.store, Arc::clone(&metrics))?;
        let fingerprinter = Fingerprinter::new(settings.secret.fingerprint_key());
        let alerts = Alerts::start(
            &settings.alerts,
            settings.secret.alert_claim_key(),
            tls_config(&settings.upstream.extra_roots)?,
            Arc::clone(&metrics),
        )?;
        Ok(Self {
            client,
            counters: metrics.shard(),
            store,
            fingerprints: Arc::new(Fingerprints::new(fingerprinter.clone())),
            shared: Arc::new(Shared {
                limits: RateLimits::new(settings.limits.clone()),
                slots: Slots::new(settings.limits.max_concurrent),
                connections: Slots::new(settings.max_connections),
                fingerprinter: fingerprinter.clone(),
                seal_keys: SealKeys::new(
                    settings.secret.request_seal_key(),
                    settings.seal.rotation.as_secs(),
                ),
                alerts,
                metrics,
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
            fingerprints: Arc::new(Fingerprints::new(self.shared.fingerprinter.clone())),
        }
    }

    /// Where a meter records this worker's usage.
    pub(crate) fn ledger(&self) -> Ledger {
        Ledger {
            store: self.store.clone(),
            prices: Arc::clone(&self.settings.prices),
            counters: Arc::clone(&self.counters),
        }
    }

    /// Turns `result` into the answer and counts it in the metrics under `label` (a provider
    /// id or an endpoint), with the key source it names.
    pub(crate) fn finish(
        &self,
        label: &'static str,
        result: Result<Response, ProxyError>,
    ) -> Response {
        let response = result.unwrap_or_else(IntoResponse::into_response);
        let source = match response
            .headers()
            .get(KEY_SOURCE_NAME)
            .map(|v| v.as_bytes())
        {
            Some(b"user") => "user",
            Some(b"server") => "server",
            Some(b"grant") => "grant",
            _ => "none",
        };
        self.counters
            .request(label, response.status().as_u16(), source);
        response
    }
}
