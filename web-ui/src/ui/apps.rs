//! Connected apps on the Security tab: the web apps allowed to send requests through this
//! vault from their own pages (no script of theirs ever sees a key), when each was approved
//! and last used, and Revoke.

use byok_vault::ConnectedApp;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::state::{Ctx, now_ms};
use crate::timefmt;
use crate::words;

/// The connected-apps panel.
#[component]
pub fn AppsPanel() -> impl IntoView {
    let ctx = Ctx::get();
    let apps = RwSignal::new(Vec::<ConnectedApp>::new());
    let error = RwSignal::new(String::new());
    let reload = move || {
        spawn_local(async move {
            match ctx.vault().core().connected_apps().await {
                Ok(list) => apps.set(list),
                Err(err) => error.set(words::vault_error(&err)),
            }
        });
    };
    reload();
    let revoke = move |origin: String| {
        spawn_local(async move {
            match ctx.vault().core().revoke_app(&origin).await {
                Ok(()) => {
                    error.set(String::new());
                    reload();
                    ctx.done(format!(
                        "{origin} is disconnected: its next request through the vault is refused."
                    ));
                }
                Err(err) => error.set(words::vault_error(&err)),
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="apps-title">
            <h2 id="apps-title">"Connected apps"</h2>
            <p>
                "Web apps you allowed to use your keys from their own pages. They send requests through this vault; "
                "the keys, the password and your labels never reach their pages. Revoking one stops it at its next request."
            </p>
            <Show
                when=move || !apps.get().is_empty()
                fallback=|| view! { <p class="hint" id="apps-empty">"No app is connected."</p> }
            >
                <ul class="passkey-list" id="app-list">
                    <For
                        each=move || apps.get()
                        key=|app| app.origin.clone()
                        children=move |app| {
                            let now = now_ms();
                            let approved = format!("approved {}", timefmt::ago(now, app.approved_ms));
                            let used = app.last_used_ms.map_or_else(
                                || "never used".to_owned(),
                                |t| format!("last used {}", timefmt::ago(now, t)),
                            );
                            let origin = app.origin.clone();
                            let revoking = app.origin.clone();
                            view! {
                                <li class="passkey">
                                    <span class="passkey-label">{origin.clone()}</span>
                                    <span class="passkey-added">{format!("{approved} · {used}")}</span>
                                    <button
                                        class="button small danger-text"
                                        type="button"
                                        aria-label=format!("Revoke {origin}")
                                        on:click=move |_| revoke(revoking.clone())
                                    >
                                        "Revoke"
                                    </button>
                                </li>
                            }
                        }
                    />
                </ul>
            </Show>
            <p class="field-error" id="apps-error" role="alert">{move || error.get()}</p>
        </section>
    }
}
