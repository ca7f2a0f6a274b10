//! The store as callers hold it: one handle over either backend, which also reports the
//! backend's failures (see the module docs of `store`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::types::{NewGrant, StoreError, StoredGrant, Take};
use super::{memory, redis};
use crate::core::clock::now_ms;
use crate::core::grant_id::GrantId;
use crate::core::key::KeyFingerprint;
use crate::core::ledger::{Counts, DayCounts, Row, Subject};
use crate::core::{BuildError, ProxyError};
use crate::metrics::Metrics;

/// Where shared state lives.
#[derive(Debug)]
pub struct StoreSettings {
    /// Redis URLs (one, or a cluster's nodes); empty for the in-process store.
    pub redis_urls: Vec<SecretString>,
    /// Longest wait for the shared store on one operation.
    pub timeout: Duration,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            redis_urls: Vec::new(),
            timeout: Duration::from_millis(250),
        }
    }
}

/// The shared store: see the module docs. Cloning shares it (and, for Redis, this worker's
/// connection); [`Store::for_worker`] gives another worker its own connection.
#[derive(Debug, Clone)]
pub struct Store(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    backend: Backend,
    outages: Arc<Outages>,
}

#[derive(Debug)]
enum Backend {
    /// In this process.
    Memory(Arc<memory::MemoryStore>),
    /// In Redis.
    Redis(redis::RedisStore),
}

/// Failed store operations: counted in `metrics`, logged at most once a second.
#[derive(Debug)]
struct Outages {
    metrics: Arc<Metrics>,
    /// When a failure was last logged (Unix seconds), so a dead store logs once a second, not
    /// once a request.
    warned: AtomicU64,
}

impl Store {
    /// The store `settings` name (Redis when they list URLs, else this process), counting its
    /// failures in `metrics`. Connecting to Redis waits for the first use.
    ///
    /// # Errors
    ///
    /// When a Redis URL cannot be used.
    pub fn new(settings: &StoreSettings, metrics: Arc<Metrics>) -> Result<Self, BuildError> {
        let backend = if settings.redis_urls.is_empty() {
            Backend::Memory(Arc::default())
        } else {
            let urls: Vec<String> = settings
                .redis_urls
                .iter()
                .map(|u| u.expose_secret().to_owned()) // given to the client, never logged
                .collect();
            Backend::Redis(
                redis::RedisStore::new(&urls, settings.timeout)
                    .map_err(|e| BuildError(format!("Redis client: {e}")))?,
            )
        };
        let outages = Arc::new(Outages {
            metrics,
            warned: AtomicU64::new(0),
        });
        Ok(Self(Arc::new(Inner { backend, outages })))
    }

    /// The same store, for another worker (Redis connections are driven by the event loop
    /// that opened them, so each worker opens its own).
    #[must_use]
    pub fn for_worker(&self) -> Self {
        let backend = match &self.0.backend {
            Backend::Memory(m) => Backend::Memory(Arc::clone(m)),
            Backend::Redis(r) => Backend::Redis(r.for_worker()),
        };
        Self(Arc::new(Inner {
            backend,
            outages: Arc::clone(&self.0.outages),
        }))
    }

    /// Logs and counts a failed operation that fails closed; the error to answer with.
    pub fn failed(&self, op: &'static str, e: &StoreError) -> ProxyError {
        self.0.outages.metrics.store_error(op);
        self.warn(e, op);
        ProxyError::StoreUnavailable
    }

    /// Logs and counts a failed operation that fails open: `during` says what stood in.
    pub fn fell_back(&self, e: &StoreError, during: &str) {
        self.0.outages.metrics.store_fallback();
        self.warn(e, during);
    }

    fn warn(&self, e: &StoreError, during: &str) {
        let now = now_ms() / 1000;
        if self.0.outages.warned.swap(now, Ordering::Relaxed) != now {
            tracing::warn!(error = %e, during, "shared store unavailable");
        }
    }

    /// Whether the store is shared with other instances.
    #[must_use]
    pub fn is_shared(&self) -> bool {
        matches!(self.0.backend, Backend::Redis(_))
    }

    /// Stores a new grant, unless its owner already has `live_cap` live ones. `Ok(false)` when
    /// at the cap.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    pub async fn put_grant(&self, grant: NewGrant<'_>) -> Result<bool, StoreError> {
        match &self.0.backend {
            Backend::Memory(m) => Ok(m.put_grant(&grant, now_ms())),
            Backend::Redis(r) => r.put_grant(&grant).await,
        }
    }

    /// The grant `id`, if it is live.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    pub async fn grant(&self, id: GrantId) -> Result<Option<StoredGrant>, StoreError> {
        match &self.0.backend {
            Backend::Memory(m) => Ok(m.grant(id, now_ms())),
            Backend::Redis(r) => r.grant(id).await,
        }
    }

    /// Takes one request from the limited grant `id`, atomically across instances.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    pub async fn take(&self, id: GrantId) -> Result<Take, StoreError> {
        match &self.0.backend {
            Backend::Memory(m) => Ok(m.take(id, now_ms())),
            Backend::Redis(r) => r.take(id).await,
        }
    }

    /// Removes the grant `id` of `owner`. `Ok(false)` when there was none.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    pub async fn revoke(&self, id: GrantId, owner: KeyFingerprint) -> Result<bool, StoreError> {
        match &self.0.backend {
            Backend::Memory(m) => Ok(m.revoke(id, owner)),
            Backend::Redis(r) => r.revoke(id, owner).await,
        }
    }

    /// Removes every grant of `owner`; how many there were.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    pub async fn revoke_all(&self, owner: KeyFingerprint) -> Result<u64, StoreError> {
        match &self.0.backend {
            Backend::Memory(m) => Ok(m.revoke_all(owner)),
            Backend::Redis(r) => r.revoke_all(owner).await,
        }
    }

    /// Checks the store answers (for `/healthz`).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when it does not.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.0.backend {
            Backend::Memory(_) => Ok(()),
            Backend::Redis(r) => r.ping().await,
        }
    }

    /// Takes a token from the shared bucket `name` (`per_minute` requests, refilled evenly);
    /// `Ok(Some(wait))` when none is left. Only Redis has shared buckets: the in-process
    /// backend answers `Ok(None)`, and callers use their own limiter.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    pub async fn hit(&self, name: &str, per_minute: u32) -> Result<Option<Duration>, StoreError> {
        match &self.0.backend {
            Backend::Memory(_) => Ok(None),
            Backend::Redis(r) => r.hit(name, per_minute).await,
        }
    }
}

impl Store {
    /// Adds one answer's `counts` under `row` to each of `subjects`' counters for `day`,
    /// without making the caller wait: at once in this process; in Redis from a spawned task,
    /// after the answer is handed over (a failure is logged and counted).
    pub fn record_usage(&self, subjects: Vec<Subject>, day: u64, row: Row, counts: Counts) {
        match &self.0.backend {
            // In this process: counted at once, no task needed.
            Backend::Memory(_) => self.add_usage_in_memory(&subjects, day, &row, &counts),
            // A meter dropped at shutdown may be in a runtime that is going away, when there is
            // nothing left to record with.
            Backend::Redis(_) => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let store = self.clone();
                    runtime.spawn(async move {
                        store.record_usage_now(&subjects, day, &row, &counts).await;
                    });
                }
            }
        }
    }

    /// As [`Store::record_usage`], done when this returns (for what must read the counters
    /// after: alerts).
    pub async fn record_usage_now(
        &self,
        subjects: &[Subject],
        day: u64,
        row: &Row,
        counts: &Counts,
    ) {
        match &self.0.backend {
            Backend::Memory(_) => self.add_usage_in_memory(subjects, day, row, counts),
            Backend::Redis(redis) => {
                let fields = counts.fields(row);
                for subject in subjects {
                    if let Err(e) = redis.add_usage(subject, day, &fields).await {
                        self.failed("usage", &e);
                    }
                }
            }
        }
    }

    fn add_usage_in_memory(&self, subjects: &[Subject], day: u64, row: &Row, counts: &Counts) {
        if let Backend::Memory(memory) = &self.0.backend {
            for subject in subjects {
                memory.add_usage(subject, day, row, counts);
            }
        }
    }

    /// `subject`'s counters for each of `days` that has any.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    pub async fn usage(
        &self,
        subject: &Subject,
        days: std::ops::RangeInclusive<u64>,
    ) -> Result<Vec<(u64, DayCounts)>, StoreError> {
        match &self.0.backend {
            Backend::Memory(m) => Ok(m.usage(subject, days)),
            Backend::Redis(r) => r.usage(subject, days).await,
        }
    }

    /// `subject`'s priced spend on `day` in `field` (all keys, or the app's), nano-USD.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    pub async fn spend(
        &self,
        subject: &Subject,
        day: u64,
        field: &'static str,
    ) -> Result<i64, StoreError> {
        match &self.0.backend {
            Backend::Memory(m) => Ok(m.spend(subject, day, field)),
            Backend::Redis(r) => r.spend(subject, day, field).await,
        }
    }

    /// Counts one request under `name` in `hour` (hours since the epoch) unless `limit` are
    /// counted already: `Ok(false)` then, and nothing counted.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    pub async fn count_hour(&self, name: &str, hour: u64, limit: u32) -> Result<bool, StoreError> {
        match &self.0.backend {
            Backend::Memory(m) => Ok(m.count_hour(name, hour, limit)),
            Backend::Redis(r) => r.count_hour(name, hour, limit).await,
        }
    }

    /// Marks `name` used for `ttl`: `Ok(true)` the first time, `Ok(false)` while it is
    /// remembered (across instances with Redis).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails (or, in this process, is full of names).
    pub async fn first_use(&self, name: &str, ttl: Duration) -> Result<bool, StoreError> {
        match &self.0.backend {
            Backend::Memory(m) => {
                let now = now_ms();
                let until = now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
                m.first_use(name, now, until)
                    .ok_or_else(|| StoreError("too many names remembered at once".into()))
            }
            Backend::Redis(r) => r.first_use(name, ttl).await,
        }
    }
}
