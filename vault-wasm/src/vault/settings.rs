//! The vault's settings, sealed with it: the auto-lock period and the daily key re-test.

use super::records::{Settings, seal_settings};
use super::state::Vault;

use crate::autolock::{Clock, MAX_AUTO_LOCK_MS, MIN_AUTO_LOCK_MS};
use crate::entry::{KeyInfo, Provider, TestStatus};
use crate::envelope::SETTINGS_ID;
use crate::error::{Result, VaultError};
use crate::kdf::Kdf;
use crate::secret::SecretString;
use crate::store::{Batch, Store};

/// How long a key test stays fresh when daily re-testing is on.
pub const RETEST_INTERVAL_MS: u64 = 24 * 60 * 60 * 1000;

impl<S: Store, K: Kdf, C: Clock> Vault<S, K, C> {
    /// Changes the auto-lock period and stores it with the vault.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; [`VaultError::InvalidInput`] outside 100 ms to 24 h; storage.
    pub async fn set_auto_lock_ms(&self, ms: u64) -> Result<()> {
        if !(MIN_AUTO_LOCK_MS..=MAX_AUTO_LOCK_MS).contains(&ms) {
            return Err(VaultError::InvalidInput(
                "the auto-lock period must be between 100 ms and 24 hours".into(),
            ));
        }
        self.write_settings(|s| s.auto_lock_ms = ms).await?;
        let now = self.clock.now_ms();
        self.state.borrow_mut().autolock.set_timeout(ms, now);
        Ok(())
    }

    /// Whether each usable key is tested with its provider once a day while the vault is
    /// unlocked (off unless the user turns it on).
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`].
    pub fn daily_retest(&self) -> Result<bool> {
        // Asked by the vault's ticker: not activity.
        self.peek_session(|s| Ok(s.settings.daily_retest))
    }

    /// Turns daily re-testing on or off, stored with the vault.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; storage.
    pub async fn set_daily_retest(&self, on: bool) -> Result<()> {
        self.write_settings(|s| s.daily_retest = on).await
    }

    /// The keys a daily re-test should test now, with their ids and providers: none while it
    /// is off; else every key that is on, not expired, and not tested in the last
    /// [`RETEST_INTERVAL_MS`]. Background work: not activity, so it never keeps an idle vault
    /// open.
    ///
    /// # Security
    ///
    /// As for [`Vault::key_for`]: each secret is for one test request.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`].
    pub fn due_for_retest(&self) -> Result<Vec<(String, Provider, SecretString)>> {
        let now = self.clock.now_ms();
        self.peek_session(|s| {
            if !s.settings.daily_retest {
                return Ok(Vec::new());
            }
            Ok(s.entries
                .iter()
                .filter(|(_, e)| e.meta.is_usable(now))
                .filter(|(_, e)| {
                    e.meta
                        .last_tested_ms
                        .is_none_or(|t| now.saturating_sub(t) >= RETEST_INTERVAL_MS)
                })
                .map(|(id, e)| (id.clone(), e.meta.provider, e.key.clone()))
                .collect())
        })
    }

    /// Records a daily re-test's outcome for key `id`, without counting as activity.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`]; [`VaultError::Locked`]; storage.
    pub async fn record_retest(&self, id: &str, status: TestStatus) -> Result<KeyInfo> {
        let now = self.clock.now_ms();
        self.modify_with(id, false, |e| {
            e.meta.last_tested_ms = Some(now);
            e.meta.test_status = status;
        })
        .await
    }

    /// Seals the settings after `change`, writing before updating memory.
    pub(super) async fn write_settings(&self, change: impl FnOnce(&mut Settings)) -> Result<()> {
        let (epoch, key) = self.active()?;
        let mut settings = self.with_session(|s| Ok(s.settings.clone()))?;
        change(&mut settings);
        let record = seal_settings(&key, &settings)?;
        self.store.write(Batch::put(SETTINGS_ID, record)).await?;
        self.update_session(epoch, |s| s.settings = settings);
        Ok(())
    }
}
