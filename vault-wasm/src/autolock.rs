//! Auto-lock as pure logic over an injected clock.
//!
//! The browser timer only *drives* this: it calls [`AutoLock::should_lock`] now and then. Every
//! vault call checks the deadline as well, because background tabs throttle timers to once a
//! minute or less, and a timer alone would leave the vault open past its deadline.
//!
//! ```
//! use byok_vault::AutoLock;
//!
//! let mut lock = AutoLock::new(30 * 60_000);
//! lock.start(0);
//! lock.touch(10 * 60_000);
//! assert!(!lock.should_lock(39 * 60_000));
//! assert!(lock.should_lock(40 * 60_000));
//! ```

use std::cell::Cell;

/// Default idle period: 30 minutes.
pub const DEFAULT_TIMEOUT_MS: u64 = 30 * 60 * 1000;
/// Shortest auto-lock period accepted (tests use short ones; people get minutes).
pub const MIN_AUTO_LOCK_MS: u64 = 100;
/// Longest auto-lock period accepted: one day.
pub const MAX_AUTO_LOCK_MS: u64 = 24 * 60 * 60 * 1000;

/// A source of wall-clock time in milliseconds since the Unix epoch.
///
/// Injected so tests can drive time by hand. (`std::time::Instant` panics in wasm.)
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The system clock (native) or `Date.now()` (browser).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[cfg(not(target_arch = "wasm32"))]
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    #[cfg(target_arch = "wasm32")]
    fn now_ms(&self) -> u64 {
        // Date.now() is a non-negative integral number of milliseconds well below 2^53.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let now = js_sys::Date::now() as u64;
        now
    }
}

/// A clock that only moves when told to. For tests and simulations.
#[derive(Debug, Default)]
pub struct ManualClock(Cell<u64>);

impl ManualClock {
    /// A clock reading `start_ms`.
    #[must_use]
    pub fn new(start_ms: u64) -> Self {
        Self(Cell::new(start_ms))
    }

    /// Moves the clock forward.
    pub fn advance(&self, ms: u64) {
        self.0.set(self.0.get().saturating_add(ms));
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
}

impl<C: Clock + ?Sized> Clock for std::rc::Rc<C> {
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }
}

/// The idle deadline of an unlocked vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoLock {
    timeout_ms: u64,
    deadline_ms: Option<u64>,
}

impl AutoLock {
    /// An idle timer of `timeout_ms`, not yet running.
    #[must_use]
    pub fn new(timeout_ms: u64) -> Self {
        Self {
            timeout_ms,
            deadline_ms: None,
        }
    }

    /// The idle period.
    #[must_use]
    pub fn timeout_ms(&self) -> u64 {
        self.timeout_ms
    }

    /// Starts counting from `now` (on unlock).
    pub fn start(&mut self, now_ms: u64) {
        self.deadline_ms = Some(now_ms.saturating_add(self.timeout_ms));
    }

    /// Stops counting (on lock).
    pub fn stop(&mut self) {
        self.deadline_ms = None;
    }

    /// Records activity at `now`, pushing the deadline out. Does nothing when not running or
    /// already past the deadline: activity after the deadline MUST NOT revive the vault.
    pub fn touch(&mut self, now_ms: u64) {
        if self.deadline_ms.is_some() && !self.should_lock(now_ms) {
            self.start(now_ms);
        }
    }

    /// Changes the idle period, keeping the last activity time.
    pub fn set_timeout(&mut self, timeout_ms: u64, now_ms: u64) {
        if let Some(deadline) = self.deadline_ms {
            let last_activity = deadline.saturating_sub(self.timeout_ms);
            self.deadline_ms = Some(last_activity.saturating_add(timeout_ms).max(now_ms));
        }
        self.timeout_ms = timeout_ms;
    }

    /// Whether the deadline has passed.
    #[must_use]
    pub fn should_lock(&self, now_ms: u64) -> bool {
        self.deadline_ms.is_some_and(|d| now_ms >= d)
    }

    /// Milliseconds left, or `None` when not running.
    #[must_use]
    pub fn remaining_ms(&self, now_ms: u64) -> Option<u64> {
        self.deadline_ms.map(|d| d.saturating_sub(now_ms))
    }
}

impl Default for AutoLock {
    fn default() -> Self {
        Self::new(DEFAULT_TIMEOUT_MS)
    }
}
