//! Before the settings: create a vault (first run) or unlock it.

use std::time::Duration;

use byok_vault::{SecretString, VaultError};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::security::ResetVault;
use super::state::{Ctx, Phase, now_ms, take_value};
use super::widgets::{StrengthMeter, focus, focus_when_shown, new_password};
use crate::strength::{Strength, assess};
use crate::throttle::Throttle;
use crate::words;

/// First run: choose a password (twice), with a strength hint and the recovery warning.
#[component]
pub fn CreateVault() -> impl IntoView {
    let ctx = Ctx::get();
    let password = NodeRef::<leptos::html::Input>::new();
    let confirm = NodeRef::<leptos::html::Input>::new();
    let strength = RwSignal::new(None::<Strength>);
    let error = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    focus_when_shown(password);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        strength.set(None);
        let secret = match new_password(&password, &confirm) {
            Ok(secret) => secret,
            Err(problem) => {
                error.set(problem);
                focus(&password);
                return;
            }
        };
        busy.set(true);
        spawn_local(async move {
            let vault = ctx.vault();
            match vault.core().create(&secret).await {
                Ok(()) => {
                    error.set(String::new());
                    ctx.done("Your vault is ready. Add your first key below.");
                    // Asked after the vault exists; the Security tab shows the answer.
                    ctx.persisted.set(vault.persist_storage().await);
                }
                Err(err) => {
                    error.set(words::vault_error(&err));
                    busy.set(false);
                }
            }
        });
    };

    view! {
        <section class="panel narrow" aria-labelledby="create-title">
            <h1 id="create-title">"Create your key vault"</h1>
            <p class="lead">
                "Your provider API keys are encrypted in this browser with a password only you know. "
                "Apps send them to the provider through the byok proxy, one request at a time; the server never stores them."
            </p>
            <form class="stack" on:submit=submit>
                <label for="new-password">"Vault password"</label>
                <input
                    id="new-password"
                    type="password"
                    autocomplete="new-password"
                    required
                    aria-describedby="strength-hint"
                    node_ref=password
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        strength.set((!value.is_empty()).then(|| assess(&value)));
                    }
                />
                <StrengthMeter strength=strength />
                <label for="confirm-password">"Type it again"</label>
                <input id="confirm-password" type="password" autocomplete="new-password" required node_ref=confirm />
                <div class="warning" role="note">
                    <strong>"There is no way to recover a forgotten password."</strong>
                    " Not even the server can help: it never sees your password or your keys. Once your keys are in, download an encrypted backup (Security tab): with it, a forgotten password or a cleared browser costs nothing."
                </div>
                <p class="hint" id="restore-hint">"Have a backup? Create the vault, then restore your keys from the Security tab."</p>
                <p class="field-error" role="alert">{move || error.get()}</p>
                <button class="button primary" type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Creating…" } else { "Create vault" }}
                </button>
            </form>
        </section>
    }
}

/// Locked: the password, with a slowdown after repeated failures.
#[component]
pub fn Unlock() -> impl IntoView {
    let ctx = Ctx::get();
    let password = NodeRef::<leptos::html::Input>::new();
    let error = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let throttle = RwSignal::new(Throttle::default());
    let wait_ms = move || throttle.get().wait_ms(ctx.now_ms.get());
    focus_when_shown(password);
    // Passkeys are offered only when one is registered (readable while locked).
    let has_passkeys = RwSignal::new(false);
    spawn_local(async move {
        let registered = ctx.vault().core().passkey_requests().await;
        has_passkeys.set(registered.is_ok_and(|r| !r.is_empty()));
    });
    let with_passkey = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let result = ctx.vault().unlock_with_passkey().await;
            busy.set(false);
            match result {
                Ok(()) => {
                    error.set(String::new());
                    ctx.done("Vault unlocked with your passkey.");
                }
                Err(VaultError::Decrypt) => error.set(
                    "That passkey did not unlock this vault (it may have been removed). Nothing was changed; use the password."
                        .into(),
                ),
                Err(err) => error.set(words::vault_error(&err)),
            }
        });
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() || throttle.get_untracked().wait_ms(now_ms()) > 0 {
            return;
        }
        let secret = SecretString::new(take_value(&password));
        busy.set(true);
        spawn_local(async move {
            let result = ctx.vault().core().unlock(&secret).await;
            drop(secret);
            busy.set(false);
            match result {
                Ok(()) => {
                    throttle.update(Throttle::succeed);
                    error.set(String::new());
                    ctx.done("Vault unlocked.");
                }
                Err(VaultError::NotCreated) => ctx.phase.set(Phase::NoVault),
                Err(err) => {
                    let wait = throttle.try_update(|t| t.fail(now_ms())).unwrap_or(0);
                    ctx.now_ms.set(now_ms());
                    let mut text = words::vault_error(&err);
                    if wait > 0 {
                        text.push_str(&format!(
                            " After several failures you must wait {} seconds before the next try.",
                            wait / 1000
                        ));
                        // Re-enable the button when the wait is over, not a second later.
                        set_timeout(
                            move || ctx.now_ms.set(now_ms()),
                            Duration::from_millis(wait),
                        );
                    }
                    error.set(text);
                    focus(&password);
                }
            }
        });
    };

    view! {
        <section class="panel narrow" aria-labelledby="unlock-title">
            <h1 id="unlock-title">"Unlock your vault"</h1>
            <p class="lead">"Your keys are encrypted. Enter the vault password to use and manage them."</p>
            <form class="stack" on:submit=submit>
                <label for="unlock-password">"Vault password"</label>
                <input
                    id="unlock-password"
                    type="password"
                    autocomplete="current-password"
                    required
                    node_ref=password
                />
                <p class="field-error" id="unlock-error" role="alert">{move || error.get()}</p>
                <button
                    class="button primary"
                    type="submit"
                    id="unlock"
                    disabled=move || { busy.get() || wait_ms() > 0 }
                >
                    {move || {
                        let wait = wait_ms();
                        if busy.get() {
                            "Unlocking…".to_owned()
                        } else if wait > 0 {
                            format!("Try again in {} s", wait.div_ceil(1000))
                        } else {
                            "Unlock".to_owned()
                        }
                    }}
                </button>
            </form>
            <Show when=move || has_passkeys.get()>
                <div class="or-passkey">
                    <button class="button" type="button" id="unlock-passkey" on:click=with_passkey disabled=move || busy.get()>
                        "Unlock with a passkey"
                    </button>
                </div>
            </Show>
            <details class="forgot">
                <summary>"Forgot the password?"</summary>
                <p>
                    "It cannot be recovered: nobody else has it. You can delete this vault and start again, "
                    "then restore your keys from an encrypted backup if you made one (its own password opens it); "
                    "without one, you will need to enter your keys again (get new ones from each provider if you no longer have them)."
                </p>
                <ResetVault />
            </details>
        </section>
    }
}
