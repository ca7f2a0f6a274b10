//! Key grants: created with the user's key, used by a job that never holds it, on the
//! in-process store and on Redis shared by two instances (and a Redis Cluster).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use byok_e2e::{FakeProvider, ProxyProcess, RedisCluster, RedisServer};
use serde_json::{Value, json};

use crate::{client, upstream_args};

/// The user's provider key: distinctive, so any 8-character piece is unlikely by chance.
const KEY: &str = "sk-proj-GrantUserKq83Zp4Lm7Wx2Nv";
/// The server secret every instance of a test shares.
const SECRET: &str = "5e6f7a8b9c0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9a0b";

/// Two proxies in front of one fake provider, sharing the store at `redis` (comma-separated
/// URLs for a cluster), with `extra` flags.
pub(crate) async fn shared_pair(
    redis: &str,
    extra: &[&str],
) -> (FakeProvider, ProxyProcess, ProxyProcess) {
    let fake = FakeProvider::start().await;
    let mut args = upstream_args(&fake);
    args.extend(["--redis-url".to_owned(), redis.to_owned()]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env = [("BYOK_SECRET", SECRET)];
    let a = ProxyProcess::start(&args, &env);
    let b = ProxyProcess::start(&args, &env);
    (fake, a, b)
}

/// `POST /byok/grants` with `KEY`.
pub(crate) async fn create(proxy: &ProxyProcess, scope: Value) -> reqwest::Response {
    client()
        .post(format!("{}/byok/grants", proxy.url()))
        .header("x-byok-key", KEY)
        .json(&scope)
        .send()
        .await
        .unwrap()
}

/// A new grant's token and id.
pub(crate) async fn grant(proxy: &ProxyProcess, scope: Value) -> (String, String) {
    let r = create(proxy, scope).await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("byok_g_"), "{token}");
    (token, body["id"].as_str().unwrap().to_owned())
}

/// `method path` on `proxy` as the key's owner (the key in `X-BYOK-Key`).
pub(crate) async fn as_owner(
    proxy: &ProxyProcess,
    method: reqwest::Method,
    path: &str,
) -> reqwest::Response {
    client()
        .request(method, format!("{}{path}", proxy.url()))
        .header("x-byok-key", KEY)
        .send()
        .await
        .unwrap()
}

/// `GET /healthz`'s body, which must come with a 200 whatever the store's state.
async fn health(proxy: &ProxyProcess) -> String {
    let r = client()
        .get(format!("{}/healthz", proxy.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// A chat request through the unified route with `token` as the SDK's API key.
pub(crate) async fn chat(proxy: &ProxyProcess, token: &str, model: &str) -> reqwest::Response {
    client()
        .post(format!("{}/v1/chat/completions", proxy.url()))
        .bearer_auth(token)
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
}

async fn code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or_default();
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

fn python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/venv/bin/python")
}

/// Runs the background-worker example (`tests/support/grant_worker.py`) with `token`.
async fn worker(base_url: String, token: String, model: &str) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("support/grant_worker.py");
    let model = model.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .arg(script)
            .arg(base_url)
            .arg(model)
            .env("BYOK_GRANT", token)
            .output()
            .expect("run the grant worker (make tools installs the SDK)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

/// Every 8-character piece of `secret`.
fn pieces(secret: &str) -> Vec<&str> {
    (0..=secret.len() - 8).map(|i| &secret[i..i + 8]).collect()
}

#[tokio::test]
async fn a_grant_made_on_one_instance_serves_the_sdk_on_the_other() {
    let redis = RedisServer::start();
    let (fake, a, b) = shared_pair(&redis.url(), &[]).await;
    let (token, _) = grant(&a, json!({"provider": "openai", "ttl_seconds": 60})).await;
    let result = worker(
        format!("{}/v1", b.url()),
        token.clone(),
        "openai/gpt-4o-mini",
    )
    .await;
    assert_eq!(result["plain"], "Hello from the fake provider", "{result}");
    assert_eq!(result["streamed"], "Hello");
    assert_eq!(result["key_source"], "grant");
    let seen = fake.requests();
    assert_eq!(seen.len(), 2);
    for r in &seen {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        let all = format!("{:?} {} {}", r.headers, r.uri, r.body);
        assert!(
            !all.contains(&token[7..]),
            "the provider saw the grant: {all}"
        );
    }
    // A pass-through route takes the grant as a bearer token too.
    let r = client()
        .get(format!("{}/openai/v1/models", a.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-byok-key-source"], "grant");
}

#[tokio::test]
async fn a_request_limit_holds_exactly_across_instances_under_concurrency() {
    let redis = RedisServer::start();
    let (fake, a, b) = shared_pair(&redis.url(), &[]).await;
    const N: usize = 5;
    let (token, id) = grant(&a, json!({"provider": "openai", "max_requests": N})).await;
    let requests = (0..4 * N).map(|i| {
        let proxy = if i % 2 == 0 { &a } else { &b };
        chat(proxy, &token, "openai/gpt-4o-mini")
    });
    let answers = futures_util::future::join_all(requests).await;
    let mut ok = 0;
    for r in answers {
        match code(r).await {
            (200, _) => ok += 1,
            (403, code) => assert_eq!(code, "grant_exhausted"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, N);
    assert_eq!(fake.requests().len(), N, "exactly N reached the provider");
    let peek: Value = as_owner(&b, reqwest::Method::GET, &format!("/byok/grants/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(peek["requests_left"], 0);
}

#[tokio::test]
async fn expiry_revocation_and_peek_hold_on_every_instance() {
    let redis = RedisServer::start();
    let (_fake, a, b) = shared_pair(&redis.url(), &[]).await;
    // Two seconds: expiry counts whole seconds, so a one-second grant made late in a second
    // may be spent before a loaded machine sends the first request.
    let (short, _) = grant(&a, json!({"provider": "openai", "ttl_seconds": 2})).await;
    assert_eq!(
        code(chat(&b, &short, "openai/gpt-4o-mini").await).await.0,
        200
    );
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(
        code(chat(&b, &short, "openai/gpt-4o-mini").await).await,
        (401, "invalid_grant".to_owned())
    );

    let (token, id) = grant(&a, json!({"provider": "openai", "max_requests": 3})).await;
    // Peek with the grant, then with the key: the scope and what is left, never the key.
    for (name, value) in [
        ("authorization", format!("Bearer {token}")),
        ("x-byok-key", KEY.to_owned()),
    ] {
        let r = client()
            .get(format!("{}/byok/grants/{id}", b.url()))
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        let peek: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(peek["requests_left"], 3);
        assert_eq!(peek["provider"], "openai");
        assert!(peek["expires_at"].as_u64().unwrap() > 1_700_000_000);
        assert!(
            !text.contains(&KEY[8..]) && !text.contains(&token[7..]),
            "{text}"
        );
    }
    // Another key cannot see or revoke it.
    let r = client()
        .delete(format!("{}/byok/grants/{id}", a.url()))
        .header("x-byok-key", "sk-proj-someoneElse0000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Revoked on A: refused on B at once.
    let r = client()
        .delete(format!("{}/byok/grants/{id}", a.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        code(chat(&b, &token, "openai/gpt-4o-mini").await).await.0,
        401
    );

    // Revoke all: every grant of the key.
    let (one, _) = grant(&a, json!({"provider": "openai"})).await;
    let (two, _) = grant(&b, json!({"provider": "anthropic"})).await;
    let r: Value = as_owner(&b, reqwest::Method::DELETE, "/byok/grants")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["revoked"], 2);
    assert_eq!(
        code(chat(&a, &one, "openai/gpt-4o-mini").await).await.0,
        401
    );
    assert_eq!(code(chat(&a, &two, "anthropic/claude").await).await.0, 401);
}

#[tokio::test]
async fn scope_is_enforced_and_every_bad_grant_gets_the_same_401() {
    let redis = RedisServer::start();
    let (fake, a, b) = shared_pair(&redis.url(), &[]).await;
    let (token, _) = grant(
        &a,
        json!({"provider": "openai", "models": ["gpt-4o-mini", "o3*"]}),
    )
    .await;
    assert_eq!(
        code(chat(&b, &token, "openai/gpt-4o-mini").await).await.0,
        200
    );
    assert_eq!(code(chat(&b, &token, "openai/o3-mini").await).await.0, 200);
    assert_eq!(
        code(chat(&b, &token, "openai/gpt-4o").await).await,
        (403, "grant_model_not_allowed".to_owned())
    );
    assert_eq!(
        code(chat(&b, &token, "anthropic/claude-sonnet-4-5").await).await,
        (403, "grant_wrong_provider".to_owned())
    );
    // Pass-through: the model comes from the body.
    let r = client()
        .post(format!("{}/openai/v1/chat/completions", a.url()))
        .bearer_auth(&token)
        .json(&json!({"model": "gpt-4.1", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, (403, "grant_model_not_allowed".to_owned()));
    assert_eq!(
        fake.requests().len(),
        2,
        "refused requests never reach the provider"
    );

    // Bad scopes at creation name the field.
    for (scope, field) in [
        (json!({"provider": "nope"}), "provider"),
        (
            json!({"provider": "openai", "ttl_seconds": 0}),
            "ttl_seconds",
        ),
        (
            json!({"provider": "openai", "ttl_seconds": 86_401}),
            "ttl_seconds",
        ),
        (
            json!({"provider": "openai", "max_requests": 0}),
            "max_requests",
        ),
        (json!({"provider": "openai", "models": ["a*b"]}), "models"),
    ] {
        let r = create(&a, scope).await;
        assert_eq!(r.status(), 400);
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"]["message"].as_str().unwrap().contains(field),
            "{body}"
        );
    }

    // Forged, truncated, expired and revoked grants: byte-identical answers.
    let (expired, _) = grant(&a, json!({"provider": "openai", "ttl_seconds": 1})).await;
    let (revoked, revoked_id) = grant(&a, json!({"provider": "openai"})).await;
    let r = as_owner(
        &a,
        reqwest::Method::DELETE,
        &format!("/byok/grants/{revoked_id}"),
    )
    .await;
    assert_eq!(r.status(), 204);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // Forged: the real id with another secret.
    let forged = {
        let mut t = token.clone().into_bytes();
        let i = t.len() - 10;
        t[i] = if t[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(t).unwrap()
    };
    let random = format!("byok_g_{}", "Q".repeat(64));
    let mut bodies = Vec::new();
    for bad in [
        &forged,
        &token[..token.len() - 1],
        &expired,
        &revoked,
        &random,
        "byok_g_",
    ] {
        let r = chat(&b, bad, "openai/gpt-4o-mini").await;
        assert_eq!(r.status(), 401, "{bad}");
        bodies.push(r.bytes().await.unwrap());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
}

#[tokio::test]
async fn neither_redis_nor_the_logs_ever_hold_the_key_or_the_grant_secret() {
    let redis = RedisServer::start();
    let (_fake, a, b) = shared_pair(&redis.url(), &[]).await;
    let (token, id) = grant(
        &a,
        json!({"provider": "openai", "max_requests": 10, "models": ["gpt-4o-mini"]}),
    )
    .await;
    let (other, _) = grant(&b, json!({"provider": "openai"})).await;
    for proxy in [&a, &b] {
        assert_eq!(
            code(chat(proxy, &token, "openai/gpt-4o-mini").await)
                .await
                .0,
            200
        );
        assert_eq!(
            code(chat(proxy, &token, "openai/gpt-4o").await).await.0,
            403
        );
        let r = client()
            .get(format!("{}/byok/grants/{id}", proxy.url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let dump = redis.dump();
    assert!(
        dump.iter().any(|(k, _)| k.starts_with("byok:grant:")),
        "{dump:?}"
    );
    let secrets = [KEY, &token["byok_g_".len()..], &other["byok_g_".len()..]];
    for secret in secrets {
        for piece in pieces(secret)
            .into_iter()
            .filter(|p| !p.starts_with("sk-proj"))
        {
            for (key, value) in &dump {
                assert!(!key.contains(piece), "{key} holds {piece}");
                let value = String::from_utf8_lossy(value);
                assert!(!value.contains(piece), "{key} holds {piece}");
            }
            for logs in [a.logs(), b.logs()] {
                assert!(!logs.contains(piece), "a log line holds {piece}");
            }
        }
    }
}

#[tokio::test]
async fn a_dead_redis_stops_grants_but_not_keys_and_recovery_needs_no_restart() {
    let mut redis = RedisServer::start();
    let (_fake, a, _b) = shared_pair(&redis.url(), &[]).await;
    let (token, _) = grant(&a, json!({"provider": "openai"})).await;
    assert_eq!(
        code(chat(&a, &token, "openai/gpt-4o-mini").await).await.0,
        200
    );
    redis.stop();
    let started = std::time::Instant::now();
    assert_eq!(
        code(chat(&a, &token, "openai/gpt-4o-mini").await).await,
        (503, "store_unavailable".to_owned())
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let r = create(&a, json!({"provider": "openai"})).await;
    assert_eq!(r.status(), 503);
    let r = client()
        .post(format!("{}/v1/chat/completions", a.url()))
        .header("x-byok-key", KEY)
        .json(&json!({"model": "openai/gpt-4o-mini", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "plain key requests keep flowing");
    assert!(health(&a).await.starts_with("degraded"));
    let metrics = crate::metrics(&a).await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("byok_rate_limit_fallbacks_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );

    redis.restart();
    // The connection comes back by itself; the old grant died with the data.
    let mut recovered = false;
    for _ in 0..50 {
        let r = create(&a, json!({"provider": "openai"})).await;
        if r.status() == 201 {
            let body: Value = r.json().await.unwrap();
            let token = body["token"].as_str().unwrap();
            assert_eq!(
                code(chat(&a, token, "openai/gpt-4o-mini").await).await.0,
                200
            );
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "grants work again once Redis is back");
    assert_eq!(health(&a).await, "ok");
}

#[tokio::test]
async fn a_per_key_rate_limit_is_one_limit_across_instances() {
    let redis = RedisServer::start();
    let (_fake, a, b) = shared_pair(&redis.url(), &["--rate-limit-per-key", "4"]).await;
    for i in 0..4 {
        let proxy = if i % 2 == 0 { &a } else { &b };
        let r = as_owner(proxy, reqwest::Method::GET, "/openai/v1/models").await;
        assert_eq!(r.status(), 200, "request {i}");
    }
    for proxy in [&a, &b] {
        let r = as_owner(proxy, reqwest::Method::GET, "/openai/v1/models").await;
        assert_eq!(r.status(), 429);
        assert!(r.headers().contains_key("retry-after"));
    }
}

#[tokio::test]
async fn grants_revocation_and_limits_work_on_a_redis_cluster() {
    let cluster = RedisCluster::start();
    let (fake, a, b) = shared_pair(&cluster.urls(), &["--rate-limit-per-key", "12"]).await;
    let (token, _) = grant(&a, json!({"provider": "openai", "max_requests": 3})).await;
    let answers = futures_util::future::join_all((0..8).map(|i| {
        chat(
            if i % 2 == 0 { &a } else { &b },
            &token,
            "openai/gpt-4o-mini",
        )
    }))
    .await;
    let ok = answers.iter().filter(|r| r.status() == 200).count();
    assert_eq!(ok, 3);
    assert_eq!(fake.requests().len(), 3);
    let (other, other_id) = grant(&b, json!({"provider": "openai"})).await;
    let r = as_owner(
        &b,
        reqwest::Method::DELETE,
        &format!("/byok/grants/{other_id}"),
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        code(chat(&a, &other, "openai/gpt-4o-mini").await).await.0,
        401
    );
    // The key's limit (12 a minute) is one limit: the 8 grant requests above took 8 of it
    // (refused ones too: the limit comes first), so about 4 plain ones are left, whichever
    // instance they reach (one more may have refilled meanwhile).
    let mut allowed = 0;
    for i in 0..20 {
        let proxy = if i % 2 == 0 { &a } else { &b };
        let r = as_owner(proxy, reqwest::Method::GET, "/openai/v1/models").await;
        if r.status() == 429 {
            break;
        }
        allowed += 1;
    }
    assert!(
        allowed < 12,
        "one limit across both instances: {allowed} more allowed"
    );
    let dump = cluster.dump();
    assert!(dump.iter().any(|(k, _)| k.starts_with("byok:grant:")));
    for piece in pieces(&token["byok_g_".len()..]) {
        assert!(
            dump.iter()
                .all(|(_, v)| !String::from_utf8_lossy(v).contains(piece))
        );
    }
}

#[tokio::test]
async fn one_node_of_a_cluster_is_enough_to_find_the_rest() {
    let cluster = RedisCluster::start();
    // Each instance is given a different single node, as a managed service's one address.
    let fake = FakeProvider::start().await;
    let mut args = upstream_args(&fake);
    args.push("--redis-url".to_owned());
    let start = |node: usize| {
        let mut args = args.clone();
        args.push(cluster.node_url(node));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ProxyProcess::start(&args, &[("BYOK_SECRET", SECRET)])
    };
    let (a, b) = (start(0), start(2));
    assert_eq!(health(&a).await, "ok");
    // Grant ids are random, so their keys fall in every node's slots: each grant made on one
    // instance is used and revoked on the other.
    for _ in 0..6 {
        let (token, id) = grant(&a, json!({"provider": "openai", "max_requests": 1})).await;
        assert_eq!(chat(&b, &token, "openai/gpt-4o-mini").await.status(), 200);
        assert_eq!(
            code(chat(&a, &token, "openai/gpt-4o-mini").await).await.0,
            403,
            "its one request is taken, whichever node holds it"
        );
        let r = as_owner(&b, reqwest::Method::DELETE, &format!("/byok/grants/{id}")).await;
        assert_eq!(r.status(), 204);
    }
    let (token, _) = grant(&b, json!({"provider": "openai"})).await;
    assert_eq!(chat(&a, &token, "openai/gpt-4o-mini").await.status(), 200);
    let nodes_used = (0..3)
        .filter(|node| {
            byok_e2e::dump_all(&[cluster.node_url(*node)])
                .iter()
                .any(|(k, _)| k.starts_with("byok:"))
        })
        .count();
    assert!(
        nodes_used >= 2,
        "keys on {nodes_used} node(s): MOVED was followed"
    );
    for proxy in [&a, &b] {
        assert!(
            !proxy.logs().contains("shared store unavailable"),
            "{}",
            proxy.logs()
        );
    }
}

#[tokio::test]
async fn creation_is_capped_per_key_and_rate_limited() {
    let fake = FakeProvider::start().await;
    let mut args = upstream_args(&fake);
    args.extend(["--grants-per-key", "2", "--grant-rate-limit", "5"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let proxy = ProxyProcess::start(&args, &[]);
    // An oversized body is refused (another key: this one's grants are counted below).
    let r = client()
        .post(format!("{}/byok/grants", proxy.url()))
        .header("x-byok-key", "sk-proj-anotherKeyForBodies000")
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"provider":"openai","models":["{}"]}}"#,
            "m".repeat(20_000)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let scope = json!({"provider": "openai", "ttl_seconds": 60});
    grant(&proxy, scope.clone()).await;
    let (_, id) = grant(&proxy, scope.clone()).await;
    assert_eq!(
        code(create(&proxy, scope.clone()).await).await,
        (429, "too_many_grants".to_owned()),
        "two live grants per key"
    );
    // A revoked grant frees its place.
    let r = as_owner(
        &proxy,
        reqwest::Method::DELETE,
        &format!("/byok/grants/{id}"),
    )
    .await;
    assert_eq!(r.status(), 204);
    grant(&proxy, scope.clone()).await;
    // Five creation attempts a minute from one address: the sixth is refused.
    let r = create(&proxy, scope.clone()).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(code(r).await.1, "rate_limited");
}

#[tokio::test]
async fn without_redis_grants_live_in_the_process() {
    let fake = FakeProvider::start().await;
    let args = upstream_args(&fake);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let a = ProxyProcess::start(&args, &[]);
    let b = ProxyProcess::start(&args, &[]);
    let (token, _) = grant(&a, json!({"provider": "openai", "max_requests": 2})).await;
    assert_eq!(
        code(chat(&a, &token, "openai/gpt-4o-mini").await).await.0,
        200
    );
    assert_eq!(
        code(chat(&a, &token, "openai/gpt-4o-mini").await).await.0,
        200
    );
    assert_eq!(
        code(chat(&a, &token, "openai/gpt-4o-mini").await).await,
        (403, "grant_exhausted".to_owned())
    );
    // Another process has its own store and its own random secret.
    assert_eq!(
        code(chat(&b, &token, "openai/gpt-4o-mini").await).await.0,
        401
    );
    assert_eq!(health(&a).await, "ok");
}

#[tokio::test]
async fn a_web_app_on_an_allowed_origin_may_make_and_revoke_grants() {
    let fake = FakeProvider::start().await;
    let mut args = upstream_args(&fake);
    args.extend(["--cors-origins", "https://app.example"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let proxy = ProxyProcess::start(&args, &[]);
    for method in ["POST", "DELETE"] {
        let r = client()
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/byok/grants/x", proxy.url()),
            )
            .header("origin", "https://app.example")
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "x-byok-key, content-type")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{method}: {}", r.status());
        let allowed = r.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap();
        assert!(allowed.contains(method), "{method} in {allowed}");
        assert_eq!(
            r.headers()["access-control-allow-origin"],
            "https://app.example"
        );
    }
    // An answer lets the app's vault read whose key served and how long a refused key must
    // wait, so it can try its next key.
    let r = client()
        .get(format!("{}/openai/v1/models", proxy.url()))
        .header("origin", "https://app.example")
        .header("x-byok-key", "sk-proj-CorsExposeKey0123456789")
        .send()
        .await
        .unwrap();
    let exposed = r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        exposed.contains("x-byok-key-source") && exposed.contains("retry-after"),
        "{exposed}"
    );
}
