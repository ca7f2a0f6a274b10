//! What an app's page may ask of the vault in the isolated mode, as pure rules: which proxy
//! paths a request may go to, and which of its headers are kept. Tested natively; the browser
//! layer applies them to every request a connected app sends.
//!
//! An app may reach providers through the proxy, and nothing else of it: a request goes to
//! `/{provider}/…` (pass-through) or `/v1/…` (the unified routes), never to `/byok/…` (keys,
//! grants, usage), never to another host, never out of its path by dot segments or escapes.
//! It may not set a credential: the vault adds the key, and a header that could stand in for
//! one (or for the user's daily cap) is dropped.

use byok_providers::Provider;
use byok_providers::path::disguised;

/// The longest path (with its query) an app may send.
pub const MAX_APP_PATH: usize = 2048;

/// Request headers an app's requests never keep, compared ignoring case: credentials (the
/// vault sets the key), the user's token, and the daily cap (the user's own setting decides).
pub const DROPPED_HEADERS: [&str; 9] = [
    "x-byok-key",
    "x-byok-user",
    "x-byok-daily-cap",
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "x-goog-api-key",
    "api-key",
    "cookie",
];

/// Why a path was refused (one answer for the app: `forbidden_path`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRefusal {
    /// Not a path on the proxy: absolute, protocol-relative, empty or too long.
    NotAPath,
    /// A dot segment, an empty segment, a backslash or an escape that could change the path.
    Disguised,
    /// Not under a provider or the unified routes (`/byok/…`, the settings page, …).
    NotAProviderPath,
}

/// Checks the proxy path (with its query, if any) an app's request goes to.
///
/// # Errors
///
/// [`PathRefusal`] saying why not.
pub fn check_app_path(path: &str) -> Result<(), PathRefusal> {
    if path.len() > MAX_APP_PATH || !path.starts_with('/') || path.starts_with("//") {
        return Err(PathRefusal::NotAPath);
    }
    let (path, _query) = path.split_once('?').unwrap_or((path, ""));
    if path
        .bytes()
        .any(|b| b.is_ascii_control() || b == b' ' || b == b'#')
    {
        return Err(PathRefusal::NotAPath);
    }
    if disguised(path.as_bytes()) {
        return Err(PathRefusal::Disguised);
    }
    let first = path[1..].split('/').next().unwrap_or_default();
    if first == "v1" || first.parse::<Provider>().is_ok() {
        Ok(())
    } else {
        Err(PathRefusal::NotAProviderPath)
    }
}

/// Whether an app's request keeps the header `name` (see [`DROPPED_HEADERS`]).
#[must_use]
pub fn keeps_header(name: &str) -> bool {
    !DROPPED_HEADERS
        .iter()
        .any(|dropped| dropped.eq_ignore_ascii_case(name.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_and_unified_paths_pass() {
        for ok in [
            "/openai/v1/chat/completions",
            "/anthropic/v1/messages",
            "/gemini/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
            "/openrouter/api/v1/models",
            "/custom/v1/embeddings",
            "/v1/chat/completions",
            "/openai/v1/models?limit=5",
        ] {
            assert_eq!(check_app_path(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn everything_else_is_refused() {
        use PathRefusal::*;
        for (bad, why) in [
            ("", NotAPath),
            ("openai/v1/models", NotAPath),
            ("https://evil.example/openai/v1/models", NotAPath),
            ("//evil.example/openai/v1/models", NotAPath),
            ("/openai/v1/models#frag", NotAPath),
            ("/openai/v1/mo dels", NotAPath),
            ("/openai/v1/\nmodels", NotAPath),
            (&format!("/openai/{}", "a".repeat(MAX_APP_PATH)), NotAPath),
            ("/openai/../byok/usage", Disguised),
            ("/openai/./v1/models", Disguised),
            ("/openai/v1/..", Disguised),
            ("/openai//v1/models", Disguised),
            ("/openai/%2e%2e/byok/grants", Disguised),
            ("/openai/%2E%2E/byok/grants", Disguised),
            ("/openai/v1%2fmodels", Disguised),
            ("/openai/v1%5cmodels", Disguised),
            ("/openai/%c0%ae%c0%ae/byok", Disguised),
            ("/openai/v1/models%", Disguised),
            ("/openai/v1/models%2", Disguised),
            ("/openai\\v1\\models", Disguised),
            ("/openai/..;/byok", Disguised),
            ("/byok/usage", NotAProviderPath),
            ("/byok/grants", NotAProviderPath),
            ("/byok/test/openai", NotAProviderPath),
            ("/", NotAProviderPath),
            ("/index.html", NotAProviderPath),
            ("/metrics", NotAProviderPath),
            ("/OpenAI/v1/models", NotAProviderPath),
        ] {
            assert_eq!(check_app_path(bad), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn credential_headers_are_dropped_whatever_their_case() {
        for dropped in [
            "X-BYOK-Key",
            "authorization",
            "Authorization",
            "x-api-key",
            "X-Goog-Api-Key",
            "x-byok-user",
            "X-BYOK-Daily-Cap",
            "api-key",
            "Cookie",
            "proxy-authorization",
        ] {
            assert!(!keeps_header(dropped), "{dropped}");
        }
        for kept in [
            "content-type",
            "accept",
            "anthropic-version",
            "openai-beta",
            "x-title",
            "x-byok-key-source",
        ] {
            assert!(keeps_header(kept), "{kept}");
        }
    }
}
