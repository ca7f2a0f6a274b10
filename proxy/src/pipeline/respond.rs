//! The answer: headers filtered and scrubbed, an error body scrubbed whole, a successful body
//! relayed (see [`super::relay`]) and metered.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use secrecy::{ExposeSecret, SecretString};

use super::relay::Relay;
use crate::alerts::Watch;
use crate::core::headers::KEY_SOURCE_NAME;
use crate::core::key::KeySource;
use crate::core::ledger::Subject;
use crate::core::{Provider, ProxyError};
use crate::http::UpstreamBody;
use crate::http::forward;
use crate::limits::Slot;
use crate::scrub::scrub;
use crate::state::AppState;
use crate::usage::{self, Meter};

/// Error bodies larger than this are cut before scrubbing.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The client's answer from the provider's: an error body read, scrubbed and sent whole; a
/// successful one relayed as it comes, metered when `metering` says for whom.
pub(super) async fn respond(
    state: &AppState,
    provider: Provider,
    upstream: hyper::Response<UpstreamBody>,
    (source, key): (KeySource, SecretString),
    slot: Slot,
    metering: Option<(usage::Model, Vec<Subject>, Vec<Watch>)>,
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
            .map(|(model, subjects, watches)| {
                let content_type = headers
                    .get(header::CONTENT_TYPE)
                    .map_or(&b""[..], HeaderValue::as_bytes);
                Meter::new(
                    state.ledger(),
                    provider,
                    content_type,
                    model,
                    source,
                    subjects,
                )
                .watching(&state.alerts, watches)
            });
        let relay = Relay::new(
            Arc::clone(&state.counters),
            state.settings.idle_timeout,
            provider,
            upstream,
            key,
            slot,
            meter,
        );
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
