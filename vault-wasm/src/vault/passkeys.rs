//! The vault's passkeys: registering one, unlocking with one, listing and removing them (the
//! cryptography and record shapes are [`crate::passkey`]).

use zeroize::Zeroizing;

use super::state::Vault;
use crate::autolock::Clock;
use crate::entry::validate_label;
use crate::envelope::{
    Envelope, HEADER_ID, PASSKEY_INFO_PREFIX, PASSKEY_PREFIX, PasskeyParams, RecordKind,
    new_record_id,
};
use crate::error::{Result, VaultError};
use crate::kdf::Kdf;
use crate::passkey::{
    MAX_PASSKEYS, PasskeyInfo, PasskeyMeta, PasskeyRequest, info_id, passkey_records,
};
use crate::secret::SymmetricKey;
use crate::store::{Batch, Store};

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
