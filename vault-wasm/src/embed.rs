//! What an app's page may ask of the vault in the isolated mode, as pure rules: which proxy
//! paths a request may go to, which of its headers are kept, what the app is told about the
//! vault, and the codes of its errors. Tested natively; the browser layer (`wasm::embed`)
//! applies them to every message a connected app sends.
//!
//! An app may reach providers through the proxy, and nothing else of it: a request goes to
//! `/{provider}/…` (the path the app gives is below the provider), never to `/byok/…` (keys,
//! grants, usage), never to another host, never out of its path by dot segments or escapes.
//! It may not set a credential: the vault adds the key, and a header that could stand in for
//! one (or for the user's daily cap) is dropped.
//!
//! # The protocol
//!
//! The app's page frames `/embed.html` and sends it one message, `{byok: "connect", version:
//! 1}`, with a `MessagePort`. The embed document answers on that port: `{type: "ready", frame,
//! status}` (or `{type: "refused", code, message}`, then closes it). Requests go over the port
//! as `{id, op: "status"}`, `{id, op: "fetch", provider, path, method, headers: [[name,
//! value], …], body}` and `{id, op: "abort"}` (of fetch `id`); answers are `{id, status}`,
//! `{id, head: {status, statusText, headers}}`, then `{id, chunk}` (an `ArrayBuffer`) per read
//! of the answer and `{id, end: true}` (a small answer that is not a stream comes whole, as
//! `{id, head, body}`), or `{id, error: {code, message}}`. The embed also sends
//! `{type: "change", status}` when the vault locks, unlocks, or the app is revoked.

use byok_providers::Provider;
use byok_providers::path::disguised;
use serde::Serialize;

/// The protocol version this vault speaks.
pub const VERSION: u32 = 1;
/// The most headers an app's request may carry.
pub const MAX_HEADERS: usize = 64;
/// The longest header name or value an app's request may carry.
pub const MAX_HEADER_LEN: usize = 8 * 1024;
/// The largest body an app's request may carry (the proxy's default limit).
pub const MAX_BODY: usize = 10 * 1024 * 1024;

/// Methods provider APIs use (as the proxy allows them).
const METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/// Why the vault did not do what an app asked. Each is a `code` the client library rejects
/// with; none names a key, a label or anything the vault holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    /// The operator does not allow this app's origin to embed the vault.
    NotAllowed,
    /// The user has not approved this app, or has revoked it.
    NotConnected,
    /// The vault is locked: the user unlocks it in the vault's own window.
    Locked,
    /// No usable key for the provider.
    NoKey(Provider),
    /// The user said no.
    Denied,
    /// A path or URL outside what an app may reach.
    ForbiddenPath,
    /// The app aborted the request.
    Aborted,
    /// The proxy could not be reached.
    Unreachable,
    /// The vault's storage is kept apart from this frame (a cross-site app).
    StoragePartitioned,
    /// A message the protocol has no place for: what is wrong with it.
    BadMessage(String),
}

impl AppError {
    /// The machine-readable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAllowed => "not_allowed",
            Self::NotConnected => "not_connected",
            Self::Locked => "locked",
            Self::NoKey(_) => "no_key",
            Self::Denied => "denied",
            Self::ForbiddenPath => "forbidden_path",
            Self::Aborted => "aborted",
            Self::Unreachable => "unreachable",
            Self::StoragePartitioned => "storage_partitioned",
            Self::BadMessage(_) => "bad_message",
        }
    }

    /// What happened, in words for the app's developer.
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::NotAllowed => "the vault's operator does not allow this site to use it                                  (BYOK_EMBED_ORIGINS)"
                .into(),
            Self::NotConnected => "the user has not connected this app to their vault; call                                    requestAccess() from a click"
                .into(),
            Self::Locked => "the vault is locked; the user unlocks it in the vault's window                              (openSettings())"
                .into(),
            Self::NoKey(provider) => format!(
                "the vault holds no usable {} key",
                provider.display_name()
            ),
            Self::Denied => "the user said no".into(),
            Self::ForbiddenPath => "apps may only send requests under a provider's path on                                     the vault's proxy"
                .into(),
            Self::Aborted => "the request was aborted".into(),
            Self::Unreachable => "the byok proxy could not be reached".into(),
            Self::StoragePartitioned => "this browser keeps the vault's storage apart from                                          this site; serve the vault from a subdomain of the                                          app's site (keys.example.com for app.example.com)"
                .into(),
            Self::BadMessage(what) => format!("bad message: {what}"),
        }
    }
}

/// What an app is told of the vault: never a label, an id or a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    /// Whether the user connected this app (`None` while locked: the approvals are sealed).
    pub connected: Option<bool>,
    /// Whether the vault is locked.
    pub locked: bool,
    /// The providers with a usable key (empty while locked or not connected).
    pub providers: Vec<Provider>,
}

/// A request from an app, checked: where it goes on the proxy and what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppFetch {
    /// Whose key it needs.
    pub provider: Provider,
    /// The proxy path, `/{provider}{path}`.
    pub path: String,
    /// The method, uppercase.
    pub method: String,
    /// The headers kept (see [`keeps_header`]).
    pub headers: Vec<(String, String)>,
}

/// Checks a request an app sends: to `provider`, at `path` below it, with `method` and
/// `headers` (credentials dropped).
///
/// # Errors
///
/// [`AppError::ForbiddenPath`] for a path outside the provider's; [`AppError::BadMessage`] for
/// an unknown provider or method, or too many or too long headers.
pub fn app_fetch(
    provider: &str,
    path: &str,
    method: &str,
    headers: Vec<(String, String)>,
) -> Result<AppFetch, AppError> {
    let provider: Provider = provider
        .parse()
        .map_err(|_| AppError::BadMessage("unknown provider".into()))?;
    if !path.starts_with('/') {
        return Err(AppError::ForbiddenPath);
    }
    let path = format!("/{}{path}", provider.id());
    check_app_path(&path).map_err(|_| AppError::ForbiddenPath)?;
    let method = method.to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(AppError::BadMessage(
            "a method provider APIs do not use".into(),
        ));
    }
    if headers.len() > MAX_HEADERS
        || headers
            .iter()
            .any(|(n, v)| n.len() > MAX_HEADER_LEN || v.len() > MAX_HEADER_LEN)
    {
        return Err(AppError::BadMessage("too many or too long headers".into()));
    }
    let headers = headers
        .into_iter()
        .filter(|(name, _)| keeps_header(name))
        .collect();
    Ok(AppFetch {
        provider,
        path,
        method,
        headers,
    })
}

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

/// The id an app is shown for the key that served its request (`X-BYOK-Key-Id`): the same
/// for one key and one app every time, unrelated between apps, and saying nothing of the
/// vault's own record id (an app is never told a record id, a label or a key).
#[must_use]
pub fn app_key_id(origin: &str, record_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in [
        &b"byok app key id v1"[..],
        origin.as_bytes(),
        record_id.as_bytes(),
    ] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_sees_its_own_id_for_a_key_never_the_vaults() {
        let a = app_key_id("https://app.example", "entry:0123abcd");
        assert_eq!(a.len(), 16);
        assert!(!a.contains("0123abcd"));
        assert_eq!(
            a,
            app_key_id("https://app.example", "entry:0123abcd"),
            "stable"
        );
        assert_ne!(
            a,
            app_key_id("https://other.example", "entry:0123abcd"),
            "per app"
        );
        assert_ne!(
            a,
            app_key_id("https://app.example", "entry:0123abce"),
            "per key"
        );
    }

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

    #[test]
    fn an_app_request_goes_below_its_provider_without_credentials() {
        let headers = vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("X-BYOK-Key".to_owned(), "sk-proj-planted".to_owned()),
            ("Authorization".to_owned(), "Bearer planted".to_owned()),
        ];
        let fetch = app_fetch("openai", "/v1/chat/completions", "post", headers).unwrap();
        assert_eq!(fetch.provider, Provider::Openai);
        assert_eq!(fetch.path, "/openai/v1/chat/completions");
        assert_eq!(fetch.method, "POST");
        assert_eq!(
            fetch.headers,
            [("Content-Type".to_owned(), "application/json".to_owned())]
        );
        for path in [
            "/../byok/usage",
            "/v1/%2e%2e/%2e%2e/byok/grants",
            "https://evil.example/v1/models",
            "//evil.example/v1",
            "v1/models",
            "/v1/models#x",
        ] {
            assert_eq!(
                app_fetch("openai", path, "GET", Vec::new()),
                Err(AppError::ForbiddenPath),
                "{path}"
            );
        }
        for (provider, method) in [
            ("nobody", "GET"),
            ("openai", "CONNECT"),
            ("openai", "TRACE"),
        ] {
            assert_eq!(
                app_fetch(provider, "/v1/models", method, Vec::new())
                    .unwrap_err()
                    .code(),
                "bad_message"
            );
        }
        let many = vec![("x-a".to_owned(), "b".to_owned()); MAX_HEADERS + 1];
        assert!(app_fetch("openai", "/v1/models", "GET", many).is_err());
        let long = vec![("x-a".to_owned(), "b".repeat(MAX_HEADER_LEN + 1))];
        assert!(app_fetch("openai", "/v1/models", "GET", long).is_err());
    }

    #[test]
    fn every_refusal_has_its_code_and_names_nothing_held() {
        let all = [
            AppError::NotAllowed,
            AppError::NotConnected,
            AppError::Locked,
            AppError::NoKey(Provider::Anthropic),
            AppError::Denied,
            AppError::ForbiddenPath,
            AppError::Aborted,
            AppError::Unreachable,
            AppError::StoragePartitioned,
            AppError::BadMessage("x".into()),
        ];
        let codes: std::collections::BTreeSet<_> = all.iter().map(AppError::code).collect();
        assert_eq!(codes.len(), all.len(), "one code each");
        for error in &all {
            assert!(!error.message().is_empty());
        }
        assert!(
            AppError::NoKey(Provider::Anthropic)
                .message()
                .contains("Anthropic")
        );
    }
}
