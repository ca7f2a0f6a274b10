//! What the proxy knows of a key without keeping it: whose key served a request, and a keyed
//! fingerprint that tells keys apart in logs, limits, usage and grant ownership.

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

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

#[cfg(test)]
mod tests {
    use super::*;

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
