//! Wrappers for secrets: redacted when printed, zeroized when dropped, never serialized; and
//! the random numbers new secrets are made of.

use std::fmt;

use serde::{Deserialize, Deserializer};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Result, VaultError};

const REDACTED: &str = "[REDACTED]";

/// Fills `buf` from the operating system's (or the browser's) CSPRNG.
///
/// # Errors
///
/// [`VaultError::Random`] if the generator is unavailable.
pub fn fill_random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|_| VaultError::Random)
}

/// A secret string: a password or a provider API key.
///
/// `Debug` prints `[REDACTED]`, there is no `Display` and no `Serialize`, and the bytes are
/// overwritten when the value is dropped. Reading it takes [`SecretString::expose_secret`], so
/// every place that handles the plaintext is easy to find.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps `value`, taking ownership so no unwrapped copy remains with the caller.
    #[must_use]
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The plaintext. Callers MUST NOT log it, put it in an error or keep a copy.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is the empty string.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self::new(value.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

// Deserializing is needed to read decrypted entries back; serializing is deliberately absent.
impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Zeroizing::new(String::deserialize(deserializer)?);
        Ok(Self::new(value.as_str().to_owned()))
    }
}

/// A 256-bit symmetric key: the password-derived wrapping key or the random vault key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SymmetricKey([u8; 32]);

impl SymmetricKey {
    /// Key length in bytes.
    pub const LEN: usize = 32;

    /// Wraps raw key bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh random key from the system RNG.
    ///
    /// # Errors
    ///
    /// [`VaultError::Random`] if the RNG fails.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        fill_random(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// The raw bytes, for the cipher only.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_secret() {
        let s = SecretString::from("sk-live-abcdefghijklmnop");
        assert_eq!(format!("{s:?}"), "[REDACTED]");
        assert_eq!(format!("{:?}", Some(&s)), "Some([REDACTED])");
        let k = SymmetricKey::from_bytes([0x41; 32]);
        assert_eq!(format!("{k:?}"), "[REDACTED]");
        assert!(!format!("{k:#?}").contains("65"));
    }

    #[test]
    fn zeroize_clears_the_contents() {
        let mut s = SecretString::from("hunter22hunter22");
        s.zeroize();
        assert!(s.expose_secret().is_empty());
        let mut k = SymmetricKey::from_bytes([7; 32]);
        k.zeroize();
        assert_eq!(k.expose_secret(), &[0u8; 32]);
    }
}
