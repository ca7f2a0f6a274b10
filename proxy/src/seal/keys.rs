//! The proxy's seal keys: one pair per rotation period, derived from the server secret, so
//! instances that share `BYOK_SECRET` publish and accept the same keys without talking.

use std::sync::{Arc, Mutex};

use byok_seal::KeyPair;
use hkdf::Hkdf;
use serde::Serialize;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::core::sync::lock;

/// The seal keys of this proxy: the current period's and the previous one's.
#[derive(Debug)]
pub struct SealKeys {
    root: Zeroizing<[u8; 32]>,
    rotation_secs: u64,
    /// The pairs of the last period asked about (deriving one is an X25519 multiplication).
    cached: Mutex<Option<Arc<Period>>>,
}

/// The pairs in use during one period.
#[derive(Debug)]
pub(super) struct Period {
    index: u64,
    /// The period's own pair, then the previous period's.
    pairs: [KeyPair; 2],
}

/// `GET /byok/seal-key`: what a sealer needs (see the README's "Sealed keys").
#[derive(Debug, Serialize)]
pub struct SealConfig {
    version: u8,
    kem: &'static str,
    kdf: &'static str,
    aead: &'static str,
    max_skew_seconds: u64,
    keys: Vec<PublishedKey>,
}

/// One key of [`SealConfig`].
#[derive(Debug, Serialize)]
struct PublishedKey {
    id: String,
    public_key: String,
    /// The last second it is accepted (Unix seconds).
    not_after: u64,
}

impl SealKeys {
    /// The keys derived from `root` (the server secret's seal root), one per `rotation_secs`
    /// (at least one second).
    #[must_use]
    pub fn new(root: &[u8; 32], rotation_secs: u64) -> Self {
        Self {
            root: Zeroizing::new(*root),
            rotation_secs: rotation_secs.max(1),
            cached: Mutex::new(None),
        }
    }

    /// The pairs accepted at `now` (Unix seconds): this period's, then the previous one's.
    pub(super) fn at(&self, now: u64) -> Arc<Period> {
        let index = now / self.rotation_secs;
        let mut cached = lock(&self.cached);
        match &*cached {
            Some(period) if period.index == index => Arc::clone(period),
            _ => {
                let period = Arc::new(Period {
                    index,
                    pairs: [self.pair(index), self.pair(index.saturating_sub(1))],
                });
                *cached = Some(Arc::clone(&period));
                period
            }
        }
    }

    /// Period `index`'s pair: `DeriveKeyPair` of HKDF-Expand(root, "byok-seal key v1" ‖ index).
    fn pair(&self, index: u64) -> KeyPair {
        let mut ikm = Zeroizing::new([0u8; 32]);
        let mut info = *b"byok-seal key v1\0\0\0\0\0\0\0\0";
        info[16..].copy_from_slice(&index.to_be_bytes());
        Hkdf::<Sha256>::from_prk(self.root.as_ref())
            .unwrap_or_else(|_| unreachable!("32 bytes is a valid PRK for SHA-256"))
            .expand(&info, ikm.as_mut())
            .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF output length"));
        KeyPair::derive(&ikm)
    }

    /// What `GET /byok/seal-key` answers at `now`, with sealers allowed `max_skew` seconds.
    #[must_use]
    pub fn config(&self, now: u64, max_skew: u64) -> SealConfig {
        let period = self.at(now);
        let end = |index: u64| (index + 1).saturating_mul(self.rotation_secs) - 1;
        let keys = period
            .pairs
            .iter()
            .zip([end(period.index + 1), end(period.index)])
            .map(|(pair, not_after)| PublishedKey {
                id: pair.id(),
                public_key: pair.public_key().to_base64(),
                not_after,
            })
            .collect();
        SealConfig {
            version: 1,
            kem: "X25519-HKDF-SHA256",
            kdf: "HKDF-SHA256",
            aead: "ChaCha20-Poly1305",
            max_skew_seconds: max_skew,
            keys,
        }
    }
}

impl Period {
    /// The pair named `id`, if it is one of this period's.
    pub(super) fn pair(&self, id: &str) -> Option<&KeyPair> {
        self.pairs.iter().find(|p| p.id() == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    #[test]
    fn the_same_root_gives_the_same_keys_and_they_rotate_by_period() {
        let a = SealKeys::new(&[5; 32], DAY);
        let b = SealKeys::new(&[5; 32], DAY);
        let other = SealKeys::new(&[6; 32], DAY);
        let now = 20_000 * DAY + 100;
        let (ca, cb) = (a.config(now, 60), b.config(now, 60));
        assert_eq!(ca.keys[0].public_key, cb.keys[0].public_key);
        assert_eq!(ca.keys[1].id, cb.keys[1].id);
        assert_ne!(ca.keys[0].id, ca.keys[1].id);
        assert_ne!(ca.keys[0].id, other.config(now, 60).keys[0].id);
        // A period later, the current key becomes the previous one.
        let next = a.config(now + DAY, 60);
        assert_eq!(next.keys[1].id, ca.keys[0].id);
        assert_eq!(ca.keys[0].not_after, 20_002 * DAY - 1);
        assert_eq!(ca.keys[1].not_after, 20_001 * DAY - 1);
        let period = a.at(now);
        assert!(period.pair(&ca.keys[0].id).is_some());
        assert!(period.pair(&ca.keys[1].id).is_some());
        assert!(a.at(now + 2 * DAY).pair(&ca.keys[0].id).is_none());
    }

    #[test]
    fn the_config_has_the_documented_shape_and_no_private_part() {
        let keys = SealKeys::new(&[5; 32], 3600);
        let json = serde_json::to_value(keys.config(1_700_000_000, 60)).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(json["kem"], "X25519-HKDF-SHA256");
        assert_eq!(json["kdf"], "HKDF-SHA256");
        assert_eq!(json["aead"], "ChaCha20-Poly1305");
        assert_eq!(json["max_skew_seconds"], 60);
        let keys_json = json["keys"].as_array().unwrap();
        assert_eq!(keys_json.len(), 2);
        for key in keys_json {
            assert_eq!(key.as_object().unwrap().len(), 3, "{key}");
            assert_eq!(key["public_key"].as_str().unwrap().len(), 43);
        }
        assert!(!format!("{keys:?}").contains("root: ["), "{keys:?}");
    }
}
