//! The outermost layer: a request's secret headers are marked sensitive first, then it runs in a
//! `request` span (method and path; never the query, never a header), and its answer is logged
//! once, at INFO, with status and latency. A response body polls inside the same span, so what
//! it logs later (a stream failing or going idle) names its request.
//!
//! tower-http's `SetSensitiveRequestHeadersLayer` and `TraceLayer` did this here before. This
//! layer does the same in one pass over the headers (no lookup per secret name) and reads the
//! clock only when INFO is on: the two cost ~2,000 instructions and six clock reads of a
//! proxied request that now takes ~50,000 (`bench/instructions.sh`).

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::{Level, Span};

use crate::core::headers::{KEY_HEADER, SEALED_HEADER, USER_HEADER};

/// Request headers that carry secrets: marked sensitive before anything can log them.
const SECRET_HEADERS: [&str; 8] = [
    KEY_HEADER,
    SEALED_HEADER, // useless once used, but never printed either
    USER_HEADER,   // a user token is a bearer credential too
    "authorization",
    "x-api-key",
    "x-goog-api-key",
    "api-key",
    "cookie",
];

/// Marks the secret headers in `headers` sensitive, so their `Debug` prints `Sensitive`.
fn mark_sensitive(headers: &mut HeaderMap) {
    for (name, value) in headers.iter_mut() {
        if SECRET_HEADERS.contains(&name.as_str()) {
            value.set_sensitive(true);
        }
    }
}

/// Wraps a service in [`RequestLog`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestLogLayer;

impl<S> Layer<S> for RequestLogLayer {
    type Service = RequestLog<S>;

    fn layer(&self, inner: S) -> RequestLog<S> {
        RequestLog { inner }
    }
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct RequestLog<S> {
    inner: S,
}

impl<S, B, ResBody> Service<Request<B>> for RequestLog<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = Response<InSpan<ResBody>>;
    type Error = S::Error;
    type Future = RequestLogFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        mark_sensitive(request.headers_mut());
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.uri().path(),
        );
        let started = tracing::enabled!(Level::INFO).then(Instant::now);
        let inner = span.in_scope(|| self.inner.call(request));
        RequestLogFuture {
            inner,
            span,
            started,
        }
    }
}

pin_project! {
    /// The response future of [`RequestLog`].
    #[derive(Debug)]
    pub struct RequestLogFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        started: Option<Instant>,
    }
}

impl<F, ResBody, E> Future for RequestLogFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<InSpan<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _entered = this.span.enter();
            ready!(this.inner.poll(cx))
        };
        let span = std::mem::replace(this.span, Span::none());
        Poll::Ready(result.map(|response| {
            if let Some(started) = this.started {
                let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                span.in_scope(|| {
                    tracing::info!(
                        status = response.status().as_u16(),
                        latency_ms,
                        "finished processing request"
                    );
                });
            }
            response.map(|inner| InSpan { inner, span })
        }))
    }
}

pin_project! {
    /// A response body that is polled inside its request's span.
    #[derive(Debug)]
    pub struct InSpan<B> {
        #[pin]
        inner: B,
        span: Span,
    }
}

impl<B: Body> Body for InSpan<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let _entered = this.span.enter();
        this.inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    use axum::body::Body as AxumBody;
    use axum::http::{HeaderValue, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    /// Everything the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn secrets_are_sensitive_and_the_answer_is_logged_in_the_span() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);

        let service = RequestLogLayer.layer(tower::service_fn(|request: Request<AxumBody>| {
            let headers = request.headers();
            for name in [
                "x-byok-key",
                "x-byok-sealed",
                "x-byok-user",
                "authorization",
                "cookie",
            ] {
                assert!(headers[name].is_sensitive(), "{name}");
            }
            assert!(!headers["content-type"].is_sensitive());
            tracing::info!("inside the handler");
            async {
                let body = futures_util::stream::once(async {
                    tracing::info!("streaming the body");
                    Ok::<_, Infallible>("hello")
                });
                let mut response = Response::new(AxumBody::from_stream(body));
                *response.status_mut() = StatusCode::CREATED;
                Ok::<_, Infallible>(response)
            }
        }));
        let mut request = Request::new(AxumBody::empty());
        *request.uri_mut() = "/openai/v1/models?secret_query=1".parse().unwrap();
        let headers = request.headers_mut();
        headers.insert("x-byok-key", HeaderValue::from_static("sk-test-SECRET"));
        headers.insert("x-byok-sealed", HeaderValue::from_static("v1.kid.1.n.e.c"));
        headers.insert("authorization", HeaderValue::from_static("Bearer app"));
        headers.insert("x-byok-user", HeaderValue::from_static("eyJ.user.token"));
        headers.insert("cookie", HeaderValue::from_static("session=1"));
        headers.insert("content-type", HeaderValue::from_static("text/plain"));

        let response = service.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "hello");

        let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let span = "request{method=GET path=/openai/v1/models}";
        assert!(logs.contains(&format!("{span}: ")), "{logs}");
        for inside in ["inside the handler", "streaming the body"] {
            let line = logs.lines().find(|l| l.contains(inside));
            assert!(line.is_some_and(|l| l.contains(span)), "{inside}: {logs}");
        }
        let finished = logs
            .lines()
            .find(|l| l.contains("finished processing request"));
        assert!(
            finished.is_some_and(|l| l.contains(span) && l.contains("status=201")),
            "{logs}"
        );
        for secret in ["secret_query", "sk-test-SECRET", "Bearer app", "session=1"] {
            assert!(!logs.contains(secret), "{secret} in {logs}");
        }
    }
}
