//! The key never reaches a log line, at TRACE, across successes, errors, timeouts and
//! disconnects, in both log formats.

use std::time::Duration;

use byok_e2e::raw_request;
use futures_util::StreamExt;
use serde_json::json;

use crate::{client, setup};

/// Distinctive, so any 8-character piece of it is unlikely to occur by chance.
const KEY: &str = "sk-proj-Qz7LeakHunterXv93Kp2Wm8Rt";
const REJECTED: &str = "sk-proj-rejectedQz7Hx2Lm9Vb4Nc";

fn pieces(key: &str) -> Vec<&str> {
    (0..=key.len() - 8)
        .map(|i| &key[i..i + 8])
        .filter(|p| !p.starts_with("sk-proj"))
        .collect()
}

async fn exercise(proxy: &byok_e2e::ProxyProcess) {
    let url = proxy.url();
    for _ in 0..5 {
        let r = client()
            .post(format!("{url}/openai/v1/chat/completions?trace=1"))
            .header("x-byok-key", KEY)
            .json(&json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": KEY}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = client()
            .post(format!("{url}/v1/chat/completions"))
            .header("x-byok-key", KEY)
            .json(&json!({"model": "anthropic/claude", "stream": true, "messages": []}))
            .send()
            .await
            .unwrap();
        let _ = r.bytes().await;
    }
    // Upstream rejects and echoes the key.
    let r = client()
        .post(format!("{url}/anthropic/v1/messages"))
        .header("x-byok-key", REJECTED)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Key test endpoint, both outcomes.
    for key in [KEY, REJECTED] {
        client()
            .post(format!("{url}/byok/test/gemini"))
            .header("x-byok-key", key)
            .send()
            .await
            .unwrap();
    }
    // First-byte timeout, idle timeout, a disconnect mid-stream, a redirect.
    let r = client()
        .get(format!("{url}/openai/slow-first-byte"))
        .header("x-byok-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 504);
    let r = client()
        .get(format!("{url}/openai/stall"))
        .header("x-byok-key", KEY)
        .send()
        .await
        .unwrap();
    let _ = r.bytes().await;
    let r = client()
        .get(format!("{url}/openai/slow-stream"))
        .header("x-byok-key", KEY)
        .send()
        .await
        .unwrap();
    let mut s = r.bytes_stream();
    s.next().await;
    drop(s);
    client()
        .get(format!("{url}/openai/redirect"))
        .header("x-byok-key", KEY)
        .send()
        .await
        .unwrap();
    // Our own errors: bad path, key in the URL, too large, unknown provider, bad JSON.
    let bad = format!(
        "GET /openai/v1/../x HTTP/1.1\r\nHost: x\r\nX-BYOK-Key: {KEY}\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(raw_request(proxy.addr(), &bad), 400);
    let r = client()
        .get(format!("{url}/gemini/v1beta/models?key={KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client()
        .post(format!("{url}/openai/v1/chat/completions"))
        .header("x-byok-key", KEY)
        .body("z".repeat(4096))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    client()
        .post(format!("{url}/v1/chat/completions"))
        .header("x-byok-key", KEY)
        .body("{not json")
        .send()
        .await
        .unwrap();
    client()
        .get(format!("{url}/azure/x"))
        .header("x-byok-key", KEY)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
}

async fn assert_clean(format: &str) {
    let (_fake, proxy) = setup(
        &[
            "--first-byte-timeout",
            "300ms",
            "--idle-timeout",
            "300ms",
            "--body-limit",
            "1KiB",
            "--log-format",
            format,
        ],
        &[("RUST_LOG", "trace")],
    )
    .await;
    exercise(&proxy).await;
    let logs = proxy.logs();
    let lines = logs.lines().count();
    let at_trace = logs.lines().filter(|l| l.contains("TRACE")).count();
    assert!(
        lines > 50 && at_trace > 0,
        "TRACE logging is on: {lines} lines, {at_trace} at TRACE"
    );
    assert!(logs.contains("upstream answered"), "request logs are there");
    for key in [KEY, REJECTED] {
        assert!(!logs.contains(key), "{format}: full key in logs");
        for piece in pieces(key) {
            if let Some(line) = logs.lines().find(|l| l.contains(piece)) {
                panic!("{format}: key piece {piece:?} in log line: {line}");
            }
        }
    }
    println!("{format}: {lines} log lines at TRACE, no key material");
}

#[tokio::test]
async fn no_key_material_in_pretty_logs_at_trace() {
    assert_clean("pretty").await;
}

#[tokio::test]
async fn no_key_material_in_json_logs_at_trace() {
    assert_clean("json").await;
}
