//! The end-to-end harness: a fake provider on loopback that records what it receives, and the
//! real `byok-proxy` binary started on port 0 with its logs captured, real `redis-server`s, and
//! a webhook receiver for alerts.

mod fake;
mod keepalive;
mod proxy;
mod redis;
mod webhook;

pub use fake::{FakeProvider, Recorded, SSE_USAGE_CHUNK};
pub use keepalive::KeepAliveProvider;
pub use proxy::{ProxyProcess, raw_request, run_to_exit};
pub use redis::{RedisCluster, RedisServer, dump_all};
pub use webhook::WebhookReceiver;

/// Writes `files` (name, contents) into a directory of their own for this process and thread
/// and returns their paths, in order: configuration and price files for a proxy under test.
///
/// # Panics
///
/// When the temporary directory cannot be written.
#[must_use]
pub fn write_files(prefix: &str, files: &[(&str, &str)]) -> Vec<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).expect("the temporary directory is writable");
    files
        .iter()
        .map(|(name, contents)| {
            let path = dir.join(name);
            std::fs::write(&path, contents).expect("the temporary directory is writable");
            path
        })
        .collect()
}

/// The SSE chunks the fake provider streams for `"stream": true` chat requests.
#[must_use]
pub fn fake_sse_chunks() -> Vec<&'static str> {
    fake::SSE_CHUNKS.to_vec()
}

/// `headers` as (lower-case name, text) pairs, as recorded.
fn header_pairs(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}
