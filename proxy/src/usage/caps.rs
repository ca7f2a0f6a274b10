//! Daily spend caps: reading one a client sets (`X-BYOK-Daily-Cap`), and refusing a request
//! once a subject's spend today has reached it.

use crate::core::ProxyError;
use crate::core::clock::{today, until_midnight};
use crate::core::ledger::{SPEND, Subject};
use crate::core::money::usd;
use crate::store::Store;

/// Refuses a request when `subject`'s spend today, as `store` has it, is at or over `cap`
/// USD.
///
/// # Errors
///
/// [`ProxyError::BudgetExceeded`] over the cap; [`ProxyError::StoreUnavailable`] when the
/// store cannot say (a cap fails closed: the user asked not to spend past it).
pub async fn check_cap(store: &Store, subject: &Subject, cap_usd: f64) -> Result<(), ProxyError> {
    let spent = store
        .spend(subject, today(), SPEND)
        .await
        .map_err(|e| store.failed("spend", &e))?;
    if usd(spent) >= cap_usd {
        return Err(ProxyError::BudgetExceeded {
            message: format!(
                "this key's daily cap of ${cap_usd:.2} is reached (spent ${:.4} today, UTC); \
                 it resets at midnight UTC",
                usd(spent)
            ),
            retry_after: until_midnight(),
        });
    }
    Ok(())
}

/// Reads a daily cap in USD (`X-BYOK-Daily-Cap`): a non-negative decimal.
///
/// # Errors
///
/// [`ProxyError::BadRequest`] for anything else.
pub fn parse_cap(text: &str) -> Result<f64, ProxyError> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|c| {
            c.is_finite()
                && *c >= 0.0
                && text.trim().bytes().all(|b| b.is_ascii_digit() || b == b'.')
        })
        .ok_or_else(|| {
            ProxyError::BadRequest(
                "X-BYOK-Daily-Cap must be an amount in USD, such as 5 or 0.50".into(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_are_plain_amounts() {
        assert_eq!(parse_cap("5").unwrap(), 5.0);
        assert_eq!(parse_cap(" 0.50 ").unwrap(), 0.5);
        for bad in ["", "-1", "1e3", "NaN", "inf", "$5", "5 USD", "0x10"] {
            assert!(parse_cap(bad).is_err(), "{bad}");
        }
    }
}
