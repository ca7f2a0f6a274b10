//! The root component.

use byok_vault::wasm::Vault;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// What the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Opening,
    NoVault,
    Locked,
    Unlocked,
    Unavailable,
}

fn error_text(err: &JsValue) -> String {
    js_sys::Reflect::get(err, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| "something went wrong".into())
}

/// The settings page: opens the vault and offers create, unlock and lock.
#[component]
pub fn App() -> impl IntoView {
    let vault: StoredValue<Option<Vault>, LocalStorage> = StoredValue::new_local(None);
    let (status, set_status) = signal(Status::Opening);
    let (message, set_message) = signal(String::new());
    let password = NodeRef::<leptos::html::Input>::new();

    spawn_local(async move {
        match Vault::open_inner(JsValue::UNDEFINED).await {
            Ok(v) => {
                let exists = JsFuture::from(v.exists())
                    .await
                    .ok()
                    .and_then(|e| e.as_bool());
                let on_change =
                    wasm_bindgen::closure::Closure::<dyn Fn(bool)>::new(move |locked| {
                        set_status.set(if locked {
                            Status::Locked
                        } else {
                            Status::Unlocked
                        });
                    });
                v.on_lock_change(wasm_bindgen::JsCast::unchecked_into(
                    on_change.into_js_value(),
                ));
                vault.set_value(Some(v));
                set_status.set(if exists == Some(true) {
                    Status::Locked
                } else {
                    Status::NoVault
                });
            }
            Err(err) => {
                set_message.set(error_text(&err));
                set_status.set(Status::Unavailable);
            }
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(input) = password.get() else { return };
        let secret = input.value();
        input.set_value("");
        let creating = status.get_untracked() == Status::NoVault;
        spawn_local(async move {
            let pending = vault.with_value(|v| {
                v.as_ref().map(|v| {
                    if creating {
                        v.create(secret)
                    } else {
                        v.unlock(secret)
                    }
                })
            });
            let Some(pending) = pending else { return };
            match JsFuture::from(pending).await {
                Ok(_) => set_message.set(String::new()),
                Err(err) => set_message.set(error_text(&err)),
            }
        });
    };
    let lock = move |_| {
        vault.with_value(|v| {
            if let Some(v) = v {
                v.lock();
            }
        });
    };

    view! {
        <main class="page">
            <h1>"byok — your API keys"</h1>
            <p class="status" role="status" aria-live="polite">
                {move || match status.get() {
                    Status::Opening => "Opening the vault…",
                    Status::NoVault => "No vault yet. Choose a password to create one.",
                    Status::Locked => "The vault is locked.",
                    Status::Unlocked => "The vault is unlocked.",
                    Status::Unavailable => "The vault cannot be opened in this browser.",
                }}
            </p>
            <Show when=move || matches!(status.get(), Status::NoVault | Status::Locked)>
                <form on:submit=submit>
                    <label for="password">"Vault password"</label>
                    <input id="password" type="password" node_ref=password autocomplete="current-password" required />
                    <button type="submit">
                        {move || if status.get() == Status::NoVault { "Create vault" } else { "Unlock" }}
                    </button>
                </form>
            </Show>
            <Show when=move || status.get() == Status::Unlocked>
                <button on:click=lock>"Lock now"</button>
            </Show>
            <p class="error" role="alert">{message}</p>
        </main>
    }
}
