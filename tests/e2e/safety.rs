use std::time::Duration;

use byok_e2e::{FakeProvider, raw_request};
use serde_json::Value;

use crate::{client, get_with_key, setup};

const KEY: &str = "sk-proj-SAFETYsafetySAFETY0003";

#[tokio::test]
async fn upstream_redirects_are_not_followed() {
    let (fake, proxy) = setup(&[], &[]).await;
    let response = client()
        .get(format!("{}/openai/redirect", proxy.url()))
        .header("x-byok-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    assert!(response.headers().get("location").is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream_redirect");
    assert_eq!(fake.requests().len(), 1, "only the original request");
}

#[tokio::test]
async fn traversal_absolute_form_and_unknown_providers_never_reach_upstream() {
    let (fake, proxy) = setup(&[], &[]).await;
    let addr = proxy.addr();
    let targets = [
        ("/openai/v1/../../admin", 400),
        ("/openai/..", 400),
        ("/openai/v1/%2e%2e/%2e%2e/admin", 400),
        ("/openai/v1/%2E%2E/secret", 400),
        ("/openai/v1%2f..%2fadmin", 400),
        ("/openai/v1/%5c..%5cadmin", 400),
        ("/openai//evil.example/v1", 400),
        ("/openai/v1/./models", 400),
        ("http://evil.example/openai/v1/models", 400),
        ("/bedrock/v1/chat/completions", 404),
        ("/../openai/v1/models", 404),
        ("/gemini/v1beta/models?key=AIzaInTheUrl0000000000000", 400),
    ];
    for (target, want) in targets {
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-BYOK-Key: {KEY}\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(raw_request(addr, &request), want, "{target}");
    }
    assert!(
        fake.requests().is_empty(),
        "reached upstream: {:?}",
        fake.requests()
    );
}

#[tokio::test]
async fn custom_provider_is_off_unless_configured() {
    let fake = FakeProvider::start().await;
    let proxy = byok_e2e::ProxyProcess::start(&["--upstream-openai", &fake.url()], &[]);
    let response = client()
        .post(format!("{}/custom/v1/chat/completions", proxy.url()))
        .header("x-byok-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_contacting_upstream() {
    let (fake, proxy) = setup(&["--body-limit", "1KiB"], &[]).await;
    let big = "x".repeat(2048);
    let response = client()
        .post(format!("{}/openai/v1/chat/completions", proxy.url()))
        .header("x-byok-key", KEY)
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "body_too_large");
    // Chunked, with no declared length.
    let stream =
        futures_util::stream::iter((0..4).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 512])));
    let response = client()
        .post(format!("{}/openai/v1/chat/completions", proxy.url()))
        .header("x-byok-key", KEY)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let response = client()
        .post(format!("{}/v1/chat/completions", proxy.url()))
        .header("x-byok-key", KEY)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(fake.requests().is_empty());
    // Within the limit is fine.
    let response = client()
        .post(format!("{}/openai/v1/chat/completions", proxy.url()))
        .header("x-byok-key", KEY)
        .body("x".repeat(1000))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn missing_and_malformed_keys_are_401_in_provider_shape() {
    let (fake, proxy) = setup(&[], &[]).await;
    for key in [None, Some(""), Some("   "), Some("sk-with\tcontrol")] {
        let mut request = client().post(format!("{}/openai/v1/chat/completions", proxy.url()));
        if let Some(key) = key {
            request = request.header("x-byok-key", key);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{key:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "authentication_error");
    }
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn upstream_error_bodies_are_scrubbed_of_keys() {
    let (_fake, proxy) = setup(&[], &[]).await;
    let key = "sk-proj-rejectedREJECTEDrejected9876";
    let response = client()
        .post(format!("{}/openai/v1/chat/completions", proxy.url()))
        .header("x-byok-key", key)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("Incorrect API key provided: [REDACTED]"),
        "{text}"
    );
    for piece in [key, &key[..10], "***", "9876"] {
        assert!(!text.contains(piece), "{piece} in {text}");
    }
    let _: Value = serde_json::from_str(&text).expect("still JSON");
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let (_fake, proxy) = setup(&["--rate-limit-per-key", "3"], &[]).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = client()
            .get(format!("{}/openai/v1/models", proxy.url()))
            .header("x-byok-key", KEY)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let after: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&after));
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    // Another key is not limited by the first one's use.
    let other = client()
        .get(format!("{}/openai/v1/models", proxy.url()))
        .header("x-byok-key", "sk-proj-OTHERotherOTHER00000")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test]
async fn the_per_address_limit_counts_every_key_from_one_client() {
    let (fake, proxy) = setup(&["--rate-limit-per-ip", "2"], &[]).await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        // A different key each time: the per-key limit cannot be what stops the third.
        let key = format!("sk-proj-ADDRESSlimitKEY{i:08}");
        let response = get_with_key(&format!("{}/openai/v1/models", proxy.url()), &key).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "rate_limited");
        }
    }
    assert_eq!(statuses, [200, 200, 429]);
    assert_eq!(
        fake.requests().len(),
        2,
        "the refused request never reached the provider"
    );
}

#[tokio::test]
async fn workers_share_the_limits_and_the_concurrency_cap() {
    let (fake, proxy) = setup(
        &[
            "--workers",
            "3",
            "--rate-limit-per-key",
            "4",
            "--max-concurrent",
            "1",
        ],
        &[],
    )
    .await;
    let workers: Vec<String> = proxy
        .thread_names()
        .into_iter()
        .filter(|name| name.starts_with("byok-worker-"))
        .collect();
    assert_eq!(workers, ["byok-worker-0", "byok-worker-1", "byok-worker-2"]);
    // A new connection per request (`get_with_key` builds a new client), so the requests are
    // spread over the workers; the per-key count is still one count.
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let response = get_with_key(&format!("{}/openai/v1/models", proxy.url()), KEY).await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429, 429]);
    assert_eq!(fake.requests().len(), 4);
    // The one slot is held by a stream, whichever worker serves the next connections.
    let other_key = "sk-proj-WORKERSshareTHEcap0000";
    let stream = get_with_key(&format!("{}/openai/slow-stream", proxy.url()), other_key).await;
    assert_eq!(stream.status(), 200);
    // Three more: with the stream that makes four, still within this key's rate limit.
    for _ in 0..3 {
        let refused = get_with_key(&format!("{}/openai/v1/models", proxy.url()), other_key).await;
        assert_eq!(refused.status(), 503);
    }
    drop(stream);
}

#[tokio::test]
async fn at_the_concurrency_cap_new_requests_get_503_until_a_slot_frees() {
    let (_fake, proxy) = setup(&["--max-concurrent", "1"], &[]).await;
    // A live stream holds the only slot...
    let stream = get_with_key(&format!("{}/openai/slow-stream", proxy.url()), KEY).await;
    assert_eq!(stream.status(), 200);
    let refused = get_with_key(&format!("{}/openai/v1/models", proxy.url()), KEY).await;
    assert_eq!(refused.status(), 503);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "at_capacity");
    // ...until it ends.
    drop(stream);
    let mut status = 0;
    for _ in 0..50 {
        status = get_with_key(&format!("{}/openai/v1/models", proxy.url()), KEY)
            .await
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        status, 200,
        "the slot is released when the stream is dropped"
    );
}

#[tokio::test]
async fn bad_configuration_fails_at_start_naming_the_setting() {
    let binary_check = std::process::Command::new(env!("CARGO"))
        .args([
            "run",
            "--quiet",
            "-p",
            "byok-proxy",
            "--",
            "--upstream-openai",
            "ftp://nope",
        ])
        .output()
        .unwrap();
    assert_eq!(binary_check.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&binary_check.stderr);
    assert!(stderr.contains("BYOK_UPSTREAM_OPENAI"), "{stderr}");
}
