//! Keys over their life, for JavaScript: a new secret in an old key's place, turning a key off
//! and on, and an expiry date.
//!
//! ```js
//! await vault.replace(keyId, "sk-proj-new…", { test: true }); // same id, label, default, history
//! await vault.setEnabled(keyId, false);   // kept, never sent; the provider's next key serves
//! await vault.setExpiry(keyId, Date.parse("2027-03-01")); // flagged a week before, then not sent
//! await vault.setDailyRetest(true);       // each usable key tested once a day while unlocked
//! ```

use std::rc::Rc;

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, spawn_local};

use super::api::Vault;
use super::browser::BrowserVault;
use super::js::{invalid, js_error, to_js};
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
        let resource = core.resource_of(id)?;
        let verdict = self
            .check_with_provider(provider, resource.as_deref(), &api_key)
            .await?;
        if !verdict.valid {
            return Err(VaultError::KeyRejected(verdict.status));
        }
        core.replace(id, api_key.expose_secret()).await?;
        core.record_test(id, TestStatus::Valid).await
    }
}

/// How often an unlocked vault with daily re-testing on looks for keys due a test.
const RETEST_CHECK_MS: f64 = 60.0 * 60.0 * 1000.0;

impl BrowserVault {
    /// Tests every key due a daily re-test (see [`crate::Vault::due_for_retest`]), one after
    /// the other, recording each answer; stops at the first failure to reach the proxy (the
    /// next round tries again). Returns how many keys were tested.
    pub async fn retest_due_keys(&self) -> usize {
        let due = self.core().due_for_retest().unwrap_or_default();
        let mut tested = 0;
        for (id, provider, key) in due {
            // Locked meanwhile: the rest waits for the next unlock.
            if self.core().is_locked() {
                break;
            }
            let resource = self.core().resource_of(&id).ok().flatten();
            let Ok(verdict) = self
                .check_with_provider(provider, resource.as_deref(), &key)
                .await
            else {
                break;
            };
            let status = if verdict.valid {
                TestStatus::Valid
            } else {
                TestStatus::Invalid
            };
            // Removed or locked meanwhile: nothing to record.
            if self.core().record_retest(&id, status).await.is_ok() {
                tested += 1;
            }
        }
        tested
    }

    /// Calls `listener(tested)` after each daily re-test round that tested a key.
    pub fn on_retest(&self, listener: impl Fn(usize) + 'static) {
        self.inner
            .retest_listeners
            .borrow_mut()
            .push(Rc::new(listener));
    }

    /// Turns daily re-testing on or off; on, a round starts at the next tick.
    ///
    /// # Errors
    ///
    /// As [`crate::Vault::set_daily_retest`].
    pub async fn set_daily_retest(&self, on: bool) -> Result<(), VaultError> {
        self.core().set_daily_retest(on).await?;
        self.inner.retest_at.set(0.0);
        Ok(())
    }

    /// From the vault's ticker: starts a round when daily re-testing is on, the vault is
    /// unlocked, and the last look was an hour ago (or the vault was just unlocked).
    pub(super) fn retest_tick(self) {
        let inner = &self.inner;
        let now = js_sys::Date::now();
        if inner.retesting.get()
            || now < inner.retest_at.get()
            || self.core().daily_retest() != Ok(true)
        {
            return;
        }
        inner.retest_at.set(now + RETEST_CHECK_MS);
        inner.retesting.set(true);
        spawn_local(async move {
            let tested = self.retest_due_keys().await;
            self.inner.retesting.set(false);
            if tested > 0 {
                let listeners = self.inner.retest_listeners.borrow().clone();
                for listener in listeners {
                    listener(tested);
                }
            }
        });
    }
}

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
