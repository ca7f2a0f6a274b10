//! Backups in the browser: the backup file as a `Blob`, and a file a picker hands back read
//! into bytes. The format and the merge rules are the core's ([`crate::backup`]).

use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File, FilePropertyBag};

use super::browser::BrowserVault;
use super::invalid;
use crate::backup::MAX_BACKUP_BYTES;
use crate::{ImportReport, SecretString, VaultError};

impl BrowserVault {
    /// Every key in one encrypted backup file named `byok-backup-YYYY-MM-DD.json`.
    ///
    /// # Errors
    ///
    /// As [`crate::Vault::export_backup`].
    pub async fn export_backup(
        &self,
        vault_password: &SecretString,
        backup_password: &SecretString,
    ) -> Result<File, VaultError> {
        let text = self
            .core()
            .export_backup(vault_password, backup_password)
            .await?;
        let options = FilePropertyBag::new();
        options.set_type("application/json");
        let parts = Array::of1(&JsValue::from_str(&text));
        File::new_with_str_sequence_and_options(&parts, &backup_file_name(), &options)
            .map_err(|_| VaultError::Storage("the browser could not make the backup file".into()))
    }

    /// Reads a backup and adds the keys the vault does not hold. `file` is a `Blob` (a `File`
    /// from a picker) or the file's text.
    ///
    /// # Errors
    ///
    /// As [`crate::Vault::import_backup`]; [`VaultError::InvalidInput`] for anything else.
    pub async fn import_backup(
        &self,
        file: &JsValue,
        password: &SecretString,
    ) -> Result<ImportReport, VaultError> {
        self.core().active()?;
        let text = read_text(file).await?;
        self.core().import_backup(&text, password).await
    }
}

/// `byok-backup-` and today's UTC date.
fn backup_file_name() -> String {
    // Milliseconds since the epoch, far inside i64.
    #[allow(clippy::cast_possible_truncation)]
    let day = (js_sys::Date::now() / 86_400_000.0).floor() as i64;
    format!("byok-backup-{}.json", byok_providers::day::date(day))
}

/// The text of a `Blob` or a string, refusing what is too large to be a backup before reading.
async fn read_text(file: &JsValue) -> Result<String, VaultError> {
    if let Some(text) = file.as_string() {
        return Ok(text);
    }
    let blob: &Blob = file
        .dyn_ref()
        .ok_or_else(|| invalid("importBackup takes a File, a Blob or the file's text"))?;
    // A file size in bytes is far inside f64's exact range.
    #[allow(clippy::cast_precision_loss)]
    if blob.size() > MAX_BACKUP_BYTES as f64 {
        return Err(VaultError::BackupUnreadable);
    }
    let text = JsFuture::from(blob.text())
        .await
        .map_err(|_| VaultError::Storage("the browser could not read the file".into()))?;
    text.as_string().ok_or(VaultError::BackupUnreadable)
}
