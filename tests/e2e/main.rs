//! End-to-end tests: one binary, one module per area.
//!
//! - `alerts`: signed webhook events for each budget threshold, exactly once across two
//!   instances on one Redis; a refused user key; delivery retried until the receiver is back.
//! - `azure`: Azure OpenAI at the resource each request names (pass-through, unified, key
//!   test), names that are not one DNS label refused before any connection, grants and sealed
//!   keys bound to their resource.
//! - `forwarding`: header mapping per provider and route style, stripped headers, unified
//!   routing, the key-test endpoint, providers/health/metrics.
//! - `streaming`: SSE passes through unbuffered and untouched; client disconnect cancels the
//!   upstream request; first-byte and idle timeouts.
//! - `safety`: redirects not followed, traversal and unknown providers never reach upstream,
//!   body limit, keys in URLs refused, rate limits, error bodies scrubbed.
//! - `fallback`: the server-key fallback policy matrix, with and without app auth.
//! - `hardening`: what a hostile client tried: odd methods, broken chunked bodies, keys in URLs
//!   on every route and in other clothes, paths lenient servers would read as traversal, slow
//!   clients and too many connections; and what a misbehaving provider did: keys in headers,
//!   behind escapes, in base64 and cut across reads of a stream, huge response heads.
//! - `logs`: the key (and every 8-character piece of it) never appears in logs at TRACE.
//! - `openai_sdk`: the official OpenAI Python SDK through the unified endpoint.
//! - `pool`: connections to the provider are reused, replaced when the provider closes them, sent
//!   again only when safe when the provider closes one as a request leaves, kept idle for less
//!   than providers keep theirs, and bounded after a burst.
//! - `providers`: the named OpenAI-compatible providers (Mistral, Groq, DeepSeek, xAI, Together,
//!   Fireworks, Cerebras, Perplexity) on their real paths, by each route, and their usage.
//! - `grants`: key grants made and used across two instances sharing a real `redis-server`
//!   (and a three-node Redis Cluster), scope, limits, revocation, a dead Redis, and nothing
//!   secret in Redis or the logs; the in-process store without Redis.
//! - `usage`: tokens read from every route and answer shape, priced, counted per key and grant,
//!   shown by `/byok/usage`; daily caps refuse before the provider is contacted, on one instance
//!   and across two sharing Redis; usage records expire; metrics labels stay bounded.
//! - `tiers`: user tokens (every bad one a 401 naming its cause), tiers limiting models whichever
//!   key serves, requests per hour across instances, the app's key's daily budget, `/byok/models`,
//!   a grant carrying its maker's tier.
//! - `pages`: the vault's pages and their headers: only the operator's embed origins may frame
//!   the embed document, nothing may frame another page, the client library is importable.
//! - `sealed`: sealed keys (by this repository's crate and by pyhpke) opened for their one
//!   request: a recording relay gets nothing usable on either instance sharing Redis; replays,
//!   changed requests, stale seals and malformed headers are refused before the provider.
//! - `tls`: HTTPS providers, over HTTP/2 or HTTP/1.1 as they offer by ALPN, trusted only through
//!   the system's roots or the operator's `--upstream-ca`.
//!
//! Each test starts its own fake provider (loopback, port 0) and its own `byok-proxy` process.
// Tests panic on failure by design.
#![allow(clippy::unwrap_used)]

mod alerts;
mod azure;
mod fallback;
mod forwarding;
mod grants;
mod hardening;
mod logs;
mod openai_sdk;
mod pages;
mod pool;
mod providers;
mod safety;
mod sealed;
mod streaming;
mod tiers;
mod tls;
mod usage;

use byok_e2e::{FakeProvider, ProxyProcess};

/// The HS256 secret the tests' apps sign user tokens with (`BYOK_USER_TOKEN_SECRET`).
const JWT_SECRET: &str = "a-secret-of-at-least-32-bytes-for-hs256!";

/// A user token with `claims`, signed as the app's backend would.
fn user_token(claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// Upstream flags pointing every provider at `fake`.
fn upstream_args(fake: &FakeProvider) -> Vec<String> {
    ["openai", "anthropic", "gemini", "openrouter", "custom"]
        .iter()
        .flat_map(|p| [format!("--upstream-{p}"), fake.url()])
        .collect()
}

/// A fake provider and a proxy in front of it, with extra flags and environment.
async fn setup(extra: &[&str], env: &[(&str, &str)]) -> (FakeProvider, ProxyProcess) {
    let fake = FakeProvider::start().await;
    let mut args = upstream_args(&fake);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let proxy = ProxyProcess::start(&args, env);
    (fake, proxy)
}

/// `GET url` with the user's key in `X-BYOK-Key`.
async fn get_with_key(url: &str, key: &str) -> reqwest::Response {
    client()
        .get(url)
        .header("x-byok-key", key)
        .send()
        .await
        .unwrap()
}

/// `GET /metrics` of `proxy`, as text.
async fn metrics(proxy: &ProxyProcess) -> String {
    let r = client()
        .get(format!("{}/metrics", proxy.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// `GET url` as JSON.
async fn get_json(url: &str) -> serde_json::Value {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn client() -> reqwest::Client {
    // reqwest is built without a default TLS provider; any installed one is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}
