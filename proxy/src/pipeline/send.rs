//! One request to a provider: sent through this worker's client, its first byte awaited
//! within the timeout, a redirect refused.

use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Uri};

use crate::core::{Provider, ProxyError, Resource};
use crate::http::UpstreamBody;
use crate::state::AppState;

/// Sends one request to `provider` (at `resource`, for Azure): within the first-byte timeout,
/// a redirect refused.
pub(super) async fn send(
    state: &AppState,
    (provider, resource): (Provider, Option<&Resource>),
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
        state.client.send(provider, resource, request),
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
