//! Password-based key derivation: PBKDF2-HMAC-SHA256 with parameters stored beside the data.
//!
//! The parameters travel with the wrapped vault key so they can be raised later without a
//! format change, and [`KdfParams::check_floor`] refuses anything below
//! [`MIN_ITERATIONS`] / [`MIN_SALT_LEN`] so a tampered record cannot weaken the hashing.
//!
//! Derivation is behind the [`Kdf`] trait: natively (and as the browser fallback) it is the
//! `pbkdf2` crate; in the browser the vault uses WebCrypto, which is about 4× faster there and
//! gives identical bytes (checked by the browser tests).

use serde::{Deserialize, Serialize};

use crate::crypto::{b64_vec, fill_random};
use crate::error::{Result, VaultError};
use crate::secret::{SecretString, SymmetricKey};

/// The iteration floor (OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256).
pub const MIN_ITERATIONS: u32 = 600_000;
/// Iterations used for new vaults.
pub const DEFAULT_ITERATIONS: u32 = MIN_ITERATIONS;
/// The salt floor in bytes.
pub const MIN_SALT_LEN: usize = 16;
/// Salt length used for new vaults.
pub const DEFAULT_SALT_LEN: usize = 16;
/// Upper bound on iterations we accept, so a tampered record cannot hang the tab for hours.
pub const MAX_ITERATIONS: u32 = 100_000_000;

/// The key-derivation algorithm. Only one exists today; the tag makes the format extensible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KdfAlgorithm {
    /// PBKDF2 with HMAC-SHA256, 32-byte output.
    #[serde(rename = "pbkdf2-sha256")]
    Pbkdf2Sha256,
}

/// Parameters stored next to the wrapped vault key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// The algorithm.
    pub alg: KdfAlgorithm,
    /// PBKDF2 iteration count.
    pub iterations: u32,
    /// Random salt (base64 in storage).
    #[serde(with = "b64_vec")]
    pub salt: Vec<u8>,
}

impl KdfParams {
    /// Default parameters with a fresh random salt.
    ///
    /// # Errors
    ///
    /// [`VaultError::Random`] if no salt can be drawn.
    pub fn generate() -> Result<Self> {
        let mut salt = vec![0u8; DEFAULT_SALT_LEN];
        fill_random(&mut salt)?;
        Ok(Self {
            alg: KdfAlgorithm::Pbkdf2Sha256,
            iterations: DEFAULT_ITERATIONS,
            salt,
        })
    }

    /// Refuses parameters below the floor (or absurdly above it).
    ///
    /// # Errors
    ///
    /// [`VaultError::WeakKdf`] when iterations or salt length are below the minimum, or the
    /// iteration count is beyond [`MAX_ITERATIONS`].
    pub fn check_floor(&self) -> Result<()> {
        if self.iterations < MIN_ITERATIONS
            || self.iterations > MAX_ITERATIONS
            || self.salt.len() < MIN_SALT_LEN
        {
            return Err(VaultError::WeakKdf);
        }
        Ok(())
    }

    /// A canonical byte string of these parameters, bound into the wrapped key's associated
    /// data so that editing any of them makes the vault key fail to open.
    #[must_use]
    pub fn binding(&self) -> String {
        use base64::Engine as _;
        let alg = match self.alg {
            KdfAlgorithm::Pbkdf2Sha256 => "pbkdf2-sha256",
        };
        format!(
            "{alg}:{}:{}",
            self.iterations,
            base64::engine::general_purpose::STANDARD.encode(&self.salt)
        )
    }
}

/// Derives the password key. Implementations MUST give identical bytes for identical inputs.
#[allow(async_fn_in_trait)] // single-threaded (browser) use; no Send bound wanted
pub trait Kdf {
    /// Derives a 256-bit key from `password` with `params`.
    ///
    /// # Errors
    ///
    /// Implementation-specific; never contains the password.
    async fn derive(&self, password: &SecretString, params: &KdfParams) -> Result<SymmetricKey>;
}

impl<K: Kdf + ?Sized> Kdf for std::rc::Rc<K> {
    async fn derive(&self, password: &SecretString, params: &KdfParams) -> Result<SymmetricKey> {
        (**self).derive(password, params).await
    }
}

/// PBKDF2 computed in Rust by the `pbkdf2` crate. The native path, and the browser fallback
/// where WebCrypto is unavailable (pages not served from a secure context).
#[derive(Debug, Clone, Copy, Default)]
pub struct RustKdf;

impl Kdf for RustKdf {
    async fn derive(&self, password: &SecretString, params: &KdfParams) -> Result<SymmetricKey> {
        Ok(pbkdf2_sha256(
            password.expose_secret().as_bytes(),
            &params.salt,
            params.iterations,
        ))
    }
}

/// PBKDF2-HMAC-SHA256 with a 32-byte output, no parameter checks (test vectors use small
/// counts). The vault only reaches it through [`Kdf`] after [`KdfParams::check_floor`].
#[must_use]
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> SymmetricKey {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut out);
    let key = SymmetricKey::from_bytes(out);
    zeroize::Zeroize::zeroize(&mut out);
    key
}

/// PBKDF2-HMAC-SHA256 with any output length, for test vectors.
#[doc(hidden)]
pub fn pbkdf2_sha256_into(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, out);
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn floor_is_enforced() {
        let mut p = KdfParams::generate().unwrap();
        assert_eq!(p.check_floor(), Ok(()));
        p.iterations = MIN_ITERATIONS - 1;
        assert_eq!(p.check_floor(), Err(VaultError::WeakKdf));
        p.iterations = MIN_ITERATIONS;
        p.salt.truncate(MIN_SALT_LEN - 1);
        assert_eq!(p.check_floor(), Err(VaultError::WeakKdf));
        p.salt = vec![0; 32];
        p.iterations = MAX_ITERATIONS + 1;
        assert_eq!(p.check_floor(), Err(VaultError::WeakKdf));
    }

    #[test]
    fn salts_are_random() {
        assert_ne!(
            KdfParams::generate().unwrap().salt,
            KdfParams::generate().unwrap().salt
        );
    }
}
