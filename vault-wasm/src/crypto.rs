//! AES-256-GCM with associated data.
//!
//! ```
//! use byok_vault::{crypto, SymmetricKey};
//!
//! let key = SymmetricKey::generate()?;
//! let sealed = crypto::seal(&key, b"record-id", b"secret text")?;
//! assert_eq!(&*crypto::open(&key, b"record-id", &sealed)?, b"secret text");
//! // The same bytes under another record's associated data do not open.
//! assert!(crypto::open(&key, b"other-id", &sealed).is_err());
//! # Ok::<(), byok_vault::VaultError>(())
//! ```

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::error::{Result, VaultError};
use crate::secret::{SymmetricKey, fill_random};

/// AES-GCM nonce length: 96 bits, the only size we produce or accept.
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length appended to every ciphertext.
pub const TAG_LEN: usize = 16;

/// A nonce plus the ciphertext-and-tag it produced. Serializes as base64 strings.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The 96-bit nonce, fresh for every encryption.
    #[serde(with = "b64_array")]
    pub nonce: [u8; NONCE_LEN],
    /// Ciphertext followed by the 16-byte tag.
    #[serde(with = "b64_vec")]
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Ciphertext is not secret, but it is noise in logs; show only its size.
        f.debug_struct("Sealed")
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

/// Encrypts `plaintext` under `key` with a fresh random nonce, binding `aad`.
///
/// # Errors
///
/// [`VaultError::Random`] if no nonce can be drawn.
pub fn seal(key: &SymmetricKey, aad: &[u8], plaintext: &[u8]) -> Result<Sealed> {
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    seal_with_nonce(key, &nonce, aad, plaintext)
}

/// Encrypts with a caller-chosen nonce.
///
/// # Security
///
/// A nonce MUST never be reused with the same key. Only [`seal`] and known-answer tests call
/// this.
///
/// # Errors
///
/// [`VaultError::InvalidInput`] for inputs beyond AES-GCM's limits (about 64 GiB).
#[doc(hidden)]
pub fn seal_with_nonce(
    key: &SymmetricKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Sealed> {
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key.expose_secret()));
    let ciphertext = cipher
        .encrypt(
            &Nonce::from(*nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| VaultError::InvalidInput("data too large to encrypt".into()))?;
    Ok(Sealed {
        nonce: *nonce,
        ciphertext,
    })
}

/// Decrypts and authenticates `sealed` under `key` and `aad`.
///
/// # Errors
///
/// [`VaultError::Decrypt`] for a wrong key, wrong associated data or any modified byte; the
/// three are indistinguishable by design.
pub fn open(key: &SymmetricKey, aad: &[u8], sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>> {
    open_raw(key, &sealed.nonce, aad, &sealed.ciphertext)
}

/// [`open`] on raw parts, for test vectors with other nonce sizes.
///
/// # Errors
///
/// [`VaultError::Decrypt`] when authentication fails or the nonce is not 96 bits.
pub fn open_raw(
    key: &SymmetricKey,
    nonce: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    // Check the length ourselves: converting a wrong-length slice must fail, not panic.
    let nonce = <[u8; NONCE_LEN]>::try_from(nonce).map_err(|_| VaultError::Decrypt)?;
    if ciphertext.len() < TAG_LEN {
        return Err(VaultError::Decrypt);
    }
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key.expose_secret()));
    cipher
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| VaultError::Decrypt)
}

/// Base64 helpers for byte fields.
pub(crate) mod b64_vec {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        B64.decode(text.as_bytes())
            .map_err(|_| serde::de::Error::custom("invalid base64"))
    }
}

pub(crate) mod b64_array {
    use super::*;

    pub fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        b64_vec::serialize(bytes, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> std::result::Result<[u8; N], D::Error> {
        let bytes = b64_vec::deserialize(d)?;
        <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| serde::de::Error::custom("wrong length"))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn key() -> SymmetricKey {
        SymmetricKey::from_bytes([9; 32])
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let a = seal(&key(), b"", b"same").unwrap();
        let b = seal(&key(), b"", b"same").unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn short_or_long_nonces_and_truncated_tags_fail_cleanly() {
        let s = seal(&key(), b"ad", b"hello").unwrap();
        for n in [0, 8, 11, 13, 16] {
            assert_eq!(
                open_raw(&key(), &vec![0; n], b"ad", &s.ciphertext),
                Err(VaultError::Decrypt)
            );
        }
        for len in 0..TAG_LEN {
            assert_eq!(
                open_raw(&key(), &s.nonce, b"ad", &s.ciphertext[..len]),
                Err(VaultError::Decrypt)
            );
        }
    }

    #[test]
    fn wrong_key_and_wrong_aad_are_the_same_error() {
        let s = seal(&key(), b"ad", b"hello").unwrap();
        let other = SymmetricKey::from_bytes([1; 32]);
        assert_eq!(open(&other, b"ad", &s), Err(VaultError::Decrypt));
        assert_eq!(open(&key(), b"ax", &s), Err(VaultError::Decrypt));
    }
}
