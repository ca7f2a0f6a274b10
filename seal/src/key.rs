//! The proxy's seal key pairs, their public halves and their ids.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable as _, Kem as _, Serializable as _};
use sha2::{Digest, Sha256};

use crate::SealError;

pub(crate) type Kem = X25519HkdfSha256;
type PrivateKey = <Kem as hpke::Kem>::PrivateKey;

/// A proxy's public seal key (X25519, 32 bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(pub(crate) <Kem as hpke::Kem>::PublicKey);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

impl PublicKey {
    /// The key from its 32 bytes.
    ///
    /// # Errors
    ///
    /// [`SealError::Unusable`] when `bytes` is not 32 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        <Kem as hpke::Kem>::PublicKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| SealError::Unusable("the proxy's public key is not 32 bytes"))
    }

    /// The key from base64url (as `GET /byok/seal-key` lists it).
    ///
    /// # Errors
    ///
    /// [`SealError::Unusable`] when it is not base64url of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| SealError::Unusable("the proxy's public key is not base64url"))?;
        Self::from_bytes(&bytes)
    }

    /// Its 32 bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// Its base64url, without padding.
    #[must_use]
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.to_bytes())
    }
}

/// The id of a public key: base64url of the first 9 bytes of its SHA-256 (12 characters).
/// Derived, so every instance that derives the same key names it the same.
#[must_use]
pub fn key_id(public: &PublicKey) -> String {
    let digest = Sha256::digest(public.to_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..9])
}

/// A seal key pair: the private half opens, the public half is published.
///
/// # Security
///
/// `Debug` prints the id only; the private key is zeroized on drop (by `x25519-dalek`).
#[derive(Clone)]
pub struct KeyPair {
    private: PrivateKey,
    public: PublicKey,
    id: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyPair({}, [REDACTED])", self.id)
    }
}

impl KeyPair {
    /// The pair RFC 9180's `DeriveKeyPair` makes from `ikm` (32 secret, uniformly random
    /// bytes): the same `ikm` always gives the same pair.
    #[must_use]
    pub fn derive(ikm: &[u8; 32]) -> Self {
        let (private, public) = Kem::derive_keypair(ikm);
        let public = PublicKey(public);
        Self {
            id: key_id(&public),
            private,
            public,
        }
    }

    /// The public half.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    /// The key's id (see [`key_id`]).
    #[must_use]
    pub fn id(&self) -> String {
        self.id.clone()
    }

    pub(crate) fn private(&self) -> &PrivateKey {
        &self.private
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn a_pair_derives_the_same_from_the_same_bytes_and_its_debug_hides_it() {
        let a = KeyPair::derive(&[1; 32]);
        let b = KeyPair::derive(&[1; 32]);
        let c = KeyPair::derive(&[2; 32]);
        assert_eq!(a.public_key(), b.public_key());
        assert_eq!(a.id(), b.id());
        assert_ne!(a.public_key(), c.public_key());
        assert_eq!(a.id().len(), 12);
        assert_eq!(format!("{a:?}"), format!("KeyPair({}, [REDACTED])", a.id()));
    }

    #[test]
    fn a_public_key_round_trips_through_base64url() {
        let public = KeyPair::derive(&[3; 32]).public_key();
        let text = public.to_base64();
        assert_eq!(text.len(), 43);
        assert_eq!(PublicKey::from_base64(&text).unwrap(), public);
        assert!(PublicKey::from_base64("AAAA").is_err());
        assert!(PublicKey::from_base64("not base64!").is_err());
    }
}
