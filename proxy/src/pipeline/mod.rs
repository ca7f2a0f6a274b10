//! The request path, as one pipeline:
//!
//! 1. who the request acts for (an app token, a user token in `X-BYOK-User`, a grant's maker,
//!    or an anonymous address) and so its tier; then the key: a grant's (its token where a key
//!    goes: the grant is opened from the store), the user's `X-BYOK-Key`, or a server key where
//!    policy allows and the app or its user is asking;
//! 2. rate limits (in the shared store when there is one), the key's daily spend cap
//!    (`X-BYOK-Daily-Cap`, or the grant's), and the concurrency cap;
//! 3. the request body, refusing one over the limit before contacting anyone; the model it
//!    names (from the route, the path, the body read, or noted as a streamed body goes up);
//! 4. a grant's scope: its provider, its models (from the route or the body), then one of its
//!    requests taken, atomically across instances; the tier: its models, its budget on the
//!    app's key, and (last, so only forwarded requests count) its requests per hour;
//! 5. send to the provider's base URL with its auth header, no redirects, first-byte timeout;
//!    retry once with the server key after a 401/403 when the policy says so;
//! 6. stream the answer back untouched (errors scrubbed of keys first), with an idle timeout;
//!    a successful answer to a `POST` is read for usage on the way, and counted when it ends
//!    (see [`crate::usage`]).
//!
//! Each step's parts have a file of their own: [`outbound`] (what the routes hand over),
//! [`key`] (step 1's key, step 2's caps and the budgets alerts watch), [`body`] (step 3), [`send`] (step 5), [`respond`] and
//! [`relay`] (step 6).

mod body;
mod key;
mod outbound;
mod relay;
mod respond;
mod send;

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;

pub use body::{read_all, read_whole};
pub use outbound::{InBody, Outbound};

use self::body::read_body;
use self::key::{choose_key, daily_caps, watches};
use self::respond::respond;
use self::send::send;
use crate::core::key::KeySource;
use crate::core::ledger::Subject;
use crate::core::model::requested_model;
use crate::core::{Provider, ProxyError};
use crate::http::forward;
use crate::limits::Bucket;
use crate::state::AppState;
use crate::tiers::{self, Actor, Caller};
use crate::usage::caps::check_cap;
use crate::usage::{self, tap::ModelTap};

/// Runs the pipeline for one request.
///
/// # Errors
///
/// Our own failures; provider errors come back as responses (scrubbed).
pub async fn forward(state: &AppState, out: Outbound) -> Result<Response, ProxyError> {
    let Outbound {
        provider,
        resource,
        target,
        mut parts,
        body,
        client_ip,
        model,
        strip_usage,
    } = out;
    if !state.settings.upstream.serves(provider) {
        return Err(ProxyError::UnknownProvider(provider.id().into()));
    }
    if provider.needs_resource() != resource.is_some() {
        return Err(ProxyError::BadResource(provider.id()));
    }
    let upstream_at = (provider, resource.as_ref());
    // The key and its limit run beside the address's limit: with a shared store each is a
    // round trip, so a plain request waits for one, a grant for two (its record, its limit).
    let mut caller = tiers::identify(&state.settings.plans, &parts.headers, client_ip)?;
    let keyed = async {
        let choice = choose_key(state, provider, &parts.headers, &caller).await?;
        let fingerprint = state.fingerprints.fingerprint(&choice.key);
        let limit = state.limits.take(&state.store, Bucket::Key(fingerprint));
        let caps = daily_caps(&parts.headers, choice.grant.as_ref())?;
        match caps.effective() {
            Some(cap) => {
                let subject = Subject::Key(fingerprint);
                let capped = check_cap(&state.store, &subject, cap);
                let (limited, capped) = tokio::join!(limit, capped);
                limited.and(capped)?;
            }
            None => limit.await?,
        }
        Ok::<_, ProxyError>((choice, fingerprint, caps))
    };
    // The address's limit is built inside `join!`: bound to a local first, its 1 KiB future is
    // copied once more (~850 instructions a request, `bench/instructions.sh`).
    let (keyed, by_address) = tokio::join!(
        keyed,
        state.limits.take(&state.store, Bucket::Ip(client_ip))
    );
    let (choice, fingerprint, caps) = keyed?;
    by_address?;
    let slot = state.slots.try_take().ok_or(ProxyError::AtCapacity)?;
    if let Some(grant) = &choice.grant {
        // A grant acts for whoever made it, whatever else the job sends.
        caller = Caller {
            actor: match (&grant.meta.user, &grant.meta.tier) {
                (Some(sub), tier) => Actor::User(tiers::User {
                    sub: sub.clone(),
                    tier: tier.clone(),
                }),
                (None, _) => Actor::AnonymousGrant(grant.id),
            },
            trusted: false,
        };
    }
    let tier = caller.tier(&state.settings.plans);

    // A grant limited to some models needs the model, which a pass-through request names in
    // its body (or, for Gemini, its path).
    let needs_model = choice
        .grant
        .as_ref()
        .is_some_and(|g| !g.meta.scope.models.is_empty() && model.is_none());
    let needs_model = needs_model || tier.is_some_and(|t| t.limits_models()) && model.is_none();
    let buffer = choice.retry_with.is_some() || needs_model;
    let body = read_body(body, &parts.headers, state.settings.body_limit, buffer).await?;
    // The model, where it is known before sending: a streamed body's is Gemini's (its path).
    let model = match (model, &body) {
        (Some(model), _) => Some(model),
        (None, InBody::Ready(bytes)) => requested_model(provider, &target, bytes),
        (None, InBody::Streaming(_)) if provider == Provider::Gemini => {
            requested_model(provider, &target, b"")
        }
        (None, InBody::Streaming(_)) => None,
    };
    if let Some(tier) = tier {
        tiers::check_model(tier, provider, model.as_deref())?;
        if choice.source == KeySource::Server {
            tiers::check_server_budget(&state.store, &caller, tier).await?;
        }
    }
    if let Some(grant) = &choice.grant {
        grant
            .admit(&state.store, upstream_at, model.as_deref())
            .await?;
        tracing::info!(grant = %grant.id, "grant admitted");
    }
    if let Some(tier) = tier {
        tiers::count_request(&state.store, &caller, tier, provider).await?;
    }
    let metered = parts.method == Method::POST;
    // A validated path and query, below the provider's base URL.
    let target = Uri::try_from(target).map_err(|_| ProxyError::BadPath)?;
    // `Content-Length` passes: a streamed body keeps its declared length, so it goes up
    // unchunked, as sent (hyper has already dropped it if `Transfer-Encoding` came too).
    let mut headers = forward::request_headers(std::mem::take(&mut parts.headers));
    let mut usage_model = model.map_or(usage::Model::Unknown, usage::Model::Known);
    let (body, retry_body) = match body {
        InBody::Ready(bytes) => {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            // Cloning `Bytes` shares the buffer; only a retry would send it again.
            let retry = buffer.then(|| bytes.clone());
            (Body::from(bytes), retry)
        }
        InBody::Streaming(body) if metered && matches!(usage_model, usage::Model::Unknown) => {
            let (tap, model) = ModelTap::new(body);
            usage_model = usage::Model::Tapped(model);
            (Body::new(tap), None)
        }
        InBody::Streaming(body) => (body, None),
    };
    forward::authorize(provider, &mut headers, &choice.key)?;

    let mut source = choice.source;
    let mut used_key = choice.key;
    let first_headers = if buffer {
        headers.clone()
    } else {
        std::mem::take(&mut headers)
    };
    let mut upstream = send(
        state,
        upstream_at,
        &parts.method,
        &target,
        first_headers,
        body,
    )
    .await?;
    if let (KeySource::User, Actor::User(user), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) =
        (choice.source, &caller.actor, upstream.status())
    {
        let status = upstream.status().as_u16();
        // A streamed body's model is known by now: it went up before the answer came.
        let model = usage_model.name();
        state.alerts.key_rejected(
            &state.store,
            &user.sub,
            fingerprint,
            provider,
            model.as_deref(),
            status,
        );
    }
    if let (Some(server_key), Some(body)) = (choice.retry_with, retry_body)
        && matches!(
            upstream.status(),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        )
        // The app's key stands in only within the tier's budget on it.
        && match tier {
            Some(tier) => tiers::check_server_budget(&state.store, &caller, tier)
                .await
                .is_ok(),
            None => true,
        }
    {
        tracing::info!(provider = %provider, key_fp = %fingerprint, status = upstream.status().as_u16(), "user key rejected; retrying with the server key");
        drop(upstream);
        forward::authorize(provider, &mut headers, &server_key)?;
        upstream = send(
            state,
            upstream_at,
            &parts.method,
            &target,
            headers,
            body.into(),
        )
        .await?;
        source = KeySource::Server;
        used_key = server_key;
    }
    tracing::info!(
        provider = %provider,
        path = %target.path(),
        status = upstream.status().as_u16(),
        key_source = source.as_str(),
        key_fp = %fingerprint,
        "upstream answered"
    );
    let metering = metered.then(|| {
        let used = if source == choice.source {
            fingerprint
        } else {
            state.fingerprints.fingerprint(&used_key)
        };
        let mut subjects = vec![Subject::Key(used)];
        subjects.extend(choice.grant.as_ref().map(|g| Subject::Grant(g.id)));
        subjects.extend(caller.subject());
        let watches = if state.alerts.is_on() {
            watches(
                caps,
                &caller,
                tier,
                choice.grant.as_ref(),
                source,
                fingerprint,
            )
        } else {
            Vec::new()
        };
        (usage_model, subjects, watches)
    });
    respond(
        state,
        provider,
        upstream,
        (source, used_key),
        slot,
        metering,
        strip_usage,
    )
    .await
}
