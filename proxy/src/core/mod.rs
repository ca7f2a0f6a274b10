//! The proxy's vocabulary: plain types and rules every area shares, with no I/O and nothing
//! from the areas above. A type two areas use lives here, below both.
//!
//! - [`error`]: the one error type, and how it becomes an HTTP answer.
//! - [`headers`]: the names of the headers the proxy reads and writes.
//! - [`key`]: whose key served a request, and a key's fingerprint.
//! - [`grant_id`]: a grant's public id and the token prefix.
//! - [`ledger`]: what an answer used and what it adds to a day's usage counters.
//! - [`money`]: USD and the nano-USD the counters hold.
//! - [`model`]: the model a request names, and the one rule patterns match models by.
//! - [`clock`]: now, today and the UTC day.
//! - [`secret`]: the server secret and the keys derived from it.
//! - [`sync`]: locking a mutex, poisoned or not.
//!
//! The providers themselves come from `byok-providers`, shared with the browser vault.

pub mod clock;
pub mod error;
pub mod grant_id;
pub mod headers;
pub mod key;
pub mod ledger;
pub mod model;
pub mod money;
pub mod secret;
pub mod sync;

pub use byok_providers::resource::{BadResource, Resource};
pub use byok_providers::{
    ANTHROPIC_VERSION, Auth, Dialect, KeyCheck, Provider, UnifiedKind, UnknownProvider,
};
pub use error::{BuildError, ProxyError};
