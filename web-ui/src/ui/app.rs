//! The root: opens the vault, then the page frame (top bar, messages, the current screen).

use std::time::Duration;

use byok_vault::wasm::{BrowserVault, Options};
use byok_vault::{LockReason, Provider};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::consent::{Asking, ConsentPage, ConsentState};
use super::gate::{CreateVault, Unlock};
use super::grants::GrantsPage;
use super::keys::KeysPage;
use super::security::SecurityPage;
use super::state::{Ctx, Notice, Phase, Tab};
use super::try_it::TryItPage;
use super::usage::UsagePage;
use crate::opened::{Purpose, opened as window_opened};
use crate::timefmt;
use crate::words;

/// Opening the vault: IndexedDB may be slow, missing (some private modes) or blocked.
#[derive(Debug, Clone, Copy)]
enum Opening {
    Pending,
    Failed(&'static str),
    Ready(Ctx),
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let opening = RwSignal::new(Opening::Pending);
    spawn_local(async move {
        let opened = match BrowserVault::open(Options::default()).await {
            Ok(vault) => vault.core().exists().await.map(|exists| (vault, exists)),
            Err(err) => Err(err),
        };
        opening.set(match opened {
            Ok((vault, exists)) => {
                let phase = if exists {
                    Phase::Locked
                } else {
                    Phase::NoVault
                };
                let tab = Tab::from_hash(&window_opened(&location_hash()).tab).unwrap_or(Tab::Keys);
                Opening::Ready(Ctx::new(vault, phase, tab))
            }
            Err(_) => Opening::Failed(
                "This browser does not let the page store data (IndexedDB is unavailable, \
                 which happens in some private-browsing modes). byok needs it to keep your \
                 encrypted keys.",
            ),
        });
    });
    move || {
        match opening.get() {
        Opening::Pending => view! {
            <div class="app"><main class="content"><p class="loading" role="status">"Opening your vault…"</p></main></div>
        }
        .into_any(),
        Opening::Failed(message) => view! {
            <div class="app"><main class="content">
                <section class="panel"><h1>"The vault cannot be opened"</h1><p role="alert">{message}</p></section>
            </main></div>
        }
        .into_any(),
        Opening::Ready(ctx) => view! { <Main ctx=ctx /> }.into_any(),
    }
    }
}

/// The page once the vault is open.
#[component]
fn Main(
    /// The shared state, provided to every child.
    ctx: Ctx,
) -> impl IntoView {
    provide_context(ctx);
    // Opened by an app: for its consent, or as settings for its frame (see `opened`).
    let opened = window_opened(&location_hash());
    let consent =
        (opened.purpose != Purpose::Settings).then(|| ConsentState::start(opened.purpose));
    provide_context(consent);
    let frame = opened.frame;
    ctx.vault().on_lock_change(move |reason| {
        ctx.on_lock_change(reason);
        if let (LockReason::Unlocked, Some(frame)) = (reason, &frame) {
            // The app's frame takes the vault as unlocked here.
            let _ = ctx.vault().hand_off(frame);
        }
    });
    // The daily re-test (Security tab) runs in the vault; show its answers when they come.
    ctx.vault().on_retest(move |_| ctx.refresh());
    if let Ok(handle) = set_interval_with_handle(move || ctx.tick(), Duration::from_secs(1)) {
        on_cleanup(move || handle.clear());
    }
    let hash_listener = window_event_listener(ev::hashchange, move |_| {
        if let Some(tab) = Tab::from_hash(&window_opened(&location_hash()).tab) {
            ctx.tab.set(tab);
        }
    });
    on_cleanup(move || hash_listener.remove());
    spawn_local(load_served(ctx));
    expose_user_token_hook(ctx);

    // Any input on the page is activity and postpones auto-lock.
    let activity = move || {
        if ctx.phase.get_untracked() == Phase::Unlocked {
            ctx.vault().core().touch();
        }
    };

    view! {
        <div
            class="app"
            on:keydown=move |_| activity()
            on:pointerdown=move |_| activity()
            on:input=move |_| activity()
        >
            <a class="skip" href="#main">"Skip to content"</a>
            <TopBar />
            <NoticeBar />
            <main id="main" class="content" tabindex="-1">
                {move || match (ctx.phase.get(), consent) {
                    (Phase::NoVault, _) => view! { <CreateVault /> }.into_any(),
                    (Phase::Locked, Some(state)) => view! { <Asking state=state /><Unlock /> }.into_any(),
                    (Phase::Locked, None) => view! { <Unlock /> }.into_any(),
                    (Phase::Unlocked, Some(state)) => view! { <ConsentPage state=state /> }.into_any(),
                    (Phase::Unlocked, None) => view! { <Settings /> }.into_any(),
                }}
            </main>
            <footer class="footer">
                "Keys are encrypted in this browser (AES-256-GCM under a key Argon2id derives from your password). The server forwards them per request and never stores them."
            </footer>
        </div>
    }
}

/// Brand, tabs, auto-lock countdown and "Lock now".
#[component]
fn TopBar() -> impl IntoView {
    let ctx = Ctx::get();
    // A consent window shows the consent alone: no tabs to wander off to.
    let consenting = use_context::<Option<ConsentState>>().flatten().is_some();
    let unlocked = move || ctx.phase.get() == Phase::Unlocked;
    let tabs = move || unlocked() && !consenting;
    let lock = move |_| ctx.vault().core().lock();
    view! {
        <header class="topbar">
            <div class="brand">
                <span class="logo" aria-hidden="true">"b"</span>
                <span class="name">"byok"</span>
                <span class="tagline">"your API keys, encrypted in this browser"</span>
            </div>
            <Show when=tabs>
                <nav class="tabs" aria-label="Sections">
                    {Tab::ALL
                        .into_iter()
                        .map(|tab| {
                            view! {
                                <a
                                    href=tab.hash()
                                    class="tab"
                                    aria-current=move || (ctx.tab.get() == tab).then_some("page")
                                >
                                    {tab.title()}
                                </a>
                            }
                        })
                        .collect_view()}
                </nav>
                <div class="lockbox">
                    <span
                        class="countdown"
                        role="timer"
                        aria-label=move || {
                            ctx.remaining_ms
                                .get()
                                .map(|ms| format!("Auto-lock in {}", timefmt::spoken(ms)))
                        }
                    >
                        {move || {
                            ctx.remaining_ms
                                .get()
                                .map(|ms| format!("Locks in {}", timefmt::countdown(ms)))
                        }}
                    </span>
                    <button class="button secondary" id="lock-now" on:click=lock>"Lock now"</button>
                </div>
            </Show>
            <Show when=move || ctx.phase.get() == Phase::Locked>
                <span class="badge locked">"Locked"</span>
            </Show>
        </header>
    }
}

/// The page-wide message: successes announced politely, failures as alerts.
#[component]
fn NoticeBar() -> impl IntoView {
    let ctx = Ctx::get();
    let dismiss = move |_| ctx.notice.set(Notice::None);
    view! {
        <div class="notices">
            <p class="notice done" id="notice" role="status" aria-live="polite">
                {move || match ctx.notice.get() {
                    Notice::Done(text) => text,
                    _ => String::new(),
                }}
            </p>
            <p class="notice failed" id="alert" role="alert">
                {move || match ctx.notice.get() {
                    Notice::Failed(text) => text,
                    _ => String::new(),
                }}
            </p>
            <Show when=move || ctx.notice.get() != Notice::None>
                <button class="dismiss" aria-label="Dismiss message" on:click=dismiss>"×"</button>
            </Show>
        </div>
    }
}

/// The unlocked screen: the current tab.
#[component]
fn Settings() -> impl IntoView {
    let ctx = Ctx::get();
    move || match ctx.tab.get() {
        Tab::Keys => view! { <KeysPage /> }.into_any(),
        Tab::TryIt => view! { <TryItPage /> }.into_any(),
        Tab::Grants => view! { <GrantsPage /> }.into_any(),
        Tab::Usage => view! { <UsagePage /> }.into_any(),
        Tab::Security => view! { <SecurityPage /> }.into_any(),
    }
}

/// `window.byokSetUserToken(token)`: how an app hosting this page says who its user is (the
/// signed token it gives the vault for `X-BYOK-User`; `null` forgets it). Only scripts of this
/// origin can call it, and they can open the vault's database anyway.
fn expose_user_token_hook(ctx: Ctx) {
    let hook = wasm_bindgen::closure::Closure::<dyn Fn(wasm_bindgen::JsValue)>::new(
        move |token: wasm_bindgen::JsValue| {
            let vault = ctx.vault();
            vault.set_user_token(token.as_string());
            ctx.user_token.set(vault.has_user_token());
            ctx.spend_changed.update(|n| *n += 1);
        },
    );
    // Setting a property on `window` cannot fail.
    let _ = js_sys::Reflect::set(&window(), &"byokSetUserToken".into(), hook.as_ref());
    // The page lives as long as the window: the hook must too.
    hook.forget();
}

fn location_hash() -> String {
    window().location().hash().unwrap_or_default()
}

/// Asks the proxy which providers it serves (`GET /byok/providers`, no key involved).
async fn load_served(ctx: Ctx) {
    let url = format!("{}byok/providers", ctx.vault().proxy_base());
    let Ok(response) = JsFuture::from(window().fetch_with_str(&url)).await else {
        ctx.failed(words::vault_error(&byok_vault::VaultError::Unreachable(
            String::new(),
        )));
        return;
    };
    let Ok(response) = response.dyn_into::<web_sys::Response>() else {
        return;
    };
    let Ok(pending) = response.json() else { return };
    let Ok(body) = JsFuture::from(pending).await else {
        return;
    };
    let Some(list) = js_sys::Reflect::get(&body, &"providers".into())
        .ok()
        .and_then(|l| l.dyn_into::<js_sys::Array>().ok())
    else {
        return;
    };
    let served: Vec<Provider> = list
        .iter()
        .filter_map(|p| js_sys::Reflect::get(&p, &"id".into()).ok()?.as_string())
        .filter_map(|id| id.parse().ok())
        .collect();
    ctx.served.set(Some(served));
}
