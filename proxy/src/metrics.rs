//! Prometheus metrics: requests by provider, status and key source; upstream latency; bytes
//! streamed; tokens and cost by provider, priced model and key source. No label is derived from
//! a key, and the model label is a price-table entry or `other`, so clients cannot add series.
//!
//! Each worker counts into its own [`Shard`], so the request path never writes a cache line
//! another worker's core also writes (each such write moves the line between cores); `/metrics`
//! adds the shards up.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::core::Provider;
use crate::core::key::KeySource;
use crate::core::ledger::Counts;
use crate::core::money::usd;
use crate::core::sync::lock;

const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Default, Clone, Copy)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Every worker's counters, for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    shards: Mutex<Vec<Arc<Shard>>>,
    /// Failed store operations that failed closed, by operation (rare: shared, not sharded).
    store_errors: Mutex<BTreeMap<&'static str, u64>>,
    /// Rate-limit checks answered by this instance's own limiter while the store was down.
    store_fallbacks: AtomicU64,
    /// Client connections refused because `max_connections` were open.
    connections_refused: AtomicU64,
    /// Alerts by type and what became of them (rare: shared, not sharded).
    alerts: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

/// One worker's counters, updated by its request path.
#[derive(Debug, Default)]
pub struct Shard {
    requests: Mutex<BTreeMap<(&'static str, u16, &'static str), u64>>,
    latency: Mutex<BTreeMap<Provider, Histogram>>,
    bytes: [AtomicU64; Provider::ALL.len()],
    usage: Mutex<BTreeMap<UsageLabels, UsageTotals>>,
}

/// Provider, price entry (its place in the price table, or `OTHER`) and key source.
type UsageLabels = (Provider, u32, &'static str);
/// The price entry of a model the table does not know.
const OTHER: u32 = u32::MAX;

#[derive(Debug, Default, Clone, Copy)]
struct UsageTotals {
    input: u64,
    cached_input: u64,
    output: u64,
    cost_nano: i64,
}

impl Metrics {
    /// Counts one alert of type `kind` by what became of it: `queued`, `delivered`,
    /// `retried` (an attempt failed), `failed` (given up), `dropped` (the queue was full),
    /// `store_error` (the store could not say whether it was sent).
    pub fn alert(&self, kind: &'static str, outcome: &'static str) {
        *lock(&self.alerts).entry((kind, outcome)).or_default() += 1;
    }

    /// New counters for a worker, included in [`Metrics::render`] from now on.
    pub fn shard(&self) -> Arc<Shard> {
        let shard = Arc::new(Shard::default());
        lock(&self.shards).push(Arc::clone(&shard));
        shard
    }

    /// The Prometheus text exposition, summed over the workers; `model` names the price
    /// entries the usage counters are labelled by.
    #[must_use]
    pub fn render<'a>(&self, model: impl Fn(u32) -> Option<&'a str>) -> String {
        let mut requests = BTreeMap::<_, u64>::new();
        let mut latency = BTreeMap::<_, Histogram>::new();
        let mut bytes = [0u64; Provider::ALL.len()];
        for shard in lock(&self.shards).iter() {
            for (key, n) in lock(&shard.requests).iter() {
                *requests.entry(*key).or_default() += n;
            }
            for (provider, h) in lock(&shard.latency).iter() {
                let total = latency.entry(*provider).or_default();
                for (sum, n) in total.counts.iter_mut().zip(h.counts) {
                    *sum += n;
                }
                total.count += h.count;
                total.sum += h.sum;
            }
            for (sum, n) in bytes.iter_mut().zip(&shard.bytes) {
                *sum += n.load(Ordering::Relaxed);
            }
        }
        let mut usage = BTreeMap::<UsageLabels, UsageTotals>::new();
        for shard in lock(&self.shards).iter() {
            for (labels, t) in lock(&shard.usage).iter() {
                let total = usage.entry(*labels).or_default();
                total.input += t.input;
                total.cached_input += t.cached_input;
                total.output += t.output;
                total.cost_nano += t.cost_nano;
            }
        }
        let mut out = render(&requests, &latency, &bytes);
        render_usage(&mut out, &usage, model);
        out.push_str(
            "# HELP byok_alerts_total Alerts by type and outcome (queued, delivered, retried, failed, dropped, store_error).\n",
        );
        out.push_str("# TYPE byok_alerts_total counter\n");
        for ((kind, outcome), n) in lock(&self.alerts).iter() {
            let _ = writeln!(
                out,
                "byok_alerts_total{{type=\"{kind}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP byok_store_errors_total Shared-store operations that failed (and failed closed).\n",
        );
        out.push_str("# TYPE byok_store_errors_total counter\n");
        for (op, n) in lock(&self.store_errors).iter() {
            let _ = writeln!(out, "byok_store_errors_total{{op=\"{op}\"}} {n}");
        }
        out.push_str(
            "# HELP byok_rate_limit_fallbacks_total Rate-limit checks made by this instance alone \
             because the shared store was unavailable.\n",
        );
        out.push_str("# TYPE byok_rate_limit_fallbacks_total counter\n");
        let _ = writeln!(
            out,
            "byok_rate_limit_fallbacks_total {}",
            self.store_fallbacks.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP byok_connections_refused_total Client connections refused because the \
             connection cap was reached.\n",
        );
        out.push_str("# TYPE byok_connections_refused_total counter\n");
        let _ = writeln!(
            out,
            "byok_connections_refused_total {}",
            self.connections_refused.load(Ordering::Relaxed)
        );
        out
    }

    /// Counts a client connection refused at the cap.
    pub fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a failed store operation.
    pub fn store_error(&self, op: &'static str) {
        *lock(&self.store_errors).entry(op).or_default() += 1;
    }

    /// Counts a rate-limit check the local limiter made for a failed store.
    pub fn store_fallback(&self) {
        self.store_fallbacks.fetch_add(1, Ordering::Relaxed);
    }
}

impl Shard {
    /// Counts one finished request.
    pub fn request(&self, provider: &'static str, status: u16, key_source: &'static str) {
        *lock(&self.requests)
            .entry((provider, status, key_source))
            .or_default() += 1;
    }

    /// Records time to the provider's response headers.
    pub fn upstream_latency(&self, provider: Provider, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut latency = lock(&self.latency);
        let h = latency.entry(provider).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Counts one answer's tokens and cost.
    pub fn usage(
        &self,
        provider: Provider,
        price: Option<u32>,
        source: KeySource,
        counts: &Counts,
    ) {
        let mut usage = lock(&self.usage);
        let key = (provider, price.unwrap_or(OTHER), source.as_str());
        let t = usage.entry(key).or_default();
        t.input += counts.input;
        t.cached_input += counts.cached_input;
        t.output += counts.output;
        t.cost_nano += counts.cost_nano.unwrap_or(0);
    }

    /// Counts response bytes streamed to a client.
    pub fn bytes(&self, provider: Provider, n: usize) {
        self.bytes[provider.index()].fetch_add(n as u64, Ordering::Relaxed);
    }
}

fn render(
    requests: &BTreeMap<(&'static str, u16, &'static str), u64>,
    latency: &BTreeMap<Provider, Histogram>,
    bytes: &[u64; Provider::ALL.len()],
) -> String {
    let mut out = String::new();
    out.push_str(
        "# HELP byok_requests_total Requests answered, by provider, status and key source.\n",
    );
    out.push_str("# TYPE byok_requests_total counter\n");
    for ((provider, status, source), n) in requests {
        let _ = writeln!(
            out,
            "byok_requests_total{{provider=\"{provider}\",status=\"{status}\",key_source=\"{source}\"}} {n}"
        );
    }
    out.push_str("# HELP byok_upstream_latency_seconds Time to the provider's response headers.\n");
    out.push_str("# TYPE byok_upstream_latency_seconds histogram\n");
    for (provider, h) in latency {
        for (bound, n) in BUCKETS.iter().zip(h.counts) {
            let _ = writeln!(
                out,
                "byok_upstream_latency_seconds_bucket{{provider=\"{provider}\",le=\"{bound}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "byok_upstream_latency_seconds_bucket{{provider=\"{provider}\",le=\"+Inf\"}} {}\n\
                 byok_upstream_latency_seconds_sum{{provider=\"{provider}\"}} {}\n\
                 byok_upstream_latency_seconds_count{{provider=\"{provider}\"}} {}",
            h.count, h.sum, h.count
        );
    }
    out.push_str("# HELP byok_streamed_bytes_total Response bytes streamed to clients.\n");
    out.push_str("# TYPE byok_streamed_bytes_total counter\n");
    for provider in Provider::ALL {
        let n = bytes[provider.index()];
        let _ = writeln!(
            out,
            "byok_streamed_bytes_total{{provider=\"{provider}\"}} {n}"
        );
    }
    out
}

fn render_usage<'a>(
    out: &mut String,
    usage: &BTreeMap<UsageLabels, UsageTotals>,
    model: impl Fn(u32) -> Option<&'a str>,
) {
    let name = |id: u32| model(id).unwrap_or("other");
    out.push_str(
        "# HELP byok_tokens_total Tokens used, by provider, priced model (else other), key \
         source and kind.\n# TYPE byok_tokens_total counter\n",
    );
    for ((provider, id, source), t) in usage {
        let model = name(*id);
        for (kind, n) in [
            ("input", t.input),
            ("cached_input", t.cached_input),
            ("output", t.output),
        ] {
            let _ = writeln!(
                out,
                "byok_tokens_total{{provider=\"{provider}\",model=\"{model}\",key_source=\"{source}\",kind=\"{kind}\"}} {n}"
            );
        }
    }
    out.push_str(
        "# HELP byok_cost_usd_total Priced cost, USD, by provider, priced model (else other) \
         and key source.\n# TYPE byok_cost_usd_total counter\n",
    );
    for ((provider, id, source), t) in usage {
        let model = name(*id);
        let _ = writeln!(
            out,
            "byok_cost_usd_total{{provider=\"{provider}\",model=\"{model}\",key_source=\"{source}\"}} {}",
            usd(t.cost_nano)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_adds_up_every_workers_counters() {
        let metrics = Metrics::default();
        let (a, b) = (metrics.shard(), metrics.shard());
        a.request("openai", 200, "user");
        b.request("openai", 200, "user");
        b.request("openai", 401, "none");
        a.upstream_latency(Provider::Openai, Duration::from_millis(20));
        b.upstream_latency(Provider::Openai, Duration::from_millis(200));
        a.bytes(Provider::Openai, 100);
        b.bytes(Provider::Openai, 23);
        let text = metrics.render(|_| None);
        for line in [
            r#"byok_requests_total{provider="openai",status="200",key_source="user"} 2"#,
            r#"byok_requests_total{provider="openai",status="401",key_source="none"} 1"#,
            r#"byok_upstream_latency_seconds_bucket{provider="openai",le="0.025"} 1"#,
            r#"byok_upstream_latency_seconds_bucket{provider="openai",le="0.25"} 2"#,
            r#"byok_upstream_latency_seconds_count{provider="openai"} 2"#,
            r#"byok_streamed_bytes_total{provider="openai"} 123"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
