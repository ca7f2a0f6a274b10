//! Backups on the Security tab: download every key in one encrypted file, restore from one.

use byok_vault::SecretString;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use super::state::{Ctx, take_value};
use super::widgets::focus;
use crate::words;

/// "Download encrypted backup" and "Restore from backup".
#[component]
pub fn BackupPanel() -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="backup-title">
            <h2 id="backup-title">"Backup"</h2>
            <p>
                "A backup is one file with every key in this vault, encrypted under a password you choose. "
                "Keep it somewhere other than this browser (a USB stick, your password manager's attachments): "
                "with it, a cleared browser or a forgotten vault password costs you nothing."
            </p>
            <DownloadBackup />
            <RestoreBackup />
        </section>
    }
}

#[component]
fn DownloadBackup() -> impl IntoView {
    let ctx = Ctx::get();
    let vault_password = NodeRef::<leptos::html::Input>::new();
    let backup_password = NodeRef::<leptos::html::Input>::new();
    let error = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let current = SecretString::new(take_value(&vault_password));
        let chosen = take_value(&backup_password);
        let backup = (!chosen.is_empty()).then(|| SecretString::new(chosen));
        busy.set(true);
        spawn_local(async move {
            let protect = backup.as_ref().unwrap_or(&current);
            let result = ctx.vault().export_backup(&current, protect).await;
            busy.set(false);
            match result.map(|file| download(&file)) {
                Ok(Ok(name)) => {
                    error.set(String::new());
                    ctx.done(format!(
                        "Saved {name}. It opens only with the {} password.",
                        if backup.is_some() { "backup" } else { "vault" }
                    ));
                }
                Ok(Err(())) => error.set("The browser did not start the download.".into()),
                Err(err) => {
                    error.set(words::vault_error(&err));
                    focus(&vault_password);
                }
            }
        });
    };
    view! {
        <form class="stack" id="backup-form" on:submit=submit>
            <h3>"Download encrypted backup"</h3>
            <label for="backup-vault-password">"Vault password (asked again before keys leave the vault)"</label>
            <input id="backup-vault-password" type="password" autocomplete="current-password" required node_ref=vault_password />
            <label for="backup-password">"Backup password (leave empty to use the vault password)"</label>
            <input id="backup-password" type="password" autocomplete="new-password" minlength="8" node_ref=backup_password />
            <p class="field-error" role="alert">{move || error.get()}</p>
            <button class="button" type="submit" id="download-backup" disabled=move || busy.get()>
                {move || if busy.get() { "Encrypting…" } else { "Download encrypted backup" }}
            </button>
        </form>
    }
}

/// Hands `file` to the browser as a download; the file's name on success.
fn download(file: &web_sys::File) -> Result<String, ()> {
    let url = web_sys::Url::create_object_url_with_blob(file).map_err(|_| ())?;
    let link: web_sys::HtmlAnchorElement = document()
        .create_element("a")
        .map_err(|_| ())?
        .dyn_into()
        .map_err(|_| ())?;
    link.set_href(&url);
    link.set_download(&file.name());
    link.click();
    // The download has its own copy once started; the page's URL can go.
    set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(60),
    );
    Ok(file.name())
}

#[component]
fn RestoreBackup() -> impl IntoView {
    let ctx = Ctx::get();
    let picker = NodeRef::<leptos::html::Input>::new();
    let password = NodeRef::<leptos::html::Input>::new();
    let error = RwSignal::new(String::new());
    let outcome = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(file) = picker
            .get_untracked()
            .and_then(|input| input.files())
            .and_then(|files| files.get(0))
        else {
            error.set("Choose the backup file first.".into());
            return;
        };
        let secret = SecretString::new(take_value(&password));
        busy.set(true);
        outcome.set(String::new());
        spawn_local(async move {
            let result = ctx.vault().import_backup(&file.into(), &secret).await;
            busy.set(false);
            match result {
                Ok(report) => {
                    error.set(String::new());
                    let added: Vec<&str> = report.added.iter().map(|k| k.label.as_str()).collect();
                    let skipped: Vec<&str> =
                        report.skipped.iter().map(|k| k.label.as_str()).collect();
                    outcome.set(words::restored(&added, &skipped));
                    if let Some(input) = picker.get_untracked() {
                        input.set_value("");
                    }
                    ctx.refresh();
                }
                Err(err) => {
                    error.set(words::vault_error(&err));
                    focus(&password);
                }
            }
        });
    };
    view! {
        <form class="stack" id="restore-form" on:submit=submit>
            <h3>"Restore from backup"</h3>
            <p class="hint">"Adds the keys this vault does not have. Keys it already has stay as they are."</p>
            <label for="restore-file">"Backup file"</label>
            <input id="restore-file" type="file" accept=".json,application/json" node_ref=picker />
            <label for="restore-password">"Backup password"</label>
            <input id="restore-password" type="password" autocomplete="off" required node_ref=password />
            <p class="field-error" role="alert">{move || error.get()}</p>
            <p id="restore-result" role="status">{move || outcome.get()}</p>
            <button class="button" type="submit" id="restore-backup" disabled=move || busy.get()>
                {move || if busy.get() { "Restoring…" } else { "Restore from backup" }}
            </button>
        </form>
    }
}
