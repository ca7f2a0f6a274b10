//! What a hostile client tried, refused before anyone is contacted: methods no provider uses,
//! broken chunked bodies, keys in URLs on every route and in other clothes, and paths that
//! lenient servers behind a base path would read as traversal; slow clients and too many of
//! them. And what a misbehaving provider tried: keys in its headers, in other clothes and cut
//! across reads, compressed error bodies, huge response heads.

use std::time::{Duration, Instant};

use byok_e2e::raw_request;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{client, get_with_key, setup};

const KEY: &str = "sk-proj-HARDENINGhardening0004";

fn get(target: &str, method: &str) -> String {
    format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-BYOK-Key: {KEY}\r\nConnection: close\r\n\r\n"
    )
}

#[tokio::test]
async fn methods_no_provider_uses_are_refused_with_405() {
    let (fake, proxy) = setup(&[], &[]).await;
    for method in ["TRACE", "CONNECT", "PROPFIND"] {
        let status = raw_request(proxy.addr(), &get("/openai/v1/models", method));
        assert_eq!(status, 405, "{method}");
    }
    let r = client()
        .request(
            reqwest::Method::from_bytes(b"TRACE").unwrap(),
            format!("{}/openai/v1/models", proxy.url()),
        )
        .header("x-byok-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.headers()["allow"].to_str().unwrap().contains("POST"));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[tokio::test]
async fn a_malformed_chunked_body_is_a_400_not_a_413() {
    let (fake, proxy) = setup(&[], &[]).await;
    for target in [
        "/openai/v1/chat/completions",
        "/v1/chat/completions",
        "/byok/grants",
    ] {
        let request = format!(
            "POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-BYOK-Key: {KEY}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
             5\r\n{{\"a\":\r\nzz\r\nnot a chunk\r\n0\r\n\r\n"
        );
        assert_eq!(raw_request(proxy.addr(), &request), 400, "{target}");
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[tokio::test]
async fn keys_in_urls_are_refused_on_every_route_in_any_clothes() {
    let (fake, proxy) = setup(&[], &[]).await;
    let url = proxy.url();
    let chat = json!({"model": "openai/gpt-4o-mini", "messages": []});
    for (method, target) in [
        ("POST", "/v1/chat/completions?key=AIzaInTheUrl0000000000000"),
        ("POST", "/v1/embeddings?api_key=whatever"),
        ("POST", "/byok/test/gemini?key=AIzaInTheUrl0000000000000"),
        ("POST", "/byok/grants?%6bey=abc"),
        (
            "GET",
            "/gemini/v1beta/models?%6Bey=AIzaInTheUrl0000000000000",
        ),
        ("GET", "/gemini/v1beta/models?KEY=x"),
        ("GET", "/openai/v1/models?q=sk-proj-inTheQueryValue000"),
        ("GET", "/openai/v1/models?x=1;key=abc"),
        ("GET", "/healthz?access_token=abc"),
    ] {
        let r = client()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{url}{target}"),
            )
            .header("x-byok-key", KEY)
            .json(&chat)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{target}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "key_in_url", "{target}");
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[tokio::test]
async fn paths_lenient_servers_read_as_traversal_never_leave() {
    let (fake, proxy) = setup(&[], &[]).await;
    for target in [
        "/openrouter/v1/..;/..;/admin",
        "/openrouter/v1/..;jsessionid=1/admin",
        "/openai/v1;x=1/models",
        "/openai/v1/%c0%ae%c0%ae/admin",
        "/openai/v1/%e0%80%ae%e0%80%ae/admin",
        "/openai/v1/%c0%af..%c0%afadmin",
        "/openai/v1/%u002e%u002e/admin",
        "/openai/v1/%U002E/admin",
        "/openai/v1/models%",
    ] {
        assert_eq!(
            raw_request(proxy.addr(), &get(target, "GET")),
            400,
            "{target}"
        );
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    // What providers do use still passes: colons, escapes of plain characters, queries. (Off
    // this thread: the fake provider answers on this test's event loop.)
    for target in [
        "/gemini/v1beta/models/gemini-2.0-flash:generateContent?alt=sse",
        "/openai/v1/files/file-a%3Db/content",
    ] {
        let (addr, request) = (proxy.addr(), get(target, "GET"));
        let status = tokio::task::spawn_blocking(move || raw_request(addr, &request))
            .await
            .unwrap();
        assert_eq!(status, 200, "{target}");
    }
}

#[tokio::test]
async fn provider_response_headers_are_an_allowlist_and_never_carry_the_key() {
    let (_fake, proxy) = setup(&[], &[]).await;
    let r = get_with_key(&format!("{}/openai/key-in-headers", proxy.url()), KEY).await;
    assert_eq!(r.status(), 401);
    for name in ["www-authenticate", "x-debug-key", "set-cookie"] {
        assert!(r.headers().get(name).is_none(), "{name} passed");
    }
    assert_eq!(r.headers()["x-request-id"], "req_[REDACTED]");
    let all = format!("{:?}", r.headers());
    assert!(!all.contains(&KEY[8..]), "{all}");
}

#[tokio::test]
async fn a_compressed_error_body_is_withheld_not_corrupted() {
    let (_fake, proxy) = setup(&[], &[]).await;
    let r = get_with_key(&format!("{}/openai/gzip-401", proxy.url()), KEY).await;
    assert_eq!(r.status(), 401, "the provider's status stays");
    assert!(r.headers().get("content-encoding").is_none());
    let body: serde_json::Value = r.json().await.expect("a readable JSON body");
    assert_eq!(body["error"]["code"], "upstream_error_withheld");
    assert!(body["error"]["message"].as_str().unwrap().contains("401"));
}

#[tokio::test]
async fn a_key_cut_across_two_reads_of_a_stream_is_removed() {
    let (_fake, proxy) = setup(&[], &[]).await;
    let r = get_with_key(&format!("{}/openai/key-in-stream", proxy.url()), KEY).await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(!body.contains(&KEY[8..]), "{body}");
    let mask = format!("[REDACTED{}]", "*".repeat(KEY.len() - 10));
    assert_eq!(
        body,
        format!("data: {{\"echo\":\"{mask}\"}}\n\ndata: [DONE]\n\n"),
        "everything else passes as it was"
    );
}

#[tokio::test]
async fn a_key_behind_json_escapes_or_in_base64_is_removed_from_errors() {
    use base64::Engine as _;
    let (_fake, proxy) = setup(&[], &[]).await;
    let r = get_with_key(&format!("{}/openai/key-in-clothes-401", proxy.url()), KEY).await;
    assert_eq!(r.status(), 401);
    let text = r.text().await.unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("user:{KEY}"));
    assert!(!text.contains(&encoded[4..encoded.len() - 4]), "{text}");
    assert!(!text.contains("\\u002d"), "{text}");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["message"], "bad key [REDACTED]");
    assert!(
        body["error"]["auth"]
            .as_str()
            .unwrap()
            .contains("[REDACTED]")
    );
}

#[tokio::test]
async fn a_huge_response_head_is_a_502() {
    let (_fake, proxy) = setup(&[], &[]).await;
    let r = get_with_key(&format!("{}/openai/huge-head", proxy.url()), KEY).await;
    assert_eq!(r.status(), 502);
    assert!(r.headers().get("x-big").is_none());
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream_head_too_large");
}

/// Whether the proxy closes `stream` within `within`, while it sends `drip` (a byte at a time,
/// 200 ms apart) and then waits.
async fn closed_within(mut stream: TcpStream, drip: &[u8], within: Duration) -> bool {
    let started = Instant::now();
    let mut drip = drip.iter();
    let mut buf = [0u8; 1024];
    while started.elapsed() < within {
        if let Some(byte) = drip.next()
            && stream.write_all(&[*byte]).await.is_err()
        {
            return true;
        }
        let read = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await;
        if let Ok(Ok(0) | Err(_)) = read {
            return true;
        }
    }
    false
}

#[tokio::test]
async fn slow_clients_are_cut_off_at_the_header_read_timeout() {
    let (_fake, proxy) = setup(&["--header-read-timeout", "1s"], &[]).await;
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: {}\r\n\r\n",
        "a".repeat(64)
    );
    let started = Instant::now();
    let slow = (0..50).map(|_| async {
        let stream = TcpStream::connect(proxy.addr()).await.unwrap();
        closed_within(stream, head.as_bytes(), Duration::from_secs(4)).await
    });
    let closed = futures_util::future::join_all(slow).await;
    assert!(closed.iter().all(|c| *c), "{closed:?}");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    // A connection idle after its request is closed after the same time.
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    assert!(closed_within(stream, b"", Duration::from_secs(3)).await);
}

#[tokio::test]
async fn connections_over_the_cap_get_a_clear_503() {
    let (_fake, proxy) = setup(&["--max-connections", "4"], &[]).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(proxy.addr()).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut over = TcpStream::connect(proxy.addr()).await.unwrap();
    over.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(3), over.read_to_end(&mut answer))
        .await
        .expect("closed within the second")
        .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 1"), "{answer}");
    let body: serde_json::Value =
        serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(body["error"]["code"], "too_many_connections");
    // One closed makes room for one more.
    held.pop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let text = crate::metrics(&proxy).await;
    assert!(text.contains("byok_connections_refused_total 1"), "{text}");
}

#[tokio::test]
async fn a_huge_request_head_is_refused_before_anyone_is_contacted() {
    let (fake, proxy) = setup(&[], &[]).await;
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let head = format!(
        "GET /openai/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-BYOK-Key: {KEY}\r\nX-Big: "
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // 8 KiB at a time, reading in between, so the answer is read before the proxy's close
    // meets more of our bytes (which would reset the connection).
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..16 {
        if stream.write_all(&[b'a'; 8192]).await.is_err() {
            break;
        }
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await
        {
            answer.extend_from_slice(&buf[..n]);
            break;
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert!(fake.requests().is_empty());
}
