//! Key grants: a short-lived capability to use a user's provider key, for work that runs
//! without the user's browser (a queued job, a scheduled agent).
//!
//! The browser's vault sends the key once (`POST /byok/grants`) and gets a token
//! (`byok_g_...`). The store keeps only a sealed record ([`record`]); the token carries the
//! other half of the record's key. A job then calls the proxy like any client, with the token
//! where a key would go (`Authorization: Bearer`, `X-BYOK-Key`, `x-api-key`,
//! `x-goog-api-key`); the proxy opens the record, checks the scope and forwards with the key.
//!
//! - [`token`]: the token format (grant ids and the token prefix are in `core`).
//! - [`record`]: sealing and opening a record (the construction is documented there).
//! - [`scope`]: reading a scope from a request and checking requests against it.
//!
//! The `/byok/grants` endpoints are in `api::grants`. Every way a token can fail to resolve
//! (unknown, expired, revoked, forged, truncated) is the same [`ProxyError::InvalidGrant`]: no
//! answer tells them apart.

pub mod record;
pub mod scope;
pub mod token;

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, header};
use secrecy::SecretString;

pub use record::{Meta, Scope};
pub use token::Token;

use crate::core::clock::now_ms;
use crate::core::grant_id::GrantId;
use crate::core::headers::KEY_NAME;
use crate::core::{Provider, ProxyError, Resource};
use crate::store::{Store, Take};

/// Limits on grants.
#[derive(Debug, Clone)]
pub struct GrantSettings {
    /// Longest lifetime a grant may ask for.
    pub max_ttl: Duration,
    /// Live grants allowed per key.
    pub max_live_per_key: u32,
}

impl Default for GrantSettings {
    fn default() -> Self {
        Self {
            max_ttl: Duration::from_secs(24 * 3600),
            max_live_per_key: 100,
        }
    }
}

/// Headers a grant token may come in: ours, and the places SDKs put a key. Built names: a
/// lookup by `&str` parses the name first (about 300 instructions a lookup).
const TOKEN_HEADERS: [HeaderName; 3] = [
    KEY_NAME,
    HeaderName::from_static("x-api-key"),
    HeaderName::from_static("x-goog-api-key"),
];

/// The grant token a request carries, if any value where a key goes has the grant prefix.
/// `Some(None)` for a token-shaped value that is not a valid token (it still must not be
/// treated as a provider key).
#[must_use]
pub fn token_in(headers: &HeaderMap) -> Option<Option<Token>> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("Bearer "));
    TOKEN_HEADERS
        .iter()
        .filter_map(|name| headers.get(name).and_then(|v| v.to_str().ok()))
        .chain(bearer)
        .find(|v| Token::is_token_shaped(v))
        .map(Token::parse)
}

/// A grant resolved for one request: the key it seals and what it allows.
#[derive(Debug)]
pub struct Resolved {
    /// The grant's id.
    pub id: GrantId,
    /// The provider key.
    pub key: SecretString,
    /// Its public part, scope included.
    pub meta: Meta,
    /// Requests left when it was read; `None` when unlimited.
    pub left: Option<u64>,
}

/// Opens the grant `token` names from `store`, if it is live; `seal_key` is the server
/// secret's (see `core::secret`).
///
/// # Errors
///
/// [`ProxyError::InvalidGrant`] for every way of not being a live grant;
/// [`ProxyError::StoreUnavailable`] when the store cannot answer (fail closed).
pub async fn resolve(
    store: &Store,
    seal_key: &[u8; 32],
    token: Option<Token>,
) -> Result<Resolved, ProxyError> {
    let token = token.ok_or(ProxyError::InvalidGrant)?;
    let stored = store
        .grant(token.id())
        .await
        .map_err(|e| store.failed("grant lookup", &e))?
        .ok_or(ProxyError::InvalidGrant)?;
    let (meta, key) =
        record::open(seal_key, &token, &stored.record).map_err(|_| ProxyError::InvalidGrant)?;
    if !meta.is_live(now_ms()) {
        return Err(ProxyError::InvalidGrant);
    }
    Ok(Resolved {
        id: token.id(),
        key,
        meta,
        left: stored.left,
    })
}

impl Resolved {
    /// Checks a request for `provider` (at `resource`) naming `model` against the scope, then
    /// takes one of the grant's requests from `store` (last, so a refused request uses none).
    ///
    /// # Errors
    ///
    /// [`ProxyError::GrantOutOfScope`] for another provider or resource, a model outside the
    /// list, or no requests left; [`ProxyError::InvalidGrant`] when it was revoked meanwhile;
    /// [`ProxyError::StoreUnavailable`] when the store cannot answer.
    pub async fn admit(
        &self,
        store: &Store,
        (provider, resource): (Provider, Option<&Resource>),
        model: Option<&str>,
    ) -> Result<(), ProxyError> {
        let scope = &self.meta.scope;
        if provider != scope.provider {
            return Err(ProxyError::GrantOutOfScope(
                "grant_wrong_provider",
                format!("this grant is for {} only", scope.provider),
            ));
        }
        if resource.map(Resource::as_str) != scope.resource.as_deref() {
            return Err(ProxyError::GrantOutOfScope(
                "grant_wrong_resource",
                "this grant is for another resource of this provider".into(),
            ));
        }
        if !scope::allows_model(&scope.models, model) {
            return Err(ProxyError::GrantOutOfScope(
                "grant_model_not_allowed",
                format!(
                    "this grant allows only the models {}",
                    scope.models.join(", ")
                ),
            ));
        }
        if scope.max_requests.is_some() {
            match store
                .take(self.id)
                .await
                .map_err(|e| store.failed("grant take", &e))?
            {
                Take::Taken(_) => {}
                Take::Exhausted => {
                    return Err(ProxyError::GrantOutOfScope(
                        "grant_exhausted",
                        "this grant has no requests left".into(),
                    ));
                }
                Take::Gone => return Err(ProxyError::InvalidGrant),
            }
        }
        Ok(())
    }
}
