//! The wall clock, in the units the proxy counts in: Unix milliseconds, and UTC days.

/// Seconds in a day.
const DAY: u64 = 86_400;

/// Now, in Unix milliseconds.
#[must_use]
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Today, as days since 1970-01-01 (UTC).
#[must_use]
pub fn today() -> u64 {
    now_ms() / 1000 / DAY
}

/// Seconds until the next UTC midnight (at least 1).
#[must_use]
pub fn until_midnight() -> u64 {
    let now = now_ms() / 1000;
    (DAY - now % DAY).max(1)
}

/// `day` (days since 1970-01-01) as `YYYY-MM-DD`.
#[must_use]
pub fn date(day: u64) -> String {
    byok_providers::day::date(day.cast_signed())
}
