//! Keys over their life in the browser: a new secret in an old key's place, turning a key off
//! and on, an expiry date, and the daily re-test while the vault is unlocked.

use std::rc::Rc;

use wasm_bindgen_futures::spawn_local;

use super::browser::BrowserVault;
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
