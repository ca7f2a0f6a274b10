//! Lock state: whether the vault is open, the idle deadline, and the session every other part
//! reads and updates through.

use std::collections::{BTreeMap, BTreeSet};

use super::records::Settings;
use super::state::{LockReason, Session, Vault};
use crate::autolock::{AutoLock, Clock, MAX_AUTO_LOCK_MS, MIN_AUTO_LOCK_MS};
use crate::entry::Entry;
use crate::envelope::HEADER_ID;
use crate::error::{Result, VaultError};
use crate::kdf::Kdf;
use crate::secret::SymmetricKey;
use crate::store::Store;

impl<S: Store, K: Kdf, C: Clock> Vault<S, K, C> {
    /// Whether a vault has been created in this store.
    ///
    /// # Errors
    ///
    /// [`VaultError::Storage`] if the store cannot be read.
    pub async fn exists(&self) -> Result<bool> {
        Ok(self.store.get(HEADER_ID).await?.is_some())
    }

    /// Whether the vault is locked. Locks it first if the idle deadline has passed.
    pub fn is_locked(&self) -> bool {
        self.check_idle();
        self.state.borrow().session.is_none()
    }

    /// Locks the vault if the idle deadline has passed. The browser timer calls this; so does
    /// every other method. Returns whether it locked now.
    pub fn check_idle(&self) -> bool {
        let expired = {
            let state = self.state.borrow();
            state.session.is_some() && state.autolock.should_lock(self.clock.now_ms())
        };
        if expired {
            self.lock_with(LockReason::Idle);
        }
        expired
    }

    /// Records user activity, pushing the auto-lock deadline out (unless it already passed).
    pub fn touch(&self) {
        if !self.check_idle() {
            let now = self.clock.now_ms();
            self.state.borrow_mut().autolock.touch(now);
        }
    }

    /// Locks now, dropping (and so zeroizing) every key held in memory.
    pub fn lock(&self) {
        self.lock_with(LockReason::Explicit);
    }

    /// Locks for `reason`. Observers hear of it only if the vault was unlocked.
    pub fn lock_with(&self, reason: LockReason) {
        let session = {
            let mut state = self.state.borrow_mut();
            state.autolock.stop();
            state.session.take()
        };
        if session.is_some() {
            drop(session);
            self.notify(reason);
        }
    }

    /// Milliseconds until auto-lock, or `None` when locked.
    pub fn remaining_ms(&self) -> Option<u64> {
        self.check_idle();
        let state = self.state.borrow();
        state.session.as_ref()?;
        state.autolock.remaining_ms(self.clock.now_ms())
    }

    /// The auto-lock period in milliseconds.
    pub fn auto_lock_ms(&self) -> u64 {
        self.state.borrow().autolock.timeout_ms()
    }

    /// The current time on the vault's clock.
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The vault key of the unlocked session, to hand to another window of the vault's
    /// origin (see [`Vault::unlock_with_vault_key`]). Not activity.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`].
    // Used by the browser layer (`wasm`) alone; tested natively.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn vault_key_for_handoff(&self) -> Result<SymmetricKey> {
        Ok(self.session_key(false)?.1)
    }

    /// The epoch and vault key of the unlocked session, recording activity.
    pub(crate) fn active(&self) -> Result<(u64, SymmetricKey)> {
        self.session_key(true)
    }

    /// As [`Vault::active`]; `activity: false` for the vault's own background work, which
    /// must not keep an idle vault open.
    pub(super) fn session_key(&self, activity: bool) -> Result<(u64, SymmetricKey)> {
        self.check_idle();
        let now = self.clock.now_ms();
        let mut state = self.state.borrow_mut();
        let (epoch, key) = match &state.session {
            Some(s) => (s.epoch, s.key.clone()),
            None => return Err(VaultError::Locked),
        };
        if activity {
            state.autolock.touch(now);
        }
        Ok((epoch, key))
    }

    pub(super) fn with_session<T>(&self, f: impl FnOnce(&Session) -> Result<T>) -> Result<T> {
        self.active()?;
        self.peek_session(f)
    }

    /// Reads the session without counting as activity (background work).
    pub(super) fn peek_session<T>(&self, f: impl FnOnce(&Session) -> Result<T>) -> Result<T> {
        self.check_idle();
        let state = self.state.borrow();
        state.session.as_ref().map_or(Err(VaultError::Locked), f)
    }

    /// Applies `f` to the session if it is still the one of `epoch` (the vault was not locked
    /// and reopened while a write was in flight).
    pub(super) fn update_session(&self, epoch: u64, f: impl FnOnce(&mut Session)) {
        if let Some(session) = self.state.borrow_mut().session.as_mut()
            && session.epoch == epoch
        {
            f(session);
        }
    }

    /// Starts the session an unlock opens, and tells the observers.
    pub(super) fn start_session(
        &self,
        key: SymmetricKey,
        entries: BTreeMap<String, Entry>,
        unreadable: BTreeSet<String>,
        settings: Settings,
    ) {
        let epoch = self.epochs.get() + 1;
        self.epochs.set(epoch);
        {
            let timeout_ms = settings.auto_lock_ms;
            let mut state = self.state.borrow_mut();
            state.session = Some(Session {
                epoch,
                key,
                entries,
                unreadable,
                settings,
                app_ids: BTreeMap::new(),
                turns: BTreeMap::new(),
            });
            state.autolock = AutoLock::new(timeout_ms.clamp(MIN_AUTO_LOCK_MS, MAX_AUTO_LOCK_MS));
            state.autolock.start(self.clock.now_ms());
        }
        self.notify(LockReason::Unlocked);
    }
}
