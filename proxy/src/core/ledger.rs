//! The usage ledger's vocabulary: what one answer used ([`Tokens`]), what it adds to a day's
//! counters ([`Counts`] under a [`Row`]), and whose counters those are ([`Subject`]).
//!
//! A day's counters for one subject are one hash (in Redis) or map (in process) of integer
//! fields: `<provider>|<model>|<key source>|<counter>` for each counter below, and `spend`, the
//! day's total priced cost, which caps compare against. Costs are counted in nano-USD so
//! concurrent additions stay exact (`HINCRBY`).

use super::Provider;
use super::grant_id::GrantId;
use super::key::{KeyFingerprint, KeySource};

/// The field holding a day's total priced spend, nano-USD.
pub const SPEND: &str = "spend";
/// The field holding a day's priced spend on the app's (server) key, nano-USD.
pub const SPEND_SERVER: &str = "spend_server";
/// Days the store keeps a day's counters (between the 31 and 40 the interface allows).
pub const KEEP_DAYS: u64 = 35;

/// A day's counters for one subject: `(field, value)`.
pub type DayCounts = Vec<(String, i64)>;

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
