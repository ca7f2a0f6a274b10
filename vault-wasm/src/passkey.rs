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

use crate::autolock::Clock;
use crate::crypto::{b64_vec, fill_random};
use crate::entry::validate_label;
use crate::envelope::{Envelope, HEADER_ID, RecordKind};
use crate::error::{Result, VaultError};
use crate::kdf::Kdf;
use crate::secret::SymmetricKey;
use crate::store::{Batch, Store};
use crate::vault::{Vault, new_record_id};

/// Prefix of passkey record ids (`passkey:<32 hex>`).
pub const PASSKEY_PREFIX: &str = "passkey:";
/// Prefix of the record holding a passkey's label and dates (`passkey-info:<same 32 hex>`).
pub const PASSKEY_INFO_PREFIX: &str = "passkey-info:";
/// Length of the PRF input drawn for each passkey.
pub const PRF_SALT_LEN: usize = 32;
/// Shortest PRF output accepted (WebAuthn's PRF gives 32 bytes).
pub const MIN_PRF_OUTPUT_LEN: usize = 32;
/// Longest credential id WebAuthn allows.
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;
/// Most passkeys one vault registers.
pub const MAX_PASSKEYS: usize = 10;
/// The HKDF `info`: what the derived key is for, so it can never serve anything else.
const HKDF_INFO: &[u8] = b"byok-vault/v1/passkey-wrap";

/// What a passkey record keeps in the clear: which credential, and the PRF input to ask it for.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasskeyParams {
    /// The WebAuthn credential id (raw bytes; base64 in storage).
    #[serde(with = "b64_vec")]
    pub credential: Vec<u8>,
    /// The PRF input ([`PRF_SALT_LEN`] random bytes).
    #[serde(with = "b64_vec")]
    pub salt: Vec<u8>,
}

impl std::fmt::Debug for PasskeyParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyParams")
            .field("credential_len", &self.credential.len())
            .finish_non_exhaustive()
    }
}

impl PasskeyParams {
    /// Checks the shapes: a credential id WebAuthn could have made and a full-length salt.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidInput`] saying which is wrong.
    pub fn check(&self) -> Result<()> {
        if self.credential.is_empty() || self.credential.len() > MAX_CREDENTIAL_ID_LEN {
            return Err(VaultError::InvalidInput(
                "the passkey's credential id has an impossible length".into(),
            ));
        }
        if self.salt.len() != PRF_SALT_LEN {
            return Err(VaultError::InvalidInput(
                "the passkey's PRF input must be 32 bytes".into(),
            ));
        }
        Ok(())
    }

    /// The canonical string bound into the record's associated data.
    #[must_use]
    pub fn binding(&self) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        format!(
            "passkey:{}:{}",
            b64.encode(&self.credential),
            b64.encode(&self.salt)
        )
    }

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
fn passkey_records(records: &[(String, String)]) -> Vec<(PasskeyRequest, Envelope)> {
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

// ---- the vault's passkey operations ---------------------------------------------------------

impl<S: Store, K: Kdf, C: Clock> Vault<S, K, C> {
    /// What an unlock must ask the authenticator for: every registered passkey's credential id
    /// and PRF input. Needs no unlock. Damaged records are left out, so one cannot block the
    /// others.
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub async fn passkey_requests(&self) -> Result<Vec<PasskeyRequest>> {
        let records = self.store().get_all().await?;
        Ok(passkey_records(&records)
            .into_iter()
            .map(|(request, _)| request)
            .collect())
    }

    /// Registers a passkey: wraps the vault key under the key its PRF output (for
    /// `params.salt`) gives, and remembers `label`. The vault must be unlocked.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; [`VaultError::InvalidInput`] for a bad label, bad parameters, a
    /// short PRF output, a credential already registered, or more than [`MAX_PASSKEYS`];
    /// storage and RNG failures.
    pub async fn add_passkey(
        &self,
        params: PasskeyParams,
        prf_output: &[u8],
        label: &str,
    ) -> Result<PasskeyInfo> {
        let (_, vault_key) = self.active()?;
        let label = validate_label(label).map_err(VaultError::InvalidInput)?;
        params.check()?;
        let wrapping = params.wrapping_key(prf_output)?;
        let registered = self.passkey_requests().await?;
        if registered.len() >= MAX_PASSKEYS {
            return Err(VaultError::InvalidInput(format!(
                "a vault can have at most {MAX_PASSKEYS} passkeys; remove one first"
            )));
        }
        if registered
            .iter()
            .any(|r| r.params.credential == params.credential)
        {
            return Err(VaultError::InvalidInput(
                "this passkey is already registered".into(),
            ));
        }
        let id = new_record_id(PASSKEY_PREFIX)?;
        let info_id = format!("{PASSKEY_INFO_PREFIX}{}", &id[PASSKEY_PREFIX.len()..]);
        let created_ms = self.now_ms();
        let record = Envelope::seal_passkey(&wrapping, &id, params, vault_key.expose_secret())?;
        let meta = Zeroizing::new(
            serde_json::to_vec(&PasskeyMeta {
                label: label.clone(),
                created_ms,
            })
            .map_err(|_| VaultError::InvalidInput("the label could not be encoded".into()))?,
        );
        let info = Envelope::seal(&vault_key, RecordKind::PasskeyInfo, &info_id, None, &meta)?;
        self.store()
            .write(Batch {
                put: vec![(id.clone(), record.to_json()), (info_id, info.to_json())],
                delete: Vec::new(),
            })
            .await?;
        Ok(PasskeyInfo {
            id,
            label,
            created_ms,
        })
    }

    /// Unlocks with the PRF output that passkey `credential` gave for its salt.
    ///
    /// # Errors
    ///
    /// [`VaultError::Decrypt`] for a credential that is not registered (or was removed), a
    /// wrong PRF output or a damaged record: the same answer for all three, as for a wrong
    /// password. [`VaultError::NotCreated`]; storage failures.
    pub async fn unlock_with_passkey(&self, credential: &[u8], prf_output: &[u8]) -> Result<()> {
        let records = self.store().get_all().await?;
        if !records.iter().any(|(id, _)| id == HEADER_ID) {
            return Err(VaultError::NotCreated);
        }
        let (request, record) = passkey_records(&records)
            .into_iter()
            .find(|(r, _)| r.params.credential == credential)
            .ok_or(VaultError::Decrypt)?;
        let wrapping = request
            .params
            .wrapping_key(prf_output)
            .map_err(|_| VaultError::Decrypt)?;
        let bytes = record.open(&wrapping, RecordKind::Passkey, &request.id)?;
        let bytes = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| VaultError::Decrypt)?;
        self.open_with(SymmetricKey::from_bytes(bytes)).await
    }

    /// The registered passkeys, oldest first. The vault must be unlocked (their labels are
    /// sealed under the vault key).
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; storage failures.
    pub async fn passkeys(&self) -> Result<Vec<PasskeyInfo>> {
        let (_, vault_key) = self.active()?;
        let records = self.store().get_all().await?;
        let mut found = Vec::new();
        for (request, _) in passkey_records(&records) {
            let meta = info_id(&request.id).and_then(|info_id| {
                let (_, raw) = records.iter().find(|(id, _)| *id == info_id)?;
                let bytes = Envelope::parse(raw)
                    .and_then(|e| e.open(&vault_key, RecordKind::PasskeyInfo, &info_id))
                    .ok()?;
                serde_json::from_slice::<PasskeyMeta>(&bytes).ok()
            });
            // A passkey whose label is lost still unlocks, and must still be removable.
            let (label, created_ms) = meta.map_or_else(
                || ("Passkey (name unreadable)".to_owned(), 0),
                |m| (m.label, m.created_ms),
            );
            found.push(PasskeyInfo {
                id: request.id,
                label,
                created_ms,
            });
        }
        found.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        Ok(found)
    }

    /// Removes passkey `id`: deletes its wrapped copy of the vault key (and its label), so it
    /// can no longer unlock. The vault must be unlocked.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; [`VaultError::NotFound`] for an unknown id; storage failures.
    pub async fn remove_passkey(&self, id: &str) -> Result<()> {
        self.active()?;
        let info_id = info_id(id).ok_or_else(|| VaultError::NotFound(id.to_owned()))?;
        if self.store().get(id).await?.is_none() {
            return Err(VaultError::NotFound(id.to_owned()));
        }
        self.store()
            .write(Batch {
                put: Vec::new(),
                delete: vec![id.to_owned(), info_id],
            })
            .await
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

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
