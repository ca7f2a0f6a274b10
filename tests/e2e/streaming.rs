use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;

use crate::{client, get_with_key, setup};

const KEY: &str = "sk-proj-STREAMstreamSTREAM0002";

#[tokio::test]
async fn sse_arrives_chunk_by_chunk_and_byte_for_byte() {
    let (_fake, proxy) = setup(&[], &[]).await;
    let started = Instant::now();
    let response = client()
        .post(format!("{}/openai/v1/chat/completions", proxy.url()))
        .header("x-byok-key", KEY)
        .json(&json!({"model": "gpt-4o-mini", "stream": true, "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert!(response.headers().get("content-encoding").is_none());
    let mut stream = response.bytes_stream();
    let mut received = Vec::new();
    let mut arrivals = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        arrivals.push((started.elapsed(), chunk.len()));
        received.extend_from_slice(&chunk);
    }
    assert_eq!(
        String::from_utf8(received).unwrap(),
        byok_e2e::fake_sse_chunks().concat()
    );
    // The fake sends 5 chunks 150 ms apart. Unbuffered, they arrive spread out in time: the
    // first well before the last, and in at least four separate reads.
    let first = arrivals.first().unwrap().0;
    let last = arrivals.last().unwrap().0;
    assert!(arrivals.len() >= 4, "arrivals: {arrivals:?}");
    assert!(
        last - first >= Duration::from_millis(450),
        "arrivals: {arrivals:?}"
    );
}

#[tokio::test]
async fn client_disconnect_cancels_the_upstream_request() {
    let (fake, proxy) = setup(&[], &[]).await;
    let response = get_with_key(&format!("{}/openai/slow-stream", proxy.url()), KEY).await;
    let mut stream = response.bytes_stream();
    stream.next().await.unwrap().unwrap();
    assert!(!fake.stream_cancelled());
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !fake.stream_cancelled() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        fake.stream_cancelled(),
        "the provider's stream was not cancelled"
    );
}

#[tokio::test]
async fn first_byte_timeout_is_504_and_idle_streams_are_cut() {
    let (_fake, proxy) = setup(
        &["--first-byte-timeout", "300ms", "--idle-timeout", "400ms"],
        &[],
    )
    .await;
    let started = Instant::now();
    let response = get_with_key(&format!("{}/openai/slow-first-byte", proxy.url()), KEY).await;
    assert_eq!(response.status(), 504);
    assert!(started.elapsed() < Duration::from_secs(3));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream_timeout");

    // A stream that goes quiet is ended after the idle timeout, not left hanging.
    let started = Instant::now();
    let response = get_with_key(&format!("{}/openai/stall", proxy.url()), KEY).await;
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    assert_eq!(
        &stream.next().await.unwrap().unwrap()[..],
        b"data: first\n\n"
    );
    let end = stream.next().await;
    assert!(matches!(end, Some(Err(_)) | None), "stream must end");
    assert!(started.elapsed() < Duration::from_secs(5));

    // A live stream has no total cap: the slow stream runs longer than both timeouts.
    let response = get_with_key(&format!("{}/openai/slow-stream", proxy.url()), KEY).await;
    let mut stream = response.bytes_stream();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1200) {
        stream.next().await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn shutdown_lets_running_streams_finish_within_the_grace_period() {
    let (_fake, mut proxy) = setup(&["--shutdown-grace", "1500ms"], &[]).await;
    let response = get_with_key(&format!("{}/openai/slow-stream", proxy.url()), KEY).await;
    let mut stream = response.bytes_stream();
    stream.next().await.unwrap().unwrap();
    proxy.terminate();
    // The running stream keeps flowing during the grace period...
    let started = Instant::now();
    let mut chunks = 0;
    while started.elapsed() < Duration::from_millis(700) {
        stream.next().await.unwrap().unwrap();
        chunks += 1;
    }
    assert!(chunks >= 5, "only {chunks} chunks after SIGTERM");
    // ...new requests are not accepted...
    let refused = client()
        .get(format!("{}/healthz", proxy.url()))
        .send()
        .await;
    assert!(refused.is_err(), "accepted a request while shutting down");
    // ...and the process exits once the grace period is over, cutting the stream.
    let code = tokio::task::spawn_blocking(move || proxy.wait_exit(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(code, Some(0));
    let mut ended = false;
    for _ in 0..100 {
        match stream.next().await {
            Some(Ok(_)) => {}
            _ => {
                ended = true;
                break;
            }
        }
    }
    assert!(ended, "the stream did not end after the process exited");
}
