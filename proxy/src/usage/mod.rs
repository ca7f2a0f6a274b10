//! Usage and cost: tokens read from each answer as it streams past, priced from a table, and
//! counted per day in the store; daily spend caps checked before a request is forwarded.
//!
//! - [`scan`]: picks top-level values out of a JSON document in passing.
//! - [`read`]: where each provider writes usage and how its streams end.
//! - [`prices`]: the price table (bundled `prices.toml`, the operator's `--prices`).
//! - [`counts`]: what one answer adds to the day's counters, and the `/byok/usage` answer.
//! - [`tap`]: reads the model a streamed request body names, as it goes up.
//! - [`api`]: `GET /byok/usage`.
//! - [`strip`]: removes the usage chunk the proxy asked for on a client's behalf
//!   (`BYOK_STREAM_USAGE=on`).
//!
//! A [`Meter`] rides along with every successful answer to a request that may use tokens (one
//! that is not a `GET`): it reads the answer as the client receives it and, when the answer ends
//! (completely, cut short, or because the client left), records what it read: once, from a
//! spawned task, so the client never waits for the store.
//!
//! Days are UTC. Counters live 35 days in the store (the answers cover 30).

pub mod api;
pub mod counts;
pub mod prices;
pub mod read;
pub mod scan;
pub mod strip;
pub mod tap;

use std::sync::{Arc, OnceLock};

use crate::AppState;
use crate::grants::GrantId;
use crate::limits::KeyFingerprint;
use crate::pipeline::KeySource;
use crate::provider::Provider;
use crate::store::Store;

pub use counts::{Counts, Row};
pub use prices::PriceTable;

/// Seconds in a day.
const DAY: u64 = 86_400;
/// Days the store keeps a day's counters (between the 31 and 40 the interface allows).
pub const KEEP_DAYS: u64 = 35;
/// Longest model name counted as written; longer ones are cut.
const MAX_MODEL: usize = 128;

/// Token counts from one answer, in the proxy's terms.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tokens {
    /// Every prompt token, cached ones included.
    pub input: u64,
    /// The part of `input` read from a cache.
    pub cached_input: u64,
    /// The part of `input` written to a cache (Anthropic's cache creation).
    pub cache_creation: u64,
    /// Output tokens, reasoning and thinking included.
    pub output: u64,
    /// The cost the provider itself reported (OpenRouter), USD.
    pub provider_cost: Option<f64>,
}

/// Whose usage a count belongs to: the names of the counters in the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    /// A provider key, by fingerprint.
    Key(KeyFingerprint),
    /// A grant.
    Grant(GrantId),
    /// A user the app vouched for (`sub`).
    User(String),
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key(kf) => write!(f, "key:{kf}"),
            Self::Grant(id) => write!(f, "grant:{id}"),
            Self::User(sub) => write!(f, "user:{sub}"),
        }
    }
}

/// Today, as days since 1970-01-01 (UTC).
#[must_use]
pub fn today() -> u64 {
    crate::store::now_ms() / 1000 / DAY
}

/// Seconds until the next UTC midnight (at least 1).
#[must_use]
pub fn until_midnight() -> u64 {
    let now = crate::store::now_ms() / 1000;
    (DAY - now % DAY).max(1)
}

/// `day` (days since 1970-01-01) as `YYYY-MM-DD`.
#[must_use]
pub fn date(day: u64) -> String {
    byok_providers::day::date(day.cast_signed())
}

/// The model a request named: known when forwarded, or read from its body on the way up.
#[derive(Debug, Clone)]
pub enum Model {
    /// Known before forwarding (unified routes, Gemini paths, a body already read).
    Known(String),
    /// Being read from the streamed body by a [`tap::ModelTap`].
    Tapped(Arc<OnceLock<String>>),
    /// Not named.
    Unknown,
}

impl Model {
    fn name(&self) -> Option<String> {
        match self {
            Self::Known(name) => Some(name.clone()),
            Self::Tapped(cell) => cell.get().cloned(),
            Self::Unknown => None,
        }
        .map(|name| clean_model(&name))
    }
}

/// A model name as counted: at most [`MAX_MODEL`] characters, no control characters or `|`
/// (the separator in the store).
fn clean_model(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '|' { '_' } else { c })
        .take(MAX_MODEL)
        .collect()
}

/// Reads one answer's usage and records it when the answer ends (see the module docs).
#[derive(Debug)]
pub struct Meter {
    reader: Option<read::Reader>,
    state: AppState,
    provider: Provider,
    model: Model,
    source: KeySource,
    subjects: Vec<Subject>,
}

impl Meter {
    /// A meter for an answer from `provider` with this `Content-Type`.
    #[must_use]
    pub fn new(
        state: &AppState,
        provider: Provider,
        content_type: &[u8],
        model: Model,
        source: KeySource,
        subjects: Vec<Subject>,
    ) -> Self {
        Self {
            reader: Some(read::Reader::new(provider, content_type)),
            state: state.clone(),
            provider,
            model,
            source,
            subjects,
        }
    }

    /// Reads the next piece of the answer.
    pub fn feed(&mut self, chunk: &[u8]) {
        if let Some(reader) = &mut self.reader {
            reader.feed(chunk);
        }
    }

    /// Records the answer: `ended` when the provider's body reached its end. Only the first
    /// call counts (a dropped meter calls it with `false`).
    pub fn finish(&mut self, ended: bool) {
        let Some(reader) = self.reader.take() else {
            return;
        };
        let reading = reader.finish(ended);
        let model = self.model.name();
        // OpenRouter reports each answer's cost itself; its table entries would only guess.
        let price = model
            .as_deref()
            .filter(|_| !self.provider.reports_cost())
            .and_then(|m| self.state.settings.prices.find(self.provider, m));
        let counts = Counts::of(&reading, price);
        let row = Row {
            provider: self.provider,
            model: model.unwrap_or_default(),
            source: self.source,
        };
        self.state
            .counters
            .usage(self.provider, price.map(|p| p.id), self.source, &counts);
        let subjects = std::mem::take(&mut self.subjects);
        let day = today();
        match &self.state.store {
            // In this process: counted at once, no task needed.
            Store::Memory(memory) => {
                for subject in &subjects {
                    memory.add_usage(subject, day, &row, &counts);
                }
            }
            // Runs after the answer is handed over; a dropped meter may be in a runtime that
            // is shutting down, when there is nothing left to record with.
            Store::Redis(_) => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let state = self.state.clone();
                    runtime.spawn(async move {
                        for subject in &subjects {
                            if let Err(e) = state.store.add_usage(subject, day, &row, &counts).await
                            {
                                state.store_failed("usage", &e);
                            }
                        }
                    });
                }
            }
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.finish(false);
    }
}

/// Refuses a request when `subject`'s spend today is at or over `cap` USD.
///
/// # Errors
///
/// [`crate::ProxyError::BudgetExceeded`] over the cap; [`crate::ProxyError::StoreUnavailable`]
/// when the store cannot say (a cap fails closed: the user asked not to spend past it).
pub async fn check_cap(
    state: &AppState,
    subject: &Subject,
    cap_usd: f64,
) -> Result<(), crate::ProxyError> {
    let spent = state
        .store
        .spend(subject, today(), counts::SPEND)
        .await
        .map_err(|e| state.store_failed("spend", &e))?;
    if counts::usd(spent) >= cap_usd {
        return Err(crate::ProxyError::BudgetExceeded {
            message: format!(
                "this key's daily cap of ${cap_usd:.2} is reached (spent ${:.4} today, UTC); \
                 it resets at midnight UTC",
                counts::usd(spent)
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
/// [`crate::ProxyError::BadRequest`] for anything else.
pub fn parse_cap(text: &str) -> Result<f64, crate::ProxyError> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|c| {
            c.is_finite()
                && *c >= 0.0
                && text.trim().bytes().all(|b| b.is_ascii_digit() || b == b'.')
        })
        .ok_or_else(|| {
            crate::ProxyError::BadRequest(
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

    #[test]
    fn model_names_are_cut_and_cleaned() {
        assert_eq!(clean_model("a|b\nc"), "a_bc");
        assert_eq!(clean_model(&"x".repeat(500)).len(), MAX_MODEL);
    }
}
