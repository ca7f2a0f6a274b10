//! Widgets several pages share: the password strength meter, a new password typed twice, and
//! moving keyboard focus.

use byok_vault::{MIN_PASSWORD_CHARS, SecretString};
use leptos::prelude::*;

use super::state::take_value;
use crate::strength::Strength;

/// The password strength meter and advice.
#[component]
pub fn StrengthMeter(
    /// The strength of what is typed (None: nothing typed).
    strength: RwSignal<Option<Strength>>,
) -> impl IntoView {
    view! {
        <div class="strength" id="strength-hint" aria-live="polite">
            <meter
                min="0"
                max="4"
                low="2"
                high="3"
                optimum="4"
                aria-label="Password strength"
                value=move || strength.get().map_or(0, Strength::score)
            ></meter>
            <span class="strength-text">
                {move || {
                    strength
                        .get()
                        .map(|s| format!("Strength: {}. {}", s.label(), s.advice()))
                        .unwrap_or_default()
                }}
            </span>
        </div>
    }
}

/// A new password typed twice, taken out of both fields: the secret, or what is wrong with it.
pub fn new_password(
    first: &NodeRef<leptos::html::Input>,
    second: &NodeRef<leptos::html::Input>,
) -> Result<SecretString, String> {
    let (first, second) = (
        SecretString::new(take_value(first)),
        SecretString::new(take_value(second)),
    );
    if first.expose_secret() != second.expose_secret() {
        return Err("The two passwords are not the same. Type them again.".into());
    }
    if first.expose_secret().chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "Use at least {MIN_PASSWORD_CHARS} characters for the vault password."
        ));
    }
    Ok(first)
}

/// Moves keyboard focus to `input` (after an error, so the user can type again at once).
pub fn focus(input: &NodeRef<leptos::html::Input>) {
    if let Some(el) = input.get_untracked() {
        let _ = el.focus();
    }
}

/// Focuses `input` once it is in the page: the `autofocus` attribute only works on page load,
/// and these forms appear later (after a lock, after opening a form).
pub fn focus_when_shown<E>(node: NodeRef<E>)
where
    E: leptos::html::ElementType,
    E::Output: wasm_bindgen::JsCast + Clone + 'static,
{
    Effect::new(move |_| {
        if let Some(el) = node.get() {
            let _ = wasm_bindgen::JsCast::unchecked_ref::<web_sys::HtmlElement>(&el).focus();
        }
    });
}
