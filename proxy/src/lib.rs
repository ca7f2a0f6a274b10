//! byok-proxy: forwards LLM API requests to allowlisted providers with the caller's own key.
//!
//! The browser sends the user's provider key in `X-BYOK-Key`; the proxy turns it into the
//! provider's auth header, streams the answer back untouched and forgets the key. It never logs
//! a key (the header is marked sensitive before tracing, bodies are never logged, upstream
//! errors are scrubbed), never lets the client choose the upstream host, and never follows a
//! redirect.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = byok_proxy::Settings::default();
//! let listener = tokio::net::TcpListener::bind(settings.listen).await?;
//! let state = byok_proxy::AppState::new(settings)?;
//! byok_proxy::serve(listener, state, std::future::pending()).await;
//! # Ok(()) }
//! ```
//!
//! Routes: `/{provider}/{*path}` (pass-through), `POST /v1/chat/completions` and
//! `POST /v1/embeddings` (unified, `model` = `provider/model`), `POST /byok/test/{provider}`,
//! `/byok/grants` (key grants, see [`grants`]), `GET /byok/usage` (see [`usage`]),
//! `GET /byok/providers`, `GET /byok/models`, `GET /byok/embed`, `GET /byok/seal-key`, `GET /healthz`,
//! `GET /metrics`, and the vault's pages at `/` (the settings page; `/embed.html` and
//! `/byok-client.js` for the isolated mode).
//!
//! The modules, from the bottom up (each uses only those listed before it):
//!
//! - [`core`](crate::core): the vocabulary every area shares: errors, header names, key sources and
//!   fingerprints, grant ids, the usage ledger's rows, money, the clock, the server secret.
//! - [`scrub`]: removing keys from what came from upstream.
//! - [`metrics`]: Prometheus counters, one shard per worker.
//! - [`store`]: shared state, in this process or in Redis.
//! - [`limits`]: rate limits and the concurrency cap.
//! - [`seal`]: sealed keys: the seal keys published, and opening a request's sealed key.
//! - [`grants`]: key grants for work without the user's browser.
//! - [`alerts`]: signed webhook events before a budget runs out and when a key is refused.
//! - [`usage`]: usage read from answers, priced and counted; daily caps.
//! - [`tiers`]: who a request acts for, and what their plan allows.
//! - [`server_keys`]: the app's own keys and when they stand in.
//! - [`http`]: outbound HTTP: forwarding rules, the provider client, TLS.
//! - [`config`]: flags, environment and file, validated into each area's settings.
//! - [`state`]: the app state built from the settings.
//! - [`pipeline`]: the request path, as one pipeline, and the answer's relay.
//! - [`api`]: the routes and their handlers, and the middleware in front.
//! - [`serve`]: the accept loop; `main` runs it on every worker.

pub mod alerts;
pub mod api;
pub mod config;
pub mod core;
pub mod grants;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod pipeline;
pub mod scrub;
pub mod seal;
pub mod serve;
pub mod server_keys;
pub mod state;
pub mod store;
pub mod tiers;
pub mod usage;

pub use crate::core::{Provider, ProxyError};
pub use config::{Args, LogFormat, Settings};
pub use serve::serve;
pub use state::AppState;
