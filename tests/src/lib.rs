//! The end-to-end harness: a fake provider on loopback that records what it receives, and the
//! real `byok-proxy` binary started on port 0 with its logs captured, and real `redis-server`s.

mod fake;
mod keepalive;
mod proxy;
mod redis;

pub use fake::{FakeProvider, Recorded, SSE_USAGE_CHUNK};
pub use keepalive::KeepAliveProvider;
pub use proxy::{ProxyProcess, raw_request};
pub use redis::{RedisCluster, RedisServer, dump_all};

/// The SSE chunks the fake provider streams for `"stream": true` chat requests.
#[must_use]
pub fn fake_sse_chunks() -> Vec<&'static str> {
    fake::SSE_CHUNKS.to_vec()
}
