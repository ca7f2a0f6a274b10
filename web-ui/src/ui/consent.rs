//! The consent window: an app opened this window of the vault's origin to be connected
//! (`#connect`) or to get a grant of a key (`#grant`). Only a top-level window the app opened
//! asks: the browser says which origin is asking (a message's `origin`, not anything the app
//! wrote), and the answer goes back to that origin alone. The settings page cannot be framed,
//! so an app cannot lay this window under its own page and click it.
//!
//! The handshake: this window says `{byok: "consent-hello"}` to its opener until the app
//! answers `{byok: "consent-request", kind, frame, providers | scope}`; the person answers
//! here, after unlocking; the app gets `{byok: "consent-result", approved, grant?, code?}`.

use std::cell::Cell;
use std::rc::Rc;

use byok_vault::Provider;
use byok_vault::apps::normalize_origin;
use byok_vault::wasm::GrantOptions;
use js_sys::{Array, Object, Reflect};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::state::Ctx;
use crate::opened::Purpose;
use crate::words;

/// How often the hello is said while the app has not answered, and how many times.
const HELLO_EVERY_MS: u32 = 300;
const HELLOS: u32 = 40;

/// What a grant's app asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The provider whose key.
    pub provider: Provider,
    /// Lifetime, seconds.
    pub ttl_seconds: Option<u64>,
    /// Requests allowed in all.
    pub max_requests: Option<u32>,
    /// Allowed models.
    pub models: Vec<String>,
    /// The app's name for it.
    pub label: String,
}

/// What the app asked, as the browser says who asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// The asking app's origin.
    pub origin: String,
    /// The app's frame, to hand the unlocked vault to.
    pub frame: Option<String>,
    /// The providers it says it will use (connect).
    pub providers: Vec<Provider>,
    /// What it asks of a key (grant).
    pub scope: Option<Scope>,
}

/// Where the consent stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consent {
    /// Waiting for the app to say what it asks.
    Waiting,
    /// The app asked this.
    Asked(Asked),
    /// Nothing to ask (not opened by an app, framed, an app the operator does not allow).
    Refused(String),
    /// Answered: what happened, in words.
    Answered(String),
}

/// The consent of this window, shared by the page (its unlock screen names the asking app).
#[derive(Debug, Clone, Copy)]
pub struct ConsentState {
    /// What the window is for.
    pub purpose: Purpose,
    /// Where the consent stands.
    pub consent: RwSignal<Consent>,
}

impl ConsentState {
    /// Starts the handshake with the app that opened this window.
    pub fn start(purpose: Purpose) -> Self {
        let consent = RwSignal::new(Consent::Waiting);
        let state = Self { purpose, consent };
        spawn_local(handshake(state));
        state
    }
}

/// Says hello to the opener until it asks, then checks the asking origin.
async fn handshake(state: ConsentState) {
    let window = window();
    let framed = window
        .top()
        .ok()
        .flatten()
        .is_none_or(|top| !Object::is(&top, &window));
    let opener = window
        .opener()
        .ok()
        .filter(|o| !o.is_null() && !o.is_undefined());
    let Some(opener) = opener.filter(|_| !framed) else {
        state.consent.set(Consent::Refused(
            "This window answers an app only when the app opens it.".into(),
        ));
        return;
    };
    let allowed = embed_origins().await;
    let answered = Rc::new(Cell::new(false));
    let seen = Rc::clone(&answered);
    let expected = match state.purpose {
        Purpose::Grant => "grant",
        _ => "connect",
    };
    let source = opener.clone();
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
        move |event: web_sys::MessageEvent| {
            let from_opener = event.source().is_some_and(|s| Object::is(&s, &source));
            let data = event.data();
            let text = |name: &str| {
                Reflect::get(&data, &name.into())
                    .ok()
                    .and_then(|v| v.as_string())
            };
            if !from_opener
                || seen.get()
                || text("byok").as_deref() != Some("consent-request")
                || text("kind").as_deref() != Some(expected)
            {
                return;
            }
            seen.set(true);
            let origin = event.origin();
            let consent = match normalize_origin(&origin) {
                Ok(normal) if normal == origin && allowed.contains(&origin) => {
                    match asked(&data, origin.clone(), state.purpose) {
                        Ok(asked) => Consent::Asked(asked),
                        Err(why) => {
                            reply(&source, &origin, false, Some(("bad_message", &why)), None);
                            Consent::Refused(why)
                        }
                    }
                }
                _ => {
                    reply(
                        &source,
                        &origin,
                        false,
                        Some((
                            "not_allowed",
                            "the vault's operator does not allow this site",
                        )),
                        None,
                    );
                    Consent::Refused(format!(
                        "{origin} asked, but this vault's operator does not allow that site to use it."
                    ))
                }
            };
            state.consent.set(consent);
        },
    );
    // The window lives as long as its page: so does its listener.
    let _ = window.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    on_message.forget();
    let hello = Object::new();
    let _ = Reflect::set(&hello, &"byok".into(), &"consent-hello".into());
    for _ in 0..HELLOS {
        if answered.get() {
            break;
        }
        // A hello says only that a consent window is open; anyone may hear it.
        let _ = opener
            .unchecked_ref::<web_sys::Window>()
            .post_message(&hello, "*");
        gloo_timers::future::TimeoutFuture::new(HELLO_EVERY_MS).await;
    }
    if !answered.get() {
        state.consent.set(Consent::Refused(
            "The app that opened this window did not say what it asks.".into(),
        ));
    }
}

/// The request `data` carries, from `origin`.
fn asked(data: &JsValue, origin: String, purpose: Purpose) -> Result<Asked, String> {
    let get =
        |from: &JsValue, name: &str| Reflect::get(from, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let frame = get(data, "frame")
        .as_string()
        .filter(|f| f.len() == 32 && f.bytes().all(|b| b.is_ascii_hexdigit()));
    let providers = strings(&get(data, "providers"))
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect();
    let scope = if purpose == Purpose::Grant {
        let scope = get(data, "scope");
        let provider = get(&scope, "provider")
            .as_string()
            .and_then(|p| p.parse().ok())
            .ok_or("the grant names no known provider")?;
        let whole = |name: &str| {
            get(&scope, name)
                .as_f64()
                .filter(|n| n.fract() == 0.0 && *n >= 1.0 && *n <= 1e12)
        };
        // Whole numbers in range, checked above.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(Scope {
            provider,
            ttl_seconds: whole("ttlSeconds").map(|n| n as u64),
            max_requests: whole("maxRequests").and_then(|n| u32::try_from(n as u64).ok()),
            models: strings(&get(&scope, "models"))
                .into_iter()
                .take(64)
                .collect(),
            label: get(&scope, "label").as_string().unwrap_or_default(),
        })
    } else {
        None
    };
    Ok(Asked {
        origin,
        frame,
        providers,
        scope,
    })
}

/// The proxy's `GET /byok/embed`: the app origins its operator allows (none when unreadable).
async fn embed_origins() -> Vec<String> {
    let Ok(response) = JsFuture::from(window().fetch_with_str("/byok/embed")).await else {
        return Vec::new();
    };
    let Ok(response) = response.dyn_into::<web_sys::Response>() else {
        return Vec::new();
    };
    let Ok(json) = response.json() else {
        return Vec::new();
    };
    let Ok(body) = JsFuture::from(json).await else {
        return Vec::new();
    };
    strings(&Reflect::get(&body, &"origins".into()).unwrap_or(JsValue::UNDEFINED))
}

/// The strings of `value` when it is an array (`Array.from` throws on `undefined`).
fn strings(value: &JsValue) -> Vec<String> {
    if !Array::is_array(value) {
        return Vec::new();
    }
    Array::from(value)
        .iter()
        .filter_map(|v| v.as_string())
        .collect()
}

/// Tells the app (at `origin` only) the answer.
fn reply(
    opener: &JsValue,
    origin: &str,
    approved: bool,
    error: Option<(&str, &str)>,
    grant: Option<JsValue>,
) {
    let message = Object::new();
    let _ = Reflect::set(&message, &"byok".into(), &"consent-result".into());
    let _ = Reflect::set(&message, &"approved".into(), &approved.into());
    if let Some((code, text)) = error {
        let _ = Reflect::set(&message, &"code".into(), &code.into());
        let _ = Reflect::set(&message, &"message".into(), &text.into());
    }
    if let Some(grant) = grant {
        let _ = Reflect::set(&message, &"grant".into(), &grant);
    }
    let _ = opener
        .unchecked_ref::<web_sys::Window>()
        .post_message(&message, origin);
}

/// The unlocked consent screen.
#[component]
pub fn ConsentPage(
    /// This window's consent.
    state: ConsentState,
) -> impl IntoView {
    let ctx = Ctx::get();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(String::new());
    let opener = move || window().opener().unwrap_or(JsValue::NULL);
    let answer = move |asked: Asked, allow: bool| {
        busy.set(true);
        spawn_local(async move {
            let vault = ctx.vault();
            let done = if !allow {
                reply(
                    &opener(),
                    &asked.origin,
                    false,
                    Some(("denied", "the person said no")),
                    None,
                );
                Ok(format!("{} was told no.", asked.origin))
            } else if let Some(scope) = asked.scope.clone() {
                let options = GrantOptions {
                    ttl_seconds: scope.ttl_seconds,
                    max_requests: scope.max_requests,
                    models: Some(scope.models.clone()),
                    label: Some(scope.label.clone()),
                    ..GrantOptions::default()
                };
                match vault.grant(scope.provider, options).await {
                    Ok(issued) => {
                        let grant = serde_wasm_bindgen::to_value(&issued).unwrap_or(JsValue::NULL);
                        reply(&opener(), &asked.origin, true, None, Some(grant));
                        Ok(format!("{} has its grant.", asked.origin))
                    }
                    Err(err) => Err(err),
                }
            } else {
                match vault.core().approve_app(&asked.origin).await {
                    Ok(_) => {
                        if let Some(frame) = &asked.frame {
                            // The app's frame takes the vault as unlocked here.
                            let _ = vault.hand_off(frame);
                        }
                        reply(&opener(), &asked.origin, true, None, None);
                        Ok(format!("{} is connected.", asked.origin))
                    }
                    Err(err) => Err(err),
                }
            };
            busy.set(false);
            match done {
                Ok(said) => {
                    state.consent.set(Consent::Answered(said));
                    let _ = window().close();
                }
                Err(err) => error.set(words::vault_error(&err)),
            }
        });
    };
    move || {
        match state.consent.get() {
        Consent::Waiting => view! {
            <section class="panel" id="consent"><p role="status">"Waiting for the app to say what it asks…"</p></section>
        }
        .into_any(),
        Consent::Refused(why) | Consent::Answered(why) => view! {
            <section class="panel" id="consent"><p id="consent-said" role="status">{why}</p></section>
        }
        .into_any(),
        Consent::Asked(asked) => {
            let deny = asked.clone();
            let allow = asked.clone();
            view! {
                <section class="panel consent" id="consent" aria-labelledby="consent-title">
                    <h1 id="consent-title">
                        <span id="consent-origin">{asked.origin.clone()}</span>
                        {if asked.scope.is_some() { " asks for a grant of your key" } else { " asks to use your keys" }}
                    </h1>
                    {describe(&asked)}
                    <p class="field-error" role="alert">{move || error.get()}</p>
                    <div class="row">
                        <button class="button primary" id="consent-allow" disabled=move || busy.get()
                            on:click=move |_| answer(allow.clone(), true)>"Allow"</button>
                        <button class="button" id="consent-deny" disabled=move || busy.get()
                            on:click=move |_| answer(deny.clone(), false)>"Deny"</button>
                    </div>
                </section>
            }
            .into_any()
        }
    }
    }
}

/// What allowing gives the app, in words.
fn describe(asked: &Asked) -> impl IntoView + use<> {
    let names = |providers: &[Provider]| {
        providers
            .iter()
            .map(|p| p.display_name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &asked.scope {
        None => {
            let uses = if asked.providers.is_empty() {
                "the providers you have keys for".to_owned()
            } else {
                names(&asked.providers)
            };
            view! {
                <p>{format!("It would send requests to {uses} through this vault, with your keys. Its pages never see a key, your password or the names you gave your keys.")}</p>
                <p>"You can disconnect it at any time on the Security tab."</p>
            }
            .into_any()
        }
        Some(scope) => {
            let mut lines = vec![format!(
                "A token for your {} key, which a job of the app's uses without this vault.",
                scope.provider.display_name()
            )];
            if let Some(ttl) = scope.ttl_seconds {
                lines.push(format!(
                    "It expires after {}.",
                    crate::timefmt::spoken(ttl * 1000)
                ));
            }
            if let Some(n) = scope.max_requests {
                lines.push(format!("At most {n} requests."));
            }
            if !scope.models.is_empty() {
                lines.push(format!("Only the models {}.", scope.models.join(", ")));
            }
            if !scope.label.is_empty() {
                lines.push(format!("The app calls it \u{201c}{}\u{201d}.", scope.label));
            }
            lines.push("You can revoke it on the Grants tab.".into());
            view! { <ul id="consent-scope">{lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul> }
                .into_any()
        }
    }
}

/// While the vault is locked: who asks what, above the unlock form.
#[component]
pub fn Asking(
    /// This window's consent.
    state: ConsentState,
) -> impl IntoView {
    move || {
        match state.consent.get() {
        Consent::Asked(asked) => {
            let what = if asked.scope.is_some() {
                "asks for a grant of one of your keys"
            } else {
                "asks to use your keys"
            };
            view! {
                <section class="panel" id="consent-asking" role="status">
                    <p>{format!("{} {what}. Unlock your vault to answer.", asked.origin)}</p>
                </section>
            }
            .into_any()
        }
        Consent::Refused(why) => view! {
            <section class="panel" id="consent-asking"><p id="consent-said" role="status">{why}</p></section>
        }
        .into_any(),
        Consent::Waiting | Consent::Answered(_) => ().into_any(),
    }
    }
}
