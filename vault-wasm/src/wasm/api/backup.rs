//! Backups for JavaScript: `exportBackup` gives a `File` to download, `importBackup` takes the
//! one a file picker hands back. The format and the merge rules are the core's
//! ([`crate::backup`]).

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::Vault;
use super::js::{js_error, promise, to_js};
use crate::SecretString;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** What `importBackup` did: keys added, and keys the vault already held (left as they were). */
export interface ImportReport {
  added: KeyInfo[];
  skipped: KeyInfo[];
}
"#;

#[wasm_bindgen]
impl Vault {
    /// Every key with its metadata in one encrypted file (a `File` named
    /// `byok-backup-YYYY-MM-DD.json`, JSON; the format is documented in the README), sealed
    /// under `backupPassword`, or under the vault password when it is omitted. The vault
    /// password is asked again, as password managers do before an export; a wrong one rejects
    /// with code `decrypt`.
    #[wasm_bindgen(js_name = exportBackup, unchecked_return_type = "Promise<File>")]
    pub fn export_backup(
        &self,
        vault_password: String,
        backup_password: Option<String>,
    ) -> Promise {
        let vault = self.vault.clone();
        let vault_password = SecretString::new(vault_password);
        let backup_password = backup_password.map(SecretString::new);
        promise(async move {
            let backup = backup_password.as_ref().unwrap_or(&vault_password);
            Ok(vault.export_backup(&vault_password, backup).await?.into())
        })
    }

    /// Adds the keys of a backup (a `File` or `Blob` from a file picker, or its text) that the
    /// vault does not hold; keys it holds are reported in `skipped` and left as they were. A
    /// wrong password or a damaged, cut-short or foreign file rejects with code
    /// `backup_unreadable`, one from a newer byok with `unsupported_format`; either way
    /// nothing changes.
    #[wasm_bindgen(js_name = importBackup, unchecked_return_type = "Promise<ImportReport>")]
    pub fn import_backup(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Blob | string")] file: JsValue,
        password: String,
    ) -> Promise {
        let vault = self.vault.clone();
        let password = SecretString::new(password);
        future_to_promise(async move {
            let report = vault.import_backup(&file, &password).await;
            to_js(&report.map_err(js_error)?)
        })
    }
}
