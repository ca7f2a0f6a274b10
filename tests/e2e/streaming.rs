use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;

use crate::{client, setup};

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
    let response = client()
        .get(format!("{}/openai/slow-stream", proxy.url()))
        .header("x-byok-key", KEY)
        .send()
        .await
        .unwrap();
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
    let response = client()
        .get(format!("{}/openai/slow-first-byte", proxy.url()))
        .header("x-byok-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 504);
    assert!(started.elapsed() < Duration::from_secs(3));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream_timeout");

    // A stream that goes quiet is ended after the idle timeout, not left hanging.
    let started = Instant::now();
    let response = client()
        .get(format!("{}/openai/stall", proxy.url()))
        .header("x-byok-key", KEY)
        .send()
        .await
        .unwrap();
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
    let response = client()
        .get(format!("{}/openai/slow-stream", proxy.url()))
        .header("x-byok-key", KEY)
        .send()
        .await
        .unwrap();
    let mut stream = response.bytes_stream();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1200) {
        stream.next().await.unwrap().unwrap();
    }
}
