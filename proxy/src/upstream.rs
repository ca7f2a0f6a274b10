//! The HTTP client that talks to providers, and the body that relays their answers.
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
//! Each worker has its own pool, keyed by provider (each provider has one base URL). An
//! HTTP/1.1 connection goes back to the pool when its response body has been read to the end;
//! one dropped early (the client went away, an error body was cut short) is closed, which is
//! also how a provider learns to stop generating. An HTTP/2 connection is shared by all of the
//! worker's requests to that provider.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::uri::{Authority, PathAndQuery, Scheme};
use axum::http::{HeaderValue, Request, Response, Uri, header};
use http_body::{Body as _, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::{Connection as _, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;
use rustls_platform_verifier::{BuilderVerifierExt, Verifier};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::limits::Slot;
use crate::metrics::Shard;
use crate::provider::Provider;
use crate::scrub::stream::KeyFilter;
use crate::usage::Meter;
use crate::usage::strip::StripUsage;
use crate::{AppState, lock};
use secrecy::SecretString;

/// Idle HTTP/1.1 connections kept per provider and worker; more are closed. A burst needs
/// more connections than steady traffic; after it, these are plenty to absorb the next.
pub const MAX_IDLE: usize = 32;
/// The largest response head (status line and headers) accepted from a provider. Envoy's
/// default is 60 KiB and nginx's 4-8 KiB; providers send 1-3 KiB.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// Failure to reach a provider: connecting, TLS, or the connection failing mid-request. The
/// messages name the failure, never the URI or a header.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Failure to set up the HTTP client or the store client.
#[derive(Debug, thiserror::Error)]
#[error("could not build the {0}")]
pub struct BuildError(pub(crate) String);

/// The TLS settings every client shares: rustls with ring and the platform's verifier, which
/// also trusts `extra_roots` (the operator's, for a self-hosted server with a private CA).
///
/// # Errors
///
/// When the platform's certificate verifier cannot be set up.
pub fn tls_config(
    extra_roots: &[CertificateDer<'static>],
) -> Result<rustls::ClientConfig, BuildError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let failed = |e: rustls::Error| BuildError(format!("HTTP client: {e}"));
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(failed)?;
    let builder = if extra_roots.is_empty() {
        builder.with_platform_verifier().map_err(failed)?
    } else {
        let verifier = Verifier::new_with_extra_roots(extra_roots.iter().cloned(), provider)
            .map_err(failed)?;
        // "Dangerous" only in name: this is the platform's verifier, with more roots.
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
    };
    Ok(builder.with_no_client_auth())
}

/// One worker's connections to the providers. Cheap to clone.
#[derive(Clone)]
pub struct Client(Arc<Pool>);

/// What every worker's client shares: how to connect, and where each provider lives.
struct Setup {
    connector: HttpsConnector<HttpConnector>,
    /// An idle connection older than this is closed rather than reused.
    idle_timeout: Duration,
    endpoints: [Option<Endpoint>; Provider::ALL.len()],
}

/// A provider's base URL, taken apart once.
struct Endpoint {
    scheme: Scheme,
    authority: Authority,
    /// The `Host` header HTTP/1.1 requests carry.
    host: HeaderValue,
    /// The base URL's path without its trailing slash: empty, or e.g. `/api`.
    base_path: String,
}

impl Endpoint {
    fn new(base: &str) -> Result<Self, BuildError> {
        let bad = || {
            BuildError(format!(
                "HTTP client: {base:?} is not an absolute http(s) URL"
            ))
        };
        let uri: Uri = base.parse().map_err(|_| bad())?;
        let (Some(scheme), Some(authority)) = (uri.scheme().cloned(), uri.authority().cloned())
        else {
            return Err(bad());
        };
        Ok(Self {
            host: HeaderValue::from_str(authority.as_str()).map_err(|_| bad())?,
            scheme,
            authority,
            base_path: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    /// Where to connect: scheme and authority.
    fn origin(&self) -> Result<Uri, Error> {
        Ok(Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query("/")
            .build()?)
    }

    /// `target` (path and query below the base URL) as the provider's path and query; as it
    /// is when the base URL has no path (nearly always).
    fn locate(&self, target: Uri) -> Result<Uri, Error> {
        if self.base_path.is_empty() {
            return Ok(target);
        }
        let target = target.path_and_query().ok_or("the request has no path")?;
        let mut full = String::with_capacity(self.base_path.len() + target.as_str().len());
        full.push_str(&self.base_path);
        full.push_str(target.as_str());
        Ok(Uri::from(PathAndQuery::try_from(full)?))
    }
}

struct Pool {
    setup: Arc<Setup>,
    /// HTTP/1.1 connections waiting for a request, most recently used last.
    idle: [Mutex<Vec<Idle>>; Provider::ALL.len()],
    /// The HTTP/2 connection requests to a provider share, if it speaks HTTP/2.
    shared: [Mutex<Option<http2::SendRequest<Body>>>; Provider::ALL.len()],
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

/// A client for the providers in `upstreams` (base URLs, validated by the configuration), as
/// described in the module docs, with its own connection pool.
///
/// # Errors
///
/// When a base URL is not an absolute http(s) URL.
pub fn client(
    tls: rustls::ClientConfig,
    connect_timeout: Duration,
    idle_timeout: Duration,
    upstreams: &BTreeMap<Provider, String>,
) -> Result<Client, BuildError> {
    let mut endpoints: [Option<Endpoint>; Provider::ALL.len()] = Default::default();
    for (provider, base) in upstreams {
        endpoints[provider.index()] = Some(Endpoint::new(base)?);
    }
    let mut http = HttpConnector::new();
    // The scheme is checked by the TLS layer (`https_or_http`): only http and https.
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    let setup = Arc::new(Setup {
        connector,
        idle_timeout,
        endpoints,
    });
    Ok(Client::with(setup))
}

impl Client {
    fn with(setup: Arc<Setup>) -> Self {
        Self(Arc::new(Pool {
            setup,
            idle: Default::default(),
            shared: Default::default(),
        }))
    }

    /// A client with the same settings and a pool of its own, for another worker.
    #[must_use]
    pub fn for_worker(&self) -> Self {
        Self::with(Arc::clone(&self.0.setup))
    }

    /// Sends `request` to `provider` on a pooled connection or a new one. Its URI is the path
    /// and query below the provider's base URL.
    ///
    /// # Errors
    ///
    /// When `provider` has no base URL, cannot be reached, or the connection fails before the
    /// answer's head.
    pub async fn send(
        &self,
        provider: Provider,
        mut request: Request<Body>,
    ) -> Result<Response<UpstreamBody>, Error> {
        let endpoint = self.0.setup.endpoints[provider.index()]
            .as_ref()
            .ok_or("no base URL for this provider")?;
        let target = std::mem::take(request.uri_mut());
        *request.uri_mut() = endpoint.locate(target)?;
        let (sender, reused) = match self.checkout(provider) {
            Some(sender) => (sender, true),
            None => (self.connect(provider, endpoint).await?, false),
        };
        // What it takes to send an idempotent request without a body again (nearly free: no
        // LLM call is one; model lists and the like are).
        let spare = (reused && repeatable(&request)).then(|| copy(&request));
        let again = match self.send_on(provider, endpoint, sender, request).await {
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
        let sender = self.connect(provider, endpoint).await?;
        self.send_on(provider, endpoint, sender, again)
            .await
            .map_err(|failed| failed.error)
    }

    /// Closes idle connections past their time or closed by the provider, so an idle pool
    /// shrinks without waiting for the next request. Called about once a second per worker.
    pub fn sweep_idle(&self) {
        let now = Instant::now();
        let timeout = self.0.setup.idle_timeout;
        for idle in &self.0.idle {
            lock(idle).retain(|entry| entry.fresh(now, timeout));
        }
    }

    /// Sends `request` (its URI the provider's path and query) on `sender`.
    async fn send_on(
        &self,
        provider: Provider,
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
                                provider,
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

    fn checkout(&self, provider: Provider) -> Option<Sender> {
        let index = provider.index();
        if let Some(shared) = lock(&self.0.shared[index])
            .as_ref()
            .filter(|s| !s.is_closed())
        {
            return Some(Sender::Http2(shared.clone()));
        }
        let mut idle = lock(&self.0.idle[index]);
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

    fn checkin(&self, provider: Provider, sender: http1::SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = lock(&self.0.idle[provider.index()]);
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
        endpoint: &'a Endpoint,
    ) -> Pin<Box<dyn Future<Output = Result<Sender, Error>> + Send + 'a>> {
        Box::pin(self.open(provider, endpoint))
    }

    async fn open(&self, provider: Provider, endpoint: &Endpoint) -> Result<Sender, Error> {
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
            *lock(&self.0.shared[provider.index()]) = Some(sender.clone());
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
    provider: Provider,
    sender: http1::SendRequest<Body>,
}

/// A provider's response body. Dropped after its end, its connection goes back to the pool;
/// dropped before, the connection is closed.
pub struct UpstreamBody {
    inner: Incoming,
    reuse: Option<Reuse>,
    done: bool,
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        if let Some(reuse) = self.reuse.take()
            && (self.done || self.inner.is_end_stream())
        {
            reuse.pool.checkin(reuse.provider, reuse.sender);
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

/// A provider's answer on its way to the client: frames pass through untouched but for the
/// request's key (removed by a [`KeyFilter`]), bytes are counted, and a gap longer than the
/// idle timeout ends it with an error. Holds a concurrency
/// slot until dropped. Dropping it (the client went away) drops the upstream body, which closes
/// that connection and so cancels the provider's work.
pub struct Relay {
    inner: UpstreamBody,
    filter: Option<KeyFilter>,
    /// A frame that came while the filter still held bytes, sent after them.
    next: Option<Frame<Bytes>>,
    counters: Arc<Shard>,
    provider: Provider,
    idle: Duration,
    /// When the last frame arrived; the timer is only re-armed when it fires, not per frame.
    last: Instant,
    /// Set up the first time the provider keeps us waiting (many answers never do).
    timer: Option<Pin<Box<Sleep>>>,
    done: bool,
    /// Reads usage from the answer as it passes, and records it when the answer ends. Boxed:
    /// the relay is moved a few times on its way to hyper, and stays small that way.
    meter: Option<Box<Meter>>,
    /// Removes the usage chunk asked for on the client's behalf.
    strip: Option<StripUsage>,
    _slot: Slot,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("provider", &self.provider)
            .field("idle", &self.idle)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// Relays `inner` for `provider`, with `key` (the one the request used) removed, counting
    /// into this worker's counters, and read by `meter` if any.
    pub fn new(
        state: &AppState,
        provider: Provider,
        inner: UpstreamBody,
        key: SecretString,
        slot: Slot,
        meter: Option<Meter>,
    ) -> Self {
        Self {
            inner,
            filter: KeyFilter::new(key),
            next: None,
            counters: Arc::clone(&state.counters),
            provider,
            idle: state.settings.idle_timeout,
            last: Instant::now(),
            timer: None,
            done: false,
            meter: meter.map(Box::new),
            strip: None,
            _slot: slot,
        }
    }

    /// Removes the final usage chunk of an OpenAI-compatible stream (see
    /// [`crate::usage::strip`]).
    #[must_use]
    pub fn strip_usage_chunk(mut self) -> Self {
        self.strip = Some(StripUsage::default());
        self
    }

    fn fail(
        &mut self,
        message: &'static str,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.done = true;
        if let Some(meter) = &mut self.meter {
            meter.finish(false);
        }
        Poll::Ready(Some(Err(std::io::Error::other(message))))
    }
}

impl http_body::Body for Relay {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Some(frame) = this.next.take() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.last = Instant::now();
                if let (Some(meter), Some(data)) = (&mut this.meter, frame.data_ref()) {
                    meter.feed(data);
                    // hyper stops polling a body once it is at its declared length, so the
                    // end is noticed here rather than by a final `None`.
                    if this.inner.is_end_stream() {
                        meter.finish(true);
                    }
                }
                let frame = match (frame.into_data(), &mut this.strip) {
                    (Ok(data), Some(strip)) => Frame::data(strip.push(data)),
                    (Ok(data), None) => Frame::data(data),
                    (Err(other), _) => other,
                };
                let frame = match (frame.into_data(), &mut this.filter) {
                    (Ok(data), Some(filter)) => Frame::data(filter.push(data)),
                    (Ok(data), None) => Frame::data(data),
                    (Err(other), filter) => {
                        // Trailers: what the filter held goes first.
                        match filter.as_mut().map(KeyFilter::finish) {
                            Some(held) if !held.is_empty() => {
                                this.next = Some(other);
                                Frame::data(held)
                            }
                            _ => other,
                        }
                    }
                };
                if let Some(data) = frame.data_ref() {
                    this.counters.bytes(this.provider, data.len());
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(e))) => {
                tracing::warn!(provider = %this.provider, error = %e, "upstream stream failed");
                return this.fail("upstream stream failed");
            }
            Poll::Ready(None) => {
                this.done = true;
                if let Some(meter) = &mut this.meter {
                    meter.finish(true);
                }
                let tail = this
                    .strip
                    .as_mut()
                    .map(StripUsage::finish)
                    .unwrap_or_default();
                let held = match &mut this.filter {
                    Some(filter) => {
                        let mut held = filter.push(tail).to_vec();
                        held.extend_from_slice(&filter.finish());
                        Some(Bytes::from(held))
                    }
                    None => Some(tail),
                };
                return Poll::Ready(held.filter(|h| !h.is_empty()).map(|h| {
                    this.counters.bytes(this.provider, h.len());
                    Ok(Frame::data(h))
                }));
            }
            Poll::Pending => {}
        }
        let deadline = this.last + this.idle;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        loop {
            ready!(timer.as_mut().poll(cx));
            let deadline = this.last + this.idle;
            if Instant::now() < deadline {
                // Frames arrived since the timer was armed: wait for the rest of the gap.
                timer.as_mut().reset(deadline);
                continue;
            }
            let idle_ms = u64::try_from(this.idle.as_millis()).unwrap_or(u64::MAX);
            tracing::warn!(provider = %this.provider, idle_ms, "upstream stream idle too long");
            return this.fail("upstream stream idle timeout");
        }
    }

    fn is_end_stream(&self) -> bool {
        self.next.is_none() && (self.done || self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        // The filter keeps the length (its mask is as long as the key).
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_keeps_its_base_path_and_host() {
        let openrouter = Endpoint::new("https://openrouter.ai/api").unwrap();
        assert_eq!(openrouter.origin().unwrap(), "https://openrouter.ai/");
        assert_eq!(openrouter.host, "openrouter.ai");
        let target: Uri = "/v1/chat/completions?trace=1".parse().unwrap();
        assert_eq!(
            openrouter.locate(target.clone()).unwrap(),
            "/api/v1/chat/completions?trace=1"
        );

        let local = Endpoint::new("http://127.0.0.1:8080").unwrap();
        assert_eq!(local.origin().unwrap(), "http://127.0.0.1:8080/");
        assert_eq!(local.host, "127.0.0.1:8080");
        assert_eq!(local.locate(target.clone()).unwrap(), target);
    }

    #[test]
    fn a_base_url_without_scheme_or_host_is_refused() {
        for bad in ["api.openai.com", "/v1", "https://"] {
            assert!(Endpoint::new(bad).is_err(), "{bad}");
        }
    }
}
