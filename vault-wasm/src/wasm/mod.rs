//! The JavaScript API: a `Vault` class over the core [`crate::Vault`].
//!
//! Each method converts arguments, calls the core and converts the result; the behaviour lives
//! in the core. Browser specifics are here: IndexedDB ([`IdbStore`]), WebCrypto
//! ([`BrowserKdf`]), the auto-lock timer, lock propagation between tabs (`BroadcastChannel`),
//! and `fetch` with the provider key attached.
//!
//! ```js
//! import init, { Vault } from "./pkg/byok_vault.js";
//! await init();
//! const vault = await Vault.open();               // proxy on this page's origin
//! if (!(await vault.exists())) await vault.create(password); else await vault.unlock(password);
//! await vault.add("openai", apiKey, "work");
//! const res = await vault.fetch("openai", "/openai/v1/chat/completions", { method: "POST", body });
//! ```
//!
//! # Security
//!
//! JavaScript gets ids, metadata and previews, never a stored key. `fetch` only sends keys to
//! URLs under the configured proxy (default: this page's origin), never follows redirects, and
//! puts the key in the `X-BYOK-Key` header only.

mod backup;
mod grants;
mod hashing;
mod idb;
mod kdf;
mod life;
mod passkey;
mod persist;
mod request;
mod usage;

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::Interval;
use js_sys::{Function, Promise, Reflect};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, spawn_local};
use web_sys::{BroadcastChannel, MessageEvent, Response, Url};

pub use self::grants::{Amount, GrantInfo, GrantIssued, GrantOptions, GrantStatus};
pub use self::idb::IdbStore;
pub use self::kdf::{BrowserKdf, subtle_crypto, webcrypto_pbkdf2_sha256};
pub use self::passkey::PasskeySupport;
pub use self::request::{CAP_HEADER, KEY_HEADER, USER_HEADER};
use self::request::{Credentials, call, proxy_error, send};
use crate::{
    LockReason, Provider, SecretString, SystemClock, TestStatus, VaultError, validate_key,
};

type Core = crate::Vault<IdbStore, BrowserKdf, SystemClock>;

const LOCK_MESSAGE: &str = "lock";

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Options for `Vault.open`. */
export interface VaultOptions {
  /** IndexedDB database name; vaults with different names are independent. Default "byok-vault". */
  name?: string;
  /** Auto-lock period in milliseconds until the vault's stored setting is read. Default 30 minutes. */
  autoLockMs?: number;
  /** Base URL of the byok proxy; `fetch` refuses any other URL. Default: this page's origin. */
  proxyUrl?: string;
}
export type ProviderId = "openai" | "anthropic" | "gemini" | "openrouter" | "custom";
/** What the vault shows of a saved key. The key itself is never returned. */
export interface KeyInfo {
  id: string;
  provider: ProviderId;
  label: string;
  /** "…" and the last four characters. */
  preview: string;
  isDefault: boolean;
  createdMs: number;
  updatedMs: number;
  lastUsedMs?: number | null;
  lastTestedMs?: number | null;
  testStatus: "untested" | "valid" | "invalid";
  /** The daily spend cap in US dollars, as a decimal ("5", "0.5"), or null: see `setDailyCap`. */
  dailyCapUsd: string | null;
  /** False once turned off with `setEnabled`: an off key is never sent. */
  enabled: boolean;
  /** When it expires (ms since the epoch), or null; an expired key is not sent. */
  expiresMs: number | null;
  /** When `replace` last put a new secret in its place, or null. */
  replacedMs: number | null;
}
/** The proxy's verdict on a key. */
export interface KeyTestResult {
  provider: ProviderId;
  valid: boolean;
  status: number;
  message: string;
}
"#;

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

/// A JavaScript `Error` with `name` "VaultError" and a machine-readable `code`.
fn js_error(err: VaultError) -> JsValue {
    let error = js_sys::Error::new(&err.to_string());
    error.set_name("VaultError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&error, &"code".into(), &err.code().into());
    error.into()
}

fn invalid(message: impl Into<String>) -> VaultError {
    VaultError::InvalidInput(message.into())
}

fn parse_provider(provider: &str) -> Result<Provider, JsValue> {
    provider
        .parse()
        .map_err(|e: crate::UnknownProvider| js_error(invalid(e.to_string())))
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error(invalid(e.to_string())))
}

fn page_href() -> Option<String> {
    let location = Reflect::get(&js_sys::global(), &"location".into()).ok()?;
    Reflect::get(&location, &"href".into()).ok()?.as_string()
}

type MessageHandler = Closure<dyn FnMut(MessageEvent)>;
type LockListener = Rc<dyn Fn(LockReason)>;
type RetestListener = Rc<dyn Fn(usize)>;

struct Inner {
    core: Core,
    /// Absolute, normalized, ending in `/`.
    proxy_base: String,
    channel: Option<BroadcastChannel>,
    listeners: RefCell<Vec<LockListener>>,
    _on_message: RefCell<Option<MessageHandler>>,
    ticker: RefCell<Option<Interval>>,
    /// The app's token for its user (`X-BYOK-User`): in memory only, kept across locks.
    user_token: RefCell<Option<SecretString>>,
    /// Daily re-testing: when to look for due keys next (ms since the epoch; 0: at the next
    /// tick), and whether a round is running.
    retest_at: Cell<f64>,
    retesting: Cell<bool>,
    retest_listeners: RefCell<Vec<RetestListener>>,
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
    inner: Rc<Inner>,
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
                channel,
                listeners: RefCell::new(Vec::new()),
                _on_message: RefCell::new(None),
                ticker: RefCell::new(None),
                user_token: RefCell::new(None),
                retest_at: Cell::new(0.0),
                retesting: Cell::new(false),
                retest_listeners: RefCell::new(Vec::new()),
            }
        });
        if let Some(channel) = &inner.channel {
            let weak = Rc::downgrade(&inner);
            let on_message = MessageHandler::new(move |event: MessageEvent| {
                if event.data().as_string().as_deref() == Some(LOCK_MESSAGE)
                    && let Some(inner) = weak.upgrade()
                {
                    inner.core.lock_with(LockReason::Remote);
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

    /// `fetch(url, init)` with `provider`'s default key in the `X-BYOK-Key` header (and its
    /// daily cap in `X-BYOK-Daily-Cap`, the app's user token in `X-BYOK-User` when set), only
    /// to URLs under the proxy, refusing redirects. Records the key's use. Without a key for
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
        let (id, key) = match self.inner.core.key_for(provider) {
            Ok(found) => found,
            // No key of the user's, but the app named its user: the app's key may serve
            // (the proxy decides, under its fallback policy and the user's plan).
            Err(VaultError::NoKey(_)) if user.is_some() => {
                let credentials = Credentials {
                    user: user.as_ref(),
                    ..Credentials::default()
                };
                return send(&url, init, &credentials).await;
            }
            Err(err) => return Err(err),
        };
        let credentials = Credentials {
            key: Some(&key),
            cap_micro_usd: self.inner.core.daily_cap(&id)?,
            user: user.as_ref(),
        };
        let response = send(&url, init, &credentials).await?;
        let inner = self.inner.clone();
        spawn_local(async move {
            // Bookkeeping only: a failure to record use must not fail the request.
            let _ = inner.core.record_use(&id).await;
        });
        Ok(response)
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
        api_key: &SecretString,
    ) -> Result<KeyTestResult, VaultError> {
        let url = format!("{}byok/test/{}", self.inner.proxy_base, provider.id());
        let (status, body) = call("POST", &url, &Credentials::key(api_key), None).await?;
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
        let result = self.check_with_provider(provider, &key).await?;
        let status = if result.valid {
            TestStatus::Valid
        } else {
            TestStatus::Invalid
        };
        self.inner.core.record_test(id, status).await?;
        Ok(result)
    }
}

/// The key vault, for JavaScript. See the module docs.
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct Vault {
    vault: BrowserVault,
}

impl From<BrowserVault> for Vault {
    fn from(vault: BrowserVault) -> Self {
        Self { vault }
    }
}

/// Runs `fut` as a JavaScript promise, turning a [`VaultError`] into a JavaScript error.
fn promise<F>(fut: F) -> Promise
where
    F: Future<Output = Result<JsValue, VaultError>> + 'static,
{
    future_to_promise(async move { fut.await.map_err(js_error) })
}

#[wasm_bindgen]
impl Vault {
    /// Opens the vault stored in this browser profile (creating the database if needed). The
    /// vault starts locked.
    #[wasm_bindgen(unchecked_return_type = "Promise<Vault>")]
    pub fn open(
        #[wasm_bindgen(unchecked_param_type = "VaultOptions | undefined")] options: JsValue,
    ) -> Promise {
        promise(async move {
            let options = if options.is_undefined() || options.is_null() {
                Options::default()
            } else {
                serde_wasm_bindgen::from_value(options)
                    .map_err(|e| invalid(format!("bad vault options: {e}")))?
            };
            Ok(Vault::from(BrowserVault::open(options).await?).into())
        })
    }
}

#[wasm_bindgen]
impl Vault {
    /// Checks the shape of a key for a provider as the user types. Returns the problem in
    /// words, or `undefined` when the key looks right.
    #[wasm_bindgen(js_name = checkKey)]
    pub fn check_key(provider: &str, api_key: &str) -> Result<Option<String>, JsValue> {
        let provider = parse_provider(provider)?;
        Ok(validate_key(provider, api_key).err().map(|e| e.to_string()))
    }

    /// Whether a vault has been created here.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn exists(&self) -> Promise {
        let vault = self.vault.clone();
        promise(async move { Ok(vault.core().exists().await?.into()) })
    }

    /// Creates a vault protected by `password`, leaves it unlocked, and asks the browser to
    /// keep its storage (see `persistStorage`). `kdf` picks the password hashing:
    /// `"argon2id"` (the default) or `"pbkdf2-sha256"`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn create(&self, password: String, kdf: Option<String>) -> Promise {
        let vault = self.vault.clone();
        let password = SecretString::new(password);
        promise(async move {
            let alg = hashing::kdf_algorithm(kdf.as_deref())?;
            vault.core().create_with(&password, alg).await?;
            // The browser's answer does not change the outcome; `persistStorage` reports it.
            vault.persist_storage().await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Unlocks with `password`. A wrong password rejects with code `decrypt` and changes nothing.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn unlock(&self, password: String) -> Promise {
        let vault = self.vault.clone();
        let password = SecretString::new(password);
        promise(async move {
            vault.core().unlock(&password).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Locks now, here and in every other tab of this origin.
    pub fn lock(&self) {
        self.vault.core().lock();
    }

    /// Whether the vault is locked.
    #[wasm_bindgen(js_name = isLocked)]
    pub fn is_locked(&self) -> bool {
        self.vault.core().is_locked()
    }

    /// Records user activity, postponing auto-lock.
    pub fn touch(&self) {
        self.vault.core().touch();
    }

    /// Milliseconds until auto-lock, or `undefined` when locked.
    #[wasm_bindgen(js_name = remainingMs)]
    pub fn remaining_ms(&self) -> Option<f64> {
        // Milliseconds below 2^53 are exact in f64.
        #[allow(clippy::cast_precision_loss)]
        self.vault.core().remaining_ms().map(|ms| ms as f64)
    }

    /// The auto-lock period in milliseconds.
    #[wasm_bindgen(getter, js_name = autoLockMs)]
    pub fn auto_lock_ms(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let ms = self.vault.core().auto_lock_ms() as f64;
        ms
    }

    /// Sets and stores the auto-lock period (100 ms to 24 h).
    #[wasm_bindgen(js_name = setAutoLockMs, unchecked_return_type = "Promise<void>")]
    pub fn set_auto_lock_ms(&self, ms: f64) -> Promise {
        let vault = self.vault.clone();
        promise(async move {
            if !ms.is_finite() || ms < 0.0 {
                return Err(invalid(
                    "the auto-lock period must be a number of milliseconds",
                ));
            }
            // Checked non-negative and finite; the core checks the range.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let ms = ms as u64;
            vault.core().set_auto_lock_ms(ms).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Calls `callback(locked)` whenever the vault locks or unlocks.
    #[wasm_bindgen(js_name = onLockChange)]
    pub fn on_lock_change(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(locked: boolean) => void")] callback: Function,
    ) {
        self.vault.on_lock_change(move |reason| {
            let locked = JsValue::from_bool(reason.is_locked());
            // A throwing listener must not stop the others or the lock.
            let _ = callback.call1(&JsValue::NULL, &locked);
        });
    }

    /// Checks and saves a provider key.
    #[wasm_bindgen(unchecked_return_type = "Promise<KeyInfo>")]
    pub fn add(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ProviderId")] provider: String,
        api_key: String,
        label: String,
    ) -> Promise {
        let vault = self.vault.clone();
        let api_key = SecretString::new(api_key);
        future_to_promise(async move {
            let provider = parse_provider(&provider)?;
            let core = vault.core();
            // Validated and sealed inside.
            let info = core.add(provider, api_key.expose_secret(), &label).await;
            to_js(&info.map_err(js_error)?)
        })
    }

    /// Metadata of every saved key (never the keys).
    #[wasm_bindgen(unchecked_return_type = "KeyInfo[]")]
    pub fn list(&self) -> Result<JsValue, JsValue> {
        to_js(&self.vault.core().list().map_err(js_error)?)
    }

    /// Ids of damaged records that could not be decrypted; `remove` deletes them.
    pub fn unreadable(&self) -> Result<Vec<String>, JsValue> {
        self.vault.core().unreadable().map_err(js_error)
    }

    /// Deletes a saved key.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn remove(&self, id: String) -> Promise {
        let vault = self.vault.clone();
        promise(async move {
            vault.core().remove(&id).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Changes a key's label.
    #[wasm_bindgen(unchecked_return_type = "Promise<KeyInfo>")]
    pub fn rename(&self, id: String, label: String) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move {
            to_js(&vault.core().rename(&id, &label).await.map_err(js_error)?)
        })
    }

    /// Makes a key its provider's default.
    #[wasm_bindgen(js_name = setDefault, unchecked_return_type = "Promise<void>")]
    pub fn set_default(&self, id: String) -> Promise {
        let vault = self.vault.clone();
        promise(async move {
            vault.core().set_default(&id).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Re-wraps the vault under a new password, hashed with `kdf` (`"argon2id"`, the default,
    /// or `"pbkdf2-sha256"`). A wrong old password changes nothing.
    #[wasm_bindgen(js_name = changePassword, unchecked_return_type = "Promise<void>")]
    pub fn change_password(
        &self,
        old_password: String,
        new_password: String,
        kdf: Option<String>,
    ) -> Promise {
        let vault = self.vault.clone();
        let (old, new) = (
            SecretString::new(old_password),
            SecretString::new(new_password),
        );
        promise(async move {
            let alg = hashing::kdf_algorithm(kdf.as_deref())?;
            vault.core().change_password_with(&old, &new, alg).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Deletes the vault and every key in it, and locks.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn reset(&self) -> Promise {
        let vault = self.vault.clone();
        promise(async move {
            vault.core().reset().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `fetch(url, init)` with the provider's default key in the `X-BYOK-Key` header. A
    /// relative `url` is resolved against the proxy URL; only URLs under the proxy are allowed;
    /// redirects are refused.
    #[wasm_bindgen(unchecked_return_type = "Promise<Response>")]
    pub fn fetch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ProviderId")] provider: String,
        url: String,
        #[wasm_bindgen(unchecked_param_type = "RequestInit | undefined")] init: JsValue,
    ) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move {
            let provider = parse_provider(&provider)?;
            let response = vault.fetch(provider, &url, &init).await;
            Ok(response.map_err(js_error)?.into())
        })
    }

    /// Asks the proxy whether the provider accepts key `id`, and records the answer.
    #[wasm_bindgen(js_name = testKey, unchecked_return_type = "Promise<KeyTestResult>")]
    pub fn test_key(&self, id: String) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move { to_js(&vault.test_key(&id).await.map_err(js_error)?) })
    }
}
