//! Which key serves a request (a grant's, the user's, or the app's where policy allows), and
//! the daily cap on it.

use axum::http::HeaderMap;
use secrecy::SecretString;

use crate::core::headers::DAILY_CAP_NAME;
use crate::core::key::KeySource;
use crate::core::money::usd;
use crate::core::{Provider, ProxyError};
use crate::grants;
use crate::http::forward;
use crate::server_keys::FallbackPolicy;
use crate::state::AppState;
use crate::tiers::Caller;
use crate::usage::caps::parse_cap;

/// The key chosen for a request, and the server key to retry with after a rejection.
pub(super) struct KeyChoice {
    pub key: SecretString,
    pub source: KeySource,
    pub retry_with: Option<SecretString>,
    /// The grant the key came from.
    pub grant: Option<grants::Resolved>,
}

/// The key for a request to `provider` from `caller` with `headers`: see the module docs.
pub(super) async fn choose_key(
    state: &AppState,
    provider: Provider,
    headers: &HeaderMap,
    caller: &Caller,
) -> Result<KeyChoice, ProxyError> {
    if let Some(token) = grants::token_in(headers) {
        // A grant never falls back to the server key.
        let mut grant =
            grants::resolve(&state.store, state.settings.secret.seal_key(), token).await?;
        return Ok(KeyChoice {
            key: std::mem::replace(&mut grant.key, SecretString::from(String::new())),
            source: KeySource::Grant,
            retry_with: None,
            grant: Some(grant),
        });
    }
    let user = forward::user_key(headers)?;
    let server_keys = &state.settings.server_keys;
    let policy = server_keys.policy(provider);
    let server = caller
        .trusted
        .then(|| server_keys.key(provider).cloned())
        .flatten();
    match (user, server) {
        (Some(key), server) => Ok(KeyChoice {
            key,
            source: KeySource::User,
            retry_with: server.filter(|_| policy == FallbackPolicy::WhenMissingOrRejected),
            grant: None,
        }),
        (None, Some(key)) => Ok(KeyChoice {
            key,
            source: KeySource::Server,
            retry_with: None,
            grant: None,
        }),
        (None, None) => Err(ProxyError::MissingKey),
    }
}

/// The daily cap on the key: the grant's and the client's `X-BYOK-Daily-Cap`, the lower.
pub(super) fn daily_cap(
    headers: &HeaderMap,
    grant: Option<&grants::Resolved>,
) -> Result<Option<f64>, ProxyError> {
    let asked = headers
        .get(DAILY_CAP_NAME)
        .map(|v| parse_cap(v.to_str().unwrap_or("?")))
        .transpose()?;
    let granted = grant.and_then(|g| g.meta.scope.daily_cap_nano_usd).map(usd);
    Ok(match (asked, granted) {
        (Some(a), Some(g)) => Some(a.min(g)),
        (a, g) => a.or(g),
    })
}
