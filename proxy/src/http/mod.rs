//! Outbound HTTP: how a request goes to a provider.
//!
//! - [`forward`]: the rules, as pure functions: which path and headers go up, which headers
//!   come back, where the key goes.
//! - [`client`]: the connection pool that sends it (HTTP/1.1 and HTTP/2, no redirects).
//! - [`endpoint`]: where a provider lives, its base URL taken apart once.
//! - [`tls`]: rustls with the platform's roots and the operator's extra ones.
//!
//! The body that relays an answer back to the client belongs to the pipeline (`pipeline::relay`).

pub mod client;
pub mod endpoint;
pub mod forward;
pub mod tls;

pub use client::{Client, UpstreamBody, UpstreamSettings};
