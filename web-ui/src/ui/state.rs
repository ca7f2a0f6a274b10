//! State shared by every component: the vault handle and signals derived from it.

use byok_vault::wasm::BrowserVault;
use byok_vault::{KeyInfo, LockReason, Provider, VaultError};
use leptos::prelude::*;

use crate::{timefmt, words};

/// Where the vault is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No vault in this browser: offer to create one.
    NoVault,
    /// Created and locked.
    Locked,
    /// Unlocked: the settings.
    Unlocked,
}

/// The tab shown while unlocked; it is the URL's hash, so back/forward and links work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Provider cards.
    Keys,
    /// The streamed request.
    TryIt,
    /// Key grants for background jobs.
    Grants,
    /// Spending over 30 days.
    Usage,
    /// Auto-lock, password, reset.
    Security,
}

impl Tab {
    /// Every tab, in order.
    pub const ALL: [Tab; 5] = [
        Tab::Keys,
        Tab::TryIt,
        Tab::Grants,
        Tab::Usage,
        Tab::Security,
    ];

    /// The hash that selects it.
    pub fn hash(self) -> &'static str {
        match self {
            Self::Keys => "#keys",
            Self::TryIt => "#try",
            Self::Grants => "#grants",
            Self::Usage => "#usage",
            Self::Security => "#security",
        }
    }

    /// Its name.
    pub fn title(self) -> &'static str {
        match self {
            Self::Keys => "Keys",
            Self::TryIt => "Try it",
            Self::Grants => "Grants",
            Self::Usage => "Usage",
            Self::Security => "Security",
        }
    }

    /// The tab a URL hash selects, if any (`#main`, the skip link, selects none).
    pub fn from_hash(hash: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.hash() == hash)
    }
}

/// A message for everybody: successes in the polite live region, failures as alerts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Notice {
    /// Nothing to say.
    #[default]
    None,
    /// Something worked.
    Done(String),
    /// Something failed.
    Failed(String),
}

/// The shared state, provided as context by `App`. `Copy`: every field is a handle.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    vault: StoredValue<BrowserVault, LocalStorage>,
    /// Create, unlock or settings.
    pub phase: RwSignal<Phase>,
    /// The tab shown while unlocked.
    pub tab: RwSignal<Tab>,
    /// Every saved key's metadata (empty while locked).
    pub keys: RwSignal<Vec<KeyInfo>>,
    /// Ids of records that could not be decrypted.
    pub unreadable: RwSignal<Vec<String>>,
    /// The latest page-wide message.
    pub notice: RwSignal<Notice>,
    /// Providers the proxy serves (None until known or if it could not be asked).
    pub served: RwSignal<Option<Vec<Provider>>>,
    /// The time, updated every second (for countdowns and "5 minutes ago").
    pub now_ms: RwSignal<u64>,
    /// Milliseconds until auto-lock (None while locked).
    pub remaining_ms: RwSignal<Option<u64>>,
    /// The auto-lock period.
    pub auto_lock_ms: RwSignal<u64>,
    /// Changes whenever something may have spent (an answer on the Try-it tab): usage views
    /// ask the proxy again.
    pub spend_changed: RwSignal<u64>,
    /// Whether the app has handed over a user token (`byokSetUserToken`).
    pub user_token: RwSignal<bool>,
    /// Whether the browser keeps the vault's storage (None: not asked yet, or it cannot say).
    pub persisted: RwSignal<Option<bool>>,
}

impl Ctx {
    /// State for `vault`, which starts locked.
    pub fn new(vault: BrowserVault, phase: Phase, tab: Tab) -> Self {
        let auto_lock_ms = vault.core().auto_lock_ms();
        Self {
            vault: StoredValue::new_local(vault),
            phase: RwSignal::new(phase),
            tab: RwSignal::new(tab),
            keys: RwSignal::new(Vec::new()),
            unreadable: RwSignal::new(Vec::new()),
            notice: RwSignal::new(Notice::None),
            served: RwSignal::new(None),
            now_ms: RwSignal::new(now_ms()),
            remaining_ms: RwSignal::new(None),
            auto_lock_ms: RwSignal::new(auto_lock_ms),
            spend_changed: RwSignal::new(0),
            user_token: RwSignal::new(false),
            persisted: RwSignal::new(None),
        }
    }

    /// The context provided by `App`.
    pub fn get() -> Self {
        // Every component is rendered inside `Main`, which provides it before any child: a
        // missing context is a bug in this crate, not a runtime condition.
        use_context::<Self>().expect("Ctx is provided by Main")
    }

    /// A handle to the vault.
    pub fn vault(&self) -> BrowserVault {
        self.vault.get_value()
    }

    /// Reloads the key list (and the settings it depends on) from the unlocked vault.
    pub fn refresh(&self) {
        let vault = self.vault();
        let core = vault.core();
        self.keys.set(core.list().unwrap_or_default());
        self.unreadable.set(core.unreadable().unwrap_or_default());
        self.auto_lock_ms.set(core.auto_lock_ms());
        self.remaining_ms.set(core.remaining_ms());
    }

    /// Reacts to the vault locking or unlocking (here, by the timer, or in another tab).
    pub fn on_lock_change(&self, reason: LockReason) {
        match reason {
            LockReason::Explicit => self.done("Vault locked."),
            LockReason::Idle => self.done(format!(
                "The vault locked itself after {} without activity. Unlock it to continue.",
                timefmt::spoken(self.auto_lock_ms.get_untracked())
            )),
            LockReason::Remote => self.done("The vault was locked in another tab."),
            // Unlocking and resetting say so where they happen.
            LockReason::Unlocked | LockReason::Reset => {}
        }
        if reason.is_locked() {
            self.keys.set(Vec::new());
            self.unreadable.set(Vec::new());
            self.remaining_ms.set(None);
            if self.phase.get_untracked() == Phase::Unlocked {
                self.phase.set(Phase::Locked);
            }
        } else {
            self.refresh();
            self.phase.set(Phase::Unlocked);
        }
    }

    /// Says that something worked.
    pub fn done(&self, message: impl Into<String>) {
        self.notice.set(Notice::Done(message.into()));
    }

    /// Says that something failed.
    pub fn failed(&self, message: impl Into<String>) {
        self.notice.set(Notice::Failed(message.into()));
    }

    /// Says that a vault operation failed, in words; a vanished vault goes back to "create".
    pub fn vault_failed(&self, err: &VaultError) {
        if *err == VaultError::NotCreated {
            self.phase.set(Phase::NoVault);
        }
        self.failed(words::vault_error(err));
    }

    /// Ticks the clock: the countdown and relative times follow.
    pub fn tick(&self) {
        self.now_ms.set(now_ms());
        self.remaining_ms
            .set(self.vault.with_value(|v| v.core().remaining_ms()));
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    // Date.now() is a whole, positive number of milliseconds.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ms = js_sys::Date::now() as u64;
    ms
}

/// The value of a text input, then clears it: passwords and keys do not linger in the page.
pub fn take_value(input: &NodeRef<leptos::html::Input>) -> String {
    input.get_untracked().map_or_else(String::new, |el| {
        let value = el.value();
        el.set_value("");
        value
    })
}
