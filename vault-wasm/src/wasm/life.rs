//! Keys over their life, for JavaScript: a new secret in an old key's place, turning a key off
//! and on, and an expiry date.
//!
//! ```js
//! await vault.replace(keyId, "sk-proj-new…", { test: true }); // same id, label, default, history
//! await vault.setEnabled(keyId, false);   // kept, never sent; the provider's next key serves
//! await vault.setExpiry(keyId, Date.parse("2027-03-01")); // flagged a week before, then not sent
//! ```

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::{BrowserVault, Vault, invalid, js_error, to_js};
use crate::{KeyInfo, SecretString, TestStatus, VaultError};

impl BrowserVault {
    /// Puts `api_key` in key `id`'s place (see [`crate::Vault::replace`]). With `test`, the
    /// provider is asked first, and a key it refuses changes nothing.
    ///
    /// # Errors
    ///
    /// [`VaultError::KeyRejected`] when the test fails; as [`BrowserVault::check_with_provider`]
    /// and [`crate::Vault::replace`].
    pub async fn replace_key(
        &self,
        id: &str,
        api_key: &SecretString,
        test: bool,
    ) -> Result<KeyInfo, VaultError> {
        let core = self.core();
        let (provider, _) = core.key_by_id(id)?;
        // The shape first: a mistyped key is refused without a round trip to the provider.
        let api_key = crate::validate_key(provider, api_key.expose_secret())?;
        if !test {
            return core.replace(id, api_key.expose_secret()).await;
        }
        let verdict = self.check_with_provider(provider, &api_key).await?;
        if !verdict.valid {
            return Err(VaultError::KeyRejected(verdict.status));
        }
        core.replace(id, api_key.expose_secret()).await?;
        core.record_test(id, TestStatus::Valid).await
    }
}

#[wasm_bindgen]
impl Vault {
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
