//! Passkeys on the Security tab: register one to unlock without the password, see them, remove
//! one. Unavailable browsers get the reason instead of the form.

use byok_vault::PasskeyInfo;
use byok_vault::wasm::PasskeySupport;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::state::{Ctx, now_ms, take_value};
use crate::timefmt;
use crate::words;

/// The passkey panel.
#[component]
pub fn PasskeyPanel() -> impl IntoView {
    let ctx = Ctx::get();
    let support = RwSignal::new(None::<PasskeySupport>);
    let registered = RwSignal::new(Vec::<PasskeyInfo>::new());
    let error = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let label = NodeRef::<leptos::html::Input>::new();
    let reload = move || {
        spawn_local(async move {
            match ctx.vault().core().passkeys().await {
                Ok(list) => registered.set(list),
                Err(err) => error.set(words::vault_error(&err)),
            }
        });
    };
    spawn_local(async move {
        support.set(Some(ctx.vault().passkey_support().await));
    });
    reload();

    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = take_value(&label);
        let name = if typed.trim().is_empty() {
            "Passkey".to_owned()
        } else {
            typed
        };
        busy.set(true);
        spawn_local(async move {
            let result = ctx.vault().add_passkey(&name).await;
            busy.set(false);
            match result {
                Ok(info) => {
                    error.set(String::new());
                    reload();
                    ctx.done(format!(
                        "Passkey \u{201c}{}\u{201d} added. It unlocks the vault; the password still works too.",
                        info.label
                    ));
                }
                Err(err) => error.set(words::vault_error(&err)),
            }
        });
    };
    let remove = move |info: PasskeyInfo| {
        spawn_local(async move {
            match ctx.vault().core().remove_passkey(&info.id).await {
                Ok(()) => {
                    reload();
                    ctx.done(format!(
                        "Passkey \u{201c}{}\u{201d} removed: it can no longer unlock the vault.",
                        info.label
                    ));
                }
                Err(err) => error.set(words::vault_error(&err)),
            }
        });
    };

    view! {
        <section class="panel" aria-labelledby="passkeys-title">
            <h2 id="passkeys-title">"Passkeys"</h2>
            <p>
                "A passkey (your fingerprint, face, device PIN or a security key) can unlock the vault instead of the password. "
                "The password keeps working, and changing it keeps your passkeys working. "
                "The passkey must support the PRF extension: it gives the vault a secret that only that passkey can produce."
            </p>
            <ul class="passkey-list" id="passkey-list">
                <For
                    each=move || registered.get()
                    key=|info| info.id.clone()
                    children=move |info| {
                        let name = info.label.clone();
                        let added = if info.created_ms == 0 {
                            String::new()
                        } else {
                            format!("added {}", timefmt::ago(now_ms(), info.created_ms))
                        };
                        let removing = info.clone();
                        view! {
                            <li class="passkey">
                                <span class="passkey-label">{name.clone()}</span>
                                <span class="passkey-added">{added}</span>
                                <button
                                    class="button small"
                                    type="button"
                                    aria-label=format!("Remove passkey {name}")
                                    on:click=move |_| remove(removing.clone())
                                >
                                    "Remove"
                                </button>
                            </li>
                        }
                    }
                />
            </ul>
            {move || match support.get() {
                None => ().into_any(),
                Some(PasskeySupport { available: false, reason }) => view! {
                    <p id="passkey-unavailable" class="hint">
                        {format!(
                            "Not available here: {}. The password is the way to unlock in this browser.",
                            reason.unwrap_or_else(|| "this browser cannot use passkeys".into())
                        )}
                    </p>
                }
                .into_any(),
                Some(_) => view! {
                    <form class="row" on:submit=add>
                        <label for="passkey-label">"Name"</label>
                        <input id="passkey-label" type="text" placeholder="This laptop" autocomplete="off" node_ref=label />
                        <button class="button" type="submit" id="add-passkey" disabled=move || busy.get()>
                            {move || if busy.get() { "Waiting for the passkey…" } else { "Add a passkey" }}
                        </button>
                    </form>
                }
                .into_any(),
            }}
            <p class="field-error" id="passkey-error" role="alert">{move || error.get()}</p>
        </section>
    }
}
