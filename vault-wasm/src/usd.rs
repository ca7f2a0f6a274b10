//! Amounts in US dollars, held as integer micro-dollars so a cap typed as `0.10` is exactly
//! that, and written back as the shortest decimal (`0.1`, `5`), the form `X-BYOK-Daily-Cap`
//! takes. Also counts written for people (`600,000`).

/// Micro-dollars in a dollar.
const MICROS: u64 = 1_000_000;
/// The largest cap accepted, in dollars: far above any real daily spend, far below overflow.
pub const MAX_CAP_USD: u64 = 1_000_000;

/// Reads an amount such as `5`, `0.50` or `$12.3` (at most six decimals).
///
/// # Errors
///
/// A sentence saying what an amount looks like.
pub fn parse_usd(text: &str) -> Result<u64, String> {
    let bad = || "enter an amount in US dollars, such as 5 or 0.50".to_owned();
    let text = text.trim();
    let text = text.strip_prefix('$').unwrap_or(text).trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(bad());
    }
    if fraction.len() > 6 {
        return Err("use at most six decimals".into());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    if whole > MAX_CAP_USD {
        return Err(format!("the most a cap can be is ${MAX_CAP_USD}"));
    }
    let micros = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(6)
        .fold(0, |n, b| n * 10 + u64::from(b - b'0'));
    Ok(whole * MICROS + micros)
}

/// `micros` as the shortest decimal: `5`, `0.5`, `0.000001`.
#[must_use]
pub fn format_usd(micros: u64) -> String {
    let (whole, fraction) = (micros / MICROS, micros % MICROS);
    if fraction == 0 {
        return whole.to_string();
    }
    let fraction = format!("{fraction:06}");
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

/// A count with thousands separators: `12,345`.
#[must_use]
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_and_written_back_shortest() {
        let cases = [
            ("5", 5_000_000, "5"),
            ("0.50", 500_000, "0.5"),
            (" $12.3 ", 12_300_000, "12.3"),
            (".25", 250_000, "0.25"),
            ("7.", 7_000_000, "7"),
            ("0.000001", 1, "0.000001"),
            ("0", 0, "0"),
        ];
        for (text, micros, shortest) in cases {
            assert_eq!(parse_usd(text), Ok(micros), "{text}");
            assert_eq!(format_usd(micros), shortest);
            assert_eq!(parse_usd(shortest), Ok(micros), "round trip {shortest}");
        }
        for bad in ["", ".", "-1", "1e3", "NaN", "5 USD", "1.2.3", "0x10", "1,5"] {
            assert!(parse_usd(bad).is_err(), "{bad}");
        }
        assert!(parse_usd("0.0000001").unwrap_err().contains("six decimals"));
        assert!(parse_usd("1000001").is_err());
        assert_eq!(parse_usd("1000000"), Ok(MAX_CAP_USD * MICROS));
    }
}
