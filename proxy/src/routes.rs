//! The router: routes, handlers and the middleware stack, declared once.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::future::{BoxFuture, Either};
use hyper::body::Incoming;
use serde_json::{Value, json};
use tower::util::Oneshot;
use tower::{BoxError, Service, ServiceBuilder, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::AppState;
use crate::error::ProxyError;
use crate::forward;
use crate::grants;
use crate::pipeline::{self, InBody, KEY_SOURCE_NAME, Outbound};
use crate::provider::{Provider, UnifiedKind};
use crate::request_log::RequestLogLayer;
use crate::web;

/// The routes that are not pass-through, over `state`, without middleware (see [`Routes`]).
fn router(state: AppState) -> Router {
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/byok/providers", get(providers))
        .route("/byok/test/{provider}", post(test_key))
        .route(
            "/byok/grants",
            post(grants::api::create).delete(grants::api::revoke_all),
        )
        .route(
            "/byok/grants/{id}",
            get(grants::api::peek).delete(grants::api::revoke),
        )
        .route("/byok/usage", get(crate::usage::api::usage))
        .route("/byok/models", get(crate::tiers::models::models))
        .route("/v1/chat/completions", post(unified_chat))
        .route("/v1/embeddings", post(unified_embeddings));
    let router = match state.settings.static_dir.clone() {
        Some(dir) => router.fallback_service(web::static_files(&dir)),
        None => router.fallback(|| async { ProxyError::NotFound }),
    };
    router.with_state(state)
}

/// Everything a worker serves: pass-through requests (`/{provider}/{*path}`, nearly all the
/// traffic) go straight to the pipeline; the rest to the router. Both sit behind the same
/// middleware, built per connection by [`Routes::service`].
#[derive(Debug, Clone)]
pub struct Routes {
    state: AppState,
    router: Router,
    cors: Option<CorsLayer>,
}

impl Routes {
    /// The routes over `state`.
    #[must_use]
    pub fn new(state: AppState) -> Self {
        Self {
            router: router(state.clone()),
            cors: cors(&state.settings.cors_origins),
            state,
        }
    }

    /// The service for one connection from `client`.
    pub fn service(
        &self,
        client: SocketAddr,
    ) -> impl Service<
        Request<Incoming>,
        Response = Response<
            impl http_body::Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static,
        >,
        Error = Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static {
        let dispatch = Dispatch(Arc::new(Connection {
            state: self.state.clone(),
            router: self.router.clone(),
            client,
        }));
        ServiceBuilder::new()
            // 1. Secret headers become `Sensitive` first, so nothing later can print them; then
            //    one span per request (method and path only) and one line per answer.
            .layer(RequestLogLayer)
            // 2. CORS for the configured origins only (none: same-origin use).
            .option_layer(self.cors.clone())
            .service(dispatch)
    }
}

/// Sends pass-through requests to the pipeline and the rest to the router. Cloned for every
/// request, so it is one reference count.
#[derive(Debug, Clone)]
struct Dispatch(Arc<Connection>);

/// What a connection's requests need.
#[derive(Debug)]
struct Connection {
    state: AppState,
    router: Router,
    client: SocketAddr,
}

impl Service<Request<Incoming>> for Dispatch {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<
        BoxFuture<'static, Result<Response, Infallible>>,
        Oneshot<Router, Request<Incoming>>,
    >;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The pipeline has no back-pressure of its own (the concurrency cap answers 503), and
        // the router is readied per request by `oneshot`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<Incoming>) -> Self::Future {
        let connection = &self.0;
        match passthrough_provider(request.uri().path()) {
            Some(provider) => Either::Left(Box::pin(passthrough(
                Arc::clone(connection),
                provider,
                request,
            ))),
            None => {
                // Keys in URLs: one rule for every route (pass-through checks it with the path).
                if let Err(err) = forward::check_query(request.uri()) {
                    let response = finish(&connection.state, "none", Err(err));
                    return Either::Left(Box::pin(async move { Ok(response) }));
                }
                request
                    .extensions_mut()
                    .insert(ConnectInfo(connection.client));
                Either::Right(connection.router.clone().oneshot(request))
            }
        }
    }
}

/// The provider a pass-through path (`/{provider}/...`) names, if it names one.
fn passthrough_provider(path: &str) -> Option<Provider> {
    let (id, _) = path.strip_prefix('/')?.split_once('/')?;
    id.parse().ok()
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins: Vec<_> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
            .allow_headers(tower_http::cors::Any)
            .expose_headers([KEY_SOURCE_NAME])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// Counts the answer in the metrics, whoever produced it.
pub(crate) fn finish(
    state: &AppState,
    provider: &'static str,
    result: Result<Response, ProxyError>,
) -> Response {
    let response = result.unwrap_or_else(IntoResponse::into_response);
    let source = match response
        .headers()
        .get(KEY_SOURCE_NAME)
        .map(|v| v.as_bytes())
    {
        Some(b"user") => "user",
        Some(b"server") => "server",
        Some(b"grant") => "grant",
        _ => "none",
    };
    state
        .counters
        .request(provider, response.status().as_u16(), source);
    response
}

/// `/{provider}/{*path}`: the path below the prefix goes to that provider. One future from
/// the connection to the pipeline (each nested one is built, then moved into its parent).
async fn passthrough(
    connection: Arc<Connection>,
    provider: Provider,
    request: Request<Incoming>,
) -> Result<Response, Infallible> {
    let state = &connection.state;
    let (parts, body) = request.into_parts();
    let prefix_len = provider.id().len() + 1;
    let path = parts.uri.path().get(prefix_len..).unwrap_or_default();
    let checked = forward::check_method(&parts.method)
        .and_then(|()| forward::upstream_path(&parts.uri, path));
    let result = match checked {
        Ok(target) => {
            let out = Outbound {
                provider,
                target,
                parts,
                body: InBody::Streaming(Body::new(body)),
                client_ip: connection.client.ip(),
                model: None,
                strip_usage: false,
            };
            pipeline::forward(state, out).await
        }
        Err(err) => Err(err),
    };
    Ok(finish(state, provider.id(), result))
}

async fn unified_chat(
    state: State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    unified(state, addr, UnifiedKind::Chat, request).await
}

async fn unified_embeddings(
    state: State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    unified(state, addr, UnifiedKind::Embeddings, request).await
}

/// OpenAI-compatible routing: `model` is `provider/model`; the prefix picks the provider and is
/// removed before forwarding to that provider's OpenAI-compatible endpoint.
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
            .map_err(|e: byok_providers::UnknownProvider| ProxyError::UnknownProvider(e.0))?;
        provider_id = provider.id();
        let path = provider.openai_compatible_path(kind).ok_or_else(|| {
            ProxyError::BadRequest(format!(
                "{provider} has no OpenAI-compatible endpoint for this route"
            ))
        })?;
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
    finish(&state, provider_id, result)
}

/// `POST /byok/test/{provider}`: does the provider accept the key in `X-BYOK-Key`?
async fn test_key(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(provider): Path<String>,
    request: Request,
) -> Response {
    let result = async {
        let provider: Provider = provider
            .parse()
            .map_err(|e: byok_providers::UnknownProvider| ProxyError::UnknownProvider(e.0))?;
        let (mut parts, _) = request.into_parts();
        if forward::user_key(&parts.headers)?.is_none() {
            return Err(ProxyError::MissingKey);
        }
        // Only the user's own key is tested: no app or user token, so no server-key fallback.
        parts.headers.remove(axum::http::header::AUTHORIZATION);
        parts.headers.remove(crate::tiers::USER_HEADER);
        parts.method = Method::GET;
        let target = provider.key_check_path().to_owned();
        let response = pipeline::forward(
            &state,
            Outbound { provider, target, parts, body: InBody::Ready(Bytes::new()), client_ip: addr.ip(), model: None, strip_usage: false },
        )
        .await?;
        let status = response.status();
        let message = match status.as_u16() {
            200..=299 => "the key works".to_owned(),
            401 | 403 => "the provider rejected the key".to_owned(),
            429 => "the key is valid but rate limited or out of credit".to_owned(),
            code => format!("the provider answered with status {code}"),
        };
        let valid = status.is_success() || status == StatusCode::TOO_MANY_REQUESTS;
        Ok(Json(json!({ "provider": provider, "valid": valid, "status": status.as_u16(), "message": message }))
            .into_response())
    }
    .await;
    finish(&state, "test", result)
}

async fn providers(State(state): State<AppState>) -> Json<Value> {
    let list: Vec<Value> = state
        .settings
        .upstreams
        .keys()
        .map(|p| {
            let policy = state.settings.fallback.get(p).copied().unwrap_or_default();
            let server_key =
                policy != crate::FallbackPolicy::Off && state.settings.server_keys.contains_key(p);
            json!({ "id": p, "server_key": server_key })
        })
        .collect();
    Json(json!({ "providers": list }))
}

/// `GET /healthz`: always 200 while the process serves; `degraded: ...` when the shared store
/// cannot be reached (plain key requests still flow; grants do not).
async fn healthz(State(state): State<AppState>) -> String {
    match state.store_health().await {
        None => "ok".to_owned(),
        Some(why) => format!("degraded: {why}"),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        Body::from(state.metrics.render(&state.settings.prices)),
    )
        .into_response()
}
