//! `GET /byok/models`: the priced models, whether the caller's tier allows each, and whether
//! the app's key would serve it for this caller.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::limits::Bucket;
use crate::state::AppState;
use crate::tiers;

/// `GET /byok/models`.
pub async fn models(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let result = async {
        state.limits.take(&state.store, Bucket::Ip(addr.ip())).await?;
        let plans = &state.settings.plans;
        let caller = tiers::identify(plans, &parts.headers, addr.ip())?;
        let tier = caller.tier(plans);
        let list: Vec<_> = state
            .settings
            .prices
            .exact_models()
            .filter(|price| state.settings.upstream.serves(price.provider))
            .map(|price| {
                let allowed = tier.is_none_or(|t| t.allows(price.provider, Some(&price.model)));
                let fallback = state.settings.server_keys.offers(price.provider);
                json!({
                    "provider": price.provider,
                    "model": price.model,
                    "allowed": allowed,
                    "server_key": allowed && fallback && caller.trusted,
                    "price_checked": price.checked,
                })
            })
            .collect();
        Ok(Json(json!({ "models": list, "tier": tier.map(|t| &t.name), "prices_source": state.settings.prices.source })).into_response())
    }
    .await;
    state.finish("models", result)
}
