//! Serving the vault's pages (the settings page, and for the isolated mode the embed document
//! and the client library) with the headers each needs.
//!
//! Every page gets a strict Content-Security-Policy and `Origin-Agent-Cluster: ?1` (its own
//! event loop and memory, apart from other sites' pages). None may be framed (`frame-ancestors
//! 'none'` and `X-Frame-Options: DENY`: the settings page holds the unlock and consent forms)
//! except `/embed.html`, which exactly the operator's embed origins (`BYOK_EMBED_ORIGINS`) may
//! frame. `/byok-client.js` is a module other origins import, so it is served for any origin
//! (CORS), as public code with no credentials.

use std::path::Path;

use axum::http::{HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use tower::ServiceBuilder;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// The document app pages frame.
pub const EMBED_PAGE: &str = "embed.html";
/// The client library apps import.
pub const CLIENT_SCRIPT: &str = "byok-client.js";

/// `sha256-...` sources for the inline `<script>` blocks of `html` (Trunk writes one to load
/// the wasm), so the policy can allow exactly those and no other inline script.
fn inline_script_hashes(html: &str) -> Vec<String> {
    use base64::Engine as _;
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(open_end) = rest.find('>') else {
            break;
        };
        let tag = &rest[..open_end];
        let Some(close) = rest.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") && close > open_end {
            let body = &rest[open_end + 1..close];
            let digest = Sha256::digest(body.as_bytes());
            hashes.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &rest[close + "</script>".len()..];
    }
    hashes
}

/// The Content-Security-Policy for the page `dir/page`, which the `frame_ancestors` sources
/// (or none: `'none'`) may frame.
#[must_use]
pub fn content_security_policy(dir: &Path, page: &str, frame_ancestors: &[String]) -> String {
    let html = std::fs::read_to_string(dir.join(page)).unwrap_or_default();
    let scripts = inline_script_hashes(&html).join(" ");
    let ancestors = if frame_ancestors.is_empty() {
        "'none'".to_owned()
    } else {
        frame_ancestors.join(" ")
    };
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval' {scripts}; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
         base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
    )
}

/// A header value from text we built; one that cannot be a value falls back to `fallback`.
fn value(text: &str, fallback: &'static str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(fallback))
}

/// Static files from `dir`, each response carrying the headers in the module docs;
/// `embed_origins` may frame the embed document.
pub fn static_files(dir: &Path, embed_origins: &[String]) -> axum::Router {
    let set = |name: &'static str, value: HeaderValue| {
        SetResponseHeaderLayer::overriding(HeaderName::from_static(name), value)
    };
    // What every response of the vault's origin carries.
    let common = ServiceBuilder::new()
        .layer(set("origin-agent-cluster", HeaderValue::from_static("?1")))
        .layer(set(
            "referrer-policy",
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(set(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        ));
    let page_csp = value(
        &content_security_policy(dir, "index.html", &[]),
        "default-src 'none'; frame-ancestors 'none'",
    );
    let embed_csp = value(
        &content_security_policy(dir, EMBED_PAGE, embed_origins),
        "default-src 'none'; frame-ancestors 'none'",
    );
    let pages = ServiceBuilder::new()
        .layer(set("content-security-policy", page_csp))
        .layer(set("x-frame-options", HeaderValue::from_static("DENY")))
        .service(ServeDir::new(dir));
    let embed = ServiceBuilder::new()
        .layer(set("content-security-policy", embed_csp))
        .service(ServeFile::new(dir.join(EMBED_PAGE)));
    let client = ServiceBuilder::new()
        .layer(set(
            "access-control-allow-origin",
            HeaderValue::from_static("*"),
        ))
        .layer(set(
            "cross-origin-resource-policy",
            HeaderValue::from_static("cross-origin"),
        ))
        .service(ServeFile::new(dir.join(CLIENT_SCRIPT)));
    axum::Router::new()
        .route_service(&format!("/{EMBED_PAGE}"), embed)
        .route_service(&format!("/{CLIENT_SCRIPT}"), client)
        .fallback_service(pages)
        .layer(common)
}
