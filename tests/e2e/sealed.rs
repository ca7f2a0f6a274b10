//! Sealed keys: a key sealed to the proxy (by this repository's crate, or by pyhpke following
//! only the README) is opened for its one request; a recording relay in front of the proxy
//! gets nothing it can use, on this instance or another sharing Redis.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use byok_e2e::{ProxyProcess, RedisServer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::grants::shared_pair;
use crate::{client, get_json, setup};

/// Distinctive, so any 8-character piece of it is unlikely to occur by chance.
const KEY: &str = "sk-proj-SealedKeyPq4Xz8Lm2Wv7Tn";
const SECRET: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const CHAT: &str = "/openai/v1/chat/completions";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn pieces(key: &str) -> Vec<&str> {
    (0..=key.len() - 8)
        .map(|i| &key[i..i + 8])
        .filter(|p| !p.starts_with("sk-proj"))
        .collect()
}

fn assert_no_piece(haystack: &[u8], what: &str) {
    let text = String::from_utf8_lossy(haystack);
    for piece in pieces(KEY) {
        assert!(!text.contains(piece), "{what} holds {piece:?}");
    }
}

/// The proxy's first published key: (id, public key).
async fn seal_key(proxy: &ProxyProcess) -> (String, byok_seal::PublicKey) {
    let config = get_json(&format!("{}/byok/seal-key", proxy.url())).await;
    let key = &config["keys"][0];
    (
        key["id"].as_str().unwrap().to_owned(),
        byok_seal::PublicKey::from_base64(key["public_key"].as_str().unwrap()).unwrap(),
    )
}

/// `KEY` sealed to `proxy` for `method target` with `body`, at `time`.
async fn sealed(
    proxy: &ProxyProcess,
    method: &str,
    target: &str,
    body: &[u8],
    time: u64,
) -> String {
    let (id, public) = seal_key(proxy).await;
    let request = byok_seal::Request::new(method, target, body);
    byok_seal::seal(&public, &id, &request, time, KEY.as_bytes()).unwrap()
}

/// `KEY` sealed by pyhpke (tests/support/seal_pyhpke.py).
async fn sealed_by_pyhpke(proxy: &ProxyProcess, method: &str, target: &str, body: &str) -> String {
    let (id, public) = seal_key(proxy).await;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(root.join(".tools/venv/bin/python"))
        .arg(root.join("tests/support/seal_pyhpke.py"))
        .args([
            &public.to_base64(),
            &id,
            method,
            target,
            body,
            &now().to_string(),
            KEY,
        ])
        .output()
        .expect("python with pyhpke (make test-tools)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn send(
    proxy_url: &str,
    method: &str,
    target: &str,
    body: &str,
    sealed: &str,
) -> reqwest::Response {
    client()
        .request(method.parse().unwrap(), format!("{proxy_url}{target}"))
        .header("content-type", "application/json")
        .header("x-byok-sealed", sealed)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// The status and error code of `response`.
async fn code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

fn chat_body() -> String {
    json!({ "model": "gpt-4o-mini", "messages": [{ "role": "user", "content": "hi" }] }).to_string()
}

#[tokio::test]
async fn the_seal_key_is_published_and_instances_sharing_the_secret_agree() {
    let (_fake, a) = setup(&[], &[("BYOK_SECRET", SECRET)]).await;
    let (_fake2, b) = setup(&[], &[("BYOK_SECRET", SECRET)]).await;
    let (_fake3, c) = setup(&[], &[]).await;
    let r = client()
        .get(format!("{}/byok/seal-key", a.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "public, max-age=60");
    let config: Value = r.json().await.unwrap();
    assert_eq!(config["version"], 1);
    assert_eq!(config["kem"], "X25519-HKDF-SHA256");
    assert_eq!(config["kdf"], "HKDF-SHA256");
    assert_eq!(config["aead"], "ChaCha20-Poly1305");
    assert_eq!(config["max_skew_seconds"], 60);
    let keys = config["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "the current key and the previous one");
    assert!(keys[0]["not_after"].as_u64().unwrap() > now() + 86_400 - 120);
    assert_eq!(
        get_json(&format!("{}/byok/seal-key", b.url())).await,
        config,
        "instances sharing BYOK_SECRET publish the same keys"
    );
    let other = get_json(&format!("{}/byok/seal-key", c.url())).await;
    assert_ne!(other["keys"][0]["id"], config["keys"][0]["id"]);
    // A key sealed to one instance opens on the other.
    let body = chat_body();
    let header = sealed(&a, "POST", CHAT, body.as_bytes(), now()).await;
    assert_eq!(
        send(&b.url(), "POST", CHAT, &body, &header).await.status(),
        200
    );
    assert_eq!(
        code(send(&c.url(), "POST", CHAT, &body, &header).await).await,
        (401, "seal_key_unknown".into())
    );
}

#[tokio::test]
async fn a_key_sealed_by_pyhpke_is_accepted_wherever_a_key_is() {
    let (fake, proxy) = setup(&[], &[]).await;
    let url = proxy.url();
    let body = chat_body();

    // Pass-through.
    let header = sealed_by_pyhpke(&proxy, "POST", CHAT, &body).await;
    let r = send(&url, "POST", CHAT, &body, &header).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-byok-key-source"], "user");
    let last = fake.requests().last().unwrap().clone();
    assert_eq!(
        last.header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(
        last.header("x-byok-sealed"),
        None,
        "the sealed header stays here"
    );

    // Unified, with a query.
    let unified = json!({ "model": "anthropic/claude-sonnet-4-5", "messages": [] }).to_string();
    let header = sealed_by_pyhpke(&proxy, "POST", "/v1/chat/completions", &unified).await;
    assert_eq!(
        send(&url, "POST", "/v1/chat/completions", &unified, &header)
            .await
            .status(),
        200
    );
    assert_eq!(
        fake.requests().last().unwrap().header("x-api-key"),
        Some(KEY)
    );

    // A GET with a query and no body.
    let header = sealed_by_pyhpke(&proxy, "GET", "/openai/v1/models?limit=5", "").await;
    assert_eq!(
        send(&url, "GET", "/openai/v1/models?limit=5", "", &header)
            .await
            .status(),
        200
    );

    // The key test.
    let header = sealed_by_pyhpke(&proxy, "POST", "/byok/test/openai", "").await;
    let r = send(&url, "POST", "/byok/test/openai", "", &header).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["valid"], true);

    // Creating a grant, then using it without any key.
    let scope = json!({ "provider": "openai", "ttl_seconds": 600 }).to_string();
    let header = sealed_by_pyhpke(&proxy, "POST", "/byok/grants", &scope).await;
    let r = send(&url, "POST", "/byok/grants", &scope, &header).await;
    assert!(r.status().is_success(), "{}", r.status());
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = client()
        .post(format!("{url}{CHAT}"))
        .bearer_auth(&token)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        fake.requests().last().unwrap().header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
}

/// A TCP relay in front of `target` that records every byte clients send through it.
async fn recording_relay(target: std::net::SocketAddr) -> (String, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&recorded);
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut outbound = TcpStream::connect(target).await.unwrap();
                let (mut ci, mut co) = inbound.split();
                let (mut si, mut so) = outbound.split();
                let upward = async {
                    let mut buf = [0u8; 8192];
                    loop {
                        let n = ci.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            let _ = so.shutdown().await;
                            return;
                        }
                        log.lock().unwrap().extend_from_slice(&buf[..n]);
                        if so.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                };
                let downward = tokio::io::copy(&mut si, &mut co);
                let _ = tokio::join!(upward, downward);
            });
        }
    });
    (url, recorded)
}

/// Sends `bytes` as they are to `addr`: the status and error code of the answer.
async fn replay(addr: std::net::SocketAddr, bytes: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = String::from_utf8_lossy(&answer).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                let json: Value = serde_json::from_str(&body[..length]).unwrap_or(Value::Null);
                return (
                    status,
                    json["error"]["code"].as_str().unwrap_or("").to_owned(),
                );
            }
        }
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .expect("an answer in time")
            .unwrap();
        assert!(n > 0, "closed before answering: {text}");
        answer.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test]
async fn what_a_relay_records_is_useless_to_it_on_any_instance() {
    let redis = RedisServer::start();
    let (fake, a, b) = shared_pair(&redis.url(), &[]).await;
    let (relay, recorded) = recording_relay(a.addr()).await;
    let body = chat_body();
    let header = sealed(&a, "POST", CHAT, body.as_bytes(), now()).await;
    let r = send(&relay, "POST", CHAT, &body, &header).await;
    assert_eq!(r.status(), 200);
    assert_eq!(fake.requests().len(), 1);
    let bytes = recorded.lock().unwrap().clone();
    assert!(String::from_utf8_lossy(&bytes).contains("x-byok-sealed: v1."));
    assert_no_piece(&bytes, "what the relay recorded");

    // Replayed as recorded: to the same instance, and to another on the same Redis.
    assert_eq!(
        replay(a.addr(), &bytes).await,
        (401, "seal_replayed".into())
    );
    assert_eq!(
        replay(b.addr(), &bytes).await,
        (401, "seal_replayed".into())
    );

    // The recorded header on a changed request: the same opaque refusal.
    let changed_body = body.replace("hi", "ho");
    for (method, target, body) in [
        ("POST", CHAT, changed_body.as_str()),
        ("POST", "/openai/v1/embeddings", body.as_str()),
        ("POST", "/openai/v1/chat/completions?x=1", body.as_str()),
        ("PUT", CHAT, body.as_str()),
        ("GET", "/openai/v1/models", ""),
    ] {
        for proxy in [&a, &b] {
            let got = code(send(&proxy.url(), method, target, body, &header).await).await;
            assert_eq!(got, (401, "seal_invalid".into()), "{method} {target}");
        }
    }

    // Sealed too long ago, or too far ahead (by more than a second or two of test: the skew
    // is 60 s either way).
    for time in [now() - 65, now() + 65] {
        let stale = sealed(&a, "POST", CHAT, body.as_bytes(), time).await;
        let got = code(send(&b.url(), "POST", CHAT, &body, &stale).await).await;
        assert_eq!(got, (401, "seal_stale".into()));
    }
    assert_eq!(
        fake.requests().len(),
        1,
        "no refused request reached the provider"
    );

    // Nothing in Redis or in either log holds a piece of the key.
    let dump = redis.dump();
    assert!(
        dump.iter().any(|(k, _)| k.starts_with("byok:seen:")),
        "the nonce is remembered"
    );
    for (name, value) in &dump {
        assert_no_piece(name.as_bytes(), "a Redis key name");
        assert_no_piece(value, name);
    }
    assert_no_piece(a.logs().as_bytes(), "instance a's log");
    assert_no_piece(b.logs().as_bytes(), "instance b's log");
}

#[tokio::test]
async fn malformed_sealed_headers_get_a_clear_4xx_and_reach_no_one() {
    let (fake, proxy) = setup(&[], &[("RUST_LOG", "trace")]).await;
    let url = proxy.url();
    let body = chat_body();
    let good = sealed(&proxy, "POST", CHAT, body.as_bytes(), now()).await;
    let fields: Vec<&str> = good.split('.').collect();
    let mut cases: Vec<(String, &str)> = vec![
        (
            good.replacen(fields[1], "AAAAAAAAAAAA", 1),
            "seal_key_unknown",
        ),
        (good.replacen("v1.", "v2.", 1), "seal_invalid"),
        (good.replacen("v1.", "", 1), "seal_invalid"),
        (format!("{good}.extra"), "seal_invalid"),
        (good.replace('.', ","), "seal_invalid"),
        ("v1".into(), "seal_invalid"),
        (" ".into(), "seal_invalid"),
        (format!("{good}{}", "A".repeat(3000)), "seal_invalid"),
    ];
    for cut in [3, 10, 20, 40, 80, good.len() - 30, good.len() - 1] {
        cases.push((good[..cut].to_owned(), "seal_invalid"));
    }
    // A character flipped in the nonce, enc and ciphertext.
    for field in 3..6 {
        let mut flipped: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        let first = flipped[field].remove(0);
        flipped[field].insert(0, if first == 'A' { 'B' } else { 'A' });
        cases.push((flipped.join("."), "seal_invalid"));
    }
    for (header, want) in &cases {
        let got = code(send(&url, "POST", CHAT, &body, header).await).await;
        assert_eq!(got, (401, (*want).to_owned()), "{header:?}");
    }
    // A key both plain and sealed.
    let r = client()
        .post(format!("{url}{CHAT}"))
        .header("x-byok-key", KEY)
        .header("x-byok-sealed", &good)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, (400, "ambiguous_key".into()));
    // A huge header is refused by the HTTP layer before any of this.
    let huge = client()
        .post(format!("{url}{CHAT}"))
        .header("x-byok-sealed", "A".repeat(100_000))
        .body(body.clone())
        .send()
        .await;
    assert!(huge.is_err() || huge.unwrap().status().is_client_error());
    assert!(fake.requests().is_empty(), "nothing reached the provider");
    // Still serving, and the good header still opens (it was never used).
    assert_eq!(send(&url, "POST", CHAT, &body, &good).await.status(), 200);
    assert_no_piece(proxy.logs().as_bytes(), "the log at TRACE");
}

#[tokio::test]
async fn with_sealed_keys_required_a_plain_key_is_refused_and_a_grant_token_is_not() {
    let (fake, proxy) = setup(&[], &[("BYOK_REQUIRE_SEALED", "on")]).await;
    let url = proxy.url();
    let body = chat_body();
    let r = client()
        .post(format!("{url}{CHAT}"))
        .header("x-byok-key", KEY)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, (401, "seal_required".into()));
    assert!(fake.requests().is_empty());
    let header = sealed(&proxy, "POST", CHAT, body.as_bytes(), now()).await;
    assert_eq!(send(&url, "POST", CHAT, &body, &header).await.status(), 200);
    // A grant made with a sealed key; its token may come in X-BYOK-Key.
    let scope = json!({ "provider": "openai", "ttl_seconds": 600 }).to_string();
    let header = sealed(&proxy, "POST", "/byok/grants", scope.as_bytes(), now()).await;
    let r = send(&url, "POST", "/byok/grants", &scope, &header).await;
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = client()
        .post(format!("{url}{CHAT}"))
        .header("x-byok-key", &token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(fake.requests().len(), 2);
}
