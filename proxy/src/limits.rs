//! Rate limits (token buckets per client address and per key fingerprint), the cap on
//! concurrent upstream requests, and key fingerprints.
//!
//! With a shared store the buckets live there (see [`crate::AppState::rate_limit`]); the
//! limiters here are then the fallback while the store cannot be reached.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::lock;

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

/// A keyed hash of an API key: lets logs, rate limits and grant ownership tell keys apart
/// without revealing them. Keyed from the server secret, so instances sharing it agree.
#[derive(Clone)]
pub struct Fingerprinter {
    /// HMAC-SHA256 already keyed with the secret: each fingerprint clones it, so the key
    /// schedule is computed once per process rather than once per request.
    keyed: Hmac<Sha256>,
}

/// The first 8 bytes of a key's HMAC; shown as `kf_` and 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyFingerprint([u8; 8]);

impl std::fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("kf_")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fingerprinter([REDACTED])")
    }
}

impl std::str::FromStr for KeyFingerprint {
    type Err = ();

    /// Reads `kf_` and 16 hex digits, as [`Display`](std::fmt::Display) writes it.
    fn from_str(s: &str) -> Result<Self, ()> {
        let digits = s.strip_prefix("kf_").filter(|h| h.len() == 16).ok_or(())?;
        let mut bytes = [0u8; 8];
        hex::decode_to_slice(digits, &mut bytes).map_err(|_| ())?;
        Ok(Self(bytes))
    }
}

impl Fingerprinter {
    /// A fingerprinter keyed with `key` (from the server secret).
    #[must_use]
    pub fn new(key: &[u8; 32]) -> Self {
        // HMAC accepts keys of any length.
        let keyed = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        Self { keyed }
    }

    /// The fingerprint of `key`.
    #[must_use]
    pub fn fingerprint(&self, key: &SecretString) -> KeyFingerprint {
        let mut mac = self.keyed.clone();
        mac.update(key.expose_secret().as_bytes()); // hashed, never stored
        let digest = mac.finalize().into_bytes();
        let mut short = [0u8; 8];
        short.copy_from_slice(&digest[..8]);
        KeyFingerprint(short)
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

    #[test]
    fn fingerprints_are_stable_per_process_and_reveal_nothing() {
        let f = Fingerprinter::new(&[1; 32]);
        let key = SecretString::from("sk-proj-abcdefghijklmnop");
        let a = f.fingerprint(&key);
        assert_eq!(a, f.fingerprint(&key));
        assert_eq!(
            a,
            Fingerprinter::new(&[1; 32]).fingerprint(&key),
            "same secret, same print"
        );
        assert_ne!(a, Fingerprinter::new(&[2; 32]).fingerprint(&key));
        assert_ne!(
            a,
            f.fingerprint(&SecretString::from("sk-proj-abcdefghijklmnoq"))
        );
        let shown = a.to_string();
        assert!(shown.starts_with("kf_"), "{shown}");
        assert_eq!(shown.len(), 19);
        assert!(shown[3..].bytes().all(|b| b.is_ascii_hexdigit()), "{shown}");
        assert!(!shown.contains("abcd"));
        assert_eq!(shown.parse::<KeyFingerprint>(), Ok(a));
        for bad in [
            "",
            "kf_",
            "kf_0123",
            "xx_0011223344556677",
            "kf_00112233445566zz",
        ] {
            assert!(bad.parse::<KeyFingerprint>().is_err(), "{bad}");
        }
    }
}
