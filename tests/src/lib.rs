//! The end-to-end harness: a fake provider on loopback that records what it receives, and the
//! real `byok-proxy` binary started on port 0 with its logs captured.

mod fake;
mod proxy;

pub use fake::{FakeProvider, Recorded};
pub use proxy::{ProxyProcess, raw_request};

/// The SSE chunks the fake provider streams for `"stream": true` chat requests.
#[must_use]
pub fn fake_sse_chunks() -> Vec<&'static str> {
    fake::SSE_CHUNKS.to_vec()
}
