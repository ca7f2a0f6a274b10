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

mod idb;
mod kdf;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Interval;
use js_sys::{Function, Object, Promise, Reflect};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise, spawn_local};
use web_sys::{BroadcastChannel, Headers, MessageEvent, Response, Url};

pub use self::idb::IdbStore;
pub use self::kdf::{BrowserKdf, subtle_crypto, webcrypto_pbkdf2_sha256};
use crate::{
    LockReason, Provider, SecretString, SystemClock, TestStatus, VaultError, validate_key,
};

type Core = crate::Vault<IdbStore, BrowserKdf, SystemClock>;

/// The header carrying the provider key to the proxy.
pub const KEY_HEADER: &str = "X-BYOK-Key";
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
}
/** The proxy's verdict on a key. */
export interface KeyTestResult {
  provider: ProviderId;
  valid: boolean;
  status: number;
  message: string;
}
"#;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OpenOptions {
    name: Option<String>,
    auto_lock_ms: Option<f64>,
    proxy_url: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct KeyTestResult {
    provider: Provider,
    valid: bool,
    status: u16,
    message: String,
}

/// A JavaScript `Error` with `name` "VaultError" and a machine-readable `code`.
fn js_error(err: VaultError) -> JsValue {
    let error = js_sys::Error::new(&err.to_string());
    error.set_name("VaultError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&error, &"code".into(), &err.code().into());
    error.into()
}

fn invalid(message: impl Into<String>) -> JsValue {
    js_error(VaultError::InvalidInput(message.into()))
}

fn parse_provider(provider: &str) -> Result<Provider, JsValue> {
    provider
        .parse()
        .map_err(|e: crate::UnknownProvider| invalid(e.to_string()))
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| invalid(e.to_string()))
}

fn page_href() -> Option<String> {
    let location = Reflect::get(&js_sys::global(), &"location".into()).ok()?;
    Reflect::get(&location, &"href".into()).ok()?.as_string()
}

type MessageHandler = Closure<dyn FnMut(MessageEvent)>;

struct Inner {
    core: Core,
    /// Absolute, normalized, ending in `/`.
    proxy_base: String,
    channel: Option<BroadcastChannel>,
    listeners: RefCell<Vec<Function>>,
    _on_message: RefCell<Option<MessageHandler>>,
    ticker: RefCell<Option<Interval>>,
}

impl Inner {
    fn on_lock_change(&self, reason: LockReason) {
        if reason.is_locked()
            && reason != LockReason::Remote
            && let Some(channel) = &self.channel
        {
            let _ = channel.post_message(&LOCK_MESSAGE.into());
        }
        let locked = JsValue::from_bool(reason.is_locked());
        for listener in self.listeners.borrow().clone() {
            // A throwing listener must not stop the others or the lock.
            let _ = listener.call1(&JsValue::NULL, &locked);
        }
    }

    /// `url` resolved against the proxy base, if it is under it.
    fn proxy_url(&self, url: &str) -> Result<String, JsValue> {
        let resolved = Url::new_with_base(url, &self.proxy_base)
            .map_err(|_| invalid("the request URL is not a valid URL"))?
            .href();
        if resolved.starts_with(&self.proxy_base) {
            Ok(resolved)
        } else {
            Err(invalid(format!(
                "keys are only sent to the byok proxy at {}",
                self.proxy_base
            )))
        }
    }
}

/// The key vault, for JavaScript. See the module docs.
#[wasm_bindgen]
pub struct Vault {
    inner: Rc<Inner>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("core", &self.inner.core)
            .finish()
    }
}

/// Runs `fut` as a JavaScript promise.
fn promise<F>(fut: F) -> Promise
where
    F: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    future_to_promise(fut)
}

#[wasm_bindgen]
impl Vault {
    /// Opens the vault stored in this browser profile (creating the database if needed). The
    /// vault starts locked.
    #[wasm_bindgen(unchecked_return_type = "Promise<Vault>")]
    pub fn open(
        #[wasm_bindgen(unchecked_param_type = "VaultOptions | undefined")] options: JsValue,
    ) -> Promise {
        promise(async move { Self::open_inner(options).await.map(JsValue::from) })
    }
}

impl Vault {
    /// [`Vault::open`] for Rust callers (the UI crate and the browser tests).
    ///
    /// # Errors
    ///
    /// A `VaultError` JavaScript error for bad options or unavailable IndexedDB.
    pub async fn open_inner(options: JsValue) -> Result<Vault, JsValue> {
        let options: OpenOptions = if options.is_undefined() || options.is_null() {
            OpenOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options)
                .map_err(|e| invalid(format!("bad vault options: {e}")))?
        };
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
        let store = IdbStore::open(&name).await.map_err(js_error)?;
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
            }
        }));
        Ok(Vault { inner })
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
        let inner = self.inner.clone();
        promise(async move {
            inner
                .core
                .exists()
                .await
                .map(JsValue::from)
                .map_err(js_error)
        })
    }

    /// Creates a vault protected by `password` and leaves it unlocked.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn create(&self, password: String) -> Promise {
        let inner = self.inner.clone();
        let password = SecretString::new(password);
        promise(async move {
            inner.core.create(&password).await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Unlocks with `password`. A wrong password rejects with code `decrypt` and changes nothing.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn unlock(&self, password: String) -> Promise {
        let inner = self.inner.clone();
        let password = SecretString::new(password);
        promise(async move {
            inner.core.unlock(&password).await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Locks now, here and in every other tab of this origin.
    pub fn lock(&self) {
        self.inner.core.lock();
    }

    /// Whether the vault is locked.
    #[wasm_bindgen(js_name = isLocked)]
    pub fn is_locked(&self) -> bool {
        self.inner.core.is_locked()
    }

    /// Records user activity, postponing auto-lock.
    pub fn touch(&self) {
        self.inner.core.touch();
    }

    /// Milliseconds until auto-lock, or `undefined` when locked.
    #[wasm_bindgen(js_name = remainingMs)]
    pub fn remaining_ms(&self) -> Option<f64> {
        // Milliseconds below 2^53 are exact in f64.
        #[allow(clippy::cast_precision_loss)]
        self.inner.core.remaining_ms().map(|ms| ms as f64)
    }

    /// The auto-lock period in milliseconds.
    #[wasm_bindgen(getter, js_name = autoLockMs)]
    pub fn auto_lock_ms(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let ms = self.inner.core.auto_lock_ms() as f64;
        ms
    }

    /// Sets and stores the auto-lock period (100 ms to 24 h).
    #[wasm_bindgen(js_name = setAutoLockMs, unchecked_return_type = "Promise<void>")]
    pub fn set_auto_lock_ms(&self, ms: f64) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            if !ms.is_finite() || ms < 0.0 {
                return Err(invalid(
                    "the auto-lock period must be a number of milliseconds",
                ));
            }
            // Checked non-negative and finite; the core checks the range.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let ms = ms as u64;
            inner.core.set_auto_lock_ms(ms).await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Calls `callback(locked)` whenever the vault locks or unlocks.
    #[wasm_bindgen(js_name = onLockChange)]
    pub fn on_lock_change(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(locked: boolean) => void")] callback: Function,
    ) {
        self.inner.listeners.borrow_mut().push(callback);
    }

    /// Checks and saves a provider key.
    #[wasm_bindgen(unchecked_return_type = "Promise<KeyInfo>")]
    pub fn add(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ProviderId")] provider: String,
        api_key: String,
        label: String,
    ) -> Promise {
        let inner = self.inner.clone();
        let api_key = SecretString::new(api_key);
        promise(async move {
            let provider = parse_provider(&provider)?;
            let info = inner
                .core
                .add(provider, api_key.expose_secret(), &label) // validated and sealed inside
                .await
                .map_err(js_error)?;
            to_js(&info)
        })
    }

    /// Metadata of every saved key (never the keys).
    #[wasm_bindgen(unchecked_return_type = "KeyInfo[]")]
    pub fn list(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.core.list().map_err(js_error)?)
    }

    /// Ids of damaged records that could not be decrypted; `remove` deletes them.
    pub fn unreadable(&self) -> Result<Vec<String>, JsValue> {
        self.inner.core.unreadable().map_err(js_error)
    }

    /// Deletes a saved key.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn remove(&self, id: String) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.core.remove(&id).await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Changes a key's label.
    #[wasm_bindgen(unchecked_return_type = "Promise<KeyInfo>")]
    pub fn rename(&self, id: String, label: String) -> Promise {
        let inner = self.inner.clone();
        promise(async move { to_js(&inner.core.rename(&id, &label).await.map_err(js_error)?) })
    }

    /// Makes a key its provider's default.
    #[wasm_bindgen(js_name = setDefault, unchecked_return_type = "Promise<void>")]
    pub fn set_default(&self, id: String) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.core.set_default(&id).await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Re-wraps the vault under a new password. A wrong old password changes nothing.
    #[wasm_bindgen(js_name = changePassword, unchecked_return_type = "Promise<void>")]
    pub fn change_password(&self, old_password: String, new_password: String) -> Promise {
        let inner = self.inner.clone();
        let (old, new) = (
            SecretString::new(old_password),
            SecretString::new(new_password),
        );
        promise(async move {
            inner
                .core
                .change_password(&old, &new)
                .await
                .map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Deletes the vault and every key in it, and locks.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn reset(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.core.reset().await.map_err(js_error)?;
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
        let inner = self.inner.clone();
        promise(async move {
            let provider = parse_provider(&provider)?;
            let url = inner.proxy_url(&url)?;
            let (id, key) = inner.core.key_for(provider).map_err(js_error)?;
            let response = send_with_key(&url, &init, &key).await?;
            spawn_local(async move {
                // Bookkeeping only: a failure to record use must not fail the request.
                let _ = inner.core.record_use(&id).await;
            });
            Ok(response.into())
        })
    }

    /// Asks the proxy whether the provider accepts key `id`, and records the answer.
    #[wasm_bindgen(js_name = testKey, unchecked_return_type = "Promise<KeyTestResult>")]
    pub fn test_key(&self, id: String) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let (provider, key) = inner.core.key_by_id(&id).map_err(js_error)?;
            let url = format!("{}byok/test/{}", inner.proxy_base, provider.id());
            let init = Object::new();
            Reflect::set(&init, &"method".into(), &"POST".into())?;
            let response = send_with_key(&url, &init.into(), &key).await?;
            let body = JsFuture::from(response.json()?).await.ok();
            if !response.ok() {
                // The proxy's own error ({"error":{"message"}}): unreachable provider, limits.
                let message = body
                    .and_then(|b| Reflect::get(&b, &"error".into()).ok())
                    .and_then(|e| Reflect::get(&e, &"message".into()).ok())
                    .and_then(|m| m.as_string())
                    .unwrap_or_else(|| {
                        format!("the proxy answered with status {}", response.status())
                    });
                return Err(js_error(VaultError::Proxy(message)));
            }
            let body = body.ok_or_else(|| invalid("the proxy gave an unreadable answer"))?;
            let result: KeyTestResult = serde_wasm_bindgen::from_value(body)
                .map_err(|_| invalid("the proxy gave an unreadable answer"))?;
            let status = if result.valid {
                TestStatus::Valid
            } else {
                TestStatus::Invalid
            };
            inner
                .core
                .record_test(&id, status)
                .await
                .map_err(js_error)?;
            to_js(&result)
        })
    }
}

/// Calls the global `fetch` with `init` plus the key header and `redirect: "error"`.
async fn send_with_key(url: &str, init: &JsValue, key: &SecretString) -> Result<Response, JsValue> {
    let request_init = Object::new();
    if let Some(given) = init.dyn_ref::<Object>() {
        Object::assign(&request_init, given);
    }
    let given_headers = Reflect::get(&request_init, &"headers".into())?;
    let headers = if given_headers.is_undefined() || given_headers.is_null() {
        Headers::new()?
    } else {
        // `new Headers(init.headers)`: accepts a Headers object, a record or pairs.
        Headers::new_with_str_sequence_sequence(&given_headers)?
    };
    headers.set(KEY_HEADER, key.expose_secret())?; // the one place the key leaves the vault
    Reflect::set(&request_init, &"headers".into(), &headers)?;
    // A redirect would carry the header to wherever the redirect points.
    Reflect::set(&request_init, &"redirect".into(), &"error".into())?;
    let fetch: Function = Reflect::get(&js_sys::global(), &"fetch".into())?.dyn_into()?;
    let pending: Promise = fetch
        .call2(&js_sys::global(), &url.into(), &request_init)?
        .dyn_into()?;
    JsFuture::from(pending).await?.dyn_into()
}
