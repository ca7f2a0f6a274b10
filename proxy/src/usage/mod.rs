//! Usage and cost: tokens read from each answer as it streams past, priced from a table, and
//! counted per day in the store; daily spend caps checked before a request is forwarded.
//!
//! - [`scan`]: picks top-level values out of a JSON document in passing.
//! - [`read`]: where each provider writes usage and how its streams end.
//! - [`prices`]: the price table (bundled `prices.toml`, the operator's `--prices`).
//! - [`meter`]: reads one answer and records what it used.
//! - [`caps`]: daily spend caps.
//! - [`report`]: the `/byok/usage` answer, built from a subject's counters.
//! - [`tap`]: reads the model a streamed request body names, as it goes up.
//! - [`strip`]: removes the usage chunk the proxy asked for on a client's behalf
//!   (`BYOK_STREAM_USAGE=on`).
//!
//! A [`Meter`] rides along with every successful answer to a request that may use tokens (one
//! that is not a `GET`): it reads the answer as the client receives it and, when the answer ends
//! (completely, cut short, or because the client left), records what it read: once, and
//! without the client waiting for the store. What the counters are is in `core::ledger`; the
//! `GET /byok/usage` endpoint is `api::usage`.
//!
//! Days are UTC. Counters live 35 days in the store (the answers cover 30).

pub mod caps;
pub mod meter;
pub mod prices;
pub mod read;
pub mod report;
pub mod scan;
pub mod strip;
pub mod tap;

pub use meter::{Ledger, Meter, Model};
pub use prices::PriceTable;
