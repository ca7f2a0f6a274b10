//! What the proxy says about spending: `GET /byok/usage` and `GET /byok/models`, read into
//! types the settings page can use, and the sums it shows.

use std::collections::BTreeMap;

use serde::Deserialize;

use byok_providers::Provider;

/// Usage counts (`T` in the proxy's answer).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Totals {
    /// Answers counted.
    pub requests: u64,
    /// Input tokens, cached included.
    pub input_tokens: u64,
    /// The cached part of the input.
    pub cached_input_tokens: u64,
    /// Output tokens, reasoning included.
    pub output_tokens: u64,
    /// What could be priced, US dollars (`None` for a model without a price).
    pub cost_usd: Option<f64>,
    /// Answers whose cost is unknown.
    pub unpriced_requests: u64,
    /// Answers cut short.
    pub incomplete_requests: u64,
}

impl Totals {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &Totals) {
        self.requests += other.requests;
        self.input_tokens += other.input_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.output_tokens += other.output_tokens;
        self.cost_usd = match (self.cost_usd, other.cost_usd) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        };
        self.unpriced_requests += other.unpriced_requests;
        self.incomplete_requests += other.incomplete_requests;
    }

    /// What was added since `before` (an earlier reading of the same counts): one answer's
    /// share of the day, say. Never negative.
    #[must_use]
    pub fn since(&self, before: &Totals) -> Totals {
        Totals {
            requests: self.requests.saturating_sub(before.requests),
            input_tokens: self.input_tokens.saturating_sub(before.input_tokens),
            cached_input_tokens: self
                .cached_input_tokens
                .saturating_sub(before.cached_input_tokens),
            output_tokens: self.output_tokens.saturating_sub(before.output_tokens),
            cost_usd: Some(
                (self.cost_usd.unwrap_or(0.0) - before.cost_usd.unwrap_or(0.0)).max(0.0),
            ),
            unpriced_requests: self
                .unpriced_requests
                .saturating_sub(before.unpriced_requests),
            incomplete_requests: self
                .incomplete_requests
                .saturating_sub(before.incomplete_requests),
        }
    }

    /// Input and output tokens together.
    #[must_use]
    pub fn tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

/// Whose key served: the user's, the app's, or the user's through a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeySource {
    /// The user's own key.
    User,
    /// The app's key.
    Server,
    /// The user's key through a grant.
    Grant,
}

/// One provider and key source on one day (asked for with `?by=source`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SourceUsage {
    /// The provider.
    pub provider: Provider,
    /// Whose key.
    pub key_source: KeySource,
    /// Its counts.
    #[serde(flatten)]
    pub totals: Totals,
}

/// One UTC day.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UsageDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// That day's counts.
    #[serde(flatten)]
    pub totals: Totals,
    /// Split by provider and key source.
    #[serde(default)]
    pub sources: Vec<SourceUsage>,
}

/// One model over the 30 days.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ModelUsage {
    /// The provider.
    pub provider: Provider,
    /// The model as requested.
    pub model: String,
    /// Whose key.
    pub key_source: KeySource,
    /// Its counts.
    #[serde(flatten)]
    pub totals: Totals,
}

/// The share of a key's daily cap past which the vault says the cap is near.
pub const NEAR_CAP: f64 = 0.8;

/// Where today's spend stands against a key's own daily cap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CapStatus {
    /// The cap, US dollars.
    pub cap_usd: f64,
    /// Spent today (UTC) with the key, US dollars (what could be priced).
    pub spent_usd: f64,
    /// The share of the cap spent, in whole percent (rounded down).
    pub used_percent: u32,
    /// At least [`NEAR_CAP`] of the cap is spent.
    pub near: bool,
    /// The cap is spent: the proxy refuses the key's requests until midnight UTC.
    pub reached: bool,
}

impl CapStatus {
    /// Today's standing of a key whose cap is `cap_micro_usd` (none: no standing) and that
    /// spent `today`.
    #[must_use]
    pub fn of(cap_micro_usd: Option<u64>, today: &Totals) -> Option<Self> {
        // At most 10^12 micro-dollars: exact in f64.
        #[allow(clippy::cast_precision_loss)]
        let cap_usd = cap_micro_usd? as f64 / 1e6;
        let spent_usd = today.cost_usd.unwrap_or(0.0).max(0.0);
        let share = if cap_usd > 0.0 {
            spent_usd / cap_usd
        } else {
            1.0
        };
        // A share of a cap, in percent: small and non-negative.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let used_percent = (share * 100.0).floor().min(f64::from(u32::MAX)) as u32;
        Some(Self {
            cap_usd,
            spent_usd,
            used_percent,
            near: share >= NEAR_CAP,
            reached: share >= 1.0,
        })
    }
}

/// The proxy's `GET /byok/usage` answer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct UsageReport {
    /// Today, UTC.
    pub today: Totals,
    /// The last 30 days, today included.
    pub last_30_days: Totals,
    /// Each day with usage, oldest first.
    pub days: Vec<UsageDay>,
    /// Each model and key source.
    pub models: Vec<ModelUsage>,
}

impl UsageReport {
    /// Several reports as one (each of the user's keys, say): days and models added up.
    #[must_use]
    pub fn sum<'a>(reports: impl IntoIterator<Item = &'a UsageReport>) -> Self {
        let mut total = Self::default();
        type BySource = BTreeMap<(Provider, KeySource), Totals>;
        let mut days: BTreeMap<String, (Totals, BySource)> = BTreeMap::new();
        let mut models: BTreeMap<(Provider, String, KeySource), Totals> = BTreeMap::new();
        for report in reports {
            total.today.add(&report.today);
            total.last_30_days.add(&report.last_30_days);
            for day in &report.days {
                let (sum, sources) = days.entry(day.date.clone()).or_default();
                sum.add(&day.totals);
                for s in &day.sources {
                    sources
                        .entry((s.provider, s.key_source))
                        .or_default()
                        .add(&s.totals);
                }
            }
            for m in &report.models {
                models
                    .entry((m.provider, m.model.clone(), m.key_source))
                    .or_default()
                    .add(&m.totals);
            }
        }
        total.days = days
            .into_iter()
            .map(|(date, (totals, sources))| UsageDay {
                date,
                totals,
                sources: sources
                    .into_iter()
                    .map(|((provider, key_source), totals)| SourceUsage {
                        provider,
                        key_source,
                        totals,
                    })
                    .collect(),
            })
            .collect();
        total.models = models
            .into_iter()
            .map(|((provider, model, key_source), totals)| ModelUsage {
                provider,
                model,
                key_source,
                totals,
            })
            .collect();
        total
    }
}

/// A model the caller could pick (`GET /byok/models`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ModelChoice {
    /// The provider.
    pub provider: Provider,
    /// The model's name.
    pub model: String,
    /// Whether the caller's plan allows it.
    pub allowed: bool,
    /// Whether the app's key would serve it for this caller.
    pub server_key: bool,
}

/// Which key would serve a model, as the model picker says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serves {
    /// One of the user's saved keys.
    YourKey,
    /// The app's key.
    AppsKey,
    /// The plan does not allow the model.
    NotOnPlan,
    /// Allowed, but no key would serve it: the user has none for the provider and the app
    /// offers none.
    NoKey,
}

impl ModelChoice {
    /// Which key would serve this model, given whether the user has a key for its provider.
    /// The user's key comes first, as the proxy chooses.
    #[must_use]
    pub fn serves(&self, have_key: bool) -> Serves {
        match (self.allowed, have_key, self.server_key) {
            (false, _, _) => Serves::NotOnPlan,
            (true, true, _) => Serves::YourKey,
            (true, false, true) => Serves::AppsKey,
            (true, false, false) => Serves::NoKey,
        }
    }
}

/// The `GET /byok/models` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ModelList {
    /// The priced models.
    pub models: Vec<ModelChoice>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cap_is_near_from_eighty_percent_and_reached_at_its_amount() {
        let spent = |usd: f64| Totals {
            cost_usd: Some(usd),
            ..Totals::default()
        };
        assert_eq!(
            CapStatus::of(None, &spent(5.0)),
            None,
            "no cap, no standing"
        );
        let at = |usd: f64| CapStatus::of(Some(2_000_000), &spent(usd)).unwrap();
        assert_eq!(
            (at(0.0).used_percent, at(0.0).near, at(0.0).reached),
            (0, false, false)
        );
        assert_eq!((at(1.58).used_percent, at(1.58).near), (79, false));
        assert_eq!(
            (at(1.60).used_percent, at(1.60).near, at(1.60).reached),
            (80, true, false)
        );
        assert_eq!(
            (at(1.80).used_percent, at(1.80).near, at(1.80).reached),
            (90, true, false)
        );
        assert_eq!((at(2.0).used_percent, at(2.0).reached), (100, true));
        assert_eq!((at(3.6).used_percent, at(3.6).reached), (180, true));
        assert!((at(1.8).cap_usd - 2.0).abs() < 1e-9 && (at(1.8).spent_usd - 1.8).abs() < 1e-9);
        let unpriced = CapStatus::of(Some(1_000_000), &Totals::default()).unwrap();
        assert_eq!((unpriced.used_percent, unpriced.near), (0, false));
        let zero = CapStatus::of(Some(0), &spent(0.0)).unwrap();
        assert!(zero.reached, "a $0 cap is reached at once");
    }

    const ANSWER: &str = r#"{"currency":"USD",
      "today":{"requests":2,"input_tokens":30,"cached_input_tokens":0,"output_tokens":12,
               "cost_usd":0.5,"unpriced_requests":0,"incomplete_requests":0},
      "last_30_days":{"requests":3,"input_tokens":40,"cached_input_tokens":0,"output_tokens":15,
               "cost_usd":0.75,"unpriced_requests":1,"incomplete_requests":1},
      "days":[{"date":"2026-11-30","requests":1,"input_tokens":10,"cached_input_tokens":0,
               "output_tokens":3,"cost_usd":0.25,"unpriced_requests":1,"incomplete_requests":1,
               "sources":[{"provider":"openai","key_source":"user","requests":1,"input_tokens":10,
               "cached_input_tokens":0,"output_tokens":3,"cost_usd":0.25,"unpriced_requests":1,
               "incomplete_requests":1}]},
              {"date":"2026-12-01","requests":2,"input_tokens":30,"cached_input_tokens":0,
               "output_tokens":12,"cost_usd":0.5,"unpriced_requests":0,"incomplete_requests":0}],
      "models":[{"provider":"openai","model":"gpt-4o-mini","key_source":"server","requests":3,
               "input_tokens":40,"cached_input_tokens":0,"output_tokens":15,"cost_usd":null,
               "unpriced_requests":1,"incomplete_requests":1}]}"#;

    #[test]
    fn reads_the_proxys_answer_and_adds_reports_up() {
        let report: UsageReport = serde_json::from_str(ANSWER).unwrap();
        assert_eq!(report.today.cost_usd, Some(0.5));
        assert_eq!(report.days[0].sources[0].key_source, KeySource::User);
        assert!(
            report.days[1].sources.is_empty(),
            "sources only when asked for"
        );
        assert_eq!(report.models[0].totals.cost_usd, None);

        let twice = UsageReport::sum([&report, &report]);
        assert_eq!(twice.last_30_days.requests, 6);
        assert_eq!(twice.last_30_days.cost_usd, Some(1.5));
        assert_eq!(twice.days.len(), 2, "the same dates are one day");
        assert_eq!(twice.days[0].sources[0].totals.requests, 2);
        assert_eq!(twice.models.len(), 1);
        assert_eq!(
            twice.models[0].totals.cost_usd, None,
            "unknown stays unknown"
        );
        assert_eq!(UsageReport::sum([]), UsageReport::default());

        let added = twice.last_30_days.since(&report.last_30_days);
        assert_eq!((added.requests, added.output_tokens), (3, 15));
        assert_eq!(added.cost_usd, Some(0.75));
        assert_eq!(
            report.today.since(&twice.today).requests,
            0,
            "never negative"
        );
    }

    #[test]
    fn the_picker_prefers_the_users_key_and_says_why_not() {
        let choice = |allowed, server_key| ModelChoice {
            provider: Provider::Openai,
            model: "gpt-4o-mini".into(),
            allowed,
            server_key,
        };
        assert_eq!(choice(true, true).serves(true), Serves::YourKey);
        assert_eq!(choice(true, true).serves(false), Serves::AppsKey);
        assert_eq!(choice(true, false).serves(false), Serves::NoKey);
        assert_eq!(choice(false, true).serves(true), Serves::NotOnPlan);
        let list: ModelList = serde_json::from_str(
            r#"{"models":[{"provider":"gemini","model":"gemini-2.0-flash","allowed":true,"server_key":false}]}"#,
        )
        .unwrap();
        assert_eq!(list.models[0].provider, Provider::Gemini);
    }
}
