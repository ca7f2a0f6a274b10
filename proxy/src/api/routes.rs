//! The router: routes, handlers and the middleware stack, declared once; pass-through requests
//! (nearly all the traffic) go from the connection straight to the pipeline.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, post};
use futures_util::future::{BoxFuture, Either};
use hyper::body::Incoming;
use tower::util::Oneshot;
use tower::{BoxError, Service, ServiceBuilder, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::request_log::RequestLogLayer;
use super::unseal::{Door, door, unseal};
use super::{grants, info, models, proxy, static_files, usage};
use crate::core::headers::KEY_SOURCE_NAME;
use crate::core::{Provider, ProxyError};
use crate::http::forward;
use crate::pipeline::{self, InBody, Outbound};
use crate::state::AppState;
use byok_providers::resource;

/// The routes that are not pass-through, over `state`, without middleware (see [`Routes`]).
fn router(state: AppState) -> Router {
    let router = Router::new()
        .route("/healthz", get(info::healthz))
        .route("/metrics", get(info::metrics))
        .route("/byok/providers", get(info::providers))
        .route("/byok/embed", get(info::embed))
        .route("/byok/seal-key", get(info::seal_key))
        .route("/byok/test/{provider}", post(proxy::test_key))
        .route(
            "/byok/test/{provider}/{resource}",
            post(proxy::test_resource_key),
        )
        .route(
            "/byok/grants",
            post(grants::create).delete(grants::revoke_all),
        )
        .route(
            "/byok/grants/{id}",
            get(grants::peek).delete(grants::revoke),
        )
        .route("/byok/usage", get(usage::usage))
        .route("/byok/models", get(models::models))
        .route("/v1/chat/completions", post(proxy::unified_chat))
        .route("/v1/embeddings", post(proxy::unified_embeddings));
    let router = match state.settings.static_dir.clone() {
        Some(dir) => router.fallback_service(static_files::static_files(
            &dir,
            &state.settings.embed_origins,
        )),
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
        let provider = passthrough_provider(request.uri().path());
        match door(&connection.state, request.headers()) {
            Door::Pass => {}
            Door::Unseal => {
                return Either::Left(Box::pin(sealed(Arc::clone(connection), provider, request)));
            }
            Door::Refuse(err) => {
                let response = connection
                    .state
                    .finish(provider.map_or("none", Provider::id), Err(err));
                return Either::Left(Box::pin(async move { Ok(response) }));
            }
        }
        match provider {
            Some(provider) => {
                let (parts, body) = request.into_parts();
                let body = InBody::Streaming(Body::new(body));
                Either::Left(Box::pin(passthrough(
                    Arc::clone(connection),
                    provider,
                    parts,
                    body,
                )))
            }
            None => {
                // Keys in URLs: one rule for every route (pass-through checks it with the path).
                if let Err(err) = forward::check_query(request.uri()) {
                    let response = connection.state.finish("none", Err(err));
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

/// A request with a sealed key: opened first (see [`super::unseal`]), then routed as any other.
async fn sealed(
    connection: Arc<Connection>,
    provider: Option<Provider>,
    request: Request<Incoming>,
) -> Result<Response, Infallible> {
    let state = &connection.state;
    let (parts, body) = match unseal(state, request).await {
        Ok(opened) => opened,
        Err(err) => return Ok(state.finish(provider.map_or("none", Provider::id), Err(err))),
    };
    if let Some(provider) = provider {
        return passthrough(
            Arc::clone(&connection),
            provider,
            parts,
            InBody::Ready(body),
        )
        .await;
    }
    if let Err(err) = forward::check_query(&parts.uri) {
        return Ok(state.finish("none", Err(err)));
    }
    let mut request = Request::from_parts(parts, Body::from(body));
    request
        .extensions_mut()
        .insert(ConnectInfo(connection.client));
    Ok(connection
        .router
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {}))
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
            // The vault reads both to fail over to a next key (see its `failover`).
            .expose_headers([KEY_SOURCE_NAME, axum::http::header::RETRY_AFTER])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// `/{provider}/{*path}`: the path below the prefix goes to that provider. One future from
/// the connection to the pipeline (each nested one is built, then moved into its parent).
async fn passthrough(
    connection: Arc<Connection>,
    provider: Provider,
    parts: axum::http::request::Parts,
    body: InBody,
) -> Result<Response, Infallible> {
    let state = &connection.state;
    let prefix_len = provider.id().len() + 1;
    let path = parts.uri.path().get(prefix_len..).unwrap_or_default();
    // Azure's: `/azure/<resource>/...`, the resource checked before anything else is.
    let (resource, path) = match provider.needs_resource() {
        false => (Ok(None), path),
        true => match resource::split_path(path) {
            Ok((resource, rest)) => (Ok(Some(resource)), rest),
            Err(_) => (Err(ProxyError::BadResource(provider.id())), path),
        },
    };
    let checked = resource.and_then(|resource| {
        forward::check_method(&parts.method)?;
        Ok((resource, forward::upstream_path(&parts.uri, path)?))
    });
    let result = match checked {
        Ok((resource, target)) => {
            let out = Outbound {
                provider,
                resource,
                target,
                parts,
                body,
                client_ip: connection.client.ip(),
                model: None,
                strip_usage: false,
            };
            pipeline::forward(state, out).await
        }
        Err(err) => Err(err),
    };
    Ok(state.finish(provider.id(), result))
}
