//! The meter: reads one answer's usage as it streams past and records it once, when the
//! answer ends (completely, cut short, or because the client left), through the store without
//! making the client wait.

use std::sync::{Arc, OnceLock};

use super::prices::{Price, PriceTable};
use super::read::{Reader, Reading};
use crate::alerts::{Alerts, Watch};
use crate::core::Provider;
use crate::core::clock::today;
use crate::core::key::KeySource;
use crate::core::ledger::{Counts, Row, Subject};
use crate::core::money;
use crate::metrics::Shard;
use crate::store::Store;

/// Longest model name counted as written; longer ones are cut.
const MAX_MODEL: usize = 128;

/// The model a request named: known when forwarded, or read from its body on the way up.
#[derive(Debug, Clone)]
pub enum Model {
    /// Known before forwarding (unified routes, Gemini paths, a body already read).
    Known(String),
    /// Being read from the streamed body by a [`super::tap::ModelTap`].
    Tapped(Arc<OnceLock<String>>),
    /// Not named.
    Unknown,
}

impl Model {
    /// The model's name, once known (a tapped one when the body has gone up far enough).
    #[must_use]
    pub fn name(&self) -> Option<String> {
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

/// The counts of `reading`, priced at `price` (or by the provider's own reported cost).
#[must_use]
pub fn counts(reading: &Reading, price: Option<&Price>) -> Counts {
    let tokens = reading.tokens.unwrap_or_default();
    let cost = reading
        .tokens
        .and_then(|t| t.provider_cost.or_else(|| price.map(|p| p.cost(&t))));
    let cost_nano = cost.filter(|c| c.is_finite() && *c >= 0.0).map(money::nano);
    Counts {
        input: tokens.input,
        cached_input: tokens.cached_input,
        output: tokens.output,
        cost_nano,
        incomplete: !reading.complete,
    }
}

/// Where a meter records: the store, the price table and this worker's counters.
#[derive(Debug, Clone)]
pub struct Ledger {
    /// Where the counts go.
    pub store: Store,
    /// What a model's tokens cost.
    pub prices: Arc<PriceTable>,
    /// This worker's metrics.
    pub counters: Arc<Shard>,
}

/// Reads one answer's usage and records it when the answer ends (see the module docs).
#[derive(Debug)]
pub struct Meter {
    reader: Option<Reader>,
    ledger: Ledger,
    provider: Provider,
    model: Model,
    source: KeySource,
    subjects: Vec<Subject>,
    /// Budgets this answer counts toward, checked for alerts once it is recorded.
    watching: Option<(Alerts, Vec<Watch>)>,
}

impl Meter {
    /// A meter for an answer from `provider` with this `Content-Type`, served by `source`'s
    /// key, counted for `subjects` in `ledger`.
    #[must_use]
    pub fn new(
        ledger: Ledger,
        provider: Provider,
        content_type: &[u8],
        model: Model,
        source: KeySource,
        subjects: Vec<Subject>,
    ) -> Self {
        Self {
            reader: Some(Reader::new(provider, content_type)),
            ledger,
            provider,
            model,
            source,
            subjects,
            watching: None,
        }
    }

    /// Checks `watches` for alerts once the answer is recorded (nothing when `alerts` are off
    /// or there is nothing to watch).
    #[must_use]
    pub fn watching(mut self, alerts: &Alerts, watches: Vec<Watch>) -> Self {
        if alerts.is_on() && !watches.is_empty() {
            self.watching = Some((alerts.clone(), watches));
        }
        self
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
            .and_then(|m| self.ledger.prices.find(self.provider, m));
        let counts = counts(&reading, price);
        let row = Row {
            provider: self.provider,
            model: model.unwrap_or_default(),
            source: self.source,
        };
        self.ledger
            .counters
            .usage(self.provider, price.map(|p| p.id), self.source, &counts);
        let subjects = std::mem::take(&mut self.subjects);
        let day = today();
        let runtime = tokio::runtime::Handle::try_current();
        match (self.watching.take(), runtime) {
            // Alerts read the counters this answer adds to, so they wait for them.
            (Some((alerts, watches)), Ok(runtime)) => {
                let store = self.ledger.store.clone();
                let provider = self.provider;
                runtime.spawn(async move {
                    store.record_usage_now(&subjects, day, &row, &counts).await;
                    alerts
                        .after_answer(&store, &watches, provider, &row.model, day)
                        .await;
                });
            }
            _ => self.ledger.store.record_usage(subjects, day, row, counts),
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.finish(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ledger::Tokens;

    fn reading(tokens: Option<Tokens>, complete: bool) -> Reading {
        Reading { tokens, complete }
    }

    fn price() -> Price {
        Price {
            provider: Provider::Openai,
            model: "m".into(),
            input: 1.0,
            cached_input: Some(0.5),
            output: 2.0,
            cache_write: None,
            checked: None,
            source: None,
            id: 0,
        }
    }

    #[test]
    fn an_answer_is_priced_by_the_table_or_by_the_provider() {
        let t = Tokens {
            input: 1000,
            cached_input: 200,
            output: 100,
            ..Tokens::default()
        };
        let c = counts(&reading(Some(t), true), Some(&price()));
        // 800 x 1.0 + 200 x 0.5 + 100 x 2.0 = 1100 per million = 0.0011 USD.
        assert_eq!(c.cost_nano, Some(1_100_000));
        assert!(!c.incomplete);
        let unknown = counts(&reading(Some(t), true), None);
        assert_eq!(unknown.cost_nano, None);
        let own = Tokens {
            provider_cost: Some(0.25),
            ..t
        };
        assert_eq!(
            counts(&reading(Some(own), false), None).cost_nano,
            Some(250_000_000)
        );
        let none = counts(&reading(None, false), Some(&price()));
        assert_eq!(
            (none.cost_nano, none.input, none.incomplete),
            (None, 0, true)
        );
    }

    #[test]
    fn model_names_are_cut_and_cleaned() {
        assert_eq!(clean_model("a|b\nc"), "a_bc");
        assert_eq!(clean_model(&"x".repeat(500)).len(), MAX_MODEL);
    }
}
