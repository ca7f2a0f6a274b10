//! Times in words: the auto-lock countdown and "tested 5 minutes ago".

/// `ms` as a countdown: `29:59`, `1:00:00`. Rounds up, so it reaches `0:00` only at zero.
#[must_use]
pub fn countdown(ms: u64) -> String {
    let secs = ms.div_ceil(1000);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// `ms` as a spoken duration for screen readers: "29 minutes", "45 seconds".
#[must_use]
pub fn spoken(ms: u64) -> String {
    let secs = ms.div_ceil(1000);
    match secs {
        0..=59 => plural(secs, "second"),
        60..=3599 => plural(secs.div_ceil(60), "minute"),
        _ => plural(secs.div_ceil(3600), "hour"),
    }
}

/// Time left until an expiry, rounded down so it never promises more than there is:
/// "under a minute", "59 minutes", "1 hour 5 minutes", "2 days".
#[must_use]
pub fn left(ms: u64) -> String {
    let mins = ms / 60_000;
    match mins {
        0 => "under a minute".into(),
        1..=59 => plural(mins, "minute"),
        60..=1439 if mins.is_multiple_of(60) => plural(mins / 60, "hour"),
        60..=1439 => format!(
            "{} {}",
            plural(mins / 60, "hour"),
            plural(mins % 60, "minute")
        ),
        _ => plural(mins / 1440, "day"),
    }
}

/// How long before `now_ms` `then_ms` was: "just now", "5 minutes ago", "yesterday".
#[must_use]
pub fn ago(now_ms: u64, then_ms: u64) -> String {
    let secs = now_ms.saturating_sub(then_ms) / 1000;
    match secs {
        0..=59 => "just now".into(),
        60..=3599 => format!("{} ago", plural(secs / 60, "minute")),
        3600..=86_399 => format!("{} ago", plural(secs / 3600, "hour")),
        86_400..=172_799 => "yesterday".into(),
        _ => format!("{} ago", plural(secs / 86_400, "day")),
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdown_formats() {
        assert_eq!(countdown(0), "0:00");
        assert_eq!(countdown(1), "0:01");
        assert_eq!(countdown(59_001), "1:00");
        assert_eq!(countdown(30 * 60_000), "30:00");
        assert_eq!(countdown(30 * 60_000 - 1_000), "29:59");
        assert_eq!(countdown(60 * 60_000), "1:00:00");
        assert_eq!(countdown(3_723_000), "1:02:03");
    }

    #[test]
    fn spoken_formats() {
        assert_eq!(spoken(1_000), "1 second");
        assert_eq!(spoken(45_000), "45 seconds");
        assert_eq!(spoken(29 * 60_000 + 1), "30 minutes");
        assert_eq!(spoken(60 * 60_000), "1 hour");
    }

    #[test]
    fn left_rounds_down() {
        assert_eq!(left(59_999), "under a minute");
        assert_eq!(left(60_000), "1 minute");
        assert_eq!(left(3_599_999), "59 minutes");
        assert_eq!(left(3_600_000), "1 hour");
        assert_eq!(left(3_600_999), "1 hour", "a second over is not two hours");
        assert_eq!(left(3_900_000), "1 hour 5 minutes");
        assert_eq!(left(24 * 3_600_000), "1 day");
        assert_eq!(left(50 * 3_600_000), "2 days");
    }

    #[test]
    fn ago_formats() {
        let now = 1_000_000_000;
        assert_eq!(ago(now, now), "just now");
        assert_eq!(
            ago(now, now + 5_000),
            "just now",
            "clock skew is not negative time"
        );
        assert_eq!(ago(now, now - 60_000), "1 minute ago");
        assert_eq!(ago(now, now - 5 * 60_000), "5 minutes ago");
        assert_eq!(ago(now, now - 3 * 3_600_000), "3 hours ago");
        assert_eq!(ago(now, now - 30 * 3_600_000), "yesterday");
        assert_eq!(ago(now, now - 3 * 86_400_000), "3 days ago");
    }
}
