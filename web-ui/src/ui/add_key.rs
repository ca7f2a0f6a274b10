//! Adding a key: a label, the key with its shape checked as it is typed (and for Azure, the
//! resource it belongs to), and a test with the provider first if the user wants one.

use byok_vault::{Provider, SecretString, validate_key, validate_label, validate_resource};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::key_parts::{KeyField, capitalize};
use super::state::{Ctx, take_value};
use super::widgets::focus_when_shown;
use crate::words;

/// Adding a key: label, masked key with a shape check as you type, optional test first.
#[component]
pub(super) fn AddKeyForm(
    /// The provider the key is for.
    provider: Provider,
    /// Whether the form is open; set to false when done or cancelled.
    adding: RwSignal<bool>,
) -> impl IntoView {
    let ctx = Ctx::get();
    let label = NodeRef::<leptos::html::Input>::new();
    let key = NodeRef::<leptos::html::Input>::new();
    let resource = NodeRef::<leptos::html::Input>::new();
    let test_first = RwSignal::new(provider != byok_vault::Provider::Custom);
    let error = RwSignal::new(String::new());
    let busy = RwSignal::new(None::<&'static str>);
    let ids = |what: &str| format!("add-{}-{what}", provider.id());
    focus_when_shown(label);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked().is_some() {
            return;
        }
        let typed = key.get_untracked().map(|el| el.value()).unwrap_or_default();
        let secret = match validate_key(provider, &typed) {
            Ok(secret) => secret,
            Err(e) => {
                error.set(format!("{}.", capitalize(&e.to_string())));
                return;
            }
        };
        drop(SecretString::new(typed));
        let name = label
            .get_untracked()
            .map(|el| el.value())
            .unwrap_or_default();
        let name = if name.trim().is_empty() {
            format!("{} key", provider.display_name())
        } else {
            name
        };
        if let Err(problem) = validate_label(&name) {
            error.set(format!("{}.", capitalize(&problem)));
            return;
        }
        let typed_resource = resource.get_untracked().map(|el| el.value());
        let resource = match validate_resource(provider, typed_resource.as_deref()) {
            Ok(resource) => resource,
            Err(problem) => {
                error.set(format!("{}.", capitalize(&problem)));
                return;
            }
        };
        let test = test_first.get_untracked();
        spawn_local(async move {
            let vault = ctx.vault();
            if test {
                busy.set(Some("Testing…"));
                match vault
                    .check_with_provider(provider, resource.as_deref(), &secret)
                    .await
                {
                    Ok(result) if result.valid => {}
                    Ok(result) => {
                        busy.set(None);
                        error.set(format!(
                            "{} It was not saved.",
                            words::key_refused(provider.display_name(), "this key", result.status)
                        ));
                        return;
                    }
                    Err(err) => {
                        busy.set(None);
                        error.set(format!(
                            "{} To save it without a test, untick “Test before saving”.",
                            words::vault_error(&err)
                        ));
                        return;
                    }
                }
            }
            busy.set(Some("Saving…"));
            let added = vault
                .core()
                .add_at(provider, resource.as_deref(), secret.expose_secret(), &name)
                .await;
            busy.set(None);
            match added {
                Ok(info) => {
                    if test {
                        let _ = vault
                            .core()
                            .record_test(&info.id, byok_vault::TestStatus::Valid)
                            .await;
                    }
                    take_value(&key);
                    ctx.refresh();
                    adding.set(false);
                    let tested = if test { ", tested and working" } else { "" };
                    ctx.done(format!(
                        "Saved “{}” ({}) for {}{tested}.",
                        info.label,
                        info.preview,
                        provider.display_name()
                    ));
                }
                Err(err) => error.set(words::vault_error(&err)),
            }
        });
    };

    let cancel = move |_| {
        take_value(&key);
        adding.set(false);
    };

    view! {
        <form class="add-form stack" on:submit=submit aria-label=format!("Add {} key", words::with_article(provider.display_name()))>
            <label for=ids("label")>"Name (optional)"</label>
            <input id=ids("label") type="text" maxlength="64" placeholder="e.g. Personal, Work" node_ref=label />
            {provider.needs_resource().then(|| view! {
                <label for=ids("resource")>"Resource name"</label>
                <input
                    id=ids("resource")
                    type="text"
                    maxlength="63"
                    autocomplete="off"
                    spellcheck="false"
                    placeholder="e.g. contoso, from https://contoso.openai.azure.com"
                    aria-describedby=ids("resource-hint")
                    node_ref=resource
                />
                <p class="hint" id=ids("resource-hint")>
                    "The first part of your resource's endpoint. Requests with this key go to that resource only."
                </p>
            })}
            <label for=ids("key")>"API key"</label>
            <KeyField field_id=ids("key") provider=provider key=key />
            <label class="check">
                <input
                    type="checkbox"
                    prop:checked=move || test_first.get()
                    on:change=move |ev| test_first.set(event_target_checked(&ev))
                />
                "Test before saving"
            </label>
            <p class="field-error" role="alert">{move || error.get()}</p>
            <div class="row">
                <button class="button primary" type="submit" disabled=move || busy.get().is_some()>
                    {move || busy.get().unwrap_or("Save key")}
                </button>
                <button class="button" type="button" on:click=cancel>"Cancel"</button>
            </div>
        </form>
    }
}
