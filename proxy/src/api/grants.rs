//! The grant endpoints:
//!
//! - `POST /byok/grants` with the key in `X-BYOK-Key` and a JSON scope
//!   (`{"provider", "ttl_seconds", "max_requests", "models", "daily_cap_usd"}`): `201` with
//!   `{"token", "id", "expires_at", ...}`.
//! - `GET /byok/grants/{id}` with the grant's token or its key: the scope, `requests_left`
//!   (null when unlimited) and `expires_at`, never the key.
//! - `DELETE /byok/grants/{id}` with the token or the key: revoked, on every instance at once.
//! - `DELETE /byok/grants` with the key: every grant of that key revoked.
//!
//! Times are Unix seconds.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::core::ProxyError;
use crate::core::clock::now_ms;
use crate::core::grant_id::GrantId;
use crate::core::key::KeyFingerprint;
use crate::core::money::usd;
use crate::grants::record::{self, Meta};
use crate::grants::{Token, resolve, scope, token_in};
use crate::http::forward;
use crate::limits::Bucket;
use crate::pipeline::read_all;
use crate::state::AppState;
use crate::store::NewGrant;
use crate::tiers;

/// The largest creation request read.
const MAX_BODY: u64 = 16 * 1024;

/// The caller's own provider key, as a fingerprint; a grant cannot stand in for it here.
fn owner(state: &AppState, headers: &HeaderMap) -> Result<Option<KeyFingerprint>, ProxyError> {
    if token_in(headers).is_some() {
        return Ok(None);
    }
    Ok(forward::user_key(headers)?.map(|key| state.fingerprints.fingerprint(&key)))
}

/// `POST /byok/grants`.
pub async fn create(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let result = async {
        let (parts, body) = request.into_parts();
        if token_in(&parts.headers).is_some() {
            return Err(ProxyError::BadRequest(
                "a grant cannot create grants; send the provider key in X-BYOK-Key".into(),
            ));
        }
        let key = forward::user_key(&parts.headers)?.ok_or(ProxyError::MissingKey)?;
        let owner = state.fingerprints.fingerprint(&key);
        // The grant carries its maker's identity and tier, if a user token says who that is.
        let maker = tiers::identify(&state.settings.plans, &parts.headers, addr.ip())?;
        let maker = tiers::grant_identity(&maker);
        let limits = &state.limits;
        limits.take(&state.store, Bucket::GrantCreateIp(addr.ip())).await?;
        limits.take(&state.store, Bucket::GrantCreateKey(owner)).await?;
        let body = read_all(body, MAX_BODY).await?;
        let now = now_ms() / 1000;
        let scope = scope::parse_request(
            &body,
            |p| state.settings.upstream.serves(p),
            state.settings.grants.max_ttl.as_secs(),
            now,
        )
        .map_err(|e| ProxyError::BadScope(e.field, e.problem))?;
        let token = Token::generate();
        let meta = Meta {
            v: 0,
            id: String::new(),
            kf: owner.to_string(),
            scope,
            created_at: now,
            user: maker.as_ref().map(|u| u.sub.clone()),
            tier: maker.and_then(|u| u.tier),
        };
        let sealed = record::seal(state.settings.secret.seal_key(), &token, &meta, &key);
        drop(key);
        let stored = state
            .store
            .put_grant(NewGrant {
                id: token.id(),
                owner,
                record: &sealed,
                max_requests: meta.scope.max_requests,
                expires_at_ms: meta.expires_at_ms(),
                live_cap: state.settings.grants.max_live_per_key,
            })
            .await
            .map_err(|e| state.store.failed("grant create", &e))?;
        if !stored {
            return Err(ProxyError::TooManyGrants(
                state.settings.grants.max_live_per_key,
            ));
        }
        tracing::info!(grant = %token.id(), provider = %meta.scope.provider, key_fp = %owner, "grant created");
        let mut answer = describe(token.id(), &meta, meta.scope.max_requests.map(u64::from));
        // The one place a token is written out: to the key's owner, in the body.
        answer["token"] = Value::String(secrecy::ExposeSecret::expose_secret(&token.to_text()).to_owned());
        Ok((StatusCode::CREATED, Json(answer)).into_response())
    }
    .await;
    state.finish("grants", result)
}

/// What a grant is, for its holder or owner: never the key, never the token.
fn describe(id: GrantId, meta: &Meta, left: Option<u64>) -> Value {
    let mut described = json!({
        "id": id.to_string(),
        "provider": meta.scope.provider,
        "models": meta.scope.models,
        "max_requests": meta.scope.max_requests,
        "daily_cap_usd": meta.scope.daily_cap_nano_usd.map(usd),
        "requests_left": left,
        "expires_at": meta.scope.expires_at,
        "created_at": meta.created_at,
    });
    if let Some(resource) = &meta.scope.resource {
        described["resource"] = Value::String(resource.clone());
    }
    described
}

/// The grant `id`, if the request holds its token or owns its key.
async fn authorized(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
) -> Result<(GrantId, Meta, Option<u64>), ProxyError> {
    let id: GrantId = id.parse().map_err(|()| ProxyError::InvalidGrant)?;
    if let Some(token) = token_in(headers) {
        if token.as_ref().map(Token::id) != Some(id) {
            return Err(ProxyError::InvalidGrant);
        }
        let resolved = resolve(&state.store, state.settings.secret.seal_key(), token).await?;
        return Ok((id, resolved.meta, resolved.left));
    }
    let owner = owner(state, headers)?.ok_or(ProxyError::InvalidGrant)?;
    let stored = state
        .store
        .grant(id)
        .await
        .map_err(|e| state.store.failed("grant lookup", &e))?
        .ok_or(ProxyError::InvalidGrant)?;
    let meta = record::meta(&stored.record).map_err(|_| ProxyError::InvalidGrant)?;
    if meta.kf != owner.to_string() || meta.id != id.to_string() || !meta.is_live(now_ms()) {
        return Err(ProxyError::InvalidGrant);
    }
    Ok((id, meta, stored.left))
}

/// `GET /byok/grants/{id}`.
pub async fn peek(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        state
            .limits
            .take(&state.store, Bucket::Ip(addr.ip()))
            .await?;
        let (id, meta, left) = authorized(&state, &id, &headers).await?;
        Ok(Json(describe(id, &meta, left)).into_response())
    }
    .await;
    state.finish("grants", result)
}

/// `DELETE /byok/grants/{id}`.
pub async fn revoke(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        state
            .limits
            .take(&state.store, Bucket::Ip(addr.ip()))
            .await?;
        let (id, meta, _) = authorized(&state, &id, &headers).await?;
        let owner: KeyFingerprint = meta.kf.parse().map_err(|()| ProxyError::InvalidGrant)?;
        state
            .store
            .revoke(id, owner)
            .await
            .map_err(|e| state.store.failed("grant revoke", &e))?;
        tracing::info!(grant = %id, "grant revoked");
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    state.finish("grants", result)
}

/// `DELETE /byok/grants`: every grant of the key in `X-BYOK-Key`.
pub async fn revoke_all(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        state
            .limits
            .take(&state.store, Bucket::Ip(addr.ip()))
            .await?;
        if token_in(&headers).is_some() {
            return Err(ProxyError::BadRequest(
                "revoking every grant takes the provider key in X-BYOK-Key".into(),
            ));
        }
        let owner = owner(&state, &headers)?.ok_or(ProxyError::MissingKey)?;
        let revoked = state
            .store
            .revoke_all(owner)
            .await
            .map_err(|e| state.store.failed("grant revoke", &e))?;
        tracing::info!(key_fp = %owner, revoked, "grants revoked");
        Ok(Json(json!({ "revoked": revoked })).into_response())
    }
    .await;
    state.finish("grants", result)
}
