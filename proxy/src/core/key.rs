//! What the proxy knows of a key without keeping it: whose key served a request, and a keyed
//! fingerprint that tells keys apart in logs, limits, usage and grant ownership.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::Mutex;

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::sync::lock;

/// Whose key a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeySource {
    /// The user's, from `X-BYOK-Key`.
    User,
    /// The operator's, from `BYOK_SERVER_KEY_*`.
    Server,
    /// The user's, sealed in a grant.
    Grant,
}

impl KeySource {
    /// The header and metrics value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Server => "server",
            Self::Grant => "grant",
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

/// The fingerprints one worker computed lately, so a key seen again costs two SipHashes
/// instead of an HMAC-SHA256 (about 300 instructions instead of 7,000 in `bench/instructions.sh`,
/// which emulates a CPU without SHA extensions; a few hundred cycles on one with them).
///
/// # Security
///
/// The cache holds no key: entries are found by a 128-bit SipHash of the key under this
/// worker's own random keys (a PRF: without those keys nobody can aim two keys at one entry,
/// and 128 bits make a chance collision negligible), and hold only the fingerprint.
#[derive(Debug)]
pub struct Fingerprints {
    fingerprinter: Fingerprinter,
    halves: (RandomState, RandomState),
    seen: Mutex<HashMap<u128, KeyFingerprint, BuildHasherDefault<Prehashed>>>,
}

/// Entries kept before the cache starts again (16 bytes + 8 each, per worker).
const CACHED: usize = 4096;

impl Fingerprints {
    /// An empty cache over `fingerprinter`.
    #[must_use]
    pub fn new(fingerprinter: Fingerprinter) -> Self {
        Self {
            fingerprinter,
            halves: (RandomState::new(), RandomState::new()),
            seen: Mutex::default(),
        }
    }

    /// The fingerprint of `key` (as [`Fingerprinter::fingerprint`]).
    #[must_use]
    pub fn fingerprint(&self, key: &SecretString) -> KeyFingerprint {
        let bytes = key.expose_secret().as_bytes(); // hashed, never stored
        let id = u128::from(self.halves.0.hash_one(bytes)) << 64
            | u128::from(self.halves.1.hash_one(bytes));
        if let Some(found) = lock(&self.seen).get(&id) {
            return *found;
        }
        let fingerprint = self.fingerprinter.fingerprint(key);
        let mut seen = lock(&self.seen);
        if seen.len() >= CACHED {
            seen.clear();
        }
        seen.insert(id, fingerprint);
        fingerprint
    }
}

/// A hasher for keys that are already uniformly random (the SipHash ids above): it keeps
/// their low 64 bits instead of hashing them again.
#[derive(Debug, Default)]
pub struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is used; any other input still hashes, just not well.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u128(&mut self, id: u128) {
        // The low half of a SipHash output: uniform already. Truncation intended.
        #[allow(clippy::cast_possible_truncation)]
        {
            self.0 = id as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_gives_the_fingerprint_the_hmac_gives_for_every_key_and_stays_bounded() {
        let hmac = Fingerprinter::new(&[3; 32]);
        let cached = Fingerprints::new(hmac.clone());
        for round in 0..2 {
            for i in 0..(CACHED + 10) {
                let key = SecretString::from(format!("sk-proj-{i:08}-abcdefgh"));
                assert_eq!(
                    cached.fingerprint(&key),
                    hmac.fingerprint(&key),
                    "{round} {i}"
                );
            }
        }
        assert!(lock(&cached.seen).len() <= CACHED);
        assert!(!format!("{cached:?}").contains("sk-proj"));
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
