//! What one answer adds to a day's counters, how the counters are named in the store, and the
//! `/byok/usage` answer built from them.
//!
//! A day's counters for one subject are one hash (in Redis) or map (in process) of integer
//! fields: `<provider>|<model>|<key source>|<counter>` for each counter below, and `spend`, the
//! day's total priced cost, which caps compare against. Costs are counted in nano-USD so
//! concurrent additions stay exact (`HINCRBY`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::prices::Price;
use super::read::Reading;
use crate::pipeline::KeySource;
use crate::provider::Provider;

/// The field holding a day's total priced spend, nano-USD.
pub const SPEND: &str = "spend";
/// The field holding a day's priced spend on the app's (server) key, nano-USD.
pub const SPEND_SERVER: &str = "spend_server";

/// Nano-USD in a dollar.
const NANO: f64 = 1e9;

/// Nano-USD as USD.
#[must_use]
#[allow(clippy::cast_precision_loss)] // sums far below 2^52 nano-USD (4.5 million dollars)
pub fn usd(nano: i64) -> f64 {
    nano as f64 / NANO
}

/// What one answer adds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Input tokens, cached included.
    pub input: u64,
    /// Cached input tokens.
    pub cached_input: u64,
    /// Output tokens.
    pub output: u64,
    /// Its cost, nano-USD; `None` when unknown.
    pub cost_nano: Option<i64>,
    /// Whether the answer was cut short.
    pub incomplete: bool,
}

impl Counts {
    /// The counts of `reading`, priced at `price` (or by the provider's own reported cost).
    #[must_use]
    pub fn of(reading: &Reading, price: Option<&Price>) -> Self {
        let tokens = reading.tokens.unwrap_or_default();
        let cost = reading
            .tokens
            .and_then(|t| t.provider_cost.or_else(|| price.map(|p| p.cost(&t))));
        #[allow(clippy::cast_possible_truncation)] // rounded, and far below i64::MAX
        let cost_nano = cost
            .filter(|c| c.is_finite() && *c >= 0.0)
            .map(|c| (c * NANO).round() as i64);
        Self {
            input: tokens.input,
            cached_input: tokens.cached_input,
            output: tokens.output,
            cost_nano,
            incomplete: !reading.complete,
        }
    }

    /// The counter fields to add to, for `row`.
    #[must_use]
    pub fn fields(&self, row: &Row) -> Vec<(String, i64)> {
        let prefix = format!("{}|{}|{}|", row.provider, row.model, row.source.as_str());
        let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let mut fields = vec![
            (format!("{prefix}req"), 1),
            (format!("{prefix}in"), as_i64(self.input)),
            (format!("{prefix}cin"), as_i64(self.cached_input)),
            (format!("{prefix}out"), as_i64(self.output)),
        ];
        match self.cost_nano {
            Some(nano) => {
                fields.push((format!("{prefix}nusd"), nano));
                fields.push((SPEND.to_owned(), nano));
                if row.source == KeySource::Server {
                    fields.push((SPEND_SERVER.to_owned(), nano));
                }
            }
            None => fields.push((format!("{prefix}unp"), 1)),
        }
        if self.incomplete {
            fields.push((format!("{prefix}inc"), 1));
        }
        fields
    }
}

/// Where an answer's counts go: its provider, model as requested, and whose key served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The provider.
    pub provider: Provider,
    /// The model as requested (empty when none was named).
    pub model: String,
    /// Whose key served it.
    pub source: KeySource,
}

/// `T` in the `/byok/usage` answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Answers counted.
    pub requests: i64,
    /// Input tokens, cached included.
    pub input_tokens: i64,
    /// Cached input tokens.
    pub cached_input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// What could be priced, USD (`null` in a model row that nothing could price).
    pub cost_usd: Option<f64>,
    /// Answers whose cost is unknown.
    pub unpriced_requests: i64,
    /// Answers cut short.
    pub incomplete_requests: i64,
    #[serde(skip)]
    nano: i64,
}

impl Totals {
    fn add(&mut self, counter: &str, n: i64) {
        match counter {
            "req" => self.requests += n,
            "in" => self.input_tokens += n,
            "cin" => self.cached_input_tokens += n,
            "out" => self.output_tokens += n,
            "nusd" => self.nano += n,
            "unp" => self.unpriced_requests += n,
            "inc" => self.incomplete_requests += n,
            _ => {}
        }
    }

    fn merge(&mut self, other: &Totals) {
        self.requests += other.requests;
        self.input_tokens += other.input_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.output_tokens += other.output_tokens;
        self.nano += other.nano;
        self.unpriced_requests += other.unpriced_requests;
        self.incomplete_requests += other.incomplete_requests;
    }

    /// Sets `cost_usd`: the sum, or (`null_when_unpriced`, for model rows) `None` when no
    /// answer could be priced.
    fn priced(mut self, null_when_unpriced: bool) -> Self {
        let none_priced = self.unpriced_requests >= self.requests;
        self.cost_usd = (!(null_when_unpriced && none_priced)).then(|| usd(self.nano));
        self
    }
}

/// One day in `days`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Day {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    /// That day's totals.
    #[serde(flatten)]
    pub totals: Totals,
    /// With `?by=source`: that day per provider and key source (what the settings page charts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<SourceRow>>,
}

/// One provider and key source on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceRow {
    /// The provider.
    pub provider: String,
    /// `user`, `server` or `grant`.
    pub key_source: String,
    /// Its totals.
    #[serde(flatten)]
    pub totals: Totals,
}

/// One row of `models`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelRow {
    /// The provider.
    pub provider: String,
    /// The model as requested.
    pub model: String,
    /// `user`, `server` or `grant`.
    pub key_source: String,
    /// Its totals over the 30 days.
    #[serde(flatten)]
    pub totals: Totals,
}

/// The `/byok/usage` answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Always `USD`.
    pub currency: &'static str,
    /// Today (UTC).
    pub today: Totals,
    /// The last 30 days, today included.
    pub last_30_days: Totals,
    /// Each day with usage, oldest first.
    pub days: Vec<Day>,
    /// Each provider, model and key source, over the 30 days.
    pub models: Vec<ModelRow>,
}

impl Report {
    /// The report from the counters of the last 30 days: `(day, fields)`, today last; with
    /// `by_source`, each day also split by provider and key source.
    #[must_use]
    pub fn build(today: u64, days: &[(u64, Vec<(String, i64)>)], by_source: bool) -> Self {
        let mut report = Self {
            currency: "USD",
            today: Totals::default(),
            last_30_days: Totals::default(),
            days: Vec::new(),
            models: Vec::new(),
        };
        let mut models: BTreeMap<(String, String, String), Totals> = BTreeMap::new();
        let mut ordered: Vec<&(u64, Vec<(String, i64)>)> = days.iter().collect();
        ordered.sort_by_key(|(day, _)| *day);
        for (day, fields) in ordered {
            let mut total = Totals::default();
            let mut sources: BTreeMap<(&str, &str), Totals> = BTreeMap::new();
            for (field, n) in fields {
                let mut parts = field.split('|');
                let (Some(provider), Some(model), Some(source), Some(counter), None) = (
                    parts.next(),
                    parts.next(),
                    parts.next(),
                    parts.next(),
                    parts.next(),
                ) else {
                    continue; // `spend`, or a field from a later version
                };
                total.add(counter, *n);
                if by_source {
                    sources
                        .entry((provider, source))
                        .or_default()
                        .add(counter, *n);
                }
                models
                    .entry((provider.to_owned(), model.to_owned(), source.to_owned()))
                    .or_default()
                    .add(counter, *n);
            }
            if total.requests == 0 {
                continue;
            }
            report.last_30_days.merge(&total);
            if *day == today {
                report.today = total.clone().priced(false);
            }
            report.days.push(Day {
                date: super::date(*day),
                totals: total.priced(false),
                sources: by_source.then(|| {
                    sources
                        .into_iter()
                        .map(|((provider, key_source), totals)| SourceRow {
                            provider: provider.to_owned(),
                            key_source: key_source.to_owned(),
                            totals: totals.priced(false),
                        })
                        .collect()
                }),
            });
        }
        report.today = std::mem::take(&mut report.today).priced(false);
        report.last_30_days = std::mem::take(&mut report.last_30_days).priced(false);
        report.models = models
            .into_iter()
            .map(|((provider, model, key_source), totals)| ModelRow {
                provider,
                model,
                key_source,
                totals: totals.priced(true),
            })
            .collect();
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::Tokens;

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
        let c = Counts::of(&reading(Some(t), true), Some(&price()));
        // 800 x 1.0 + 200 x 0.5 + 100 x 2.0 = 1100 per million = 0.0011 USD.
        assert_eq!(c.cost_nano, Some(1_100_000));
        assert!(!c.incomplete);
        let unknown = Counts::of(&reading(Some(t), true), None);
        assert_eq!(unknown.cost_nano, None);
        let own = Tokens {
            provider_cost: Some(0.25),
            ..t
        };
        assert_eq!(
            Counts::of(&reading(Some(own), false), None).cost_nano,
            Some(250_000_000)
        );
        let none = Counts::of(&reading(None, false), Some(&price()));
        assert_eq!(
            (none.cost_nano, none.input, none.incomplete),
            (None, 0, true)
        );
    }

    #[test]
    fn the_report_adds_days_and_rows_and_nulls_unpriced_rows() {
        let row = |model: &str| Row {
            provider: Provider::Openai,
            model: model.into(),
            source: KeySource::User,
        };
        let t = Tokens {
            input: 1000,
            cached_input: 200,
            output: 100,
            ..Tokens::default()
        };
        let priced = Counts::of(&reading(Some(t), true), Some(&price())).fields(&row("m"));
        let unpriced = Counts::of(&reading(Some(t), false), None).fields(&row("x"));
        assert!(priced.iter().any(|(f, n)| f == SPEND && *n == 1_100_000));
        assert!(!unpriced.iter().any(|(f, _)| f == SPEND));
        let today = 20_000;
        let mut day_a = priced.clone();
        day_a.extend(unpriced.clone());
        let days = vec![
            (today, day_a),
            (today - 3, priced.clone()),
            (today - 1, vec![]),
        ];
        let report = Report::build(today, &days, false);
        assert_eq!(report.days.len(), 2, "a day without usage is left out");
        assert_eq!(report.days[0].date, crate::usage::date(today - 3));
        assert_eq!(report.today.requests, 2);
        assert_eq!(report.today.unpriced_requests, 1);
        assert_eq!(report.today.incomplete_requests, 1);
        assert_eq!(report.today.cost_usd, Some(0.0011));
        assert_eq!(report.last_30_days.requests, 3);
        assert_eq!(report.last_30_days.input_tokens, 3000);
        assert!((report.last_30_days.cost_usd.unwrap() - 0.0022).abs() < 1e-12);
        let x = report.models.iter().find(|m| m.model == "x").unwrap();
        assert_eq!(x.totals.cost_usd, None);
        let m = report.models.iter().find(|m| m.model == "m").unwrap();
        assert_eq!((m.totals.requests, m.key_source.as_str()), (2, "user"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["models"][1]["cost_usd"], serde_json::Value::Null);
        assert_eq!(json["days"][0]["requests"], 1);
        assert_eq!(json["today"]["cost_usd"], 0.0011);
        assert!(json["days"][0].get("sources").is_none(), "only when asked");

        let split = Report::build(today, &days, true);
        let sources = split.days[1].sources.as_ref().unwrap();
        let sum: i64 = sources.iter().map(|s| s.totals.requests).sum();
        assert_eq!(
            sum, split.days[1].totals.requests,
            "the split adds up to the day"
        );
        assert_eq!(
            (
                sources.len(),
                sources[0].provider.as_str(),
                sources[0].key_source.as_str()
            ),
            (1, "openai", "user"),
            "two models of one provider and source are one row"
        );
    }
}
