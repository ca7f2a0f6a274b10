//! The server secret (`BYOK_SECRET`) and the keys derived from it, one per use.
//!
//! The secret itself is never used as a key: HKDF-SHA256 (RFC 5869) derives a separate 256-bit
//! key for each purpose, so a key for one use says nothing about another.
//!
//! | use | HKDF `info` |
//! |---|---|
//! | sealing grant records ([`crate::grants`]) | `byok-proxy grant-seal v1` |
//! | key fingerprints (logs, rate limits, grant ownership) | `byok-proxy key-fingerprint v1` |
//! | the seal keys requests' keys are sealed to ([`crate::seal`]) | `byok-proxy request-seal v1` |
//! | naming sent alerts in the store, so instances agree ([`crate::alerts`]) | `byok-proxy alert-claim v1` |
//!
//! Instances that share a store MUST share the secret: grants sealed by one are opened by the
//! others, and they must agree on key fingerprints.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

/// HKDF salt: fixed and public, it separates this application's derivations from any other
/// use of the same secret.
const SALT: &[u8] = b"byok-proxy/v1";
/// The fewest bytes of entropy a secret may carry.
pub const MIN_SECRET_BYTES: usize = 32;

/// The keys derived from the server secret.
///
/// # Security
///
/// `Debug` prints `[REDACTED]`; the keys are zeroized on drop.
pub struct ServerSecret {
    seal: Zeroizing<[u8; 32]>,
    fingerprint: Zeroizing<[u8; 32]>,
    request_seal: Zeroizing<[u8; 32]>,
    alert_claim: Zeroizing<[u8; 32]>,
    /// Whether it was made up at start (no `BYOK_SECRET`): grants then die with the process.
    ephemeral: bool,
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret([REDACTED])")
    }
}

impl ServerSecret {
    /// Reads a secret written as 64 (or more) hex digits, or as base64 (standard or URL-safe,
    /// padded or not) of at least 32 bytes.
    ///
    /// # Errors
    ///
    /// A message saying what is wrong, never the value.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        let bytes = if text.len() >= 2 * MIN_SECRET_BYTES
            && text.len().is_multiple_of(2)
            && text.bytes().all(|b| b.is_ascii_hexdigit())
        {
            // Checked above: an even number of hex digits.
            Zeroizing::new(hex::decode(text).map_err(|_| "expected 64 hex digits")?)
        } else {
            let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())
                .ok_or("expected 64 hex digits or base64 of at least 32 random bytes")?;
            Zeroizing::new(decoded)
        };
        if bytes.len() < MIN_SECRET_BYTES {
            return Err("too short: it must hold at least 32 bytes (64 hex digits)");
        }
        Ok(Self::derive(&bytes, false))
    }

    /// A fresh random secret, for a process whose state dies with it.
    ///
    /// # Panics
    ///
    /// If the operating system has no random source (the proxy cannot run safely then).
    #[must_use]
    pub fn random() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).expect("the OS random source is available");
        Self::derive(bytes.as_ref(), true)
    }

    fn derive(ikm: &[u8], ephemeral: bool) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(SALT), ikm);
        let expand = |info: &[u8]| {
            let mut key = Zeroizing::new([0u8; 32]);
            // 32 bytes is far below HKDF-SHA256's limit of 255 × 32.
            hkdf.expand(info, key.as_mut())
                .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF output length"));
            key
        };
        Self {
            seal: expand(b"byok-proxy grant-seal v1"),
            fingerprint: expand(b"byok-proxy key-fingerprint v1"),
            request_seal: expand(b"byok-proxy request-seal v1"),
            alert_claim: expand(b"byok-proxy alert-claim v1"),
            ephemeral,
        }
    }

    /// The root key grant records are sealed under (with each grant's own secret).
    #[must_use]
    pub fn seal_key(&self) -> &[u8; 32] {
        &self.seal
    }

    /// The HMAC key for key fingerprints.
    #[must_use]
    pub fn fingerprint_key(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// The root of the seal keys (one per rotation period, see [`crate::seal`]).
    #[must_use]
    pub fn request_seal_key(&self) -> &[u8; 32] {
        &self.request_seal
    }

    /// The HMAC key that names each alert (subject, threshold, day) in the store.
    #[must_use]
    pub fn alert_claim_key(&self) -> &[u8; 32] {
        &self.alert_claim
    }

    /// Whether the secret was made up at start rather than configured.
    #[must_use]
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn hex_and_base64_of_the_same_bytes_derive_the_same_keys() {
        let from_hex = ServerSecret::parse(HEX).unwrap();
        let bytes: Vec<u8> = (0u8..32).collect();
        for text in [STANDARD.encode(&bytes), URL_SAFE_NO_PAD.encode(&bytes)] {
            let from_b64 = ServerSecret::parse(&text).unwrap();
            assert_eq!(from_hex.seal_key(), from_b64.seal_key());
            assert_eq!(from_hex.fingerprint_key(), from_b64.fingerprint_key());
        }
        assert_eq!(
            ServerSecret::parse(&HEX.to_uppercase()).unwrap().seal_key(),
            from_hex.seal_key()
        );
        assert!(!from_hex.is_ephemeral());
    }

    #[test]
    fn each_use_gets_its_own_key() {
        let s = ServerSecret::parse(HEX).unwrap();
        assert_ne!(s.seal_key(), s.fingerprint_key());
        let other = ServerSecret::parse(&HEX.replace("1f", "1e")).unwrap();
        assert_ne!(s.seal_key(), other.seal_key());
        assert_ne!(
            ServerSecret::random().seal_key(),
            ServerSecret::random().seal_key()
        );
        assert!(ServerSecret::random().is_ephemeral());
    }

    #[test]
    fn short_or_garbled_secrets_are_refused_without_echoing_them() {
        for bad in [
            "",
            "abc",
            &HEX[..62],
            "not base64 at all!!",
            &STANDARD.encode([7u8; 31]),
        ] {
            let err = ServerSecret::parse(bad).map(|_| ()).unwrap_err();
            assert!(bad.len() < 8 || !err.contains(bad), "{err}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let shown = format!("{:?}", ServerSecret::parse(HEX).unwrap());
        assert_eq!(shown, "ServerSecret([REDACTED])");
    }
}
