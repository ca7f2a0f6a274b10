//! Serving the built settings page with a strict Content-Security-Policy.

use std::path::Path;

use axum::http::{HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// `sha256-...` sources for the inline `<script>` blocks of `index.html` (Trunk writes one to
/// load the wasm), so the policy can allow exactly those and no other inline script.
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

/// The Content-Security-Policy for the page in `dir`.
#[must_use]
pub fn content_security_policy(dir: &Path) -> String {
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap_or_default();
    let scripts = inline_script_hashes(&html).join(" ");
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval' {scripts}; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Static files from `dir`, each response carrying the security headers.
pub fn static_files(dir: &Path) -> axum::Router {
    let csp = HeaderValue::from_str(&content_security_policy(dir))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    axum::Router::new()
        .fallback_service(ServeDir::new(dir))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("content-security-policy"),
            csp,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
}
