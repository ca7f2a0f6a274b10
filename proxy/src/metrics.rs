//! Prometheus metrics: requests by provider, status and key source; upstream latency; bytes
//! streamed. No label is derived from a key.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::provider::Provider;

const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters, updated by the request path and rendered by `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16, &'static str), u64>>,
    latency: Mutex<BTreeMap<Provider, Histogram>>,
    bytes: [AtomicU64; Provider::ALL.len()],
}

impl Metrics {
    /// Counts one finished request.
    pub fn request(&self, provider: &'static str, status: u16, key_source: &'static str) {
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *requests.entry((provider, status, key_source)).or_default() += 1;
    }

    /// Records time to the provider's response headers.
    pub fn upstream_latency(&self, provider: Provider, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut latency = self
            .latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let h = latency.entry(provider).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Counts response bytes streamed to a client.
    pub fn bytes(&self, provider: Provider, n: usize) {
        self.bytes[provider.index()].fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP byok_requests_total Requests answered, by provider, status and key source.\n",
        );
        out.push_str("# TYPE byok_requests_total counter\n");
        for ((provider, status, source), n) in self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "byok_requests_total{{provider=\"{provider}\",status=\"{status}\",key_source=\"{source}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP byok_upstream_latency_seconds Time to the provider's response headers.\n",
        );
        out.push_str("# TYPE byok_upstream_latency_seconds histogram\n");
        for (provider, h) in self
            .latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
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
            let n = self.bytes[provider.index()].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "byok_streamed_bytes_total{{provider=\"{provider}\"}} {n}"
            );
        }
        out
    }
}
