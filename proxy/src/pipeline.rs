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

use std::net::IpAddr;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use http_body_util::BodyExt;
use secrecy::{ExposeSecret, SecretString};

use crate::AppState;
use crate::config::FallbackPolicy;
use crate::error::ProxyError;
use crate::forward;
use crate::grants;
use crate::limits::{Bucket, Slot};
use crate::provider::Provider;
use crate::scrub::scrub;
use crate::tiers::{self, Actor, Caller};
use crate::upstream::{Relay, UpstreamBody};
use crate::usage::{self, Meter, Subject};

/// The header a client sets a daily spend cap for its key in, USD.
pub const DAILY_CAP_HEADER: &str = "x-byok-daily-cap";

/// The response header saying whose key served a request.
pub const KEY_SOURCE_HEADER: &str = "x-byok-key-source";
/// [`KEY_SOURCE_HEADER`] as a name, checked once at compile time rather than per request.
pub(crate) const KEY_SOURCE_NAME: HeaderName = HeaderName::from_static(KEY_SOURCE_HEADER);
/// Error bodies larger than this are cut before scrubbing.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Whose key a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeySource {
    /// The user's, from `X-BYOK-Key`.
    User,
    /// The operator's, from `BYOK_SERVER_KEY_*`.
    Server,
    /// The user's, sealed in a grant.
    Grant,
}

impl KeySource {
    /// The header and metrics value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Server => "server",
            Self::Grant => "grant",
        }
    }
}

/// A request body: still arriving, or already read (unified routes, retries).
#[derive(Debug)]
pub enum InBody {
    /// Streamed from the client.
    Streaming(Body),
    /// Fully read.
    Ready(Bytes),
}

/// A request on its way to a provider.
#[derive(Debug)]
pub struct Outbound {
    /// The provider.
    pub provider: Provider,
    /// Path and query to append to the provider's base URL (already validated).
    pub target: String,
    /// The client's method, URI and headers.
    pub parts: Parts,
    /// The client's body.
    pub body: InBody,
    /// The client's address.
    pub client_ip: IpAddr,
    /// The model, as the provider knows it, when the route already read it (unified routes).
    pub model: Option<String>,
    /// Remove the final usage chunk from the answer: the proxy asked for it, not the client.
    pub strip_usage: bool,
}

/// The key chosen for a request, and the server key to retry with after a rejection.
struct KeyChoice {
    key: SecretString,
    source: KeySource,
    retry_with: Option<SecretString>,
    /// The grant the key came from.
    grant: Option<grants::Resolved>,
}

async fn choose_key(
    state: &AppState,
    provider: Provider,
    headers: &HeaderMap,
    caller: &Caller,
) -> Result<KeyChoice, ProxyError> {
    if let Some(token) = grants::token_in(headers) {
        // A grant never falls back to the server key.
        let mut grant = grants::resolve(state, token).await?;
        return Ok(KeyChoice {
            key: std::mem::replace(&mut grant.key, SecretString::from(String::new())),
            source: KeySource::Grant,
            retry_with: None,
            grant: Some(grant),
        });
    }
    let user = forward::user_key(headers)?;
    let policy = state
        .settings
        .fallback
        .get(&provider)
        .copied()
        .unwrap_or_default();
    let server = (policy != FallbackPolicy::Off && caller.trusted)
        .then(|| state.settings.server_keys.get(&provider).cloned())
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

async fn read_body(
    body: InBody,
    headers: &HeaderMap,
    limit: u64,
    buffer: bool,
) -> Result<InBody, ProxyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ProxyError::BodyTooLarge(limit));
    }
    match body {
        InBody::Ready(bytes) => Ok(InBody::Ready(bytes)),
        // A declared length within the limit streams straight through (hyper holds the client
        // to it); anything else is read first so an oversized body never reaches a provider.
        InBody::Streaming(body) if declared.is_some() && !buffer => Ok(InBody::Streaming(body)),
        InBody::Streaming(body) => read_all(body, limit).await.map(InBody::Ready),
    }
}

/// Reads a whole request body of at most `limit` bytes.
///
/// # Errors
///
/// [`ProxyError::BodyTooLarge`] past the limit; [`ProxyError::MalformedBody`] when the body
/// cannot be read at all (broken chunked encoding, the client went away).
pub(crate) async fn read_all(body: Body, limit: u64) -> Result<Bytes, ProxyError> {
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    axum::body::to_bytes(body, limit_usize).await.map_err(|e| {
        let too_large = e
            .into_inner()
            .downcast_ref::<http_body_util::LengthLimitError>()
            .is_some();
        if too_large {
            ProxyError::BodyTooLarge(limit)
        } else {
            ProxyError::MalformedBody
        }
    })
}

/// Runs the pipeline for one request.
///
/// # Errors
///
/// Our own failures; provider errors come back as responses (scrubbed).
pub async fn forward(state: &AppState, out: Outbound) -> Result<Response, ProxyError> {
    let Outbound {
        provider,
        target,
        mut parts,
        body,
        client_ip,
        model,
        strip_usage,
    } = out;
    if !state.settings.upstreams.contains_key(&provider) {
        return Err(ProxyError::UnknownProvider(provider.id().into()));
    }
    // The key and its limit run beside the address's limit: with a shared store each is a
    // round trip, so a plain request waits for one, a grant for two (its record, its limit).
    let mut caller = tiers::identify(state, &parts.headers, client_ip)?;
    let keyed = async {
        let choice = choose_key(state, provider, &parts.headers, &caller).await?;
        let fingerprint = state.fingerprints.fingerprint(&choice.key);
        let limit = state.rate_limit(Bucket::Key(fingerprint));
        match daily_cap(&parts.headers, choice.grant.as_ref())? {
            Some(cap) => {
                let subject = Subject::Key(fingerprint);
                let capped = usage::check_cap(state, &subject, cap);
                let (limited, capped) = tokio::join!(limit, capped);
                limited.and(capped)?;
            }
            None => limit.await?,
        }
        Ok::<_, ProxyError>((choice, fingerprint))
    };
    let (keyed, by_address) = tokio::join!(keyed, state.rate_limit(Bucket::Ip(client_ip)));
    let (choice, fingerprint) = keyed?;
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
    let tier = caller.tier(state);

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
        (None, InBody::Ready(bytes)) => grants::scope::requested_model(provider, &target, bytes),
        (None, InBody::Streaming(_)) if provider == Provider::Gemini => {
            grants::scope::requested_model(provider, &target, b"")
        }
        (None, InBody::Streaming(_)) => None,
    };
    if let Some(tier) = tier {
        tiers::check_model(tier, provider, model.as_deref())?;
        if choice.source == KeySource::Server {
            tiers::check_server_budget(state, &caller, tier).await?;
        }
    }
    if let Some(grant) = &choice.grant {
        grant.admit(state, provider, model.as_deref()).await?;
        tracing::info!(grant = %grant.id, "grant admitted");
    }
    if let Some(tier) = tier {
        tiers::count_request(state, &caller, tier, provider).await?;
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
            let (tap, model) = usage::tap::ModelTap::new(body);
            usage_model = usage::Model::Tapped(model);
            (Body::new(tap), None)
        }
        InBody::Streaming(body) => (body, None),
    };
    crate::provider::authorize(provider, &mut headers, &choice.key)?;

    let mut source = choice.source;
    let mut used_key = choice.key;
    let first_headers = if buffer {
        headers.clone()
    } else {
        std::mem::take(&mut headers)
    };
    let mut upstream = send(state, provider, &parts.method, &target, first_headers, body).await?;
    if let (Some(server_key), Some(body)) = (choice.retry_with, retry_body)
        && matches!(
            upstream.status(),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        )
        // The app's key stands in only within the tier's budget on it.
        && match tier {
            Some(tier) => tiers::check_server_budget(state, &caller, tier).await.is_ok(),
            None => true,
        }
    {
        tracing::info!(provider = %provider, key_fp = %fingerprint, status = upstream.status().as_u16(), "user key rejected; retrying with the server key");
        drop(upstream);
        crate::provider::authorize(provider, &mut headers, &server_key)?;
        upstream = send(
            state,
            provider,
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
        (usage_model, subjects)
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

/// The daily cap on the key: the grant's and the client's `X-BYOK-Daily-Cap`, the lower.
fn daily_cap(
    headers: &HeaderMap,
    grant: Option<&grants::Resolved>,
) -> Result<Option<f64>, ProxyError> {
    let asked = headers
        .get(DAILY_CAP_HEADER)
        .map(|v| usage::parse_cap(v.to_str().unwrap_or("?")))
        .transpose()?;
    let granted = grant
        .and_then(|g| g.meta.scope.daily_cap_nano_usd)
        .map(usage::counts::usd);
    Ok(match (asked, granted) {
        (Some(a), Some(g)) => Some(a.min(g)),
        (a, g) => a.or(g),
    })
}

async fn send(
    state: &AppState,
    provider: Provider,
    method: &Method,
    target: &Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<hyper::Response<UpstreamBody>, ProxyError> {
    let mut request = hyper::Request::new(body);
    *request.method_mut() = method.clone();
    *request.uri_mut() = target.clone();
    *request.headers_mut() = headers;
    let started = Instant::now();
    let sent = tokio::time::timeout_at(
        (started + state.settings.first_byte_timeout).into(),
        state.client.send(provider, request),
    )
    .await;
    let response = match sent {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            // hyper's errors name the failure (connect, TLS, reset), never the URI or a header.
            tracing::warn!(provider = %provider, error = %error_chain(&*e), "upstream failed");
            let too_large = e
                .downcast_ref::<hyper::Error>()
                .is_some_and(hyper::Error::is_parse_too_large);
            return Err(if too_large {
                ProxyError::UpstreamHeadTooLarge
            } else {
                ProxyError::UpstreamUnreachable
            });
        }
        Err(_) => {
            tracing::warn!(provider = %provider, "upstream first-byte timeout");
            return Err(ProxyError::FirstByteTimeout);
        }
    };
    state.counters.upstream_latency(provider, started.elapsed());
    if response.status().is_redirection() {
        tracing::warn!(provider = %provider, status = response.status().as_u16(), "upstream redirect refused");
        return Err(ProxyError::UpstreamRedirect);
    }
    Ok(response)
}

/// An error and its sources, one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn respond(
    state: &AppState,
    provider: Provider,
    upstream: hyper::Response<UpstreamBody>,
    (source, key): (KeySource, SecretString),
    slot: Slot,
    metering: Option<(usage::Model, Vec<Subject>)>,
    strip_usage: bool,
) -> Result<Response, ProxyError> {
    let (parts, upstream) = upstream.into_parts();
    let status = parts.status;
    let mut headers = forward::response_headers(parts.headers, key.expose_secret());
    headers.insert(KEY_SOURCE_NAME, HeaderValue::from_static(source.as_str()));
    let body = if status.is_client_error() || status.is_server_error() {
        // Error bodies are small and may echo the key: read, scrub, then send. One in an
        // encoding (gzip, ...) cannot be checked as text: it is withheld, never passed broken.
        let encoded = headers
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"));
        let raw = read_capped(upstream, state.settings.idle_timeout).await;
        let clean = if encoded {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            withheld(status)
        } else {
            scrub(&String::from_utf8_lossy(&raw), Some(key.expose_secret()))
        };
        headers.remove(header::CONTENT_LENGTH);
        headers.remove(header::CONTENT_ENCODING);
        state.counters.bytes(provider, clean.len());
        Body::from(clean)
    } else {
        // Error answers count toward rate limits only; usage counts successful ones.
        let meter = metering
            .filter(|_| status.is_success())
            .map(|(model, subjects)| {
                let content_type = headers
                    .get(header::CONTENT_TYPE)
                    .map_or(&b""[..], HeaderValue::as_bytes);
                Meter::new(state, provider, content_type, model, source, subjects)
            });
        let relay = Relay::new(state, provider, upstream, key, slot, meter);
        if strip_usage {
            headers.remove(header::CONTENT_LENGTH);
            Body::new(relay.strip_usage_chunk())
        } else {
            Body::new(relay)
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// What replaces an encoded error body: the status stays, the reason is said.
fn withheld(status: StatusCode) -> String {
    serde_json::json!({ "error": {
        "message": format!(
            "the provider answered with status {} and a compressed body, which the proxy \
             withholds because it cannot check it for keys",
            status.as_u16()
        ),
        "type": "upstream_error",
        "code": "upstream_error_withheld",
    } })
    .to_string()
}

async fn read_capped(mut body: UpstreamBody, idle: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(idle, body.frame()).await {
        if let Ok(data) = frame.into_data() {
            out.extend_from_slice(&data);
            if out.len() >= MAX_ERROR_BODY {
                out.truncate(MAX_ERROR_BODY);
                break;
            }
        }
    }
    out
}
