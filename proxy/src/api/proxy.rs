//! The routes that reach a provider besides pass-through (which `routes` hands straight to the
//! pipeline): the unified OpenAI-compatible routes (`model` = `provider/model`), and the key
//! test.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::core::headers::USER_HEADER;
use crate::core::{KeyCheck, Provider, ProxyError, Resource, UnifiedKind, UnknownProvider};
use crate::http::forward;
use crate::pipeline::{self, InBody, Outbound};
use crate::state::AppState;

pub(super) async fn unified_chat(
    state: State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    unified(state, addr, UnifiedKind::Chat, request).await
}

pub(super) async fn unified_embeddings(
    state: State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    unified(state, addr, UnifiedKind::Embeddings, request).await
}

/// OpenAI-compatible routing: `model` is `provider/model` (`azure/<resource>/<deployment>` for
/// Azure); the prefix picks the provider and is removed before forwarding to that provider's
/// OpenAI-compatible endpoint.
async fn unified(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    kind: UnifiedKind,
    request: Request,
) -> Response {
    let mut provider_id = "unified";
    let result = async {
        let (parts, body) = request.into_parts();
        let bytes = pipeline::read_all(body, state.settings.body_limit).await?;
        let mut json: Value = serde_json::from_slice(&bytes)
            .map_err(|_| ProxyError::BadRequest("the request body is not valid JSON".into()))?;
        let model = json.get("model").and_then(Value::as_str).ok_or_else(|| {
            ProxyError::BadRequest(
                "`model` is required, as provider/model (e.g. openai/gpt-4o-mini)".into(),
            )
        })?;
        let (prefix, model) = model.split_once('/').ok_or_else(|| {
            ProxyError::BadRequest(
                "`model` must be provider/model, e.g. anthropic/claude-sonnet-4-5".into(),
            )
        })?;
        let provider: Provider = prefix
            .parse()
            .map_err(|e: UnknownProvider| ProxyError::UnknownProvider(e.0))?;
        provider_id = provider.id();
        let path = provider.openai_compatible_path(kind).ok_or_else(|| {
            ProxyError::BadRequest(format!(
                "{provider} has no OpenAI-compatible endpoint for this route; send its own API's requests to /{provider}/..."
            ))
        })?;
        let (resource, model) = match provider.needs_resource() {
            false => (None, model),
            true => {
                let (name, model) = model
                    .split_once('/')
                    .ok_or(ProxyError::BadResource(provider.id()))?;
                let resource =
                    Resource::new(name).map_err(|_| ProxyError::BadResource(provider.id()))?;
                (Some(resource), model)
            }
        };
        if model.is_empty() {
            return Err(ProxyError::BadRequest(
                "`model` names no model after the provider".into(),
            ));
        }
        let model = model.to_owned();
        json["model"] = Value::String(model.clone());
        // BYOK_STREAM_USAGE=on: ask for usage on a stream whose client did not (an explicit
        // `false` counts as not asking); the chunk it adds is removed from the answer.
        let strip_usage = state.settings.stream_usage
            && kind == UnifiedKind::Chat
            && json.get("stream").and_then(Value::as_bool) == Some(true)
            && json
                .pointer("/stream_options/include_usage")
                .and_then(Value::as_bool)
                != Some(true);
        if strip_usage {
            match json
                .get_mut("stream_options")
                .and_then(Value::as_object_mut)
            {
                Some(options) => {
                    options.insert("include_usage".into(), Value::Bool(true));
                }
                None => json["stream_options"] = serde_json::json!({ "include_usage": true }),
            }
        }
        let body = Bytes::from(
            serde_json::to_vec(&json).map_err(|_| ProxyError::BadRequest("bad JSON".into()))?,
        );
        let mut parts = parts;
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        pipeline::forward(
            &state,
            Outbound {
                provider,
                resource,
                target: path.to_owned(),
                parts,
                body: InBody::Ready(body),
                client_ip: addr.ip(),
                model: Some(model),
                strip_usage,
            },
        )
        .await
    }
    .await;
    state.finish(provider_id, result)
}

/// `POST /byok/test/{provider}`: does the provider accept the key in `X-BYOK-Key`?
pub(super) async fn test_key(
    state: State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    Path(provider): Path<String>,
    request: Request,
) -> Response {
    test_key_at(state, addr, (provider, None), request).await
}

/// `POST /byok/test/{provider}/{resource}`: the same, for a provider whose keys belong to a
/// resource (Azure).
pub(super) async fn test_resource_key(
    state: State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    Path((provider, resource)): Path<(String, String)>,
    request: Request,
) -> Response {
    test_key_at(state, addr, (provider, Some(resource)), request).await
}

async fn test_key_at(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    (provider, resource): (String, Option<String>),
    request: Request,
) -> Response {
    let result = async {
        let provider: Provider = provider
            .parse()
            .map_err(|e: UnknownProvider| ProxyError::UnknownProvider(e.0))?;
        let resource = match (resource, provider.needs_resource()) {
            (None, false) => None,
            (Some(name), true) => Some(
                Resource::new(&name).map_err(|_| ProxyError::BadResource(provider.id()))?,
            ),
            (_, true) => return Err(ProxyError::BadResource(provider.id())),
            (Some(_), false) => return Err(ProxyError::NotFound),
        };
        let (mut parts, _) = request.into_parts();
        if forward::user_key(&parts.headers)?.is_none() {
            return Err(ProxyError::MissingKey);
        }
        // Only the user's own key is tested: no app or user token, so no server-key fallback.
        parts.headers.remove(axum::http::header::AUTHORIZATION);
        parts.headers.remove(USER_HEADER);
        let check = provider.key_check();
        let body = match check {
            KeyCheck::Get(_) => {
                parts.method = Method::GET;
                parts.headers.remove(axum::http::header::CONTENT_TYPE);
                Bytes::new()
            }
            KeyCheck::PostEmpty(_) => {
                parts.method = Method::POST;
                parts.headers.insert(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                );
                Bytes::from_static(b"{}")
            }
        };
        let target = check.path().to_owned();
        let response = pipeline::forward(
            &state,
            Outbound { provider, resource, target, parts, body: InBody::Ready(body), client_ip: addr.ip(), model: None, strip_usage: false },
        )
        .await?;
        let status = response.status();
        let valid = check.accepted(status.as_u16());
        let message = match status.as_u16() {
            429 => "the key is valid but rate limited or out of credit".to_owned(),
            _ if valid => "the key works".to_owned(),
            401 | 403 => "the provider rejected the key".to_owned(),
            code => format!("the provider answered with status {code}"),
        };
        Ok(Json(json!({ "provider": provider, "valid": valid, "status": status.as_u16(), "message": message }))
            .into_response())
    }
    .await;
    state.finish("test", result)
}
