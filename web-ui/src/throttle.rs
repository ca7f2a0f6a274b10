//! Slowing down repeated unlock attempts.
//!
//! The real cost of guessing is Argon2id (or PBKDF2); this stops a person (or a script driving
//! the page) from hammering the form, and tells them how long to wait.

/// The failure after which waiting starts (the first two are free: typos happen).
const FIRST_SLOW_FAILURE: u32 = 3;
/// The longest wait, in milliseconds.
const MAX_WAIT_MS: u64 = 30_000;

/// Counts failed unlocks and says when the next attempt is allowed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    failures: u32,
    not_before_ms: u64,
}

impl Throttle {
    /// Records a failure at `now_ms`; returns how long the next attempt must wait.
    pub fn fail(&mut self, now_ms: u64) -> u64 {
        self.failures = self.failures.saturating_add(1);
        let wait = wait_after(self.failures);
        self.not_before_ms = now_ms + wait;
        wait
    }

    /// Forgets failures after a success.
    pub fn succeed(&mut self) {
        *self = Self::default();
    }

    /// Milliseconds until an attempt is allowed (0: now).
    #[must_use]
    pub fn wait_ms(&self, now_ms: u64) -> u64 {
        self.not_before_ms.saturating_sub(now_ms)
    }

    /// Failures since the last success.
    #[must_use]
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// 0 after the first two failures, then 2 s, 4 s, 8 s, ... up to 30 s.
fn wait_after(failures: u32) -> u64 {
    match failures.checked_sub(FIRST_SLOW_FAILURE) {
        None => 0,
        Some(extra) => 2_000u64
            .checked_shl(extra)
            .map_or(MAX_WAIT_MS, |ms| ms.min(MAX_WAIT_MS)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_then_cap() {
        let mut t = Throttle::default();
        let waits: Vec<u64> = (0..10).map(|_| t.fail(1_000)).collect();
        assert_eq!(
            waits,
            [
                0, 0, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000
            ]
        );
        assert_eq!(t.failures(), 10);
        // Does not overflow however often it fails.
        for _ in 0..100 {
            t.fail(1_000);
        }
        assert_eq!(t.wait_ms(1_000), 30_000);
    }

    #[test]
    fn wait_counts_down_and_success_resets() {
        let mut t = Throttle::default();
        for _ in 0..3 {
            t.fail(10_000);
        }
        assert_eq!(t.wait_ms(10_000), 2_000);
        assert_eq!(t.wait_ms(11_500), 500);
        assert_eq!(t.wait_ms(12_000), 0);
        t.succeed();
        assert_eq!(t.failures(), 0);
        assert_eq!(t.wait_ms(10_000), 0);
    }
}
