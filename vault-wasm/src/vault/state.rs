//! The vault's own state: the store, KDF and clock it works over; the session an unlock opens
//! (the vault key, every decrypted entry, the settings); who hears of locking.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::records::Settings;
use crate::autolock::{AutoLock, Clock, DEFAULT_TIMEOUT_MS, MIN_AUTO_LOCK_MS};
use crate::entry::Entry;
use crate::kdf::Kdf;
use crate::secret::SymmetricKey;
use crate::store::Store;

/// Why the lock state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockReason {
    /// The vault was unlocked (or created).
    Unlocked,
    /// `lock()` was called.
    Explicit,
    /// The idle period passed.
    Idle,
    /// Another tab locked (reported by the browser layer).
    Remote,
    /// The vault was wiped.
    Reset,
}

impl LockReason {
    /// Whether the vault is locked after this event.
    #[must_use]
    pub fn is_locked(self) -> bool {
        self != Self::Unlocked
    }
}

/// Key material and decrypted entries of an unlocked vault. Dropping it zeroizes them all.
pub(super) struct Session {
    /// Which unlock this is: a write begun in an earlier session must not touch this one.
    pub epoch: u64,
    /// The vault key.
    pub key: SymmetricKey,
    /// Every entry that opened, by record id.
    pub entries: BTreeMap<String, Entry>,
    /// Record ids of entries that did not open (damaged).
    pub unreadable: BTreeSet<String>,
    /// The vault's settings.
    pub settings: Settings,
    /// Connected apps' record ids by origin, filled as apps are looked up (see `apps`).
    pub app_ids: BTreeMap<String, String>,
    /// Requests sent so far per provider whose requests are spread (see `failover`).
    pub turns: BTreeMap<crate::entry::Provider, u64>,
}

/// The open session, if any, and the idle deadline.
pub(super) struct State {
    /// `None` while locked.
    pub session: Option<Session>,
    /// When an idle vault locks.
    pub autolock: AutoLock,
}

type Observer = Rc<dyn Fn(LockReason)>;

/// A key vault. See the module docs.
pub struct Vault<S, K, C> {
    pub(super) store: S,
    pub(super) kdf: K,
    pub(super) clock: C,
    pub(super) state: RefCell<State>,
    pub(super) epochs: Cell<u64>,
    observers: RefCell<Vec<Observer>>,
}

impl<S, K, C> std::fmt::Debug for Vault<S, K, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Vault")
            .field("locked", &state.session.is_none())
            .field("entries", &state.session.as_ref().map(|s| s.entries.len()))
            .finish_non_exhaustive()
    }
}

impl<S: Store, K: Kdf, C: Clock> Vault<S, K, C> {
    /// A vault over `store`, deriving keys with `kdf` and telling time with `clock`. It starts
    /// locked; nothing is read until [`Vault::unlock`] or [`Vault::create`].
    pub fn new(store: S, kdf: K, clock: C) -> Self {
        Self {
            store,
            kdf,
            clock,
            state: RefCell::new(State {
                session: None,
                autolock: AutoLock::new(DEFAULT_TIMEOUT_MS),
            }),
            epochs: Cell::new(0),
            observers: RefCell::new(Vec::new()),
        }
    }

    /// Uses `ms` as the auto-lock period until the vault's own setting is read on unlock.
    /// (`create` stores it as the new vault's setting.)
    #[must_use]
    pub fn with_auto_lock_ms(self, ms: u64) -> Self {
        self.state.borrow_mut().autolock = AutoLock::new(ms.max(MIN_AUTO_LOCK_MS));
        self
    }

    /// The store, for inspection in tests.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The key-derivation function, for inspection in tests.
    pub fn kdf(&self) -> &K {
        &self.kdf
    }

    /// Calls `observer` on every lock and unlock.
    pub fn subscribe(&self, observer: impl Fn(LockReason) + 'static) {
        self.observers.borrow_mut().push(Rc::new(observer));
    }

    pub(super) fn notify(&self, reason: LockReason) {
        // Clone the list first: an observer may call back into the vault.
        let observers = self.observers.borrow().clone();
        for observer in observers {
            observer(reason);
        }
    }
}
