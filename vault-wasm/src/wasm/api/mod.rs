//! The `Vault` class JavaScript sees: each method converts its arguments, calls the browser
//! vault and converts the result. The methods of one area (backups, grants, passkeys, ...)
//! are in that area's file here, beside the browser vault's own file of the same name.
//!
//! The `js` feature (on by default, for `make pkg`) builds it; the settings page calls the
//! browser vault from Rust and leaves it out, with the promise and conversion code of every
//! method (about 60 KB of its gzipped wasm).

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

mod backup;
mod failover;
mod grants;
mod hashing;
mod js;
mod life;
mod passkey;
mod persist;
mod usage;

use self::js::{invalid, js_error, kdf_algorithm, parse_provider, promise, to_js};
use super::browser::{BrowserVault, Options};
use crate::{SecretString, validate_key};

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
  /**
   * When keys go sealed to the proxy for their one request (`X-BYOK-Sealed`): "auto" (default:
   * when the proxy publishes a seal key), "always" (refuse to send a plain key) or "never".
   */
  seal?: "auto" | "always" | "never";
}
export type ProviderId =
  | "openai" | "anthropic" | "gemini" | "openrouter" | "mistral" | "groq" | "deepseek" | "xai"
  | "together" | "fireworks" | "cerebras" | "perplexity" | "azure" | "custom";
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
  /** Until when the provider asked for no more requests with it (a 429's Retry-After, or a
   * minute), or null: other keys of the provider go first meanwhile. */
  cooldownUntilMs: number | null;
  /** The Azure resource it belongs to (`<resource>.openai.azure.com`), or null. */
  resource: string | null;
}
/** The proxy's verdict on a key. */
export interface KeyTestResult {
  provider: ProviderId;
  valid: boolean;
  status: number;
  message: string;
}
"#;

/// The key vault, for JavaScript. See the module docs.
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct Vault {
    pub(super) vault: BrowserVault,
}

impl From<BrowserVault> for Vault {
    fn from(vault: BrowserVault) -> Self {
        Self { vault }
    }
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
            let alg = kdf_algorithm(kdf.as_deref())?;
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

    /// Checks and saves a provider key; an Azure key with the name of its resource (the first
    /// label of `<resource>.openai.azure.com`), which no other provider takes.
    #[wasm_bindgen(unchecked_return_type = "Promise<KeyInfo>")]
    pub fn add(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ProviderId")] provider: String,
        api_key: String,
        label: String,
        resource: Option<String>,
    ) -> Promise {
        let vault = self.vault.clone();
        let api_key = SecretString::new(api_key);
        future_to_promise(async move {
            let provider = parse_provider(&provider)?;
            let core = vault.core();
            // Validated and sealed inside.
            let info = core
                .add_at(
                    provider,
                    resource.as_deref(),
                    api_key.expose_secret(),
                    &label,
                )
                .await;
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
            let alg = kdf_algorithm(kdf.as_deref())?;
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
