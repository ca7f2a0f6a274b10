//! The `/byok/usage` answer, built from a subject's counters (their layout is in
//! `core::ledger`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::clock::date;
use crate::core::money::usd;

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
                date: date(*day),
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
    use crate::core::Provider;
    use crate::core::key::KeySource;
    use crate::core::ledger::{Counts, Row, SPEND};

    #[test]
    fn the_report_adds_days_and_rows_and_nulls_unpriced_rows() {
        let row = |model: &str| Row {
            provider: Provider::Openai,
            model: model.into(),
            source: KeySource::User,
        };
        // One answer priced at 0.0011 USD (how: `meter`'s tests), one unpriced and cut short.
        let answer = Counts {
            input: 1000,
            cached_input: 200,
            output: 100,
            cost_nano: Some(1_100_000),
            incomplete: false,
        };
        let priced = answer.fields(&row("m"));
        let unpriced = Counts {
            cost_nano: None,
            incomplete: true,
            ..answer
        }
        .fields(&row("x"));
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
        assert_eq!(report.days[0].date, date(today - 3));
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
