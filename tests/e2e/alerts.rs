//! Alerts: signed webhook events when spend passes each threshold of a budget (a grant's cap, a
//! key's cap sent with a user token, a user's budget on the app's key), exactly once across two
//! instances sharing Redis; a refused user key; delivery retried until the receiver comes back.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use byok_e2e::{FakeProvider, ProxyProcess, Recorded, RedisServer, WebhookReceiver, write_files};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{JWT_SECRET, client, metrics, upstream_args, user_token};

const KEY: &str = "sk-proj-AlertsGrantKeyQ7w2Ve9Tn4";
const ALICE_KEY: &str = "sk-proj-AlertsAliceKeyB3x8Lm5Kp1";
const SERVER_KEY: &str = "sk-proj-AlertsAppsKeyZ6c1Hd8Rw3";
const APP_TOKEN: &str = "app-token-for-alert-tests-0123456789";
const SECRET: &str = "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a";
const ALERT_SECRET: &str = "whsec_alerts_e2e_0123456789";

/// A free tier with a $0.50 budget on the app's key, and `pricey` at $0.30 per fake answer.
fn config() -> (PathBuf, PathBuf) {
    let [config, prices]: [PathBuf; 2] = write_files(
        "byok-alerts",
        &[
            (
                "byok.toml",
                r#"
default_tier = "free"
user_token_alg = "HS256"
[tiers.free]
server_key_daily_budget_usd = 0.50
"#,
            ),
            (
                "prices.toml",
                "[[model]]\nprovider = \"openai\"\nmodel = \"pricey\"\ninput = 100000.0\noutput = 0.0\n",
            ),
        ],
    )
    .try_into()
    .unwrap();
    (config, prices)
}

fn proxy(fake: &FakeProvider, webhook: &str, redis: Option<&str>) -> ProxyProcess {
    let (config, prices) = config();
    let mut args = upstream_args(fake);
    for (flag, value) in [
        ("--config", config.to_str().unwrap()),
        ("--prices", prices.to_str().unwrap()),
        ("--fallback", "openai=when-missing"),
        ("--app-tokens", APP_TOKEN),
        ("--alert-webhook", webhook),
    ] {
        args.extend([flag.to_owned(), value.to_owned()]);
    }
    if let Some(url) = redis {
        args.extend(["--redis-url".to_owned(), url.to_owned()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ProxyProcess::start(
        &args,
        &[
            ("BYOK_USER_TOKEN_SECRET", JWT_SECRET),
            ("BYOK_SERVER_KEY_OPENAI", SERVER_KEY),
            ("BYOK_SECRET", SECRET),
            ("BYOK_ALERT_SECRET", ALERT_SECRET),
        ],
    )
}

fn user(sub: &str) -> String {
    user_token(
        &json!({"sub": sub, "tier": "free", "exp": jsonwebtoken::get_current_timestamp() + 300}),
    )
}

/// One `pricey` chat with `headers`: its status.
async fn chat(proxy: &ProxyProcess, headers: &[(&str, String)]) -> u16 {
    let mut r = client()
        .post(format!("{}/openai/v1/chat/completions", proxy.url()))
        .json(&json!({"model": "pricey", "messages": [{"role": "user", "content": "hi"}]}));
    for (name, value) in headers {
        r = r.header(*name, value);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let _ = r.bytes().await;
    status
}

/// Checks `delivery`'s signature as a receiver would: HMAC-SHA256 of `<t>.<body>`, `t` recent.
fn verified(delivery: &Recorded) -> Value {
    let signature = delivery.header("x-byok-signature").expect("signed");
    let (t, v1) = signature
        .strip_prefix("t=")
        .and_then(|s| s.split_once(",v1="))
        .expect("t=…,v1=…");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(ALERT_SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", delivery.body).as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap())
        .expect("the signature is the alert secret's");
    let age = jsonwebtoken::get_current_timestamp().abs_diff(t.parse().unwrap());
    assert!(age < 60, "signed {age} s ago");
    assert_eq!(delivery.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&delivery.body).unwrap();
    assert_eq!(delivery.header("x-byok-event"), body["type"].as_str());
    body
}

/// Waits until `receiver` has `n` posts (at most `limit`), then a little more for any extra.
async fn deliveries(receiver: &WebhookReceiver, n: usize, limit: Duration) -> Vec<Recorded> {
    let started = Instant::now();
    while receiver.received().len() < n && started.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    receiver.received()
}

fn assert_no_key_piece(text: &str) {
    for key in [KEY, ALICE_KEY, SERVER_KEY] {
        for piece in key.as_bytes().windows(8) {
            let piece = std::str::from_utf8(piece).unwrap();
            assert!(!text.contains(piece), "{piece:?} of a key in {text}");
        }
    }
}

#[tokio::test]
async fn each_budget_passes_each_threshold_once_across_two_instances() {
    let redis = RedisServer::start();
    let fake = FakeProvider::start().await;
    let receiver = WebhookReceiver::start().await;
    let a = proxy(&fake, &receiver.url(), Some(&redis.url()));
    let b = proxy(&fake, &receiver.url(), Some(&redis.url()));

    // A grant capped at $1 a day, and a key of Alice's capped at $1: four answers of $0.30
    // each, sent at once half to each instance, pass 50% (0.60), 80% (0.90) and 100% (1.20).
    let r = client()
        .post(format!("{}/byok/grants", a.url()))
        .header("x-byok-key", KEY)
        .json(&json!({"provider": "openai", "ttl_seconds": 600, "daily_cap_usd": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let grant: Value = r.json().await.unwrap();
    let (token, grant_id) = (
        grant["token"].as_str().unwrap(),
        grant["id"].as_str().unwrap(),
    );
    let alice = user("alice");
    let grant_headers = [("x-byok-key", token.to_owned())];
    let alice_headers = [
        ("x-byok-key", ALICE_KEY.to_owned()),
        ("x-byok-user", alice.clone()),
        ("x-byok-daily-cap", "1".to_owned()),
    ];
    let sends = (0..4).flat_map(|i| {
        let proxy = if i % 2 == 0 { &a } else { &b };
        [chat(proxy, &grant_headers), chat(proxy, &alice_headers)]
    });
    let statuses = futures_util::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // Bob spends the app's key: $0.30 (60% of $0.50), then $0.60; the third is refused.
    let bob = [
        ("authorization", format!("Bearer {APP_TOKEN}")),
        ("x-byok-user", user("bob")),
    ];
    assert_eq!(chat(&a, &bob).await, 200);
    assert_eq!(chat(&b, &bob).await, 200);
    assert_eq!(chat(&a, &bob).await, 429);

    let got = deliveries(&receiver, 9, Duration::from_secs(10)).await;
    let mut seen: Vec<(String, String, f64)> = got
        .iter()
        .map(|d| {
            assert_no_key_piece(&format!("{:?}{}", d.headers, d.body));
            let event = verified(d);
            assert_eq!(event["type"], "budget.threshold");
            assert_eq!(event["provider"], "openai");
            assert_eq!(event["model"], "pricey");
            assert_eq!(event["id"].as_str().unwrap().len(), 32);
            let day = event["day"].as_str().unwrap();
            assert_eq!(day.len(), 10, "{day}");
            let subject = &event["subject"];
            let (threshold, spend, cap) = (
                event["threshold"].as_f64().unwrap(),
                event["spend_usd"].as_f64().unwrap(),
                event["cap_usd"].as_f64().unwrap(),
            );
            assert!(spend >= threshold * cap - 1e-9, "{event}");
            let who = match subject["kind"].as_str().unwrap() {
                "grant" => {
                    assert_eq!(subject["grant"], grant_id);
                    assert_eq!(cap, 1.0);
                    "grant".to_owned()
                }
                "user_key" => {
                    assert_eq!(cap, 1.0);
                    format!("user_key:{}", subject["user"].as_str().unwrap())
                }
                "app_key" => {
                    assert_eq!(cap, 0.5);
                    format!("app_key:{}", subject["user"].as_str().unwrap())
                }
                other => panic!("{other}"),
            };
            (who, event["id"].as_str().unwrap().to_owned(), threshold)
        })
        .collect();
    seen.sort_by(|x, y| (&x.0, x.2).partial_cmp(&(&y.0, y.2)).unwrap());
    let subjects: Vec<(&str, f64)> = seen.iter().map(|(w, _, t)| (w.as_str(), *t)).collect();
    assert_eq!(
        subjects,
        [
            ("app_key:bob", 0.5),
            ("app_key:bob", 0.8),
            ("app_key:bob", 1.0),
            ("grant", 0.5),
            ("grant", 0.8),
            ("grant", 1.0),
            ("user_key:alice", 0.5),
            ("user_key:alice", 0.8),
            ("user_key:alice", 1.0),
        ],
        "exactly one event per subject and threshold, whichever instance saw it first"
    );
    let mut ids: Vec<&String> = seen.iter().map(|(_, id, _)| id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 9, "each event has its own id");
    let delivered = |m: &str| {
        m.lines()
            .find(|l| {
                l.starts_with("byok_alerts_total{type=\"budget.threshold\",outcome=\"delivered\"}")
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert_eq!(
        delivered(&metrics(&a).await) + delivered(&metrics(&b).await),
        9
    );
    // Nothing about a key or a fingerprint reached Redis either.
    for (name, value) in redis.dump() {
        assert_no_key_piece(&format!("{name}{}", String::from_utf8_lossy(&value)));
    }
}

#[tokio::test]
async fn a_refused_user_key_is_said_once_and_retried_until_the_receiver_comes_back() {
    let fake = FakeProvider::start().await;
    let receiver = WebhookReceiver::not_yet().await;
    let proxy = proxy(&fake, &receiver.url(), None);
    let carol = [
        ("x-byok-key", "sk-proj-rejectedCarolKey000111".to_owned()),
        ("x-byok-user", user("carol")),
    ];
    // The receiver is down: requests do not wait for it.
    for _ in 0..2 {
        let started = Instant::now();
        assert_eq!(chat(&proxy, &carol).await, 401);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
    // A key refused without a user token is not an alert's business.
    let anonymous = [("x-byok-key", "sk-proj-rejectedNobodyKey0001".to_owned())];
    assert_eq!(chat(&proxy, &anonymous).await, 401);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    receiver.come_up().await;
    let got = deliveries(&receiver, 1, Duration::from_secs(8)).await;
    assert_eq!(got.len(), 1, "one event for two refusals: {got:?}");
    let event = verified(&got[0]);
    assert_eq!(event["type"], "key.rejected");
    assert_eq!(event["subject"], json!({"kind": "user", "user": "carol"}));
    assert_eq!(
        (&event["provider"], &event["status"]),
        (&json!("openai"), &json!(401))
    );
    assert_eq!(event["model"], "pricey");
    assert!(!got[0].body.contains("rejectedCarol"), "{}", got[0].body);
    let m = metrics(&proxy).await;
    let count = |outcome: &str| {
        m.lines()
            .find(|l| {
                l.starts_with(&format!(
                    "byok_alerts_total{{type=\"key.rejected\",outcome=\"{outcome}\"}}"
                ))
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert_eq!(count("queued"), 1, "{m}");
    assert_eq!(count("delivered"), 1, "{m}");
    assert!(
        count("retried") >= 1,
        "tried while the receiver was down: {m}"
    );
}
