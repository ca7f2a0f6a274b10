//! `GET /byok/usage`: today's and the last 30 days' usage of whoever asks: with a grant token,
//! that grant; with a user token (`X-BYOK-User`), that user; with `X-BYOK-Key`, that key; with
//! an app token, the user named by `?user=<sub>`. Never a key or a fingerprint in the answer.
//! `?by=source` adds each day's split by provider and key source (`sources`), for charts.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};

use crate::core::ProxyError;
use crate::core::clock::today;
use crate::core::ledger::Subject;
use crate::grants;
use crate::http::forward;
use crate::limits::Bucket;
use crate::state::AppState;
use crate::tiers;
use crate::usage::report::Report;

/// Days in an answer, today included.
const DAYS: u64 = 30;

/// `GET /byok/usage`.
pub async fn usage(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let result = async {
        let (parts, _) = request.into_parts();
        let query = |wanted: &str| {
            parts.uri.query().and_then(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .find(|(name, _)| name == wanted)
                    .map(|(_, value)| value.into_owned())
            })
        };
        let named = query("user");
        let by_source = query("by").is_some_and(|by| by == "source");
        let plans = &state.settings.plans;
        let app = plans.is_app(&parts.headers);
        if named.is_some() && !app {
            return Err(ProxyError::Forbidden(
                "only the app (with an app token) may ask for another user's usage".into(),
            ));
        }
        state
            .limits
            .take(&state.store, Bucket::Ip(addr.ip()))
            .await?;
        let caller = tiers::identify(plans, &parts.headers, addr.ip())?;
        let subject = if let Some(token) = grants::token_in(&parts.headers) {
            let seal_key = state.settings.secret.seal_key();
            Subject::Grant(grants::resolve(&state.store, seal_key, token).await?.id)
        } else if let Some(sub) = named.filter(|s| !s.is_empty()) {
            Subject::User(sub)
        } else if let Some(user) = caller.subject() {
            user
        } else {
            let key = forward::user_key(&parts.headers)?.ok_or(ProxyError::MissingKey)?;
            Subject::Key(state.fingerprints.fingerprint(&key))
        };
        let today = today();
        let days = state
            .store
            .usage(&subject, today + 1 - DAYS..=today)
            .await
            .map_err(|e| state.store.failed("usage read", &e))?;
        Ok(Json(Report::build(today, &days, by_source)).into_response())
    }
    .await;
    state.finish("usage", result)
}
