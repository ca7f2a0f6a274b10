//! A key over its life, on its row: a new secret in its place, off and on, an expiry date; and
//! the line under a provider's keys that says which key serves when the default cannot.

use byok_vault::{KeyInfo, Provider, SecretString, validate_key};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;

use super::key_parts::{KeyField, RowMode, capitalize};
use super::state::{Ctx, take_value};
use super::widgets::focus_when_shown;
use crate::words;

/// Turns key `id` on or off and says what that means.
pub(super) fn set_enabled(id: StoredValue<String>, label: StoredValue<String>, enabled: bool) {
    let ctx = Ctx::get();
    spawn_local(async move {
        match ctx
            .vault()
            .core()
            .set_enabled(&id.get_value(), enabled)
            .await
        {
            Ok(_) => {
                ctx.refresh();
                let name = label.get_value();
                ctx.done(if enabled {
                    format!("“{name}” is on again.")
                } else {
                    format!("“{name}” is off: it stays saved but is never sent.")
                });
            }
            Err(err) => ctx.vault_failed(&err),
        }
    });
}

/// Under a provider's keys: which key serves while the default is off or expired, or that
/// none can.
#[component]
pub(super) fn ServingNote(
    /// The provider.
    provider: Provider,
    /// Its keys.
    keys: Memo<Vec<KeyInfo>>,
) -> impl IntoView {
    let ctx = Ctx::get();
    let note = move || {
        let keys = keys.get();
        let now = ctx.now_ms.get();
        let default = keys.iter().find(|k| k.is_default)?;
        if default.is_usable(now) {
            return None;
        }
        let why = if default.enabled {
            "has expired"
        } else {
            "is off"
        };
        let serving = ctx.vault().core().serving_id(provider).ok().flatten();
        Some(
            match keys.iter().find(|k| Some(&k.id) == serving.as_ref()) {
                Some(next) => format!(
                    "The default, “{}”, {why}: “{}” serves {} requests meanwhile.",
                    default.label,
                    next.label,
                    provider.display_name()
                ),
                None => format!(
                    "The default, “{}”, {why}, and no other key can serve {}: requests fail until you turn one on, replace it or add one.",
                    default.label,
                    provider.display_name()
                ),
            },
        )
    };
    view! {
        <Show when=move || note().is_some()>
            <p class="hint serving" role="status">{note}</p>
        </Show>
    }
}

/// A new secret in a key's place: same name, default mark, cap and history.
#[component]
pub(super) fn ReplaceForm(
    /// The key's id.
    id: StoredValue<String>,
    /// Its label, for the messages.
    label: StoredValue<String>,
    /// Its provider, for the shape check and the test.
    provider: Provider,
    /// Its row's mode, back to view when done.
    mode: RwSignal<RowMode>,
) -> impl IntoView {
    let ctx = Ctx::get();
    let key = NodeRef::<leptos::html::Input>::new();
    let test_first = RwSignal::new(provider != Provider::Custom);
    let error = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let field_id = format!("replace-{}", id.get_value());
    focus_when_shown(key);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let typed = SecretString::new(key.get_untracked().map(|el| el.value()).unwrap_or_default());
        if let Err(e) = validate_key(provider, typed.expose_secret()) {
            error.set(format!("{}.", capitalize(&e.to_string())));
            return;
        }
        let test = test_first.get_untracked();
        busy.set(true);
        spawn_local(async move {
            let replaced = ctx.vault().replace_key(&id.get_value(), &typed, test).await;
            busy.set(false);
            match replaced {
                Ok(info) => {
                    take_value(&key);
                    mode.set(RowMode::View);
                    ctx.refresh();
                    let tested = if test { ", tested and working" } else { "" };
                    ctx.done(format!(
                        "“{}” now holds the new key ({}){tested}. Grants made before keep the old key until they expire or you revoke them.",
                        label.get_value(),
                        info.preview
                    ));
                }
                Err(err) => error.set(words::vault_error(&err)),
            }
        });
    };
    let cancel = move |_| {
        take_value(&key);
        mode.set(RowMode::View);
    };
    view! {
        <form class="stack replace-form" on:submit=submit aria-label=format!("Replace “{}”", label.get_value())>
            <label for=field_id.clone()>"New API key"</label>
            <KeyField field_id=field_id provider=provider key=key />
            <p class="hint">"The key keeps its name, default mark, daily cap and history; the old secret is forgotten here (revoke it with the provider too)."</p>
            <label class="check">
                <input
                    type="checkbox"
                    prop:checked=move || test_first.get()
                    on:change=move |ev| test_first.set(event_target_checked(&ev))
                />
                "Test before replacing"
            </label>
            <p class="field-error" role="alert">{move || error.get()}</p>
            <div class="row">
                <button class="button small primary" type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Replacing…" } else { "Replace key" }}
                </button>
                <button class="button small" type="button" on:click=cancel>"Cancel"</button>
            </div>
        </form>
    }
}

/// Setting or removing the day a key stops being sent.
#[component]
pub(super) fn ExpiryForm(
    /// The key's id.
    id: StoredValue<String>,
    /// Its label, for the messages.
    label: StoredValue<String>,
    /// Its expiry now.
    expires_ms: Option<u64>,
    /// Its row's mode, back to view when done.
    mode: RwSignal<RowMode>,
) -> impl IntoView {
    let ctx = Ctx::get();
    let input = NodeRef::<leptos::html::Input>::new();
    let error = RwSignal::new(String::new());
    let field_id = format!("expiry-{}", id.get_value());
    let hint_id = format!("{field_id}-hint");
    focus_when_shown(input);
    let set = move |at: Option<u64>| {
        spawn_local(async move {
            match ctx.vault().core().set_expiry(&id.get_value(), at).await {
                Ok(info) => {
                    mode.set(RowMode::View);
                    ctx.refresh();
                    let name = label.get_value();
                    ctx.done(match info.expires_ms {
                        Some(at) => format!("“{name}” expires on {}: it is flagged from a week before, and not sent from that day.", local_date(at)),
                        None => format!("“{name}” has no expiry date now."),
                    });
                }
                Err(err) => error.set(words::vault_error(&err)),
            }
        });
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = input
            .get_untracked()
            .map(|el| el.value())
            .unwrap_or_default();
        match start_of_local_day(&value) {
            Some(at) => set(Some(at)),
            None => error.set("Choose a date.".into()),
        }
    };
    let has_expiry = expires_ms.is_some();
    view! {
        <form class="inline-form" on:submit=save>
            <label for=field_id.clone()>"Expires on"</label>
            <input id=field_id type="date" required node_ref=input value=expires_ms.map(local_date).unwrap_or_default() aria-describedby=hint_id.clone() />
            <button class="button small primary" type="submit">"Save date"</button>
            <Show when=move || has_expiry>
                <button class="button small" type="button" on:click=move |_| set(None)>"Remove date"</button>
            </Show>
            <button class="button small" type="button" on:click=move |_| mode.set(RowMode::View)>"Cancel"</button>
            <p class="hint" id=hint_id>
                "The day the provider stops accepting this key, if it told you. From a week before, the key is flagged here; from that day (midnight, this computer's time) it is not sent."
            </p>
            <p class="field-error" role="alert">{move || error.get()}</p>
        </form>
    }
}

/// The badge for a key's expiry at `now`, if there is one to show.
pub(super) fn expiry_badge(expires_ms: Option<u64>, now: u64) -> Option<(&'static str, String)> {
    words::expiry_badge(byok_vault::expiry(expires_ms, now))
}

/// `YYYY-MM-DD` of the local day holding `ms`, as a date input shows it.
fn local_date(ms: u64) -> String {
    // Milliseconds since the epoch fit an f64 exactly until the year 287396.
    #[allow(clippy::cast_precision_loss)]
    let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    format!(
        "{:04}-{:02}-{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date()
    )
}

/// Milliseconds at local midnight starting `YYYY-MM-DD` (a date input's value), if it is one.
fn start_of_local_day(value: &str) -> Option<u64> {
    let mut parts = value.splitn(3, '-').map(str::parse::<u32>);
    let (year, month, day) = (
        parts.next()?.ok()?,
        parts.next()?.ok()?,
        parts.next()?.ok()?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let date =
        js_sys::Date::new_with_year_month_day(year, month.cast_signed() - 1, day.cast_signed());
    let ms = date.get_time();
    // A valid date after 1970 is a whole, positive number of milliseconds.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (ms.is_finite() && ms >= 0.0).then_some(ms as u64)
}
