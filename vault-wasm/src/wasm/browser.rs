//! The browser vault for Rust callers: the core over IndexedDB and WebCrypto, with the
//! auto-lock timer, lock propagation between tabs (`BroadcastChannel`), and requests through
//! the proxy with the key attached.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::Interval;
use js_sys::Reflect;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{BroadcastChannel, MessageEvent, Response, Url};

use super::idb::IdbStore;
use super::invalid;
use super::kdf::BrowserKdf;
use super::request::{Credentials, call, proxy_error, send};
use super::seal::{SealMode, Sealer};
use crate::{LockReason, Provider, SecretString, SystemClock, TestStatus, VaultError};

/// The core vault as the browser runs it.
type Core = crate::Vault<IdbStore, BrowserKdf, SystemClock>;

const LOCK_MESSAGE: &str = "lock";
/// The field of a hand-over message naming the frame it is for.
const HANDOFF: &str = "handoff";

/// Options for [`BrowserVault::open`] (and, from JavaScript, `Vault.open`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Options {
    /// IndexedDB database name; default `byok-vault`.
    pub name: Option<String>,
    /// Auto-lock period until the stored setting is read; default 30 minutes.
    pub auto_lock_ms: Option<f64>,
    /// Base URL of the byok proxy, absolute or relative to the page; default the page's origin.
    pub proxy_url: Option<String>,
    /// When keys go sealed: `"auto"` (the default: when the proxy publishes a seal key),
    /// `"always"` or `"never"`.
    pub seal: Option<String>,
}

/// The proxy's verdict on a key (`POST /byok/test/{provider}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyTestResult {
    /// The provider asked.
    pub provider: Provider,
    /// Whether the provider accepted the key.
    pub valid: bool,
    /// The provider's HTTP status.
    pub status: u16,
    /// What the provider said, in words (never the key).
    pub message: String,
}

fn page_href() -> Option<String> {
    let location = Reflect::get(&js_sys::global(), &"location".into()).ok()?;
    Reflect::get(&location, &"href".into()).ok()?.as_string()
}

type MessageHandler = Closure<dyn FnMut(MessageEvent)>;
type LockListener = Rc<dyn Fn(LockReason)>;
type RetestListener = Rc<dyn Fn(usize)>;

pub(super) struct Inner {
    core: Core,
    /// Absolute, normalized, ending in `/`.
    proxy_base: String,
    /// Seals keys for `proxy_base`.
    pub(super) sealer: Sealer,
    channel: Option<BroadcastChannel>,
    listeners: RefCell<Vec<LockListener>>,
    _on_message: RefCell<Option<MessageHandler>>,
    ticker: RefCell<Option<Interval>>,
    /// The app's token for its user (`X-BYOK-User`): in memory only, kept across locks.
    pub(super) user_token: RefCell<Option<SecretString>>,
    /// Daily re-testing: when to look for due keys next (ms since the epoch; 0: at the next
    /// tick), and whether a round is running.
    pub(super) retest_at: Cell<f64>,
    pub(super) retesting: Cell<bool>,
    pub(super) retest_listeners: RefCell<Vec<RetestListener>>,
    /// The id a window of the vault's origin hands the vault key over to this vault under,
    /// once the user unlocks there (the frame serving an app; see [`BrowserVault::hand_off`]).
    handoff_frame: RefCell<Option<String>>,
}

impl Inner {
    fn on_lock_change(&self, reason: LockReason) {
        if reason.is_locked() {
            // The next unlock looks for due keys at once.
            self.retest_at.set(0.0);
        }
        if reason.is_locked()
            && reason != LockReason::Remote
            && let Some(channel) = &self.channel
        {
            let _ = channel.post_message(&LOCK_MESSAGE.into());
        }
        // Cloned so a listener may subscribe another without a double borrow.
        let listeners = self.listeners.borrow().clone();
        for listener in listeners {
            listener(reason);
        }
    }
}

/// The browser vault for Rust callers (the settings page): the core over IndexedDB and
/// WebCrypto, plus the auto-lock timer, lock propagation between tabs and requests through the
/// proxy. Cloning gives another handle to the same vault.
#[derive(Clone)]
pub struct BrowserVault {
    pub(super) inner: Rc<Inner>,
}

impl std::fmt::Debug for BrowserVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserVault")
            .field("core", &self.inner.core)
            .field("proxy_base", &self.inner.proxy_base)
            .finish_non_exhaustive()
    }
}

impl BrowserVault {
    /// Opens the vault stored in this browser profile (creating the database if needed). The
    /// vault starts locked.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidInput`] for a bad proxy URL, [`VaultError::Storage`] when
    /// IndexedDB is unavailable.
    pub async fn open(options: Options) -> Result<Self, VaultError> {
        let name = options.name.unwrap_or_else(|| "byok-vault".into());
        let proxy_base = {
            let page = page_href().unwrap_or_default();
            let given = options.proxy_url.unwrap_or_else(|| "/".into());
            let mut href = Url::new_with_base(&given, &page)
                .map_err(|_| invalid("proxyUrl is not a valid URL"))?
                .href();
            if !href.ends_with('/') {
                href.push('/');
            }
            href
        };
        let sealer = Sealer::new(SealMode::parse(options.seal.as_deref())?, &proxy_base);
        let store = IdbStore::open(&name).await?;
        let mut core = Core::new(store, BrowserKdf, SystemClock);
        let tick_ms = match options.auto_lock_ms {
            Some(ms) if ms.is_finite() && ms > 0.0 => {
                // Clamped to the core's accepted range below; a float in range fits in u64.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let ms = ms as u64;
                core = core.with_auto_lock_ms(ms);
                (ms / 4).clamp(25, 1000)
            }
            _ => 1000,
        };
        let channel = BroadcastChannel::new(&format!("byok-vault:{name}")).ok();
        let inner = Rc::new_cyclic(|weak: &Weak<Inner>| {
            let on_change = weak.clone();
            core.subscribe(move |reason| {
                if let Some(inner) = on_change.upgrade() {
                    inner.on_lock_change(reason);
                }
            });
            Inner {
                core,
                proxy_base,
                sealer,
                channel,
                listeners: RefCell::new(Vec::new()),
                _on_message: RefCell::new(None),
                ticker: RefCell::new(None),
                user_token: RefCell::new(None),
                retest_at: Cell::new(0.0),
                retesting: Cell::new(false),
                retest_listeners: RefCell::new(Vec::new()),
                handoff_frame: RefCell::new(None),
            }
        });
        if let Some(channel) = &inner.channel {
            let weak = Rc::downgrade(&inner);
            let on_message = MessageHandler::new(move |event: MessageEvent| {
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                let data = event.data();
                if data.as_string().as_deref() == Some(LOCK_MESSAGE) {
                    inner.core.lock_with(LockReason::Remote);
                } else if let Some(key) = handed_over(&inner, &data) {
                    spawn_local(async move {
                        // A key that does not open this vault changes nothing.
                        let _ = inner.core.unlock_with_vault_key(key).await;
                    });
                }
            });
            channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            *inner._on_message.borrow_mut() = Some(on_message);
        }
        let weak = Rc::downgrade(&inner);
        let tick = u32::try_from(tick_ms).unwrap_or(1000);
        *inner.ticker.borrow_mut() = Some(Interval::new(tick, move || {
            if let Some(inner) = weak.upgrade() {
                inner.core.check_idle();
                BrowserVault { inner }.retest_tick();
            }
        }));
        Ok(Self { inner })
    }

    /// The vault itself: create, unlock, lock, list, add, ...
    #[must_use]
    pub fn core(&self) -> &Core {
        &self.inner.core
    }

    /// The proxy's base URL (absolute, ending in `/`).
    #[must_use]
    pub fn proxy_base(&self) -> &str {
        &self.inner.proxy_base
    }

    /// Calls `listener(reason)` whenever the vault locks or unlocks.
    pub fn on_lock_change(&self, listener: impl Fn(LockReason) + 'static) {
        self.inner.listeners.borrow_mut().push(Rc::new(listener));
    }

    /// Takes the vault key another window of the vault's origin hands over under `frame`
    /// (see [`BrowserVault::hand_off`]): the frame serving an app is unlocked once the user
    /// unlocks in the vault's own window.
    pub fn accept_handoff(&self, frame: String) {
        *self.inner.handoff_frame.borrow_mut() = Some(frame);
    }

    /// Hands this unlocked vault's key to the vault that accepts it under `frame` (over the
    /// vault's `BroadcastChannel`, which only documents of the vault's own origin, in the same
    /// browser profile and storage partition, can hear).
    ///
    /// # Security
    ///
    /// The key crosses from one document of the vault's origin to another and nowhere else;
    /// the copy in the message is zeroed once posted, and a key that does not open the
    /// receiver's vault is refused there.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; [`VaultError::Unreachable`] when this browser has no
    /// `BroadcastChannel`.
    pub fn hand_off(&self, frame: &str) -> Result<(), VaultError> {
        let key = self.inner.core.vault_key_for_handoff()?;
        let channel = self.inner.channel.as_ref().ok_or_else(|| {
            VaultError::Unreachable("this browser cannot pass the unlock on".into())
        })?;
        let bytes = js_sys::Uint8Array::from(&key.expose_secret()[..]);
        let message = js_sys::Object::new();
        // Setting properties on a fresh plain object cannot fail.
        let _ = Reflect::set(&message, &HANDOFF.into(), &frame.into());
        let _ = Reflect::set(&message, &"key".into(), &bytes);
        let posted = channel.post_message(&message);
        bytes.fill(0, 0, bytes.length());
        posted.map_err(|_| VaultError::Unreachable("the unlock could not be passed on".into()))
    }

    /// `url` resolved against the proxy base, if it is under it.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidInput`] for an invalid URL or one outside the proxy.
    pub fn proxy_url(&self, url: &str) -> Result<String, VaultError> {
        let base = &self.inner.proxy_base;
        let resolved = Url::new_with_base(url, base)
            .map_err(|_| invalid("the request URL is not a valid URL"))?
            .href();
        if resolved.starts_with(base.as_str()) {
            Ok(resolved)
        } else {
            Err(invalid(format!(
                "keys are only sent to the byok proxy at {base}"
            )))
        }
    }

    /// `url` (under the proxy) with `resource` put in its path, for a key that belongs to one
    /// (Azure): the app writes `azure/openai/v1/...` and never learns the resource; the key's
    /// goes after `azure/`, and a sealed key is sealed for that path.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidInput`] for a URL outside `azure/` below the proxy.
    pub fn at_resource(&self, url: &str, resource: Option<&str>) -> Result<String, VaultError> {
        let Some(resource) = resource else {
            return Ok(url.to_owned());
        };
        let base = &self.inner.proxy_base;
        match url
            .strip_prefix(base.as_str())
            .and_then(|rest| rest.strip_prefix("azure/"))
        {
            Some(rest) => Ok(format!("{base}azure/{resource}/{rest}")),
            None => Err(invalid(
                "Azure OpenAI requests go to azure/openai/v1/... below the proxy: the vault puts \
                 each key's resource in the path",
            )),
        }
    }

    /// `fetch(url, init)` with `provider`'s key (sealed, or in the `X-BYOK-Key` header; its
    /// daily cap in `X-BYOK-Daily-Cap`, the app's user token in `X-BYOK-User` when set), only
    /// to URLs under the proxy, refusing redirects: the default key first (or the next one,
    /// with spread on), then each next usable key while the provider refuses the request
    /// before doing it (see `failover`). Records each key's use or refusal. Without a key for
    /// `provider` but with a user token, it goes with the token alone, so the app's key may
    /// serve it.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`], [`VaultError::NoKey`], [`VaultError::InvalidInput`] for a URL
    /// outside the proxy, [`VaultError::Unreachable`] when the request fails (network, CORS,
    /// a redirect).
    pub async fn fetch(
        &self,
        provider: Provider,
        url: &str,
        init: &JsValue,
    ) -> Result<Response, VaultError> {
        let url = self.proxy_url(url)?;
        let user = self.inner.user_token.borrow().clone();
        let candidates = self.inner.core.keys_in_order(provider)?;
        if candidates.is_empty() {
            // No key of the user's, but the app named its user: the app's key may serve
            // (the proxy decides, under its fallback policy and the user's plan).
            let Some(user) = user.as_ref() else {
                return Err(VaultError::NoKey(provider));
            };
            let credentials = Credentials {
                user: Some(user),
                ..Credentials::default()
            };
            return send(&self.inner.sealer, &url, init, &credentials).await;
        }
        self.send_with_failover(&url, init, candidates, user.as_ref())
            .await
    }

    /// Calls the proxy with `key` alone (sealed as this vault seals): the status and JSON answer.
    pub(super) async fn call_with_key(
        &self,
        method: &str,
        url: &str,
        key: &SecretString,
        body: Option<String>,
    ) -> Result<(u16, Option<JsValue>), VaultError> {
        call(
            &self.inner.sealer,
            method,
            url,
            &Credentials::key(key),
            body,
        )
        .await
    }

    /// Asks the proxy whether `provider` accepts `api_key` (not necessarily saved).
    ///
    /// # Errors
    ///
    /// [`VaultError::Unreachable`] when the proxy cannot be reached, [`VaultError::Proxy`]
    /// with the proxy's message when it refuses (rate limit, unknown provider, provider
    /// unreachable).
    pub async fn check_with_provider(
        &self,
        provider: Provider,
        resource: Option<&str>,
        api_key: &SecretString,
    ) -> Result<KeyTestResult, VaultError> {
        let mut url = format!("{}byok/test/{}", self.inner.proxy_base, provider.id());
        if let Some(resource) = resource {
            // Checked when saved (one DNS label): nothing in it needs escaping.
            url.push('/');
            url.push_str(resource);
        }
        let (status, body) = self.call_with_key("POST", &url, api_key, None).await?;
        if !(200..300).contains(&status) {
            // The proxy's own error: unreachable provider, limits.
            return Err(proxy_error(status, body.as_ref()));
        }
        body.and_then(|b| serde_wasm_bindgen::from_value(b).ok())
            .ok_or_else(|| VaultError::Proxy("the proxy gave an unreadable answer".into()))
    }

    /// Tests saved key `id` with its provider and records the answer.
    ///
    /// # Errors
    ///
    /// As [`BrowserVault::check_with_provider`], plus [`VaultError::Locked`],
    /// [`VaultError::NotFound`] and [`VaultError::KeyOff`] (an off or expired key is not sent).
    pub async fn test_key(&self, id: &str) -> Result<KeyTestResult, VaultError> {
        let (provider, key) = self.inner.core.usable_key_by_id(id)?;
        let resource = self.inner.core.resource_of(id)?;
        let result = self
            .check_with_provider(provider, resource.as_deref(), &key)
            .await?;
        let status = if result.valid {
            TestStatus::Valid
        } else {
            TestStatus::Invalid
        };
        self.inner.core.record_test(id, status).await?;
        Ok(result)
    }
}

/// The vault key in `data`, when it is a hand-over for the frame `inner` accepts one under.
fn handed_over(inner: &Inner, data: &JsValue) -> Option<crate::SymmetricKey> {
    let frame = inner.handoff_frame.borrow().clone()?;
    let to = Reflect::get(data, &HANDOFF.into()).ok()?.as_string()?;
    if to != frame || !inner.core.is_locked() {
        return None;
    }
    let bytes: js_sys::Uint8Array = Reflect::get(data, &"key".into()).ok()?.dyn_into().ok()?;
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    if bytes.length() != 32 {
        return None;
    }
    bytes.copy_to(&mut key[..]);
    bytes.fill(0, 0, 32);
    Some(crate::SymmetricKey::from_bytes(*key))
}
