//! Security settings: the auto-lock period, the daily key check, storage, backups, passkeys,
//! connected apps, changing the password (and how it is hashed), resetting the vault.

use byok_vault::{KdfAlgorithm, SecretString};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::apps::AppsPanel;
use super::backup::BackupPanel;
use super::passkeys::PasskeyPanel;
use super::state::{Ctx, Phase, take_value};
use super::widgets::{StrengthMeter, focus, new_password};
use crate::strength::{Strength, assess};
use crate::words;

/// The auto-lock periods offered, in minutes.
const AUTO_LOCK_MINUTES: [u64; 5] = [1, 5, 15, 30, 60];
/// What a person types to confirm a reset.
const RESET_PHRASE: &str = "delete my keys";

/// The security tab.
#[component]
pub fn SecurityPage() -> impl IntoView {
    view! {
        <div class="stack-lg">
            <AutoLockSetting />
            <RetestSetting />
            <StorageSetting />
            <BackupPanel />
            <PasskeyPanel />
            <AppsPanel />
            <ChangePassword />
            <section class="panel danger-zone" aria-labelledby="reset-title">
                <h2 id="reset-title">"Reset the vault"</h2>
                <p>"Deletes the vault and every key in it from this browser. Apps using these keys stop working until you add keys again."</p>
                <ResetVault />
            </section>
        </div>
    }
}

/// The daily re-test: off by default, and it says what turning it on sends where.
#[component]
fn RetestSetting() -> impl IntoView {
    let ctx = Ctx::get();
    let on = RwSignal::new(ctx.vault().core().daily_retest().unwrap_or(false));
    let change = move |ev: leptos::ev::Event| {
        let wanted = event_target_checked(&ev);
        spawn_local(async move {
            match ctx.vault().set_daily_retest(wanted).await {
                Ok(()) => {
                    on.set(wanted);
                    ctx.done(if wanted {
                        "Each key that is on will be tested once a day while the vault is unlocked."
                    } else {
                        "Keys are tested only when you ask."
                    });
                }
                Err(err) => {
                    on.set(!wanted);
                    ctx.vault_failed(&err);
                }
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="retest-title">
            <h2 id="retest-title">"Daily key check"</h2>
            <p id="retest-hint">
                "While the vault is unlocked, once a day, send each key that is on to its provider's test endpoint (through the byok proxy, which lists the models it may use: no tokens spent) and show the answer on the Keys tab. A key that stopped working shows as Rejected before an app finds out. Off unless you turn it on."
            </p>
            <label class="check">
                <input id="daily-retest" type="checkbox" aria-describedby="retest-hint" prop:checked=move || on.get() on:change=change />
                "Test my keys once a day"
            </label>
        </section>
    }
}

/// Whether the browser keeps the vault's storage, and a way to ask (again).
#[component]
fn StorageSetting() -> impl IntoView {
    let ctx = Ctx::get();
    spawn_local(async move {
        ctx.persisted.set(ctx.vault().storage_persisted().await);
    });
    let ask = move |_| {
        spawn_local(async move {
            let answer = ctx.vault().persist_storage().await;
            ctx.persisted.set(answer);
            match answer {
                Some(true) => ctx.done("This browser will keep the vault's storage."),
                _ => ctx.failed(
                    "This browser did not agree to keep the vault's storage. Bookmarking or installing the page makes some browsers agree.",
                ),
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="storage-title">
            <h2 id="storage-title">"Storage"</h2>
            <p id="storage-status">
                {move || match ctx.persisted.get() {
                    Some(true) => "Persistent: this browser has agreed not to clear the vault when the disk fills up.",
                    Some(false) => "Not persistent: this browser may clear the vault (and the keys in it) when the disk fills up. Download an encrypted backup (below) so that losing it costs nothing.",
                    None => "This browser cannot say whether it keeps the vault's storage.",
                }}
            </p>
            <Show when=move || ctx.persisted.get() == Some(false)>
                <button class="button" id="persist-storage" on:click=ask>"Ask the browser to keep it"</button>
            </Show>
        </section>
    }
}

/// The auto-lock period (1, 5, 15, 30 or 60 minutes).
#[component]
fn AutoLockSetting() -> impl IntoView {
    let ctx = Ctx::get();
    let change = move |ev: leptos::ev::Event| {
        let Ok(minutes) = event_target_value(&ev).parse::<u64>() else {
            return;
        };
        spawn_local(async move {
            match ctx.vault().core().set_auto_lock_ms(minutes * 60_000).await {
                Ok(()) => {
                    ctx.refresh();
                    let unit = if minutes == 1 { "minute" } else { "minutes" };
                    ctx.done(format!(
                        "The vault now locks after {minutes} {unit} without activity."
                    ));
                }
                Err(err) => ctx.vault_failed(&err),
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="autolock-title">
            <h2 id="autolock-title">"Auto-lock"</h2>
            <p>"The vault locks itself when you have not used this page for a while, and forgets the decrypted keys. Locking in one tab locks every tab."</p>
            <div class="row">
            <label for="auto-lock">"Lock after"</label>
            <select id="auto-lock" on:change=change>
                {AUTO_LOCK_MINUTES
                    .into_iter()
                    .map(|minutes| {
                        let label = if minutes == 1 {
                            "1 minute".to_owned()
                        } else {
                            format!("{minutes} minutes")
                        };
                        view! {
                            <option
                                value=minutes.to_string()
                                selected=move || ctx.auto_lock_ms.get() == minutes * 60_000
                            >
                                {label}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            <span>"without activity"</span>
            </div>
        </section>
    }
}

/// Change the password: the current one, then the new one twice.
#[component]
fn ChangePassword() -> impl IntoView {
    let ctx = Ctx::get();
    let current = NodeRef::<leptos::html::Input>::new();
    let new = NodeRef::<leptos::html::Input>::new();
    let confirm = NodeRef::<leptos::html::Input>::new();
    let strength = RwSignal::new(None::<Strength>);
    let error = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let hashing = RwSignal::new(None::<String>);
    let alg = RwSignal::new(KdfAlgorithm::default());
    let read_hashing = move || {
        spawn_local(async move {
            let now = ctx.vault().core().password_hashing().await.ok();
            hashing.set(now.map(|params| params.describe()));
        });
    };
    read_hashing();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let old = SecretString::new(take_value(&current));
        strength.set(None);
        let next = match new_password(&new, &confirm) {
            Ok(secret) => secret,
            Err(problem) => {
                error.set(problem);
                focus(&new);
                return;
            }
        };
        busy.set(true);
        spawn_local(async move {
            let result = ctx
                .vault()
                .core()
                .change_password_with(&old, &next, alg.get_untracked())
                .await;
            busy.set(false);
            match result {
                Ok(()) => {
                    error.set(String::new());
                    read_hashing();
                    ctx.done("Password changed. Use the new one from now on.");
                }
                Err(err) => {
                    error.set(words::vault_error(&err));
                    focus(&current);
                }
            }
        });
    };

    view! {
        <section class="panel" aria-labelledby="password-title">
            <h2 id="password-title">"Change the vault password"</h2>
            <p id="password-hashing">
                {move || hashing.get().map(|how| format!("Your password is hashed with {how}, so every guess costs an attacker that much work."))}
            </p>
            <form class="stack" on:submit=submit>
                <label for="current-password">"Current password"</label>
                <input id="current-password" type="password" autocomplete="current-password" required node_ref=current />
                <label for="changed-password">"New password"</label>
                <input
                    id="changed-password"
                    type="password"
                    autocomplete="new-password"
                    required
                    aria-describedby="strength-hint"
                    node_ref=new
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        strength.set((!value.is_empty()).then(|| assess(&value)));
                    }
                />
                <StrengthMeter strength=strength />
                <label for="changed-confirm">"Type the new password again"</label>
                <input id="changed-confirm" type="password" autocomplete="new-password" required node_ref=confirm />
                <label for="new-hashing">"Hash the new password with"</label>
                <select
                    id="new-hashing"
                    aria-describedby="hashing-hint"
                    on:change=move |ev| {
                        if let Ok(chosen) = KdfAlgorithm::parse(&event_target_value(&ev)) {
                            alg.set(chosen);
                        }
                    }
                >
                    <option value=KdfAlgorithm::Argon2id.as_str() selected=true>"Argon2id, 64 MiB, 3 passes (recommended)"</option>
                    <option value=KdfAlgorithm::Pbkdf2Sha256.as_str()>"PBKDF2-SHA256, 600,000 iterations"</option>
                </select>
                <p class="hint" id="hashing-hint">"Argon2id needs 64 MiB of memory for each guess, which makes guessing on graphics cards far more expensive; unlocking takes about a third of a second. PBKDF2 is for devices that cannot spare the memory."</p>
                <p class="field-error" role="alert">{move || error.get()}</p>
                <button class="button primary" type="submit" id="change-password" disabled=move || busy.get()>
                    {move || if busy.get() { "Changing…" } else { "Change password" }}
                </button>
            </form>
        </section>
    }
}

/// Reset: type the phrase to enable the button.
#[component]
pub fn ResetVault() -> impl IntoView {
    let ctx = Ctx::get();
    let typed = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let confirmed = move || typed.get().trim().eq_ignore_ascii_case(RESET_PHRASE);
    let reset = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !confirmed() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let result = ctx.vault().core().reset().await;
            busy.set(false);
            typed.set(String::new());
            match result {
                Ok(()) => {
                    ctx.phase.set(Phase::NoVault);
                    ctx.done("The vault and every key in it were deleted from this browser.");
                }
                Err(err) => ctx.vault_failed(&err),
            }
        });
    };
    view! {
        <form class="stack" on:submit=reset>
            <label for="reset-confirm">
                "To confirm, type " <strong>{RESET_PHRASE}</strong>
            </label>
            <input
                id="reset-confirm"
                type="text"
                autocomplete="off"
                spellcheck="false"
                prop:value=move || typed.get()
                on:input=move |ev| typed.set(event_target_value(&ev))
            />
            <button class="button danger" type="submit" id="reset-vault" disabled=move || !confirmed() || busy.get()>
                "Delete the vault and all keys"
            </button>
        </form>
    }
}
