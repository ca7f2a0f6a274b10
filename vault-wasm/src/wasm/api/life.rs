//! Keys over their life, for JavaScript: a new secret in an old key's place, turning a key off
//! and on, and an expiry date.
//!
//! ```js
//! await vault.replace(keyId, "sk-proj-new…", { test: true }); // same id, label, default, history
//! await vault.setEnabled(keyId, false);   // kept, never sent; the provider's next key serves
//! await vault.setExpiry(keyId, Date.parse("2027-03-01")); // flagged a week before, then not sent
//! await vault.setDailyRetest(true);       // each usable key tested once a day while unlocked
//! ```

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::Vault;
use super::js::{invalid, js_error, to_js};
use crate::{SecretString, VaultError};

#[wasm_bindgen]
impl Vault {
    /// Whether each usable key is tested with its provider once a day while unlocked.
    #[wasm_bindgen(js_name = dailyRetest)]
    pub fn daily_retest(&self) -> Result<bool, JsValue> {
        self.vault.core().daily_retest().map_err(js_error)
    }

    /// Turns the daily re-test on or off (off by default). On, every key that is on and not
    /// expired is sent to its provider's test endpoint (through the proxy) once a day while
    /// the vault is unlocked, and its status updated.
    #[wasm_bindgen(js_name = setDailyRetest, unchecked_return_type = "Promise<void>")]
    pub fn set_daily_retest(&self, on: bool) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move {
            vault.set_daily_retest(on).await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// A new secret for key `id`, keeping its id, label, default mark, cap and history.
    /// `options.test`: ask the provider first and change nothing if it refuses.
    #[wasm_bindgen(unchecked_return_type = "Promise<KeyInfo>")]
    pub fn replace(
        &self,
        id: String,
        api_key: String,
        #[wasm_bindgen(unchecked_param_type = "{ test?: boolean } | undefined")] options: JsValue,
    ) -> Promise {
        let vault = self.vault.clone();
        let api_key = SecretString::new(api_key);
        future_to_promise(async move {
            // `{ test: true }` asks first; anything else (absent, null, a non-object) does not.
            let test = Reflect::get(&options, &"test".into()).is_ok_and(|t| t.is_truthy());
            let info = vault.replace_key(&id, &api_key, test).await;
            to_js(&info.map_err(js_error)?)
        })
    }

    /// Turns key `id` off (kept, never sent) or back on.
    #[wasm_bindgen(js_name = setEnabled, unchecked_return_type = "Promise<KeyInfo>")]
    pub fn set_enabled(&self, id: String, enabled: bool) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move {
            to_js(
                &vault
                    .core()
                    .set_enabled(&id, enabled)
                    .await
                    .map_err(js_error)?,
            )
        })
    }

    /// Sets key `id`'s expiry (milliseconds since the epoch, as `Date.now()` gives), or removes
    /// it with `null`.
    #[wasm_bindgen(js_name = setExpiry, unchecked_return_type = "Promise<KeyInfo>")]
    pub fn set_expiry(&self, id: String, expires_ms: Option<f64>) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move {
            let expires_ms = expires_ms.map(millis).transpose().map_err(js_error)?;
            to_js(
                &vault
                    .core()
                    .set_expiry(&id, expires_ms)
                    .await
                    .map_err(js_error)?,
            )
        })
    }
}

/// A JavaScript time in milliseconds as a `u64`, refusing what is not one.
fn millis(ms: f64) -> Result<u64, VaultError> {
    // Whole, non-negative and below 2^53 (exact in f64): the cast below loses nothing.
    if ms.is_finite() && ms >= 0.0 && ms.fract() == 0.0 && ms < 9_007_199_254_740_992.0 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(ms as u64)
    } else {
        Err(invalid(
            "an expiry is a time in milliseconds, as Date.now() gives",
        ))
    }
}
