//! Turning an incoming request into the upstream one: pure functions, no I/O.
//!
//! - The upstream URL is the provider's configured base plus the validated path and query: the
//!   client never chooses the host.
//! - Request headers are an allowlist: everything else (our key header, the client's own
//!   credentials, cookies, `Host`, hop-by-hop headers, proxy headers) is dropped.
//! - Response headers are an allowlist too (content metadata, request ids, rate-limit state,
//!   provider prefixes), and what passes is scrubbed of the key and key-shaped values.
//! - The key goes in the provider's own auth header ([`authorize`]), marked sensitive.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri, header};
use byok_providers::path::disguised;
use secrecy::{ExposeSecret, SecretString};

use crate::core::headers::KEY_NAME;
use crate::core::{ANTHROPIC_VERSION, Auth, Provider, ProxyError};

/// Request headers passed to the provider as they are: a few by name (`Content-Length` is
/// replaced when the proxy reads the body itself), and provider feature flags and SDK telemetry
/// by prefix. A `match` on the name, so checking one is a jump on its length and a compare.
fn forwarded(name: &str) -> bool {
    matches!(
        name,
        "content-type"
            | "content-length"
            | "accept"
            | "user-agent"
            | "idempotency-key"
            | "openai-organization"
            | "openai-project"
            | "openai-beta"
            | "http-referer" // OpenRouter app attribution
            | "x-title" // OpenRouter app attribution
            | "x-goog-api-client"
    ) || name.starts_with("anthropic-")
        || name.starts_with("x-stainless-")
}

/// Hop-by-hop headers (RFC 9110 section 7.6.1), never forwarded in either direction.
fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// Header names listed in `Connection`, which are hop-by-hop for this message. Compared
/// ignoring case. The usual options name no header to drop (`keep-alive` is hop-by-hop anyway),
/// so `Connection: keep-alive` or `close` allocates nothing.
fn connection_named(headers: &HeaderMap) -> Vec<&str> {
    let mut named = Vec::new();
    for value in headers.get_all(header::CONNECTION).iter() {
        if value == "keep-alive" || value == "close" {
            continue; // as nearly every server sends it, compared whole
        }
        for name in value
            .as_bytes()
            .split(|&b| b == b',')
            .map(<[u8]>::trim_ascii)
        {
            let option = name.is_empty()
                || name.eq_ignore_ascii_case(b"keep-alive")
                || name.eq_ignore_ascii_case(b"close");
            // Not a header name unless it is text; such a name matches no header anyway.
            if let (false, Ok(name)) = (option, std::str::from_utf8(name)) {
                named.push(name);
            }
        }
    }
    named
}

/// Keeps the headers of `headers` that may go to the provider (see the module docs).
#[must_use]
pub fn request_headers(mut headers: HeaderMap) -> HeaderMap {
    retain(&mut headers, forwarded);
    headers
}

/// Provider response headers passed back to the client: what SDKs and apps read. Everything
/// else (cookies, `WWW-Authenticate`, debug and infrastructure headers) is dropped.
fn returned(name: &str) -> bool {
    matches!(
        name,
        "content-type"
            | "content-length"
            | "content-encoding"
            | "content-disposition"
            | "cache-control"
            | "etag"
            | "last-modified"
            | "retry-after"
            | "request-id"
            | "x-request-id"
            | "x-generation-id" // OpenRouter
            | "apim-request-id" // Azure OpenAI
    ) || name.starts_with("x-ratelimit-")
        || name.starts_with("ratelimit-")
        || name.starts_with("openai-")
        || name.starts_with("anthropic-")
}

/// Keeps the headers of a provider response that go back to the client (see [`returned`]),
/// and replaces any value holding `key` or a key-shaped token with its scrubbed text (or drops
/// the header when that is no longer a valid value, or still has a word that starts like a
/// key).
#[must_use]
pub fn response_headers(mut headers: HeaderMap, key: &str) -> HeaderMap {
    retain(&mut headers, |name| !hop_by_hop(name) && returned(name));
    let dirty: Vec<HeaderName> = headers
        .iter()
        .filter(|(_, v)| crate::scrub::may_leak(v.as_bytes(), Some(key)))
        .map(|(n, _)| n.clone())
        .collect();
    for name in dirty {
        let values: Vec<HeaderValue> = headers
            .get_all(&name)
            .iter()
            .filter_map(|v| {
                let text = String::from_utf8_lossy(v.as_bytes());
                let clean = crate::scrub::scrub(&text, Some(key));
                // What is left of a key cut short by an odd byte goes with its header.
                if crate::scrub::starts_a_key(&clean) {
                    return None;
                }
                HeaderValue::try_from(clean).ok()
            })
            .collect();
        headers.remove(&name);
        for value in values {
            headers.append(name.clone(), value);
        }
    }
    headers
}

/// Removes, in place, every header `keep` refuses and every header `Connection` names. In
/// place because nearly every header stays: copying the survivors into a new map cost more.
fn retain(headers: &mut HeaderMap, keep: impl Fn(&str) -> bool) {
    // Most requests have no `Connection` header (keep-alive is HTTP/1.1's default): comparing
    // names is cheaper than looking it up.
    let dropped = if headers.keys().any(|name| name == header::CONNECTION) {
        connection_named(headers)
    } else {
        Vec::new()
    };
    let doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            let n = name.as_str();
            !keep(n) || dropped.iter().any(|d| d.eq_ignore_ascii_case(n))
        })
        .cloned()
        .collect();
    for name in &doomed {
        headers.remove(name);
    }
}

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

/// The user's key from `X-BYOK-Key`, if present and non-empty.
///
/// # Errors
///
/// [`ProxyError::MalformedKey`] for a value that is not visible ASCII.
pub fn user_key(headers: &HeaderMap) -> Result<Option<SecretString>, ProxyError> {
    let Some(value) = headers.get(KEY_NAME) else {
        return Ok(None);
    };
    let key = value.as_bytes().trim_ascii();
    if key.is_empty() {
        return Ok(None);
    }
    if key.len() > 1024 || !key.iter().all(u8::is_ascii_graphic) {
        return Err(ProxyError::MalformedKey);
    }
    let key = std::str::from_utf8(key).map_err(|_| ProxyError::MalformedKey)?;
    Ok(Some(SecretString::from(key.to_owned())))
}

/// Query parameter names that carry a key (compared after percent-decoding, ignoring case).
const KEY_PARAMS: [&str; 9] = [
    "key",
    "api_key",
    "api-key",
    "apikey",
    "x-api-key",
    "x-goog-api-key",
    "x-byok-key",
    "access_token",
    "authorization",
];

/// The one rule for keys in URLs, on every route: no query parameter named like a key (in any
/// case, percent-encoded or not), and no value shaped like a key or a grant token.
///
/// # Errors
///
/// [`ProxyError::KeyInUrl`].
pub fn check_query(uri: &Uri) -> Result<(), ProxyError> {
    let Some(query) = uri.query() else {
        return Ok(());
    };
    // `;` separates parameters too, for some servers; each piece is form-decoded (`%XX`, `+`).
    let keyed = query
        .split(';')
        .flat_map(|piece| url::form_urlencoded::parse(piece.as_bytes()))
        .any(|(name, value)| {
            let name = name.trim().to_ascii_lowercase();
            KEY_PARAMS.contains(&name.as_str())
                || crate::scrub::key_shaped(&value)
                || crate::scrub::key_shaped(&name)
        });
    if keyed {
        return Err(ProxyError::KeyInUrl);
    }
    Ok(())
}

/// Methods provider APIs use; anything else (`CONNECT`, `TRACE`, made-up ones) is refused.
///
/// # Errors
///
/// [`ProxyError::MethodNotAllowed`].
pub fn check_method(method: &axum::http::Method) -> Result<(), ProxyError> {
    use axum::http::Method;
    let known = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ];
    if known.contains(method) {
        Ok(())
    } else {
        Err(ProxyError::MethodNotAllowed)
    }
}

/// Validates the path after the route prefix and the query, returning what to append to the
/// provider's base URL.
///
/// # Errors
///
/// [`ProxyError::BadPath`] for absolute-form request targets, dot segments, encoded dots,
/// slashes or backslashes, empty segments, path parameters and odd escapes;
/// [`ProxyError::KeyInUrl`] when the query carries a key (see [`check_query`]).
pub fn upstream_path(uri: &Uri, path: &str) -> Result<String, ProxyError> {
    if uri.scheme().is_some() || uri.authority().is_some() {
        return Err(ProxyError::BadPath);
    }
    if !path.starts_with('/') || path.len() < 2 {
        return Err(ProxyError::BadPath);
    }
    if disguised(path.as_bytes()) {
        return Err(ProxyError::BadPath);
    }
    check_query(uri)?;
    let mut target = path.to_owned();
    if let Some(query) = uri.query() {
        target.push('?');
        target.push_str(query);
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    /// A header map of `pairs`, repeated names appended in order.
    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        headers
    }

    #[test]
    fn paths_that_could_leave_the_api_are_refused() {
        for bad in [
            "/..",
            "/v1/../../admin",
            "/v1/%2e%2e/x",
            "/v1/%2E%2E/x",
            "/v1%2fx",
            "/v1/%5cx",
            "/v1//x",
            "/v1\\x",
            "/v1/%5Cx",
            "/v1/..%3b/admin",
            "/v1%3Bx",
            "/v1/%25/x",
            "/v1/%00x",
            "/v1/./x",
            "/v1/.",
            "/v1/..",
            "/v1/../",
            "/v1/..;/admin",
            "/v1;x=1/models",
            "/v1/%c0%ae%c0%ae/admin",
            "/v1/%e0%80%ae/admin",
            "/v1/%C0%AF",
            "/v1/%u002e%u002e/admin",
            "/v1/%zz",
            "/v1/%2",
            "/",
            "",
        ] {
            assert!(
                matches!(upstream_path(&uri("/x"), bad), Err(ProxyError::BadPath)),
                "{bad}"
            );
        }
        assert!(matches!(
            upstream_path(&uri("http://evil.example/openai/v1"), "/v1"),
            Err(ProxyError::BadPath)
        ));
    }

    #[test]
    fn the_user_key_is_trimmed_and_must_be_visible_ascii() {
        use secrecy::ExposeSecret;
        let key = |value: &[u8]| {
            let mut headers = HeaderMap::new();
            headers.insert(KEY_NAME, HeaderValue::from_bytes(value).unwrap());
            user_key(&headers).map(|k| k.map(|k| k.expose_secret().to_owned()))
        };
        assert_eq!(key(b" sk-abc\t").unwrap().as_deref(), Some("sk-abc"));
        assert_eq!(key(b"  ").unwrap(), None);
        assert_eq!(user_key(&HeaderMap::new()).unwrap().map(|_| ()), None);
        for bad in [&b"sk abc"[..], b"sk-\xc3\xa9", &[b'k'; 1025]] {
            assert!(matches!(key(bad), Err(ProxyError::MalformedKey)));
        }
        assert!(key(&[b'k'; 1024]).unwrap().is_some());
    }

    #[test]
    fn dots_inside_a_segment_are_not_dot_segments() {
        for good in [
            "/.well-known/x",
            "/v1/..x/y",
            "/v1/models/a.b",
            "/v1/x./",
            "/v1/",
        ] {
            assert_eq!(upstream_path(&uri("/x"), good).unwrap(), good);
        }
    }

    #[test]
    fn normal_paths_and_queries_pass() {
        let u = uri("/gemini/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse");
        assert_eq!(
            upstream_path(&u, "/v1beta/models/gemini-2.0-flash:streamGenerateContent").unwrap(),
            "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
        );
        let keyed = uri("/gemini/v1beta/models?key=AIzaSECRET");
        assert!(matches!(
            upstream_path(&keyed, "/v1beta/models"),
            Err(ProxyError::KeyInUrl)
        ));
        let escaped = uri("/v1/files/file-a%3Db?purpose=fine-tune&limit=10");
        assert!(upstream_path(&escaped, "/v1/files/file-a%3Db").is_ok());
    }

    #[test]
    fn keys_in_queries_are_found_in_any_clothes() {
        for bad in [
            "/x?key=abc",
            "/x?KEY=abc",
            "/x?%6bey=abc",
            "/x?%4B%45%59=abc",
            "/x?a=1&api_key=abc",
            "/x?a=1;key=abc",
            "/x?access_token=abc",
            "/x?q=sk-proj-abcdefgh1234",
            "/x?q=sk%2Dproj%2Dabcdefgh1234",
            "/x?q=AIzaSyA-1234567890abcdef",
            "/x?q=byok_g_abcdefghijklmnop",
            "/x?sk-proj-abcdefgh1234",
        ] {
            assert!(
                matches!(check_query(&uri(bad)), Err(ProxyError::KeyInUrl)),
                "{bad}"
            );
        }
        for good in [
            "/x",
            "/x?alt=sse",
            "/x?pageSize=1&keyword=a",
            "/x?monkey=1",
            "/x?q=skip",
        ] {
            assert!(check_query(&uri(good)).is_ok(), "{good}");
        }
    }

    #[test]
    fn only_methods_providers_use_pass() {
        use axum::http::Method;
        for ok in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            assert!(check_method(&Method::from_bytes(ok.as_bytes()).unwrap()).is_ok());
        }
        for bad in ["CONNECT", "TRACE", "PROPFIND", "BREW"] {
            assert!(matches!(
                check_method(&Method::from_bytes(bad.as_bytes()).unwrap()),
                Err(ProxyError::MethodNotAllowed)
            ));
        }
    }

    #[test]
    fn only_allowlisted_headers_are_forwarded() {
        let h = map(&[
            ("x-byok-key", "sk-user"),
            ("authorization", "Bearer app"),
            ("x-api-key", "k"),
            ("x-goog-api-key", "k"),
            ("api-key", "k"),
            ("cookie", "a=b"),
            ("host", "proxy"),
            ("connection", "keep-alive, X-Title"),
            ("keep-alive", "5"),
            ("transfer-encoding", "chunked"),
            ("x-forwarded-for", "1.2.3.4"),
            ("content-type", "application/json"),
            ("content-length", "17"),
            ("anthropic-version", "2023-06-01"),
            ("x-title", "dropped because Connection names it"),
            ("accept", "text/event-stream"),
        ]);
        let out = request_headers(h);
        let mut names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "accept",
                "anthropic-version",
                "content-length",
                "content-type"
            ]
        );
    }

    #[test]
    fn hop_by_hop_headers_and_cookies_do_not_come_back() {
        let h = map(&[
            ("content-type", "text/event-stream"),
            ("connection", "keep-alive, X-Served-By"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("set-cookie", "session=1"),
            ("set-cookie", "tracking=2"),
            ("x-served-by", "edge-7"),
            ("x-request-id", "req_1"),
            ("x-ratelimit-remaining-requests", "99"),
        ]);
        let out = response_headers(h, "sk-user");
        let mut names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "content-type",
                "x-ratelimit-remaining-requests",
                "x-request-id"
            ]
        );
    }

    #[test]
    fn response_headers_never_carry_the_key() {
        let h = map(&[
            (
                "www-authenticate",
                "Bearer error=\"invalid_token\", key=\"custom-Secret-9\"",
            ),
            ("x-debug-key", "custom-Secret-9"),
            ("x-request-id", "req_custom-Secret-9"),
            ("openai-organization", "org sk-proj-abcdefgh1234"),
            ("retry-after", "3"),
        ]);
        let out = response_headers(h, "custom-Secret-9");
        assert!(out.get("www-authenticate").is_none() && out.get("x-debug-key").is_none());
        assert_eq!(out["x-request-id"], "req_[REDACTED]");
        assert_eq!(out["openai-organization"], "org [REDACTED]");
        assert_eq!(out["retry-after"], "3");
        // Found by the `headers` fuzz target: a key cut short by a byte that is not text.
        let mut h = HeaderMap::new();
        h.insert(
            "anthropic-x",
            HeaderValue::from_bytes(b"sk-ant\xccabcdefgh").unwrap(),
        );
        h.insert("anthropic-y", HeaderValue::from_static("task-manager"));
        let out = response_headers(h, "sk-ant-whatever");
        assert!(out.get("anthropic-x").is_none());
        assert_eq!(out["anthropic-y"], "task-manager");
    }
}
