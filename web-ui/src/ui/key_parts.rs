//! What the key row and its forms share: the row's mode, the masked key input with its shape
//! check, and messages with a capital first letter.

use byok_vault::{Provider, validate_key};
use leptos::prelude::*;

/// What a key's row shows below its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RowMode {
    View,
    Rename,
    Cap,
    Replace,
    Expiry,
    ConfirmDelete,
}

/// A masked key input that says, as you type, whether the key has the provider's shape (and
/// keeps only that, never the value).
#[component]
pub(super) fn KeyField(
    /// The input's id, for its label.
    field_id: String,
    /// The provider whose shape is checked.
    provider: Provider,
    /// The input, read by the form on submit.
    key: NodeRef<leptos::html::Input>,
) -> impl IntoView {
    let shape = RwSignal::new(None::<Result<(), String>>);
    let check = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        shape.set((!value.is_empty()).then(|| {
            validate_key(provider, &value)
                .map(drop)
                .map_err(|e| format!("{}.", capitalize(&e.to_string())))
        }));
    };
    let shape_id = format!("{field_id}-shape");
    view! {
        <input
            id=field_id
            type="password"
            autocomplete="off"
            spellcheck="false"
            autocapitalize="off"
            data-lpignore="true"
            data-1p-ignore="true"
            required
            aria-describedby=shape_id.clone()
            aria-invalid=move || matches!(shape.get(), Some(Err(_))).then_some("true")
            node_ref=key
            on:input=check
        />
        <p class=move || match shape.get() { Some(Err(_)) => "shape bad", Some(Ok(())) => "shape good", None => "shape" } id=shape_id>
            {move || match shape.get() {
                None => key_hint(provider),
                Some(Ok(())) => "Looks like a valid key.".to_owned(),
                Some(Err(problem)) => problem,
            }}
        </p>
    }
}

/// What a provider's keys look like.
fn key_hint(provider: Provider) -> String {
    match (provider, provider.key_prefix()) {
        (Provider::Openai, _) => {
            "OpenAI keys start with sk- (project keys with sk-proj-).".to_owned()
        }
        (Provider::Gemini, _) => "Google AI Studio keys start with AIza.".to_owned(),
        (Provider::Custom, _) => "The key your OpenAI-compatible server expects.".to_owned(),
        (Provider::Azure, _) => {
            "Key 1 or Key 2 from your resource's Keys and Endpoint page.".to_owned()
        }
        (_, "") => format!("The API key from your {} account.", provider.display_name()),
        (_, prefix) => format!("{} keys start with {prefix}.", provider.display_name()),
    }
}

/// `text` with a capital first letter.
pub(super) fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
