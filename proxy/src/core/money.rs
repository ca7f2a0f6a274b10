//! Money: USD as people read it, and the nano-USD counters add up exactly.

/// Nano-USD in a dollar.
const NANO: f64 = 1e9;

/// Nano-USD as USD.
#[must_use]
#[allow(clippy::cast_precision_loss)] // sums far below 2^52 nano-USD (4.5 million dollars)
pub fn usd(nano: i64) -> f64 {
    nano as f64 / NANO
}

/// `usd` in nano-USD, rounded. Callers bound `usd` first (a cap, a budget, one answer's cost),
/// far inside what an `i64` holds.
#[must_use]
#[allow(clippy::cast_possible_truncation)] // bounded by the caller, rounded
pub fn nano(usd: f64) -> i64 {
    (usd * NANO).round() as i64
}
