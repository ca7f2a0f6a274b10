//! Unlocking with a passkey: the vault key wrapped a second time, under a key that only a
//! registered passkey can give back.
//!
//! A passkey that supports WebAuthn's PRF extension returns, for a given input (the `salt`
//! here, random per passkey), 32 bytes that only that credential on that authenticator can
//! produce, after the person verifies (PIN, fingerprint). HKDF-SHA256 turns them into an
//! AES-256-GCM key that seals the vault key into a `passkey` record (see
//! [`crate::envelope`]). Unlocking asks the authenticator again and opens the record; the
//! password and its wrapped copy are untouched, so the password keeps working, and changing
//! it keeps every passkey working (the vault key does not change). Removing a passkey deletes
//! its record: nothing of it remains that could open the vault.
//!
//! What the browser layer does (WebAuthn ceremonies) is in `wasm/passkey.rs`; this module is
//! the cryptography and the records, tested natively with PRF outputs made up by the tests.

use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::envelope::{
    Envelope, PASSKEY_INFO_PREFIX, PASSKEY_PREFIX, PRF_SALT_LEN, PasskeyParams, RecordKind,
};
use crate::error::{Result, VaultError};
use crate::secret::{SymmetricKey, fill_random};

/// Shortest PRF output accepted (WebAuthn's PRF gives 32 bytes).
pub const MIN_PRF_OUTPUT_LEN: usize = 32;
/// Most passkeys one vault registers.
pub const MAX_PASSKEYS: usize = 10;
/// The HKDF `info`: what the derived key is for, so it can never serve anything else.
const HKDF_INFO: &[u8] = b"byok-vault/v1/passkey-wrap";

/// The key half of [`PasskeyParams`] (the record format's half is in [`crate::envelope`]).
impl PasskeyParams {
    /// The AES-256-GCM key that wraps the vault key for this passkey: HKDF-SHA256 of the PRF
    /// output, salted with the PRF input, for [`HKDF_INFO`].
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidInput`] for a PRF output shorter than [`MIN_PRF_OUTPUT_LEN`].
    pub fn wrapping_key(&self, prf_output: &[u8]) -> Result<SymmetricKey> {
        if prf_output.len() < MIN_PRF_OUTPUT_LEN {
            return Err(VaultError::InvalidInput(
                "the passkey gave too short a PRF output".into(),
            ));
        }
        let mut out = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(&self.salt), prf_output)
            .expand(HKDF_INFO, &mut *out)
            // 32 bytes is far below HKDF-SHA256's 8160-byte limit.
            .map_err(|_| VaultError::InvalidInput("HKDF refused the length".into()))?;
        Ok(SymmetricKey::from_bytes(*out))
    }
}

/// A fresh random PRF input for a new passkey.
///
/// # Errors
///
/// [`VaultError::Random`] if the generator is unavailable.
pub fn new_prf_salt() -> Result<Vec<u8>> {
    let mut salt = vec![0u8; PRF_SALT_LEN];
    fill_random(&mut salt)?;
    Ok(salt)
}

/// What an unlock must ask the authenticator: for each registered passkey, its credential id
/// and PRF input. Readable while locked; none of it is secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRequest {
    /// The passkey's record id (`passkey:<32 hex>`).
    pub id: String,
    /// Its credential id and PRF input.
    pub params: PasskeyParams,
}

/// What the vault shows of a registered passkey (sealed under the vault key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyInfo {
    /// The passkey's record id (`passkey:<32 hex>`), for removing it.
    pub id: String,
    /// The name the person gave it.
    pub label: String,
    /// When it was registered (ms since the epoch).
    pub created_ms: u64,
}

/// The plaintext of a `passkey-info` record.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasskeyMeta {
    pub(crate) label: String,
    pub(crate) created_ms: u64,
}

/// The info record's id for passkey record `id`.
pub(crate) fn info_id(id: &str) -> Option<String> {
    id.strip_prefix(PASSKEY_PREFIX)
        .map(|rest| format!("{PASSKEY_INFO_PREFIX}{rest}"))
}

/// The passkey records among `records` (as [`Store::get_all`] gives them), parsed once, with
/// their checked parameters. Damaged records are left out, so one cannot block the others.
pub(crate) fn passkey_records(records: &[(String, String)]) -> Vec<(PasskeyRequest, Envelope)> {
    records
        .iter()
        .filter(|(id, _)| id.starts_with(PASSKEY_PREFIX))
        .filter_map(|(id, raw)| {
            let envelope = Envelope::parse(raw).ok()?;
            let params = envelope.passkey.clone()?;
            (envelope.kind == RecordKind::Passkey && params.check().is_ok()).then(|| {
                let request = PasskeyRequest {
                    id: id.clone(),
                    params,
                };
                (request, envelope)
            })
        })
        .collect()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::envelope::MAX_CREDENTIAL_ID_LEN;

    fn params() -> PasskeyParams {
        PasskeyParams {
            credential: vec![7; 16],
            salt: vec![9; PRF_SALT_LEN],
        }
    }

    #[test]
    fn wrapping_key_depends_on_output_salt_and_nothing_else() {
        let p = params();
        let a = p.wrapping_key(&[1; 32]).unwrap();
        assert_eq!(
            a.expose_secret(),
            p.wrapping_key(&[1; 32]).unwrap().expose_secret()
        );
        assert_ne!(
            a.expose_secret(),
            p.wrapping_key(&[2; 32]).unwrap().expose_secret()
        );
        let mut other_salt = p.clone();
        other_salt.salt[0] ^= 1;
        assert_ne!(
            a.expose_secret(),
            other_salt.wrapping_key(&[1; 32]).unwrap().expose_secret()
        );
        // The credential id is bound by the record's associated data, not by the key.
        assert!(matches!(
            p.wrapping_key(&[1; 31]),
            Err(VaultError::InvalidInput(_))
        ));
    }

    #[test]
    fn wrapping_key_is_hkdf_sha256_of_the_prf_output() {
        // Computed independently: HKDF-SHA256(ikm = 32 × 0x01, salt = 32 × 0x09,
        // info = "byok-vault/v1/passkey-wrap"), with Python's hmac module.
        let key = params().wrapping_key(&[1; 32]).unwrap();
        assert_eq!(hex::encode(key.expose_secret()), KAT_WRAP);
    }

    const KAT_WRAP: &str = "621132d01d837826f172adc1e271bc55a731ca36768b0d85feabce2b6e5a8ed9";

    #[test]
    fn shapes_are_checked() {
        assert_eq!(params().check(), Ok(()));
        let mut p = params();
        p.credential.clear();
        assert!(p.check().is_err());
        let mut p = params();
        p.credential = vec![0; MAX_CREDENTIAL_ID_LEN + 1];
        assert!(p.check().is_err());
        let mut p = params();
        p.salt.pop();
        assert!(p.check().is_err());
    }

    #[test]
    fn info_ids_pair_with_passkey_ids() {
        assert_eq!(
            info_id("passkey:00ff").as_deref(),
            Some("passkey-info:00ff")
        );
        assert_eq!(info_id("entry:00ff"), None);
    }
}
