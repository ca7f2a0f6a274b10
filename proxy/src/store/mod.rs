//! Shared state: grant records, their request counters, rate-limit buckets, hourly counts and
//! usage counters, behind one interface with two backends.
//!
//! - [`memory`]: in this process (the default; `make run` needs nothing else). State dies with
//!   the process and is not shared with other instances.
//! - [`redis`]: a Redis server or Redis Cluster (`BYOK_REDIS_URL`), so several instances honour
//!   each other's grants and enforce one set of limits.
//!
//! Every read-modify-write is one atomic step in the backend (a Lua script in Redis, one lock
//! here). Callers choose what a failure means, and say so through the store: grant operations
//! fail closed ([`Store::failed`]: 503 `store_unavailable`), rate limits and hourly counts fail
//! open ([`Store::fell_back`]); both are counted in the metrics and logged once a second.
//!
//! Nothing secret is ever given to a store: grant records are sealed (see `grants`), and keys
//! are named by grant id or key fingerprint.

mod handle;
pub mod memory;
pub mod redis;
mod types;

pub use handle::{Store, StoreSettings};
pub use types::{NewGrant, StoreError, StoredGrant, Take};
