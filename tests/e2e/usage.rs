//! Usage, cost and daily caps: read from real-shaped answers as they pass, counted per key and
//! per grant, capped before the provider is contacted, shared by two instances over Redis.

use std::time::{Duration, Instant};

use byok_e2e::{ProxyProcess, RedisServer};
use futures_util::StreamExt as _;
use serde_json::{Value, json};

use crate::grants::shared_pair;
use crate::{client, setup};

const KEY: &str = "sk-proj-UsageUserKeyR4t8Qm2Vx7Lp";
const OTHER_KEY: &str = "sk-proj-SomeoneElseKeyB6n1Ws9Zc";

/// `POST path` with `body` and `KEY`, and extra headers.
async fn post(
    proxy: &ProxyProcess,
    path: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client()
        .post(format!("{}{path}", proxy.url()))
        .header("x-byok-key", KEY)
        .json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn chat_body(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

/// `GET /byok/usage` with `key`.
pub(crate) async fn usage(proxy: &ProxyProcess, key: &str) -> Value {
    let r = client()
        .get(format!("{}/byok/usage", proxy.url()))
        .header("x-byok-key", key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// `usage` once it shows `requests` answers today: usage shows within a second of an answer's
/// end, so this waits at most that long.
pub(crate) async fn usage_with(proxy: &ProxyProcess, key: &str, requests: i64) -> Value {
    let started = Instant::now();
    loop {
        let body = usage(proxy, key).await;
        if body["today"]["requests"].as_i64() == Some(requests) {
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "after 1 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-12)
}

#[tokio::test]
async fn every_route_and_answer_shape_is_counted_and_priced_for_its_key() {
    let (fake, proxy) = setup(&[], &[]).await;
    // Pass-through, body streamed up: the model is read on the way (gpt-4o-mini: 3 in, 5 out).
    let r = post(
        &proxy,
        "/openai/v1/chat/completions",
        &chat_body("gpt-4o-mini"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    let answer = r.bytes().await.unwrap();
    // Unified, streamed, asking for usage (11 in, 4 of them cached, 7 out).
    let mut body = chat_body("openai/gpt-4o-mini");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let r = post(&proxy, "/v1/chat/completions", &body, &[]).await;
    let streamed = r.text().await.unwrap();
    assert!(
        streamed.contains("\"usage\"") && streamed.ends_with("data: [DONE]\n\n"),
        "{streamed}"
    );
    // Gemini's native API: the model from the path (1000 in, 100 + 50 thinking out).
    let r = post(
        &proxy,
        "/gemini/v1beta/models/gemini-2.0-flash:generateContent",
        &json!({"contents": []}),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    // An unknown model: tokens counted, cost unknown.
    let r = post(
        &proxy,
        "/openai/v1/chat/completions",
        &chat_body("my-finetune"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    // Not counted: a GET, and an error answer.
    let r = client()
        .get(format!("{}/openai/v1/models", proxy.url()))
        .header("x-byok-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client()
        .post(format!("{}/openai/v1/chat/completions", proxy.url()))
        .header("x-byok-key", "sk-rejected-0000")
        .json(&chat_body("gpt-4o-mini"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let report = usage_with(&proxy, KEY, 4).await;
    let today = &report["today"];
    assert_eq!(today["input_tokens"], 3 + 11 + 1000 + 3, "{report}");
    assert_eq!(today["cached_input_tokens"], 4);
    assert_eq!(today["output_tokens"], 5 + 7 + 150 + 5);
    assert_eq!(today["unpriced_requests"], 1);
    assert_eq!(today["incomplete_requests"], 0);
    let mini = (3.0 * 0.15 + 5.0 * 0.60) / 1e6 + (7.0 * 0.15 + 4.0 * 0.075 + 7.0 * 0.60) / 1e6;
    let flash = (1000.0 * 0.10 + 150.0 * 0.40) / 1e6;
    assert!(close(&today["cost_usd"], mini + flash), "{report}");
    assert_eq!(report["last_30_days"], report["today"]);
    assert_eq!(report["currency"], "USD");
    assert_eq!(report["days"].as_array().unwrap().len(), 1);
    let rows = report["models"].as_array().unwrap();
    let row = |model: &str| {
        rows.iter()
            .find(|r| r["model"] == model)
            .unwrap_or_else(|| panic!("{model} in {report}"))
    };
    assert_eq!(row("gpt-4o-mini")["requests"], 2);
    assert_eq!(row("gpt-4o-mini")["key_source"], "user");
    assert_eq!(row("gemini-2.0-flash")["provider"], "gemini");
    assert_eq!(row("my-finetune")["cost_usd"], Value::Null);
    // Nothing names the key or its fingerprint; another key sees nothing.
    let text = report.to_string();
    assert!(!text.contains(KEY) && !text.contains("kf_"), "{text}");
    assert_eq!(usage(&proxy, OTHER_KEY).await["today"]["requests"], 0);
    // The answers themselves passed unchanged.
    assert!(
        answer.starts_with(b"{")
            && std::str::from_utf8(&answer)
                .unwrap()
                .contains("\"prompt_tokens\":3")
    );
    assert!(fake.requests().len() >= 5);

    // Prometheus: tokens and cost by the price entry's name; the unknown model is `other`.
    let metrics = crate::metrics(&proxy).await;
    for line in [
        r#"byok_tokens_total{provider="openai",model="gpt-4o-mini",key_source="user",kind="input"} 14"#,
        r#"byok_tokens_total{provider="openai",model="other",key_source="user",kind="output"} 5"#,
        r#"byok_tokens_total{provider="gemini",model="gemini-2.0-flash",key_source="user",kind="output"} 150"#,
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
}

#[tokio::test]
async fn an_answer_the_client_leaves_is_counted_as_incomplete() {
    let (_fake, proxy) = setup(&[], &[]).await;
    let mut body = chat_body("gpt-4o-mini");
    body["stream"] = json!(true);
    let mut r = post(&proxy, "/openai/v1/chat/completions", &body, &[]).await;
    assert_eq!(r.status(), 200);
    let first = r.chunk().await.unwrap();
    assert!(first.is_some());
    drop(r);
    let report = usage_with(&proxy, KEY, 1).await;
    assert_eq!(report["today"]["incomplete_requests"], 1, "{report}");
    assert_eq!(
        report["today"]["unpriced_requests"], 1,
        "no usage had arrived"
    );
    // A stream read to its end without asking for usage: complete, cost unknown.
    let r = post(&proxy, "/openai/v1/chat/completions", &body, &[]).await;
    assert!(r.text().await.unwrap().ends_with("[DONE]\n\n"));
    let report = usage_with(&proxy, KEY, 2).await;
    assert_eq!(report["today"]["incomplete_requests"], 1, "{report}");
    assert_eq!(report["today"]["unpriced_requests"], 2);
}

/// A price file that makes one request of the fake provider cost exactly $0.30 (3 input
/// tokens at $100,000 per million, nothing for output).
fn pricey() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("byok-prices-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "[[model]]\nprovider = \"openai\"\nmodel = \"pricey\"\ninput = 100000.0\noutput = 0.0\n",
    )
    .unwrap();
    path
}

async fn capped(proxy: &ProxyProcess, cap: &str) -> (u16, Value, Option<u64>) {
    let r = post(
        proxy,
        "/openai/v1/chat/completions",
        &chat_body("pricey"),
        &[("x-byok-daily-cap", cap)],
    )
    .await;
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (status, r.json().await.unwrap_or_default(), retry)
}

#[tokio::test]
async fn a_daily_cap_refuses_the_first_request_past_it_without_contacting_the_provider() {
    let prices = pricey();
    let (fake, proxy) = setup(&["--prices", prices.to_str().unwrap()], &[]).await;
    // $0.30 a request under a $0.50 cap: the first two pass (0 and 0.30 spent before them).
    for n in 1..=2 {
        let (status, body, _) = capped(&proxy, "0.50").await;
        assert_eq!(status, 200, "{body}");
        usage_with(&proxy, KEY, n).await;
    }
    let sent = fake.requests().len();
    let (status, body, retry) = capped(&proxy, "0.50").await;
    assert_eq!(status, 429);
    assert_eq!(body["error"]["code"], "budget_exceeded");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("$0.50"), "the cap is named: {message}");
    let retry = retry.expect("Retry-After");
    assert!((1..=86_400).contains(&retry), "{retry}");
    assert_eq!(
        fake.requests().len(),
        sent,
        "the provider was not contacted"
    );
    // A higher cap lets it through; another key has its own spend; a bad cap is a 400.
    assert_eq!(capped(&proxy, "5").await.0, 200);
    let r = client()
        .post(format!("{}/openai/v1/chat/completions", proxy.url()))
        .header("x-byok-key", OTHER_KEY)
        .header("x-byok-daily-cap", "0.50")
        .json(&chat_body("pricey"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, body, _) = capped(&proxy, "five").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request"))
    );
    // The cap header never reaches the provider.
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.header("x-byok-daily-cap").is_none())
    );
    let _ = std::fs::remove_file(prices);
}

#[tokio::test]
async fn caps_and_usage_are_shared_by_two_instances_over_redis() {
    let redis = RedisServer::start();
    let prices = pricey();
    let (fake, a, b) = shared_pair(&redis.url(), &["--prices", prices.to_str().unwrap()]).await;
    let (status, body, _) = capped(&a, "0.50").await;
    assert_eq!(status, 200, "{body}");
    usage_with(&b, KEY, 1).await;
    assert_eq!(capped(&b, "0.50").await.0, 200);
    usage_with(&a, KEY, 2).await;
    let sent = fake.requests().len();
    assert_eq!(capped(&a, "0.50").await.0, 429);
    assert_eq!(capped(&b, "0.50").await.0, 429);
    assert_eq!(fake.requests().len(), sent);
    let report = usage(&b, KEY).await;
    assert!(close(&report["today"]["cost_usd"], 0.60), "{report}");

    // A grant's own cap (and its usage under the grant) hold on the other instance.
    let (token, _) = grant(&a, json!({"provider": "openai", "daily_cap_usd": 0.50})).await;
    let r = client()
        .post(format!("{}/openai/v1/chat/completions", b.url()))
        .bearer_auth(&token)
        .json(&chat_body("gpt-4o-mini"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "the key already spent $0.60 today");
    let (token, _) = grant(&a, json!({"provider": "openai", "daily_cap_usd": 10})).await;
    let r = client()
        .post(format!("{}/openai/v1/chat/completions", b.url()))
        .bearer_auth(&token)
        .json(&chat_body("gpt-4o-mini"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let started = Instant::now();
    let grant_usage = loop {
        let r = client()
            .get(format!("{}/byok/usage", a.url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        if body["today"]["requests"] == 1 || started.elapsed() > Duration::from_secs(1) {
            break body;
        }
    };
    assert_eq!(
        grant_usage["models"][0]["key_source"], "grant",
        "{grant_usage}"
    );
    assert_eq!(grant_usage["today"]["requests"], 1);

    // Every usage record expires within 31 to 40 days, and none names the key.
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("byok:usage:*")
        .query(&mut conn)
        .unwrap();
    assert!(keys.len() >= 2, "{keys:?}");
    for key in &keys {
        let ttl: i64 = redis::cmd("TTL").arg(key).query(&mut conn).unwrap();
        assert!((31 * 86_400..=40 * 86_400).contains(&ttl), "{key}: {ttl}");
    }
    for (key, value) in redis.dump() {
        let value = String::from_utf8_lossy(&value);
        assert!(
            !key.contains(&KEY[8..16]) && !value.contains(&KEY[8..16]),
            "{key}"
        );
    }
    let _ = std::fs::remove_file(prices);
}

/// A grant of `KEY` with `scope`: its token and id.
async fn grant(proxy: &ProxyProcess, scope: Value) -> (String, String) {
    let r = post(proxy, "/byok/grants", &scope, &[]).await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    let field = |name: &str| body[name].as_str().unwrap().to_owned();
    (field("token"), field("id"))
}

#[tokio::test]
async fn a_thousand_made_up_models_add_a_few_series_at_most() {
    let (_fake, proxy) = setup(
        &["--rate-limit-per-ip", "0", "--rate-limit-per-key", "0"],
        &[],
    )
    .await;
    let before = series(&proxy).await;
    let http = client();
    let url = format!("{}/openai/v1/chat/completions", proxy.url());
    futures_util::stream::iter(0..1000)
        .map(|i| {
            let request = http
                .post(&url)
                .header("x-byok-key", KEY)
                .json(&chat_body(&format!("made-up-{i}")));
            async move {
                let r = request.send().await.unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    usage_with(&proxy, KEY, 1000).await;
    let after = series(&proxy).await;
    assert!(after <= before + 8, "{before} series before, {after} after");
}

/// The number of usage series in `/metrics`.
async fn series(proxy: &ProxyProcess) -> usize {
    crate::metrics(proxy)
        .await
        .lines()
        .filter(|l| l.starts_with("byok_tokens_total") || l.starts_with("byok_cost_usd_total"))
        .count()
}

#[tokio::test]
async fn usage_of_another_user_is_only_for_the_app() {
    let (_fake, proxy) = setup(&[], &[]).await;
    let r = client()
        .get(format!("{}/byok/usage?user=alice", proxy.url()))
        .header("x-byok-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = client()
        .get(format!("{}/byok/usage", proxy.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "no key, no usage");
}

#[tokio::test]
async fn stream_usage_on_asks_for_usage_and_hands_the_client_the_stream_it_asked_for() {
    let (fake, proxy) = setup(&["--stream-usage", "on"], &[]).await;
    let sent_plain: String = byok_e2e::fake_sse_chunks().concat();
    let with_usage = {
        let mut chunks = byok_e2e::fake_sse_chunks();
        chunks.insert(chunks.len() - 1, byok_e2e::SSE_USAGE_CHUNK);
        chunks.concat()
    };
    for (options, client_sees) in [
        (None, &sent_plain),
        (Some(json!({"include_usage": false})), &sent_plain),
        (Some(json!({"include_usage": true})), &with_usage),
    ] {
        let mut body = chat_body("openai/gpt-4o-mini");
        body["stream"] = json!(true);
        if let Some(options) = &options {
            body["stream_options"] = options.clone();
        }
        let r = post(&proxy, "/v1/chat/completions", &body, &[]).await;
        assert_eq!(&r.text().await.unwrap(), client_sees, "{options:?}");
        let asked: Value = serde_json::from_str(&fake.requests().last().unwrap().body).unwrap();
        assert_eq!(asked["stream_options"]["include_usage"], true, "{asked}");
    }
    let report = usage_with(&proxy, KEY, 3).await;
    assert_eq!(
        report["today"]["output_tokens"], 21,
        "7 each, all three counted: {report}"
    );
    assert_eq!(report["today"]["unpriced_requests"], 0);
    // A request that does not stream is sent as it came.
    let r = post(
        &proxy,
        "/v1/chat/completions",
        &chat_body("openai/gpt-4o-mini"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    let asked: Value = serde_json::from_str(&fake.requests().last().unwrap().body).unwrap();
    assert!(asked.get("stream_options").is_none(), "{asked}");
}
