//! `GET /byok/models`: the priced models, whether the caller's tier allows each, and whether
//! the app's key would serve it for this caller.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;
use crate::config::FallbackPolicy;
use crate::limits::Bucket;

/// `GET /byok/models`.
pub async fn models(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let result = async {
        state.rate_limit(Bucket::Ip(addr.ip())).await?;
        let caller = super::identify(&state, &parts.headers, addr.ip())?;
        let tier = caller.tier(&state);
        let list: Vec<_> = state
            .settings
            .prices
            .exact_models()
            .filter(|price| state.settings.upstreams.contains_key(&price.provider))
            .map(|price| {
                let allowed = tier.is_none_or(|t| t.allows(price.provider, Some(&price.model)));
                let fallback = state
                    .settings
                    .fallback
                    .get(&price.provider)
                    .is_some_and(|p| *p != FallbackPolicy::Off)
                    && state.settings.server_keys.contains_key(&price.provider);
                json!({
                    "provider": price.provider,
                    "model": price.model,
                    "allowed": allowed,
                    "server_key": allowed && fallback && caller.trusted,
                })
            })
            .collect();
        Ok(Json(json!({ "models": list, "tier": tier.map(|t| &t.name), "prices_source": state.settings.prices.source })).into_response())
    }
    .await;
    state.finish("models", result)
}
