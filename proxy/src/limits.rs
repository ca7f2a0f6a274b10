//! Rate limits (token buckets per client address and per key fingerprint) and the cap on
//! concurrent upstream requests.
//!
//! With a shared store the buckets live there (see [`RateLimits::take`]); the limiters here
//! are then the fallback while the store cannot be reached.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::core::ProxyError;
use crate::core::key::KeyFingerprint;
use crate::core::sync::lock;
use crate::store::Store;

/// How many requests are allowed.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// Requests per minute per address (0 = off).
    pub per_ip: u32,
    /// Requests per minute per key (0 = off).
    pub per_key: u32,
    /// Grants created per minute, per client address and per key (0 = off).
    pub grant_create: u32,
    /// Upstream requests in flight at once.
    pub max_concurrent: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            per_ip: 600,
            per_key: 600,
            grant_create: 60,
            max_concurrent: 2048,
        }
    }
}

/// Every rate limit of this process: the numbers, and the local buckets that count when no
/// store is shared or it cannot be reached.
#[derive(Debug)]
pub struct RateLimits {
    settings: LimitSettings,
    ip: RateLimiter<IpAddr>,
    key: RateLimiter<KeyFingerprint>,
    grant_ip: RateLimiter<IpAddr>,
    grant_key: RateLimiter<KeyFingerprint>,
}

impl RateLimits {
    /// The limits `settings` set.
    #[must_use]
    pub fn new(settings: LimitSettings) -> Self {
        Self {
            ip: RateLimiter::new(settings.per_ip),
            key: RateLimiter::new(settings.per_key),
            grant_ip: RateLimiter::new(settings.grant_create),
            grant_key: RateLimiter::new(settings.grant_create),
            settings,
        }
    }

    /// The numbers these limits enforce.
    #[must_use]
    pub fn settings(&self) -> &LimitSettings {
        &self.settings
    }

    /// Takes one request from `bucket`'s rate limit: in `store` when it is shared (so every
    /// instance enforces one limit), else in this process. While the store cannot be reached,
    /// this process's limiter stands in (fail open to the local limit, logged and counted).
    ///
    /// # Errors
    ///
    /// [`ProxyError::RateLimited`] with the time until a request is allowed.
    pub async fn take(&self, store: &Store, bucket: Bucket) -> Result<(), ProxyError> {
        let per_minute = match bucket {
            Bucket::Ip(_) => self.settings.per_ip,
            Bucket::Key(_) => self.settings.per_key,
            Bucket::GrantCreateIp(_) | Bucket::GrantCreateKey(_) => self.settings.grant_create,
        };
        if per_minute == 0 {
            return Ok(());
        }
        if store.is_shared() {
            match store.hit(&bucket.to_string(), per_minute).await {
                Ok(None) => return Ok(()),
                Ok(Some(wait)) => return Err(ProxyError::RateLimited(wait)),
                Err(e) => store.fell_back(&e, "rate limit; using this instance's own limiter"),
            }
        }
        let now = Instant::now();
        match bucket {
            Bucket::Ip(ip) => self.ip.check(ip, now),
            Bucket::Key(kf) => self.key.check(kf, now),
            Bucket::GrantCreateIp(ip) => self.grant_ip.check(ip, now),
            Bucket::GrantCreateKey(kf) => self.grant_key.check(kf, now),
        }
        .map_err(ProxyError::RateLimited)
    }
}

/// The cap on concurrent upstream requests, shared by all workers. It never makes a request
/// wait: one over the cap is refused. (tokio's `Semaphore` takes a lock on every release to
/// wake waiters, which never exist here.)
#[derive(Debug)]
pub struct Slots {
    in_use: AtomicUsize,
    max: usize,
}

/// One taken slot, given back when dropped.
#[derive(Debug)]
pub struct Slot(Arc<Slots>);

impl Slots {
    /// A cap of `max` concurrent requests.
    #[must_use]
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            in_use: AtomicUsize::new(0),
            max,
        })
    }

    /// A slot, unless all `max` are taken.
    #[must_use]
    pub fn try_take(self: &Arc<Self>) -> Option<Slot> {
        if self.in_use.fetch_add(1, Ordering::Acquire) >= self.max {
            self.in_use.fetch_sub(1, Ordering::Release);
            return None;
        }
        Some(Slot(Arc::clone(self)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.in_use.fetch_sub(1, Ordering::Release);
    }
}

/// Entries kept before idle buckets are pruned.
const PRUNE_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct TokenBucket {
    tokens: f64,
    updated: Instant,
}

/// A token bucket per key: `per_minute` requests, refilled evenly, bursting up to the same.
#[derive(Debug)]
pub struct RateLimiter<K> {
    per_minute: u32,
    buckets: Mutex<HashMap<K, TokenBucket>>,
}

impl<K: Eq + Hash> RateLimiter<K> {
    /// A limiter of `per_minute` requests; 0 allows everything.
    #[must_use]
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key` at `now`.
    ///
    /// # Errors
    ///
    /// How long until a token is available.
    pub fn check(&self, key: K, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let mut buckets = lock(&self.buckets);
        if buckets.len() >= PRUNE_AT {
            let full_after = Duration::from_secs_f64(60.0);
            buckets.retain(|_, b| now.duration_since(b.updated) < full_after);
        }
        let bucket = buckets.entry(key).or_insert(TokenBucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec))
        }
    }
}

/// What a rate limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Requests from one client address.
    Ip(IpAddr),
    /// Requests with one key.
    Key(KeyFingerprint),
    /// Grants created from one client address.
    GrantCreateIp(IpAddr),
    /// Grants created for one key.
    GrantCreateKey(KeyFingerprint),
}

impl std::fmt::Display for Bucket {
    /// The bucket's name in a shared store.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ip(ip) => write!(f, "ip:{ip}"),
            Self::Key(kf) => write!(f, "key:{kf}"),
            Self::GrantCreateIp(ip) => write!(f, "grant-ip:{ip}"),
            Self::GrantCreateKey(kf) => write!(f, "grant-key:{kf}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_given_back_when_dropped() {
        let slots = Slots::new(2);
        let a = slots.try_take().unwrap();
        let b = slots.try_take().unwrap();
        assert!(slots.try_take().is_none(), "a third over a cap of two");
        assert!(slots.try_take().is_none(), "a refusal takes nothing");
        drop(a);
        let c = slots.try_take().unwrap();
        assert!(slots.try_take().is_none());
        drop((b, c));
        assert_eq!(slots.in_use.load(Ordering::Relaxed), 0);
        assert!(Slots::new(0).try_take().is_none());
    }

    #[test]
    fn bucket_allows_a_burst_then_refills() {
        let limiter = RateLimiter::new(60);
        let t0 = Instant::now();
        for _ in 0..60 {
            limiter.check("a", t0).unwrap();
        }
        let wait = limiter.check("a", t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900));
        assert!(limiter.check("b", t0).is_ok(), "keys are independent");
        assert!(limiter.check("a", t0 + Duration::from_secs(1)).is_ok());
        assert!(RateLimiter::new(0).check("x", t0).is_ok());
    }
}
