//! The providers the proxy serves and how each one authenticates.
//!
//! What a provider is (its id, upstream, auth scheme, test and unified paths) lives in
//! `byok-providers`, shared with the browser vault; this module adds the one thing only the
//! proxy does with it: put a key into a request.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use secrecy::{ExposeSecret, SecretString};

pub use byok_providers::{ANTHROPIC_VERSION, Auth, Provider, UnifiedKind};

use crate::error::ProxyError;

/// Sets `provider`'s auth header from `key` on `headers`.
///
/// # Security
///
/// The value is marked sensitive so hyper and our logging never print it. This is the one
/// place the key is exposed.
///
/// # Errors
///
/// [`ProxyError::MalformedKey`] when the key cannot be a header value.
pub fn authorize(
    provider: Provider,
    headers: &mut HeaderMap,
    key: &SecretString,
) -> Result<(), ProxyError> {
    let secret = key.expose_secret(); // copied into a sensitive header value, nowhere else
    let (name, value) = match provider.auth() {
        Auth::Bearer => {
            let mut bearer = String::with_capacity("Bearer ".len() + secret.len());
            bearer.push_str("Bearer ");
            bearer.push_str(secret);
            (header::AUTHORIZATION, bearer)
        }
        Auth::Header(name) => (HeaderName::from_static(name), secret.to_owned()),
    };
    let mut value = HeaderValue::try_from(value).map_err(|_| ProxyError::MalformedKey)?;
    value.set_sensitive(true);
    headers.insert(name, value);
    if provider == Provider::Anthropic && !headers.contains_key("anthropic-version") {
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(ANTHROPIC_VERSION),
        );
    }
    Ok(())
}
