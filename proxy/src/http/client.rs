//! The HTTP client that talks to providers.
//!
//! hyper's connection API with a small pool of our own, not a general-purpose client: the
//! pipeline already does what such clients add (URL building, header policy, timeouts), and the
//! hot path is just "send these headers and this body to this provider, hand back the answer".
//! What it guarantees:
//!
//! - TLS with rustls (ring) and the platform's root certificates; HTTP/1.1 and HTTP/2 by ALPN.
//! - No proxy from the environment (`HTTP_PROXY` and friends are never read) and no redirects
//!   (hyper never follows them; the pipeline turns a 3xx into a 502).
//! - A connect timeout. An idle HTTP/1.1 connection is kept for a few seconds only (the
//!   upstream idle timeout, 4 s by default: below the 5 s after which uvicorn and Node servers
//!   close theirs), at most [`MAX_IDLE`] per provider and worker; the worker's one-second
//!   tick closes those past their time even when no request comes.
//! - A request sent on a pooled connection that the provider closed at that moment is sent
//!   again, once, on a new connection, when that is safe: the request never left, or its
//!   method is idempotent and it has no body.
//! - A response head over [`MAX_RESPONSE_HEAD`] is refused (the pipeline answers 502), as nginx
//!   and Envoy do; real providers send a few KiB.
//!
//! Requests name only the path and query below the provider's base URL; where a provider lives
//! (scheme, host, base path) is parsed once, when the client is built.
//!
//! Each worker has its own pool with a lane per upstream host: one per provider, and for a
//! provider whose host is the user's resource (Azure's), one per resource name, at most
//! [`MAX_RESOURCES`] per worker. An HTTP/1.1 connection goes back to its lane when its response
//! body has been read to the end; one dropped early (the client went away, an error body was
//! cut short) is closed, which is also how a provider learns to stop generating. An HTTP/2
//! connection is shared by all of the worker's requests to that lane's host.

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Request, Response, Uri, header};
use http_body::{Body as _, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::{Connection as _, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;
use tokio::time::Instant;
use tower::ServiceExt;

use super::endpoint::Endpoint;
use super::tls::tls_config;
use crate::core::Resource;
use crate::core::sync::lock;
use crate::core::{BuildError, Provider};

/// Idle HTTP/1.1 connections kept per lane (host) and worker; more are closed. A burst needs
/// more connections than steady traffic; after it, these are plenty to absorb the next.
pub const MAX_IDLE: usize = 32;
/// Resources (Azure hosts) a worker keeps a lane for; past this, a lane without a connection in
/// use is dropped (closing its idle connections) before a new one is made.
pub const MAX_RESOURCES: usize = 64;
/// The largest response head (status line and headers) accepted from a provider. Envoy's
/// default is 60 KiB and nginx's 4-8 KiB; providers send 1-3 KiB.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// Failure to reach a provider: connecting, TLS, or the connection failing mid-request. The
/// messages name the failure, never the URI or a header.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Where the providers live and how to reach them.
#[derive(Debug)]
pub struct UpstreamSettings {
    /// Base URL per served provider, without a trailing slash; for a provider that
    /// [needs a resource](Provider::needs_resource), a template holding its slot once.
    pub base_urls: BTreeMap<Provider, String>,
    /// Root certificates trusted for providers besides the system's.
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Longest idle time of a pooled HTTP/1.1 connection to a provider.
    pub idle_timeout: Duration,
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        Self {
            base_urls: Provider::ALL
                .into_iter()
                .filter_map(|p| Some((p, p.default_base_url()?.to_owned())))
                .collect(),
            extra_roots: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(4),
        }
    }
}

impl UpstreamSettings {
    /// Whether this proxy serves `provider` (it has a base URL).
    #[must_use]
    pub fn serves(&self, provider: Provider) -> bool {
        self.base_urls.contains_key(&provider)
    }
}

/// One worker's connections to the providers. Cheap to clone.
#[derive(Clone)]
pub struct Client(Arc<Pool>);

/// What every worker's client shares: how to connect, and where each provider lives.
struct Setup {
    connector: HttpsConnector<HttpConnector>,
    /// An idle connection older than this is closed rather than reused.
    idle_timeout: Duration,
    /// Where each provider lives, or the template its resources' hosts are made from.
    upstreams: [Option<Upstream>; Provider::ALL.len()],
}

/// Where a provider lives.
enum Upstream {
    /// One host for every request.
    Fixed(Arc<Endpoint>),
    /// A host per resource: the base URL with the resource name in its slot.
    PerResource(String),
}

struct Pool {
    setup: Arc<Setup>,
    /// One lane per provider with a fixed host.
    lanes: [Arc<Lane>; Provider::ALL.len()],
    /// One lane per resource (with its endpoint) for providers whose host is the resource's.
    resources: Mutex<HashMap<(Provider, Resource), ResourceLane>>,
}

/// A resource's host and the lane of its connections.
type ResourceLane = (Arc<Endpoint>, Arc<Lane>);

/// The connections to one host.
#[derive(Default)]
struct Lane {
    /// HTTP/1.1 connections waiting for a request, most recently used last.
    idle: Mutex<Vec<Idle>>,
    /// The HTTP/2 connection requests to the host share, if it speaks HTTP/2.
    shared: Mutex<Option<http2::SendRequest<Body>>>,
}

impl Lane {
    /// Whether no connection of the lane is idle or shared and open, so dropping it closes
    /// nothing.
    fn is_empty(&self) -> bool {
        lock(&self.idle).is_empty() && lock(&self.shared).as_ref().is_none_or(|s| s.is_closed())
    }
}

struct Idle {
    sender: http1::SendRequest<Body>,
    since: Instant,
}

impl Idle {
    /// Whether it may still be reused at `now`: the provider has not closed it and it has not
    /// been idle for `timeout`.
    fn fresh(&self, now: Instant, timeout: Duration) -> bool {
        !self.sender.is_closed() && now.duration_since(self.since) < timeout
    }
}

/// A send that failed, with the request if it never left (so it may be sent elsewhere).
struct Failed {
    error: Error,
    unsent: Option<Request<Body>>,
}

enum Sender {
    Http1(http1::SendRequest<Body>),
    Http2(http2::SendRequest<Body>),
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the providers `settings` name, as described in the module docs, with its
    /// own connection pool: TLS with the platform's roots and `settings.extra_roots`.
    ///
    /// # Errors
    ///
    /// When the TLS configuration cannot be built, or a base URL is not an absolute http(s)
    /// URL (the configuration checks that first).
    pub fn new(settings: &UpstreamSettings) -> Result<Self, BuildError> {
        let mut upstreams: [Option<Upstream>; Provider::ALL.len()] = Default::default();
        for (provider, base) in &settings.base_urls {
            upstreams[provider.index()] = Some(if provider.needs_resource() {
                // Checked as the configuration checks it: the template with a name in it.
                Endpoint::new(&template_with(base, "resource")?)?;
                Upstream::PerResource(base.clone())
            } else {
                Upstream::Fixed(Arc::new(Endpoint::new(base)?))
            });
        }
        let mut http = HttpConnector::new();
        // The scheme is checked by the TLS layer (`https_or_http`): only http and https.
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(settings.connect_timeout));
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(&settings.extra_roots)?)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let setup = Arc::new(Setup {
            connector,
            idle_timeout: settings.idle_timeout,
            upstreams,
        });
        Ok(Self::with(setup))
    }
}

impl Client {
    fn with(setup: Arc<Setup>) -> Self {
        Self(Arc::new(Pool {
            setup,
            lanes: Default::default(),
            resources: Mutex::default(),
        }))
    }

    /// A client with the same settings and a pool of its own, for another worker.
    #[must_use]
    pub fn for_worker(&self) -> Self {
        Self::with(Arc::clone(&self.0.setup))
    }

    /// Sends `request` to `provider` (at `resource`, for a provider whose host is the
    /// resource's) on a pooled connection or a new one. Its URI is the path and query below the
    /// provider's base URL.
    ///
    /// # Errors
    ///
    /// When `provider` has no base URL, needs a resource and has none (or has one and needs
    /// none), cannot be reached, or the connection fails before the answer's head.
    pub async fn send(
        &self,
        provider: Provider,
        resource: Option<&Resource>,
        mut request: Request<Body>,
    ) -> Result<Response<UpstreamBody>, Error> {
        let (endpoint, lane) = self.lane(provider, resource)?;
        let (endpoint, lane) = (&*endpoint, &lane);
        let target = std::mem::take(request.uri_mut());
        *request.uri_mut() = endpoint.locate(target)?;
        let (sender, reused) = match self.checkout(lane) {
            Some(sender) => (sender, true),
            None => (self.connect(provider, lane, endpoint).await?, false),
        };
        // What it takes to send an idempotent request without a body again (nearly free: no
        // LLM call is one; model lists and the like are).
        let spare = (reused && repeatable(&request)).then(|| copy(&request));
        let again = match self.send_on(lane, endpoint, sender, request).await {
            Ok(response) => return Ok(response),
            // Only on a pooled connection the provider closed: a fresh one that fails is the
            // provider's answer. Sending again is safe when the request never left, or when it
            // left but repeating it changes nothing and no byte of an answer came.
            Err(failed) if reused => match (failed.unsent, spare) {
                (Some(request), _) => request,
                (None, Some(spare)) if closed_before_answer(&*failed.error) => spare,
                _ => return Err(failed.error),
            },
            Err(failed) => return Err(failed.error),
        };
        let sender = self.connect(provider, lane, endpoint).await?;
        self.send_on(lane, endpoint, sender, again)
            .await
            .map_err(|failed| failed.error)
    }

    /// Where `provider` (at `resource`) lives, and the lane of its connections.
    fn lane(
        &self,
        provider: Provider,
        resource: Option<&Resource>,
    ) -> Result<(Arc<Endpoint>, Arc<Lane>), Error> {
        let upstream = self.0.setup.upstreams[provider.index()]
            .as_ref()
            .ok_or("no base URL for this provider")?;
        match (upstream, resource) {
            (Upstream::Fixed(endpoint), None) => Ok((
                Arc::clone(endpoint),
                Arc::clone(&self.0.lanes[provider.index()]),
            )),
            (Upstream::PerResource(template), Some(resource)) => {
                let mut resources = lock(&self.0.resources);
                let key = (provider, resource.clone());
                if let Some((endpoint, lane)) = resources.get(&key) {
                    return Ok((Arc::clone(endpoint), Arc::clone(lane)));
                }
                if resources.len() >= MAX_RESOURCES {
                    // A lane no request holds goes (its idle connections close with it).
                    let spare = resources
                        .iter()
                        .find(|(_, (_, lane))| Arc::strong_count(lane) == 1)
                        .map(|(key, _)| key.clone())
                        .ok_or("too many Azure resources in use at once")?;
                    resources.remove(&spare);
                }
                let endpoint =
                    Arc::new(Endpoint::new(&template_with(template, resource.as_str())?)?);
                let lane = Arc::new(Lane::default());
                resources.insert(key, (Arc::clone(&endpoint), Arc::clone(&lane)));
                Ok((endpoint, lane))
            }
            (Upstream::Fixed(_), Some(_)) => Err("this provider takes no resource name".into()),
            (Upstream::PerResource(_), None) => Err("this provider needs a resource name".into()),
        }
    }

    /// Closes idle connections past their time or closed by the provider, so an idle pool
    /// shrinks without waiting for the next request. Called about once a second per worker.
    pub fn sweep_idle(&self) {
        let now = Instant::now();
        let timeout = self.0.setup.idle_timeout;
        let sweep = |lane: &Lane| lock(&lane.idle).retain(|entry| entry.fresh(now, timeout));
        self.0.lanes.iter().for_each(|lane| sweep(lane));
        lock(&self.0.resources).retain(|_, (_, lane)| {
            sweep(lane);
            // A resource's lane with nothing open in it and no request holding it goes.
            Arc::strong_count(lane) > 1 || !lane.is_empty()
        });
    }

    /// Sends `request` (its URI the provider's path and query) on `sender`.
    async fn send_on(
        &self,
        lane: &Arc<Lane>,
        endpoint: &Endpoint,
        sender: Sender,
        mut request: Request<Body>,
    ) -> Result<Response<UpstreamBody>, Failed> {
        let unsent = |mut err: hyper::client::conn::TrySendError<Request<Body>>| {
            // The request, with the path and query it came with, for another connection.
            let unsent = err.take_message().map(|mut request| {
                request.headers_mut().remove(header::HOST);
                if let Some(pq) = request.uri().path_and_query().cloned() {
                    *request.uri_mut() = Uri::from(pq);
                }
                request
            });
            Failed {
                error: err.into_error().into(),
                unsent,
            }
        };
        let answer = |response: Response<Incoming>, reuse| {
            response.map(|inner| UpstreamBody {
                inner,
                reuse,
                done: false,
            })
        };
        match sender {
            Sender::Http1(mut sender) => {
                // HTTP/1.1: the path alone on the request line, the authority in `Host`.
                request
                    .headers_mut()
                    .insert(header::HOST, endpoint.host.clone());
                match sender.try_send_request(request).await {
                    Ok(response) => {
                        let pool = self.clone();
                        Ok(answer(
                            response,
                            Some(Reuse {
                                pool,
                                lane: Arc::clone(lane),
                                sender,
                            }),
                        ))
                    }
                    Err(err) => Err(unsent(err)),
                }
            }
            Sender::Http2(mut sender) => {
                // HTTP/2: scheme and authority travel as pseudo-headers, taken from the URI.
                let mut parts = std::mem::take(request.uri_mut()).into_parts();
                parts.scheme = Some(endpoint.scheme.clone());
                parts.authority = Some(endpoint.authority.clone());
                *request.uri_mut() = Uri::from_parts(parts).map_err(|e| Failed {
                    error: e.into(),
                    unsent: None,
                })?;
                match sender.try_send_request(request).await {
                    Ok(response) => Ok(answer(response, None)),
                    Err(err) => Err(unsent(err)),
                }
            }
        }
    }

    fn checkout(&self, lane: &Lane) -> Option<Sender> {
        if let Some(shared) = lock(&lane.shared).as_ref().filter(|s| !s.is_closed()) {
            return Some(Sender::Http2(shared.clone()));
        }
        let mut idle = lock(&lane.idle);
        let now = Instant::now();
        let timeout = self.0.setup.idle_timeout;
        while let Some(entry) = idle.pop() {
            // A connection the provider closed, or one idle too long, is dropped (closed).
            if entry.fresh(now, timeout) && entry.sender.is_ready() {
                return Some(Sender::Http1(entry.sender));
            }
        }
        None
    }

    fn checkin(&self, lane: &Lane, sender: http1::SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = lock(&lane.idle);
        if idle.len() >= MAX_IDLE {
            // The oldest goes: it is the likeliest to have been closed by the provider.
            idle.remove(0);
        }
        idle.push(Idle {
            sender,
            since: Instant::now(),
        });
    }

    /// Opens a connection. Boxed: the connecting and TLS state is large, and every request's
    /// future would otherwise carry (and copy) room for it, though few requests connect.
    fn connect<'a>(
        &'a self,
        provider: Provider,
        lane: &'a Lane,
        endpoint: &'a Endpoint,
    ) -> Pin<Box<dyn Future<Output = Result<Sender, Error>> + Send + 'a>> {
        Box::pin(self.open(provider, lane, endpoint))
    }

    async fn open(
        &self,
        provider: Provider,
        lane: &Lane,
        endpoint: &Endpoint,
    ) -> Result<Sender, Error> {
        let io = self
            .0
            .setup
            .connector
            .clone()
            .oneshot(endpoint.origin()?)
            .await?;
        if io.connected().is_negotiated_h2() {
            let (sender, connection) = http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .max_header_list_size(MAX_RESPONSE_HEAD as u32)
                .handshake(io)
                .await?;
            drive(provider, connection);
            *lock(&lane.shared) = Some(sender.clone());
            Ok(Sender::Http2(sender))
        } else {
            // One buffer, one write, as on the server side (see `serve`).
            let (sender, connection) = http1::Builder::new()
                .writev(false)
                .max_header_size(MAX_RESPONSE_HEAD)
                .handshake(io)
                .await?;
            drive(provider, connection);
            Ok(Sender::Http1(sender))
        }
    }
}

/// `template` with `name` in its resource slot.
fn template_with(template: &str, name: &str) -> Result<String, BuildError> {
    byok_providers::resource::base_url(template, name)
        .map_err(|e| BuildError(format!("HTTP client: {e}")))
}

/// Whether `request` may be sent twice: an idempotent method (RFC 9110, 9.2.2) and no body.
fn repeatable(request: &Request<Body>) -> bool {
    request.method().is_idempotent()
        && http_body::Body::size_hint(request.body()).exact() == Some(0)
}

/// A bodiless copy of `request`.
fn copy(request: &Request<Body>) -> Request<Body> {
    let mut copy = Request::new(Body::empty());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    copy
}

/// Whether a send failed because the connection closed (or was reset) before any of the answer
/// arrived: what a provider closing an idle connection as the request went out looks like.
fn closed_before_answer(error: &(dyn std::error::Error + 'static)) -> bool {
    let Some(error) = error.downcast_ref::<hyper::Error>() else {
        return false;
    };
    if error.is_incomplete_message() || error.is_canceled() {
        return true;
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            );
        }
        source = cause.source();
    }
    false
}

/// Runs a connection's I/O on this worker until it closes.
fn drive<C, E>(provider: Provider, connection: C)
where
    C: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display,
{
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(provider = %provider, error = %err, "upstream connection ended");
        }
    });
}

/// Returns an HTTP/1.1 connection to the pool once its response has been read to the end.
struct Reuse {
    pool: Client,
    lane: Arc<Lane>,
    sender: http1::SendRequest<Body>,
}

/// A provider's response body. Dropped after its end, its connection goes back to the pool;
/// dropped before, the connection is closed.
pub struct UpstreamBody {
    inner: Incoming,
    reuse: Option<Reuse>,
    done: bool,
}

impl std::fmt::Debug for UpstreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamBody")
            .field("pooled", &self.reuse.is_some())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        if let Some(reuse) = self.reuse.take()
            && (self.done || self.inner.is_end_stream())
        {
            reuse.pool.checkin(&reuse.lane, reuse.sender);
        }
    }
}

impl http_body::Body for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if frame.is_none() {
            self.done = true;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
