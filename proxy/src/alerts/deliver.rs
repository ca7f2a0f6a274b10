//! Delivery: a thread of its own posts each event to the webhook, signed at each attempt, and
//! tries again after 1 s, 2 s, 4 s, … while ten minutes have not passed since the first try.
//! A receiver answers 2xx to take an event; anything else (a redirect too: none is followed)
//! is a failed attempt. Requests never wait for any of it: they only put events in the queue,
//! and a full queue drops the event (counted).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::event::{Event, sign};
use crate::core::BuildError;
use crate::metrics::Metrics;

/// Events waiting for the delivery thread; more are dropped.
const QUEUE: usize = 1024;
/// How long an event is tried for.
const GIVE_UP_AFTER: Duration = Duration::from_secs(600);
/// The wait before the first retry; each next one doubles it.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest one attempt may take, connecting included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

type Http = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Starts the delivery thread; events sent into the returned queue go to `webhook`.
pub(super) fn start(
    webhook: url::Url,
    secret: SecretString,
    tls: rustls::ClientConfig,
    metrics: Arc<Metrics>,
) -> Result<mpsc::Sender<Event>, BuildError> {
    let (queue, mut events) = mpsc::channel::<Event>(QUEUE);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BuildError(format!("alerts: {e}")))?;
    let uri: hyper::Uri = webhook
        .as_str()
        .parse()
        .map_err(|_| BuildError("alerts: the webhook is not a URI".into()))?;
    std::thread::Builder::new()
        .name("byok-alerts".into())
        .spawn(move || {
            runtime.block_on(async move {
                let mut http = HttpConnector::new();
                http.enforce_http(false);
                http.set_connect_timeout(Some(ATTEMPT_TIMEOUT));
                let connector = HttpsConnectorBuilder::new()
                    .with_tls_config(tls)
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(http);
                let client: Http = Client::builder(TokioExecutor::new()).build(connector);
                let secret = Arc::new(secret);
                while let Some(event) = events.recv().await {
                    let (client, uri, secret, metrics) = (
                        client.clone(),
                        uri.clone(),
                        Arc::clone(&secret),
                        Arc::clone(&metrics),
                    );
                    tokio::spawn(async move {
                        deliver(&client, &uri, &secret, &metrics, &event).await;
                    });
                }
            });
        })
        .map_err(|e| BuildError(format!("alerts: {e}")))?;
    Ok(queue)
}

async fn deliver(
    client: &Http,
    uri: &hyper::Uri,
    secret: &SecretString,
    metrics: &Metrics,
    event: &Event,
) {
    let started = Instant::now();
    let mut wait = FIRST_RETRY;
    loop {
        match attempt(client, uri, secret, event).await {
            Ok(()) => {
                metrics.alert(event.kind, "delivered");
                return;
            }
            Err(why) if started.elapsed() + wait <= GIVE_UP_AFTER => {
                tracing::info!(kind = event.kind, why, retry_in = ?wait, "alert not taken; trying again");
                metrics.alert(event.kind, "retried");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(why) => {
                tracing::warn!(
                    kind = event.kind,
                    why,
                    "alert not taken for ten minutes; given up"
                );
                metrics.alert(event.kind, "failed");
                return;
            }
        }
    }
}

/// One post of `event`: `Err` says why it was not taken (never with the URL, which may hold
/// a token of the receiver's).
async fn attempt(
    client: &Http,
    uri: &hyper::Uri,
    secret: &SecretString,
    event: &Event,
) -> Result<(), String> {
    let t = crate::core::clock::now_ms() / 1000;
    let request = hyper::Request::post(uri.clone())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("byok-proxy/", env!("CARGO_PKG_VERSION")),
        )
        .header("x-byok-event", event.kind)
        .header(
            "x-byok-signature",
            sign(secret.expose_secret().as_bytes(), t, &event.body),
        )
        .body(Full::new(Bytes::from(event.body.clone())))
        .map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(ATTEMPT_TIMEOUT, client.request(request))
        .await
        .map_err(|_| "no answer in time".to_owned())?
        .map_err(|e| format!("cannot reach the receiver: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!(
            "the receiver answered {}",
            response.status().as_u16()
        ))
    }
}
