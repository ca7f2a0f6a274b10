//! Shared state: grant records, their request counters and rate-limit buckets, behind one
//! interface with two backends.
//!
//! - [`memory`]: in this process (the default; `make run` needs nothing else). State dies with
//!   the process and is not shared with other instances.
//! - [`redis`]: a Redis server or Redis Cluster (`BYOK_REDIS_URL`), so several instances honour
//!   each other's grants and enforce one set of limits.
//!
//! Every read-modify-write is one atomic step in the backend (a Lua script in Redis, one lock
//! here). Callers choose what a failure means: grant operations fail closed (503
//! `store_unavailable`), rate limits fall back to this process's own limiter.
//!
//! Nothing secret is ever given to a store: grant records are sealed (see
//! [`crate::grants`]), and keys are named by grant id or key fingerprint.

pub mod memory;
pub mod redis;

use std::sync::Arc;
use std::time::Duration;

use crate::grants::GrantId;
use crate::limits::KeyFingerprint;
use crate::usage::{Counts, Row, Subject};

/// A day's counters for one subject: `(field, value)` (see [`crate::usage::counts`]).
pub type DayCounts = Vec<(String, i64)>;

/// The store could not be used (unreachable, timed out, answered an error). The reason is for
/// logs, never for clients.
#[derive(Debug, thiserror::Error)]
#[error("store unavailable: {0}")]
pub struct StoreError(pub String);

/// The outcome of taking one request from a limited grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Taken; this many are left.
    Taken(u64),
    /// None left.
    Exhausted,
    /// The grant is gone (revoked or expired).
    Gone,
}

/// A grant as stored: its sealed record, and the requests left when it is limited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGrant {
    /// The sealed record ([`crate::grants::record`]).
    pub record: String,
    /// Requests left; `None` when unlimited.
    pub left: Option<u64>,
}

/// A new grant to store.
#[derive(Debug, Clone)]
pub struct NewGrant<'a> {
    /// Its id.
    pub id: GrantId,
    /// Whose key it seals.
    pub owner: KeyFingerprint,
    /// The sealed record.
    pub record: &'a str,
    /// Requests allowed; `None` when unlimited.
    pub max_requests: Option<u32>,
    /// When it expires, Unix milliseconds: the store forgets it then.
    pub expires_at_ms: u64,
    /// The most live grants one key may have.
    pub live_cap: u32,
}

/// The shared store: see the module docs. Cloning shares it (and, for Redis, this worker's
/// connection); [`Store::for_worker`] gives another worker its own connection.
#[derive(Debug, Clone)]
pub enum Store {
    /// In this process.
    Memory(Arc<memory::MemoryStore>),
    /// In Redis.
    Redis(Arc<redis::RedisStore>),
}

impl Store {
    /// The same store, for another worker (Redis connections are driven by the event loop
    /// that opened them, so each worker opens its own).
    #[must_use]
    pub fn for_worker(&self) -> Self {
        match self {
            Self::Memory(m) => Self::Memory(Arc::clone(m)),
            Self::Redis(r) => Self::Redis(Arc::new(r.for_worker())),
        }
    }

    /// Whether the store is shared with other instances.
    #[must_use]
    pub fn is_shared(&self) -> bool {
        matches!(self, Self::Redis(_))
    }

    /// Stores a new grant, unless its owner already has `live_cap` live ones. `Ok(false)` when
    /// at the cap.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    pub async fn put_grant(&self, grant: NewGrant<'_>) -> Result<bool, StoreError> {
        match self {
            Self::Memory(m) => Ok(m.put_grant(&grant, now_ms())),
            Self::Redis(r) => r.put_grant(&grant).await,
        }
    }

    /// The grant `id`, if it is live.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    pub async fn grant(&self, id: GrantId) -> Result<Option<StoredGrant>, StoreError> {
        match self {
            Self::Memory(m) => Ok(m.grant(id, now_ms())),
            Self::Redis(r) => r.grant(id).await,
        }
    }

    /// Takes one request from the limited grant `id`, atomically across instances.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    pub async fn take(&self, id: GrantId) -> Result<Take, StoreError> {
        match self {
            Self::Memory(m) => Ok(m.take(id, now_ms())),
            Self::Redis(r) => r.take(id).await,
        }
    }

    /// Removes the grant `id` of `owner`. `Ok(false)` when there was none.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    pub async fn revoke(&self, id: GrantId, owner: KeyFingerprint) -> Result<bool, StoreError> {
        match self {
            Self::Memory(m) => Ok(m.revoke(id, owner)),
            Self::Redis(r) => r.revoke(id, owner).await,
        }
    }

    /// Removes every grant of `owner`; how many there were.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    pub async fn revoke_all(&self, owner: KeyFingerprint) -> Result<u64, StoreError> {
        match self {
            Self::Memory(m) => Ok(m.revoke_all(owner)),
            Self::Redis(r) => r.revoke_all(owner).await,
        }
    }

    /// Checks the store answers (for `/healthz`).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when it does not.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Self::Memory(_) => Ok(()),
            Self::Redis(r) => r.ping().await,
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
        match self {
            Self::Memory(_) => Ok(None),
            Self::Redis(r) => r.hit(name, per_minute).await,
        }
    }
}

impl Store {
    /// Adds one answer's `counts` to `subject`'s counters for `day`, atomically.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    pub async fn add_usage(
        &self,
        subject: &Subject,
        day: u64,
        row: &Row,
        counts: &Counts,
    ) -> Result<(), StoreError> {
        match self {
            Self::Memory(m) => {
                m.add_usage(subject, day, row, counts);
                Ok(())
            }
            Self::Redis(r) => r.add_usage(subject, day, &counts.fields(row)).await,
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
        match self {
            Self::Memory(m) => Ok(m.usage(subject, days)),
            Self::Redis(r) => r.usage(subject, days).await,
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
        match self {
            Self::Memory(m) => Ok(m.spend(subject, day, field)),
            Self::Redis(r) => r.spend(subject, day, field).await,
        }
    }

    /// Counts one request under `name` in `hour` (hours since the epoch) unless `limit` are
    /// counted already: `Ok(false)` then, and nothing counted.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    pub async fn count_hour(&self, name: &str, hour: u64, limit: u32) -> Result<bool, StoreError> {
        match self {
            Self::Memory(m) => Ok(m.count_hour(name, hour, limit)),
            Self::Redis(r) => r.count_hour(name, hour, limit).await,
        }
    }
}

/// Now, in Unix milliseconds.
#[must_use]
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
