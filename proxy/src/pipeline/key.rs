//! Which key serves a request (a grant's, the user's, or the app's where policy allows), the
//! daily caps on it, and the budgets its answer counts toward (for alerts).

use axum::http::HeaderMap;
use secrecy::SecretString;

use crate::alerts::{About, Watch};
use crate::core::headers::DAILY_CAP_NAME;
use crate::core::key::{KeyFingerprint, KeySource};
use crate::core::ledger::{SPEND, SPEND_SERVER, Subject};
use crate::core::money::{nano, usd};
use crate::core::{Provider, ProxyError};
use crate::grants;
use crate::http::forward;
use crate::server_keys::FallbackPolicy;
use crate::state::AppState;
use crate::tiers::{self, Actor, Caller};
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

/// The daily caps on the key: the client's `X-BYOK-Daily-Cap` and the grant's.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Caps {
    /// Sent by the client, USD.
    pub asked: Option<f64>,
    /// The grant's, USD.
    pub granted: Option<f64>,
}

impl Caps {
    /// The cap that applies: the lower of the two.
    pub fn effective(self) -> Option<f64> {
        match (self.asked, self.granted) {
            (Some(a), Some(g)) => Some(a.min(g)),
            (a, g) => a.or(g),
        }
    }
}

/// The daily caps on the key a request of `headers` uses, through `grant` if any.
pub(super) fn daily_caps(
    headers: &HeaderMap,
    grant: Option<&grants::Resolved>,
) -> Result<Caps, ProxyError> {
    let asked = headers
        .get(DAILY_CAP_NAME)
        .map(|v| parse_cap(v.to_str().unwrap_or("?")))
        .transpose()?;
    let granted = grant.and_then(|g| g.meta.scope.daily_cap_nano_usd).map(usd);
    Ok(Caps { asked, granted })
}

/// The budgets an answer counts toward, for alerts: the key's cap sent with a user token, the
/// grant's cap (both measured on the key's spend, as the caps are), and the user's budget on
/// the app's key when the app's key served.
pub(super) fn watches(
    caps: Caps,
    caller: &Caller,
    tier: Option<&tiers::Tier>,
    grant: Option<&grants::Resolved>,
    source: KeySource,
    key: KeyFingerprint,
) -> Vec<Watch> {
    let user = match &caller.actor {
        Actor::User(user) => Some(user.sub.clone()),
        _ => None,
    };
    let mut watches = Vec::new();
    if let (Some(cap), Some(user)) = (caps.asked, &user) {
        watches.push(Watch {
            measured: Subject::Key(key),
            field: SPEND,
            cap_nano: nano(cap),
            about: About::UserKey { user: user.clone() },
        });
    }
    if let (Some(cap), Some(grant)) = (caps.granted, grant) {
        watches.push(Watch {
            measured: Subject::Key(key),
            field: SPEND,
            cap_nano: nano(cap),
            about: About::Grant {
                grant: grant.id,
                user: user.clone(),
            },
        });
    }
    if let (KeySource::Server, Some(budget), Some(user)) = (
        source,
        tier.and_then(|t| t.server_key_daily_budget_nano),
        user,
    ) {
        watches.push(Watch {
            measured: Subject::User(user.clone()),
            field: SPEND_SERVER,
            cap_nano: budget,
            about: About::AppKey { user },
        });
    }
    watches
}
