//! The request path, as one pipeline:
//!
//! 1. pick the key (the user's `X-BYOK-Key`, or a server key where policy and app auth allow);
//! 2. rate limits and the concurrency cap;
//! 3. the request body, refusing one over the limit before contacting anyone;
//! 4. send to the provider's base URL with its auth header, no redirects, first-byte timeout;
//!    retry once with the server key after a 401/403 when the policy says so;
//! 5. stream the answer back untouched (errors scrubbed of keys first), with an idle timeout.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use futures_util::{Stream, StreamExt};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OwnedSemaphorePermit;

use crate::AppState;
use crate::config::FallbackPolicy;
use crate::error::ProxyError;
use crate::forward;
use crate::provider::Provider;
use crate::scrub::scrub;

/// The response header saying whose key served a request.
pub const KEY_SOURCE_HEADER: &str = "x-byok-key-source";
/// Error bodies larger than this are cut before scrubbing.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Whose key a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The user's, from `X-BYOK-Key`.
    User,
    /// The operator's, from `BYOK_SERVER_KEY_*`.
    Server,
}

impl KeySource {
    /// The header and metrics value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Server => "server",
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
}

/// The key chosen for a request, and the server key to retry with after a rejection.
struct KeyChoice {
    key: SecretString,
    source: KeySource,
    retry_with: Option<SecretString>,
}

fn choose_key(
    state: &AppState,
    provider: Provider,
    headers: &HeaderMap,
) -> Result<KeyChoice, ProxyError> {
    let user = forward::user_key(headers)?;
    let policy = state
        .settings
        .fallback
        .get(&provider)
        .copied()
        .unwrap_or_default();
    let server = (policy != FallbackPolicy::Off && state.is_app(headers))
        .then(|| state.settings.server_keys.get(&provider).cloned())
        .flatten();
    match (user, server) {
        (Some(key), server) => Ok(KeyChoice {
            key,
            source: KeySource::User,
            retry_with: server.filter(|_| policy == FallbackPolicy::WhenMissingOrRejected),
        }),
        (None, Some(key)) => Ok(KeyChoice {
            key,
            source: KeySource::Server,
            retry_with: None,
        }),
        (None, None) => Err(ProxyError::MissingKey),
    }
}

async fn read_body(
    body: InBody,
    headers: &HeaderMap,
    limit: u64,
    buffer: bool,
) -> Result<reqwest::Body, ProxyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ProxyError::BodyTooLarge(limit));
    }
    match body {
        InBody::Ready(bytes) => Ok(bytes.into()),
        // A declared length within the limit streams straight through (hyper holds the client
        // to it); anything else is read first so an oversized body never reaches a provider.
        InBody::Streaming(body) if declared.is_some() && !buffer => {
            Ok(reqwest::Body::wrap_stream(body.into_data_stream()))
        }
        InBody::Streaming(body) => {
            let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
            axum::body::to_bytes(body, limit_usize)
                .await
                .map(reqwest::Body::from)
                .map_err(|_| ProxyError::BodyTooLarge(limit))
        }
    }
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
        parts,
        body,
        client_ip,
    } = out;
    let base = state
        .settings
        .upstreams
        .get(&provider)
        .ok_or_else(|| ProxyError::UnknownProvider(provider.id().into()))?;
    let choice = choose_key(state, provider, &parts.headers)?;
    let fingerprint = state.fingerprints.fingerprint(&choice.key);
    let now = Instant::now();
    state
        .ip_limiter
        .check(client_ip, now)
        .map_err(ProxyError::RateLimited)?;
    state
        .key_limiter
        .check(fingerprint.clone(), now)
        .map_err(ProxyError::RateLimited)?;
    let permit = state
        .slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| ProxyError::AtCapacity)?;

    let buffer = choice.retry_with.is_some();
    let body = read_body(body, &parts.headers, state.settings.body_limit, buffer).await?;
    let retry_body = if buffer {
        body.as_bytes().map(Bytes::copy_from_slice)
    } else {
        None
    };
    let url = format!("{base}{target}");
    let mut headers = forward::request_headers(&parts.headers);
    if let Some(length) = body.as_bytes().map(<[u8]>::len) {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    } else if let Some(length) = parts.headers.get(header::CONTENT_LENGTH) {
        // A streamed body keeps its declared length, so it goes up unchunked, as sent.
        headers.insert(header::CONTENT_LENGTH, length.clone());
    }
    provider.authorize(&mut headers, &choice.key)?;

    let mut source = choice.source;
    let mut used_key = choice.key;
    let first_headers = if buffer {
        headers.clone()
    } else {
        std::mem::take(&mut headers)
    };
    let mut upstream = send(state, provider, &parts.method, &url, first_headers, body).await?;
    if let (Some(server_key), Some(body)) = (choice.retry_with, retry_body)
        && matches!(
            upstream.status(),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        )
    {
        tracing::info!(provider = %provider, key_fp = %fingerprint, status = upstream.status().as_u16(), "user key rejected; retrying with the server key");
        drop(upstream);
        provider.authorize(&mut headers, &server_key)?;
        upstream = send(state, provider, &parts.method, &url, headers, body.into()).await?;
        source = KeySource::Server;
        used_key = server_key;
    }
    tracing::info!(
        provider = %provider,
        path = %target.split('?').next().unwrap_or_default(),
        status = upstream.status().as_u16(),
        key_source = source.as_str(),
        key_fp = %fingerprint,
        "upstream answered"
    );
    respond(state, provider, upstream, source, &used_key, permit).await
}

async fn send(
    state: &AppState,
    provider: Provider,
    method: &Method,
    url: &str,
    headers: HeaderMap,
    body: reqwest::Body,
) -> Result<reqwest::Response, ProxyError> {
    let request = state
        .client
        .request(method.clone(), url)
        .headers(headers)
        .body(body)
        .build()
        .map_err(|e| {
            tracing::warn!(provider = %provider, error = %e.without_url(), "could not build the upstream request");
            ProxyError::BadPath
        })?;
    let started = Instant::now();
    let response = tokio::time::timeout(
        state.settings.first_byte_timeout,
        state.client.execute(request),
    )
    .await
    .map_err(|_| {
        tracing::warn!(provider = %provider, "upstream first-byte timeout");
        ProxyError::FirstByteTimeout
    })?
    .map_err(|e| {
        tracing::warn!(provider = %provider, error = %e.without_url(), "upstream unreachable");
        ProxyError::UpstreamUnreachable
    })?;
    state.metrics.upstream_latency(provider, started.elapsed());
    if response.status().is_redirection() {
        tracing::warn!(provider = %provider, status = response.status().as_u16(), "upstream redirect refused");
        return Err(ProxyError::UpstreamRedirect);
    }
    Ok(response)
}

async fn respond(
    state: &AppState,
    provider: Provider,
    upstream: reqwest::Response,
    source: KeySource,
    key: &SecretString,
    permit: OwnedSemaphorePermit,
) -> Result<Response, ProxyError> {
    let status = upstream.status();
    let mut headers = forward::response_headers(upstream.headers());
    headers.insert(KEY_SOURCE_HEADER, HeaderValue::from_static(source.as_str()));
    let body = if status.is_client_error() || status.is_server_error() {
        // Error bodies are small and may echo the key: read, scrub, then send.
        let raw = read_capped(upstream, state.settings.idle_timeout).await;
        let clean = scrub(&String::from_utf8_lossy(&raw), Some(key.expose_secret()));
        headers.remove(header::CONTENT_LENGTH);
        headers.remove(header::CONTENT_ENCODING);
        state.metrics.bytes(provider, clean.len());
        Body::from(clean)
    } else {
        Body::from_stream(relay(state.clone(), provider, upstream, permit))
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

async fn read_capped(upstream: reqwest::Response, idle: Duration) -> Vec<u8> {
    let mut stream = upstream.bytes_stream();
    let mut out = Vec::new();
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout(idle, stream.next()).await {
        out.extend_from_slice(&chunk);
        if out.len() >= MAX_ERROR_BODY {
            out.truncate(MAX_ERROR_BODY);
            break;
        }
    }
    out
}

/// The provider's body as it arrives, chunk for chunk, ending with an error after an idle gap
/// longer than the idle timeout. Dropping it (the client went away) drops the upstream
/// response, which closes that connection and so cancels the provider's work.
fn relay(
    state: AppState,
    provider: Provider,
    upstream: reqwest::Response,
    permit: OwnedSemaphorePermit,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let idle = state.settings.idle_timeout;
    let stream = upstream.bytes_stream();
    futures_util::stream::unfold(Some((stream, state, permit)), move |slot| async move {
        let (mut stream, state, permit) = slot?;
        match tokio::time::timeout(idle, stream.next()).await {
            Ok(Some(Ok(chunk))) => {
                state.metrics.bytes(provider, chunk.len());
                Some((Ok(chunk), Some((stream, state, permit))))
            }
            Ok(None) => None,
            Ok(Some(Err(e))) => {
                tracing::warn!(provider = %provider, error = %e.without_url(), "upstream stream failed");
                Some((Err(std::io::Error::other("upstream stream failed")), None))
            }
            Err(_) => {
                tracing::warn!(provider = %provider, idle_ms = idle.as_millis() as u64, "upstream stream idle too long");
                Some((
                    Err(std::io::Error::other("upstream stream idle timeout")),
                    None,
                ))
            }
        }
    })
}
