//! A fake LLM provider: answers like OpenAI / Anthropic / Gemini / OpenRouter would, records
//! every request, and has paths that misbehave on purpose (redirects, stalls, slow streams).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One request as the provider saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The connection it came on (the proxy's address and port).
    pub peer: SocketAddr,
    /// Method.
    pub method: String,
    /// HTTP version, e.g. `HTTP/1.1` or `HTTP/2.0`.
    pub version: String,
    /// Path and query.
    pub uri: String,
    /// Headers, lower-case names.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl Recorded {
    /// The first value of header `name`.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Default)]
struct Shared {
    requests: Mutex<Vec<Recorded>>,
    cancelled: AtomicBool,
}

/// The SSE chunks `/v1/chat/completions` streams, 150 ms apart.
pub const SSE_CHUNKS: [&str; 5] = [
    ": keep-alive comment\n\n",
    "event: message\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
    "data: [DONE]\n\n",
];
/// The usage chunk `/v1/chat/completions` streams before `[DONE]` when the request asks for
/// `stream_options.include_usage`, as OpenAI does: 11 prompt tokens (4 cached), 7 completion.
pub const SSE_USAGE_CHUNK: &str = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7,\"total_tokens\":18,\"prompt_tokens_details\":{\"cached_tokens\":4}}}\n\n";
/// Gap between SSE chunks.
pub const SSE_GAP: Duration = Duration::from_millis(150);

/// A running fake provider.
#[derive(Debug, Clone)]
pub struct FakeProvider {
    addr: SocketAddr,
    scheme: &'static str,
    shared: Arc<Shared>,
}

impl FakeProvider {
    /// Starts one on 127.0.0.1 with a free port.
    ///
    /// # Panics
    ///
    /// If it cannot bind.
    pub async fn start() -> Self {
        let (shared, app, listener, addr) = bind().await;
        tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            scheme: "http",
            shared,
        }
    }

    /// Starts one on 127.0.0.1 with a free port, behind TLS with a certificate for 127.0.0.1
    /// issued by a CA made for it, offering `protocols` by ALPN (`h2`, `http/1.1`). Returns it
    /// and the CA certificate, PEM.
    ///
    /// # Panics
    ///
    /// If it cannot bind or make the certificates.
    pub async fn start_tls(protocols: &[&str]) -> (Self, String) {
        let (ca, server) = tls_server_config(protocols);
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let (shared, app, listener, addr) = bind().await;
        tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let (acceptor, app) = (acceptor.clone(), app.clone());
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return; // a client that does not trust the CA hangs up here
                    };
                    let service = hyper_util::service::TowerToHyperService::new(
                        app.layer(axum::Extension(ConnectInfo(peer))),
                    );
                    let builder = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    );
                    let _ = builder
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (
            Self {
                addr,
                scheme: "https",
                shared,
            },
            ca,
        )
    }

    /// Its base URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Everything received so far.
    ///
    /// # Panics
    ///
    /// If a handler panicked while holding the lock.
    #[must_use]
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().expect("lock").clone()
    }

    /// Whether a slow stream noticed its reader went away.
    #[must_use]
    pub fn stream_cancelled(&self) -> bool {
        self.shared.cancelled.load(Ordering::SeqCst)
    }
}

/// A fake's state, the app answering from it, and a listener on a free loopback port.
async fn bind() -> (Arc<Shared>, Router, tokio::net::TcpListener, SocketAddr) {
    let shared = Arc::new(Shared::default());
    let app = Router::new().fallback(handle).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    (shared, app, listener, addr)
}

/// A new CA (its certificate, PEM) and a server configuration with a certificate it issued
/// for 127.0.0.1, offering `protocols` by ALPN.
fn tls_server_config(protocols: &[&str]) -> (String, rustls::ServerConfig) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "byok e2e test CA");
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("server key");
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("server params")
        .signed_by(&key, &issuer)
        .expect("server certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server TLS config");
    config.alpn_protocols = protocols.iter().map(|p| p.as_bytes().to_vec()).collect();
    (ca.pem(), config)
}

fn auth_value(headers: &HeaderMap) -> String {
    ["authorization", "x-api-key", "x-goog-api-key", "api-key"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .unwrap_or_default()
        .trim_start_matches("Bearer ")
        .to_owned()
}

/// Sets a flag when dropped before it was disarmed: the stream's reader went away.
struct CancelGuard(Arc<Shared>, bool);

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.1 {
            self.0.cancelled.store(true, Ordering::SeqCst);
        }
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 24)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body).into_owned();
    // HTTP/2 requests carry scheme and authority in the URI; only path and query are kept.
    let uri = parts
        .uri
        .path_and_query()
        .map_or_else(String::new, ToString::to_string);
    shared.requests.lock().expect("lock").push(Recorded {
        peer,
        method: parts.method.to_string(),
        version: format!("{:?}", parts.version),
        uri: uri.clone(),
        headers: crate::header_pairs(&parts.headers),
        body: text.clone(),
    });
    let key = auth_value(&parts.headers);
    let path = parts.uri.path();
    if key.contains("ratelimited") {
        // A key over its provider's rate limit: 429 with how long to wait, as OpenAI sends.
        let body = json!({ "error": { "message": "Rate limit reached for requests",
            "type": "requests", "code": "rate_limit_exceeded" } });
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "30")],
            axum::Json(body),
        )
            .into_response();
    }
    if key.contains("rejected") || key.contains("invalid") {
        // Real providers echo (part of) the key back; the proxy must scrub it.
        let masked = format!(
            "{}***{}",
            &key[..key.len().min(6)],
            &key[key.len().saturating_sub(4)..]
        );
        let body = json!({ "error": {
            "message": format!("Incorrect API key provided: {masked}. You passed {key}."),
            "type": "invalid_request_error", "code": "invalid_api_key" } });
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    match path {
        // A 401 that repeats the key in headers, as some servers' debug output does.
        "/key-in-headers" => {
            let mut response = (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({ "error": { "message": "bad key" } })),
            )
                .into_response();
            let headers = response.headers_mut();
            for (name, value) in [
                ("www-authenticate", format!("Bearer error=\"invalid_token\", key=\"{key}\"")),
                ("x-debug-key", key.clone()),
                ("x-request-id", format!("req_{key}")),
                ("set-cookie", format!("k={key}")),
            ] {
                if let Ok(value) = axum::http::HeaderValue::try_from(value) {
                    headers.insert(axum::http::HeaderName::from_static(name), value);
                }
            }
            response
        }
        // A gzip-encoded 401 (a gzip header and deflate bytes: nothing to read as text).
        "/gzip-401" => (
            StatusCode::UNAUTHORIZED,
            [
                (header::CONTENT_ENCODING, "gzip"),
                (header::CONTENT_TYPE, "application/json"),
            ],
            Bytes::from_static(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\xab\x56\x4a\x2d\x2a\xca\x2f\x52\xb2\x52\xa8\xad\x05\x00"),
        )
            .into_response(),
        // A 200 stream that repeats the key cut across two reads, as an echoing server might.
        "/key-in-stream" => {
            let (first, second) = key.split_at(key.len() / 2);
            let chunks = [
                format!("data: {{\"echo\":\"{first}"),
                format!("{second}\"}}\n\n"),
                "data: [DONE]\n\n".to_owned(),
            ];
            let stream = futures_util::stream::unfold(0usize, move |i| {
                let chunk = chunks.get(i).cloned();
                async move {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    Some((Ok::<_, std::io::Error>(Bytes::from(chunk?)), i + 1))
                }
            });
            (
                [(header::CONTENT_TYPE, "text/event-stream")],
                Body::from_stream(stream),
            )
                .into_response()
        }
        // A 401 that hides the key behind JSON escapes and in base64.
        "/key-in-clothes-401" => {
            use base64::Engine as _;
            let escaped = key.replace('-', "\\u002d");
            let encoded = base64::engine::general_purpose::STANDARD.encode(format!("user:{key}"));
            let body = format!(
                "{{\"error\":{{\"message\":\"bad key {escaped}\",\"auth\":\"Basic {encoded}\"}}}}"
            );
            (
                StatusCode::UNAUTHORIZED,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
        // A response head of over 100 KB, in one header.
        "/huge-head" => ([("x-big", "a".repeat(100 * 1024))], "big").into_response(),
        // Answers, then closes the connection: a pooled connection that dies while idle.
        "/close" => ([(header::CONNECTION, "close")], "closing").into_response(),
        "/redirect" => (
            StatusCode::FOUND,
            [(header::LOCATION, "http://127.0.0.1:9/steal")],
        )
            .into_response(),
        "/slow-first-byte" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late".into_response()
        }
        "/stall" => {
            let stream = futures_util::stream::unfold(0u8, |n| async move {
                if n > 0 {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                Some((
                    Ok::<_, std::io::Error>(Bytes::from_static(b"data: first\n\n")),
                    n + 1,
                ))
            });
            Response::new(Body::from_stream(stream))
        }
        "/slow-stream" => {
            let guard = CancelGuard(shared.clone(), false);
            let stream = futures_util::stream::unfold((guard, 0u32), |(guard, n)| async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let chunk = Bytes::from(format!("data: {n}\n\n"));
                Some((Ok::<_, std::io::Error>(chunk), (guard, n + 1)))
            });
            (
                [(header::CONTENT_TYPE, "text/event-stream")],
                Body::from_stream(stream),
            )
                .into_response()
        }
        p if p.ends_with("/chat/completions") => {
            let request: Value = serde_json::from_str(&text).unwrap_or_default();
            let model = request["model"].as_str().unwrap_or_default().to_owned();
            if request["stream"].as_bool() == Some(true) {
                let mut chunks = SSE_CHUNKS.to_vec();
                if request["stream_options"]["include_usage"].as_bool() == Some(true) {
                    chunks.insert(chunks.len() - 1, SSE_USAGE_CHUNK);
                }
                let stream = futures_util::stream::unfold(0usize, move |i| {
                    let chunk = chunks.get(i).copied();
                    async move {
                        let chunk = chunk?;
                        if i > 0 {
                            tokio::time::sleep(SSE_GAP).await;
                        }
                        Some((Ok::<_, std::io::Error>(Bytes::from_static(chunk.as_bytes())), i + 1))
                    }
                });
                (
                    [
                        (header::CONTENT_TYPE, "text/event-stream"),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    Body::from_stream(stream),
                )
                    .into_response()
            } else {
                axum::Json(json!({
                    "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000,
                    "model": model,
                    "choices": [{ "index": 0, "finish_reason": "stop",
                                  "message": { "role": "assistant", "content": "Hello from the fake provider" } }],
                    "usage": { "prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8 }
                }))
                .into_response()
            }
        }
        // Gemini's native API: the model is in the path, usage in `usageMetadata`.
        p if p.ends_with(":generateContent") => axum::Json(json!({
            "candidates": [{ "content": { "parts": [{ "text": "Hi" }], "role": "model" },
                             "finishReason": "STOP", "index": 0 }],
            "usageMetadata": { "promptTokenCount": 1000, "candidatesTokenCount": 100,
                               "thoughtsTokenCount": 50, "totalTokenCount": 1150 }
        }))
        .into_response(),
        // The Responses API (OpenAI's, and Perplexity's Agent API): an empty request is
        // refused after the key was accepted, as the real ones do.
        p if p.ends_with("/v1/responses") => {
            let request: Value = serde_json::from_str(&text).unwrap_or_default();
            if request.as_object().is_some_and(serde_json::Map::is_empty) {
                let body = json!({ "error": { "message": "input is required",
                    "type": "invalid_request_error" } });
                return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
            }
            axum::Json(json!({
                "id": "resp_fake", "object": "response", "status": "completed",
                "model": request["model"],
                "output": [{ "type": "message", "role": "assistant",
                             "content": [{ "type": "output_text", "text": "Hi" }] }],
                "usage": { "input_tokens": 20, "output_tokens": 9, "total_tokens": 29,
                           "input_tokens_details": { "cached_tokens": 5 } }
            }))
            .into_response()
        }
        p if p.ends_with("/embeddings") => {
            let request: Value = serde_json::from_str(&text).unwrap_or_default();
            axum::Json(json!({ "object": "list", "model": request["model"],
                "data": [{ "object": "embedding", "index": 0, "embedding": [0.1, 0.2] }],
                "usage": { "prompt_tokens": 1, "total_tokens": 1 } }))
            .into_response()
        }
        _ => axum::Json(json!({ "ok": true, "path": uri })).into_response(),
    }
}
