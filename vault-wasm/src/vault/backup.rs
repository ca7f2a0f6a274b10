//! Backups: every key out in one sealed file, and back in without overwriting anything (the
//! file format and the merge rules are [`crate::backup`]).

use super::password::check_new_password;
use super::records::{new_entry_id, seal_entry};
use super::state::Vault;
use crate::autolock::Clock;
use crate::backup::{self, Backup, BackupContents, ImportReport};
use crate::entry::KeyInfo;
use crate::error::Result;
use crate::kdf::{Kdf, KdfParams};
use crate::secret::SecretString;
use crate::store::{Batch, Store};

impl<S: Store, K: Kdf, C: Clock> Vault<S, K, C> {
    /// Every readable key, with its metadata, in one file sealed under `backup_password` (see
    /// [`crate::backup`]; it may be the vault password). The vault password is asked again, as
    /// password managers do before an export, so a page left unlocked is not enough to take
    /// the keys out.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; [`VaultError::Decrypt`] for a wrong vault password;
    /// [`VaultError::InvalidInput`] for a backup password shorter than
    /// [`MIN_PASSWORD_CHARS`]; RNG failures.
    pub async fn export_backup(
        &self,
        vault_password: &SecretString,
        backup_password: &SecretString,
    ) -> Result<String> {
        self.active()?;
        check_new_password(backup_password)?;
        self.unwrap_vault_key(vault_password).await?;
        let params = KdfParams::generate()?;
        let key = self.kdf.derive(backup_password, &params).await?;
        let now = self.clock.now_ms();
        self.with_session(|s| {
            let entries = s.entries.iter().map(|(id, e)| (id.as_str(), e));
            backup::seal(&key, params, now, entries)
        })
    }

    /// Opens a backup file with its password and checks it, changing nothing. Needs no
    /// unlocked vault (nor any vault), so a page can check a file before creating a vault to
    /// restore it into.
    ///
    /// # Errors
    ///
    /// [`VaultError::BackupUnreadable`] for a wrong password or a damaged, truncated or foreign
    /// file; [`VaultError::UnsupportedFormat`] for one from a newer byok;
    /// [`VaultError::WeakKdf`].
    pub async fn read_backup(&self, text: &str, password: &SecretString) -> Result<BackupContents> {
        let backup = Backup::parse(text)?;
        let key = self.kdf.derive(password, backup.kdf()).await?;
        backup.open(&key)
    }

    /// Adds the keys of an opened backup that the vault does not hold, in one write; keys it
    /// holds are reported, never overwritten (the rules: [`crate::backup`]).
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; storage (then nothing was added).
    pub async fn restore(&self, contents: BackupContents) -> Result<ImportReport> {
        let (epoch, vault_key) = self.active()?;
        let (merge, skipped) = self.with_session(|s| {
            let merge = backup::merge(
                &s.entries,
                &s.unreadable,
                contents.into_entries(),
                new_entry_id,
            )?;
            let skipped = merge
                .skipped
                .iter()
                .filter_map(|id| {
                    let added = merge.add.iter().find(|(other, _)| other == id);
                    s.entries
                        .get_key_value(id)
                        .or(added.map(|(id, e)| (id, e)))
                        .map(|(id, e)| KeyInfo::new(id, e))
                })
                .collect();
            Ok((merge, skipped))
        })?;
        let mut batch = Batch::default();
        for (id, entry) in &merge.add {
            batch
                .put
                .push((id.clone(), seal_entry(&vault_key, id, entry)?));
        }
        if !batch.put.is_empty() {
            self.store.write(batch).await?;
        }
        let added = merge
            .add
            .iter()
            .map(|(id, e)| KeyInfo::new(id, e))
            .collect();
        self.update_session(epoch, |s| s.entries.extend(merge.add));
        Ok(ImportReport { added, skipped })
    }

    /// [`Vault::read_backup`] then [`Vault::restore`]: a file that does not open changes
    /// nothing.
    ///
    /// # Errors
    ///
    /// As those two.
    pub async fn import_backup(&self, text: &str, password: &SecretString) -> Result<ImportReport> {
        self.active()?;
        let contents = self.read_backup(text, password).await?;
        self.restore(contents).await
    }
}
