//! Inbound HTTP: every route the proxy answers, and the middleware in front of them.
//!
//! - [`routes`]: the router and the middleware stack, declared once; pass-through requests go
//!   from the connection straight to the pipeline.
//! - [`proxy`]: the unified routes (`POST /v1/chat/completions`, `POST /v1/embeddings`) and
//!   `POST /byok/test/{provider}`.
//! - [`grants`]: the `/byok/grants` endpoints.
//! - [`usage`]: the usage report, `GET /byok/usage`.
//! - [`models`]: the model list, `GET /byok/models`.
//! - [`info`]: `GET /byok/providers`, `GET /byok/embed`, `GET /byok/seal-key`, `GET /healthz`,
//!   `GET /metrics`.
//! - [`unseal`]: a sealed key opened for its request (or a plain one refused) at the door.
//! - [`request_log`]: secret headers marked sensitive, one span and one line per request.
//! - [`static_files`]: the settings page, with its Content-Security-Policy.
//!
//! Handlers unpack the app state and hand each area the pieces it needs.

mod grants;
mod info;
mod models;
mod proxy;
pub mod request_log;
pub mod routes;
pub mod static_files;
mod unseal;
mod usage;

pub use routes::Routes;
