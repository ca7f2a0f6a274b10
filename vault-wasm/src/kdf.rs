//! Password-based key derivation: Argon2id (the default for new vaults) or PBKDF2-HMAC-SHA256,
//! with parameters stored beside the data.
//!
//! The parameters travel with the wrapped vault key so they can be raised later without a
//! format change, and [`KdfParams::check_floor`] refuses anything below the floors of their
//! algorithm (and anything absurdly above them), so a tampered record can neither weaken the
//! hashing nor hang the tab.
//!
//! Derivation is behind the [`Kdf`] trait. [`RustKdf`] computes both algorithms in Rust (the
//! `argon2` and `pbkdf2` crates); in the browser the vault uses WebCrypto for PBKDF2 (about 2.5×
//! faster there, identical bytes, checked by the browser tests) and the `argon2` crate for
//! Argon2id, which browsers do not offer.
//!
//! Why Argon2id at 64 MiB and 3 passes: it is memory-hard, so guessing passwords on GPUs costs
//! far more than against PBKDF2, and measured in headless Chromium here (`make bench-vault`) it
//! takes about 0.3 s, against 0.13 s for WebCrypto's PBKDF2 at 600,000 iterations: well within
//! the 1.5 s an unlock may take.

use serde::{Deserialize, Serialize};

use crate::crypto::b64_vec;
use crate::error::{Result, VaultError};
use crate::secret::{SecretString, SymmetricKey, fill_random};
use crate::usd::group_thousands;

/// The PBKDF2 iteration floor (OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256).
pub const MIN_ITERATIONS: u32 = 600_000;
/// PBKDF2 iterations used when PBKDF2 is chosen.
pub const DEFAULT_ITERATIONS: u32 = MIN_ITERATIONS;
/// Upper bound on PBKDF2 iterations, so a tampered record cannot hang the tab for hours.
pub const MAX_ITERATIONS: u32 = 100_000_000;

/// Argon2id memory floor in KiB (19 MiB with 2 passes: OWASP's minimum configuration).
pub const ARGON2_MIN_MEMORY_KIB: u32 = 19 * 1024;
/// Argon2id pass floor.
pub const ARGON2_MIN_PASSES: u32 = 2;
/// Argon2id memory used for new vaults: 64 MiB.
pub const ARGON2_DEFAULT_MEMORY_KIB: u32 = 64 * 1024;
/// Argon2id passes used for new vaults.
pub const ARGON2_DEFAULT_PASSES: u32 = 3;
/// Argon2id lanes used for new vaults (wasm runs one thread, so more lanes buy nothing there).
pub const ARGON2_DEFAULT_PARALLELISM: u32 = 1;
/// Upper bound on Argon2id memory: more than a browser tab can be sure to allocate.
pub const ARGON2_MAX_MEMORY_KIB: u32 = 256 * 1024;
/// Upper bound on Argon2id passes, so a tampered record cannot hang the tab.
pub const ARGON2_MAX_PASSES: u32 = 16;
/// Upper bound on Argon2id lanes.
pub const ARGON2_MAX_PARALLELISM: u32 = 16;

/// The salt floor in bytes.
pub const MIN_SALT_LEN: usize = 16;
/// Salt length used for new vaults.
pub const DEFAULT_SALT_LEN: usize = 16;

/// The key-derivation algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum KdfAlgorithm {
    /// Argon2id (version 0x13), 32-byte output: the default for new vaults.
    #[default]
    #[serde(rename = "argon2id")]
    Argon2id,
    /// PBKDF2 with HMAC-SHA256, 32-byte output: vaults made before Argon2id, and a choice.
    #[serde(rename = "pbkdf2-sha256")]
    Pbkdf2Sha256,
}

impl KdfAlgorithm {
    /// The name stored in records and shown to people.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Argon2id => "argon2id",
            Self::Pbkdf2Sha256 => "pbkdf2-sha256",
        }
    }

    /// Parses [`KdfAlgorithm::as_str`].
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidInput`] for any other name.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "argon2id" => Ok(Self::Argon2id),
            "pbkdf2-sha256" => Ok(Self::Pbkdf2Sha256),
            other => Err(VaultError::InvalidInput(format!(
                "unknown key-derivation algorithm {other:?}; use \"argon2id\" or \"pbkdf2-sha256\""
            ))),
        }
    }
}

/// Parameters stored next to the wrapped vault key.
///
/// PBKDF2 records keep their original shape (`alg`, `iterations`, `salt`); Argon2id adds
/// `memory_kib` and `parallelism`, and its `iterations` are its passes (t).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    /// The algorithm.
    pub alg: KdfAlgorithm,
    /// PBKDF2 iteration count, or Argon2id passes.
    pub iterations: u32,
    /// Argon2id memory in KiB; absent (0) for PBKDF2.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub memory_kib: u32,
    /// Argon2id lanes; absent (0) for PBKDF2.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub parallelism: u32,
    /// Random salt (base64 in storage).
    #[serde(with = "b64_vec")]
    pub salt: Vec<u8>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl KdfParams {
    /// Default parameters (Argon2id) with a fresh random salt.
    ///
    /// # Errors
    ///
    /// [`VaultError::Random`] if no salt can be drawn.
    pub fn generate() -> Result<Self> {
        Self::generate_for(KdfAlgorithm::default())
    }

    /// Default parameters of `alg` with a fresh random salt.
    ///
    /// # Errors
    ///
    /// [`VaultError::Random`] if no salt can be drawn.
    pub fn generate_for(alg: KdfAlgorithm) -> Result<Self> {
        let mut salt = vec![0u8; DEFAULT_SALT_LEN];
        fill_random(&mut salt)?;
        Ok(match alg {
            KdfAlgorithm::Argon2id => Self {
                alg,
                iterations: ARGON2_DEFAULT_PASSES,
                memory_kib: ARGON2_DEFAULT_MEMORY_KIB,
                parallelism: ARGON2_DEFAULT_PARALLELISM,
                salt,
            },
            KdfAlgorithm::Pbkdf2Sha256 => Self {
                alg,
                iterations: DEFAULT_ITERATIONS,
                memory_kib: 0,
                parallelism: 0,
                salt,
            },
        })
    }

    /// Refuses parameters below their algorithm's floor, or absurdly above it.
    ///
    /// # Errors
    ///
    /// [`VaultError::WeakKdf`] when the salt is short, PBKDF2's iterations are outside
    /// [`MIN_ITERATIONS`]..=[`MAX_ITERATIONS`] (or it carries Argon2id fields), or Argon2id's
    /// memory, passes or lanes are outside their bounds.
    pub fn check_floor(&self) -> Result<()> {
        let within = match self.alg {
            KdfAlgorithm::Pbkdf2Sha256 => {
                (MIN_ITERATIONS..=MAX_ITERATIONS).contains(&self.iterations)
                    && self.memory_kib == 0
                    && self.parallelism == 0
            }
            KdfAlgorithm::Argon2id => {
                (ARGON2_MIN_MEMORY_KIB..=ARGON2_MAX_MEMORY_KIB).contains(&self.memory_kib)
                    && (ARGON2_MIN_PASSES..=ARGON2_MAX_PASSES).contains(&self.iterations)
                    && (1..=ARGON2_MAX_PARALLELISM).contains(&self.parallelism)
                    // Argon2 needs at least 8 KiB per lane.
                    && self.memory_kib >= 8 * self.parallelism
            }
        };
        if !within || self.salt.len() < MIN_SALT_LEN {
            return Err(VaultError::WeakKdf);
        }
        Ok(())
    }

    /// A canonical byte string of these parameters, bound into the wrapped key's associated
    /// data so that editing any of them makes the vault key fail to open. PBKDF2's is
    /// `pbkdf2-sha256:{iterations}:{salt}` (unchanged since the first vaults), Argon2id's
    /// `argon2id:m={memory_kib},t={iterations},p={parallelism}:{salt}`.
    #[must_use]
    pub fn binding(&self) -> String {
        use base64::Engine as _;
        let salt = base64::engine::general_purpose::STANDARD.encode(&self.salt);
        match self.alg {
            KdfAlgorithm::Pbkdf2Sha256 => format!("pbkdf2-sha256:{}:{salt}", self.iterations),
            KdfAlgorithm::Argon2id => format!(
                "argon2id:m={},t={},p={}:{salt}",
                self.memory_kib, self.iterations, self.parallelism
            ),
        }
    }

    /// How people see these parameters: "Argon2id, 64 MiB, 3 passes" or "PBKDF2-SHA256,
    /// 600,000 iterations".
    #[must_use]
    pub fn describe(&self) -> String {
        match self.alg {
            KdfAlgorithm::Argon2id => format!(
                "Argon2id, {} MiB, {} passes",
                self.memory_kib / 1024,
                self.iterations
            ),
            KdfAlgorithm::Pbkdf2Sha256 => {
                format!(
                    "PBKDF2-SHA256, {} iterations",
                    group_thousands(u64::from(self.iterations))
                )
            }
        }
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

/// Both algorithms computed in Rust (the `argon2` and `pbkdf2` crates). The native path, the
/// browser's Argon2id, and its PBKDF2 fallback where WebCrypto is unavailable (pages not served
/// from a secure context).
#[derive(Debug, Clone, Copy, Default)]
pub struct RustKdf;

impl Kdf for RustKdf {
    async fn derive(&self, password: &SecretString, params: &KdfParams) -> Result<SymmetricKey> {
        let password = password.expose_secret().as_bytes();
        match params.alg {
            KdfAlgorithm::Pbkdf2Sha256 => {
                Ok(pbkdf2_sha256(password, &params.salt, params.iterations))
            }
            KdfAlgorithm::Argon2id => argon2id(
                password,
                &params.salt,
                params.memory_kib,
                params.iterations,
                params.parallelism,
            ),
        }
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

/// Argon2id (version 0x13) with a 32-byte output, without the vault's floors (test vectors use
/// small costs); only the `argon2` crate's own limits apply. The vault only reaches it through
/// [`Kdf`] after [`KdfParams::check_floor`].
///
/// # Errors
///
/// [`VaultError::InvalidInput`] for parameters the `argon2` crate refuses (the message names
/// none of the inputs).
pub fn argon2id(
    password: &[u8],
    salt: &[u8],
    memory_kib: u32,
    passes: u32,
    parallelism: u32,
) -> Result<SymmetricKey> {
    let refused = |_| VaultError::InvalidInput("Argon2id refused these parameters".into());
    let params = argon2::Params::new(memory_kib, passes, parallelism, Some(32)).map_err(refused)?;
    let hasher = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    hasher
        .hash_password_into(password, salt, &mut out)
        .map_err(refused)?;
    let key = SymmetricKey::from_bytes(out);
    zeroize::Zeroize::zeroize(&mut out);
    Ok(key)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn pbkdf2_floor_is_enforced() {
        let mut p = KdfParams::generate_for(KdfAlgorithm::Pbkdf2Sha256).unwrap();
        assert_eq!(p.check_floor(), Ok(()));
        p.iterations = MIN_ITERATIONS - 1;
        assert_eq!(p.check_floor(), Err(VaultError::WeakKdf));
        p.iterations = MIN_ITERATIONS;
        p.salt.truncate(MIN_SALT_LEN - 1);
        assert_eq!(p.check_floor(), Err(VaultError::WeakKdf));
        p.salt = vec![0; 32];
        p.iterations = MAX_ITERATIONS + 1;
        assert_eq!(p.check_floor(), Err(VaultError::WeakKdf));
        p.iterations = MIN_ITERATIONS;
        p.memory_kib = ARGON2_DEFAULT_MEMORY_KIB;
        assert_eq!(
            p.check_floor(),
            Err(VaultError::WeakKdf),
            "no stray Argon2id fields"
        );
    }

    #[test]
    fn argon2id_floor_is_enforced() {
        let good = KdfParams::generate().unwrap();
        assert_eq!(
            good.alg,
            KdfAlgorithm::Argon2id,
            "the default for new vaults"
        );
        assert_eq!(good.check_floor(), Ok(()));
        let tweaks: [fn(&mut KdfParams); 9] = [
            |p| p.memory_kib = ARGON2_MIN_MEMORY_KIB - 1,
            |p| p.memory_kib = ARGON2_MAX_MEMORY_KIB + 1,
            |p| p.memory_kib = 0,
            |p| p.iterations = ARGON2_MIN_PASSES - 1,
            |p| p.iterations = ARGON2_MAX_PASSES + 1,
            |p| p.parallelism = 0,
            |p| p.parallelism = ARGON2_MAX_PARALLELISM + 1,
            |p| p.salt.truncate(MIN_SALT_LEN - 1),
            |p| p.alg = KdfAlgorithm::Pbkdf2Sha256,
        ];
        for (i, tweak) in tweaks.iter().enumerate() {
            let mut p = good.clone();
            tweak(&mut p);
            assert_eq!(p.check_floor(), Err(VaultError::WeakKdf), "tweak {i}");
        }
        let mut floor = good.clone();
        floor.memory_kib = ARGON2_MIN_MEMORY_KIB;
        floor.iterations = ARGON2_MIN_PASSES;
        assert_eq!(floor.check_floor(), Ok(()));
    }

    #[test]
    fn pbkdf2_records_keep_their_shape_and_binding() {
        let stored =
            r#"{"alg":"pbkdf2-sha256","iterations":600000,"salt":"AAECAwQFBgcICQoLDA0ODw=="}"#;
        let p: KdfParams = serde_json::from_str(stored).unwrap();
        assert_eq!(p.alg, KdfAlgorithm::Pbkdf2Sha256);
        assert_eq!(serde_json::to_string(&p).unwrap(), stored);
        assert_eq!(p.binding(), "pbkdf2-sha256:600000:AAECAwQFBgcICQoLDA0ODw==");
        assert_eq!(p.describe(), "PBKDF2-SHA256, 600,000 iterations");
    }

    #[test]
    fn argon2id_records_name_every_parameter() {
        let mut p = KdfParams::generate().unwrap();
        p.salt = (0..16).collect();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"alg":"argon2id","iterations":3,"memory_kib":65536,"parallelism":1,"salt":"AAECAwQFBgcICQoLDA0ODw=="}"#
        );
        assert_eq!(serde_json::from_str::<KdfParams>(&json).unwrap(), p);
        assert_eq!(
            p.binding(),
            "argon2id:m=65536,t=3,p=1:AAECAwQFBgcICQoLDA0ODw=="
        );
        assert_eq!(p.describe(), "Argon2id, 64 MiB, 3 passes");
        assert!(
            serde_json::from_str::<KdfParams>(&json.replace("\"salt\"", "\"pepper\":1,\"salt\""))
                .is_err()
        );
    }

    #[test]
    fn argon2id_matches_the_reference_implementation() {
        // From the reference implementation's test suite (phc-winner-argon2, src/test.c):
        // Argon2id v0x13, t=2, m=2^16 KiB, p=1, "password", "somesalt".
        let key = argon2id(b"password", b"somesalt", 1 << 16, 2, 1).unwrap();
        assert_eq!(
            hex::encode(key.expose_secret()),
            "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7"
        );
    }

    #[test]
    fn rust_kdf_runs_the_stored_algorithm() {
        let password = SecretString::from("correct horse");
        let argon = KdfParams::generate().unwrap();
        let mut pbkdf = KdfParams::generate_for(KdfAlgorithm::Pbkdf2Sha256).unwrap();
        pbkdf.salt.clone_from(&argon.salt);
        let a = futures::executor::block_on(RustKdf.derive(&password, &argon)).unwrap();
        let b = futures::executor::block_on(RustKdf.derive(&password, &pbkdf)).unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        let expected = argon2id(b"correct horse", &argon.salt, 65536, 3, 1).unwrap();
        assert_eq!(a.expose_secret(), expected.expose_secret());
    }

    #[test]
    fn algorithm_names_round_trip() {
        for alg in [KdfAlgorithm::Argon2id, KdfAlgorithm::Pbkdf2Sha256] {
            assert_eq!(KdfAlgorithm::parse(alg.as_str()), Ok(alg));
        }
        assert!(KdfAlgorithm::parse("scrypt").is_err());
    }

    #[test]
    fn salts_are_random() {
        assert_ne!(
            KdfParams::generate().unwrap().salt,
            KdfParams::generate().unwrap().salt
        );
    }
}
