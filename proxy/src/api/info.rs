//! What the proxy says of itself: `GET /byok/providers`, `GET /byok/embed`,
//! `GET /byok/seal-key`, `GET /healthz`, `GET /metrics`.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::core::clock::now_ms;
use crate::seal::MAX_SKEW_SECS;
use crate::state::AppState;

/// `GET /byok/providers`: the providers served, and whether the app's key may serve each.
pub(super) async fn providers(State(state): State<AppState>) -> Json<Value> {
    let list: Vec<Value> = state
        .settings
        .upstream
        .base_urls
        .keys()
        .map(|p| {
            let mut entry = json!({ "id": p, "server_key": state.settings.server_keys.offers(*p) });
            if p.needs_resource() {
                // Requests name the user's resource: `/{id}/<resource>/...`.
                entry["resource"] = Value::Bool(true);
            }
            entry
        })
        .collect();
    Json(json!({ "providers": list }))
}

/// `GET /healthz`: always 200 while the process serves; `degraded: ...` when the shared store
/// cannot be reached (plain key requests still flow; grants do not).
pub(super) async fn healthz(State(state): State<AppState>) -> String {
    match state.store.ping().await {
        Ok(()) => "ok".to_owned(),
        Err(why) => format!("degraded: {why}"),
    }
}

/// `GET /metrics`: the Prometheus text, every worker's counters added up.
pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        Body::from(state.metrics.render(|id| state.settings.prices.name(id))),
    )
        .into_response()
}

/// `GET /byok/embed`: the app origins that may embed the vault (`BYOK_EMBED_ORIGINS`), which the
/// embed document checks every message against. Public: its own `frame-ancestors` says as much.
/// Any page may read it (the client library asks before framing the vault).
pub(super) async fn embed(State(state): State<AppState>) -> Response {
    (
        [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")],
        Json(json!({ "origins": state.settings.embed_origins })),
    )
        .into_response()
}

/// `GET /byok/seal-key`: the public keys a request's key may be sealed to (see
/// [`crate::seal`]). Public and the same for every caller; cacheable for a minute, well inside
/// the period for which a listed key stays accepted.
pub(super) async fn seal_key(State(state): State<AppState>) -> Response {
    (
        [
            (header::CACHE_CONTROL, "public, max-age=60"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        Json(state.seal_keys.config(now_ms() / 1000, MAX_SKEW_SECS)),
    )
        .into_response()
}
