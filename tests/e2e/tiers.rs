//! Plans: user tokens (`X-BYOK-User`), tiers that limit models, requests per hour and the app's
//! key's daily budget, whichever key serves; `/byok/models`; a grant carries its maker's tier.

use std::path::PathBuf;

use byok_e2e::{FakeProvider, ProxyProcess, RedisServer, write_files};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::{JWT_SECRET, client, upstream_args, user_token};

const KEY: &str = "sk-proj-TierUserKeyH3k9Wq5Rz2Xc";
const SERVER_KEY: &str = "sk-proj-TheAppsOwnKeyM4p8Tz1Lq6";
const APP_TOKEN: &str = "app-token-for-tier-tests-0123456789";
const SECRET: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

/// A configuration file with the issue's example tiers (requests per hour lowered to 3, and
/// a $0.50 budget on the app's key), and a price of $0.30 per fake answer for `pricey`.
fn config() -> (PathBuf, PathBuf) {
    let [config, prices]: [PathBuf; 2] = write_files(
        "byok-tiers",
        &[
            (
                "byok.toml",
                r#"
default_tier = "free"
user_token_alg = "HS256"
user_token_audience = "byok"
[tiers.free]
models = ["openai/gpt-4o-mini", "openai/pricey", "gemini/gemini-2.0-flash*"]
requests_per_hour = 3
server_key_daily_budget_usd = 0.50
[tiers.pro]
models = ["*"]
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

/// A proxy with the tiers, user tokens, and the app's key as a fallback for OpenAI.
async fn tiered(fake: &FakeProvider, extra: &[&str]) -> ProxyProcess {
    let (config, prices) = config();
    let mut args = upstream_args(fake);
    for (flag, value) in [
        ("--config", config.to_str().unwrap()),
        ("--prices", prices.to_str().unwrap()),
        ("--fallback", "openai=when-missing"),
        ("--app-tokens", APP_TOKEN),
    ] {
        args.extend([flag.to_owned(), value.to_owned()]);
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ProxyProcess::start(
        &args,
        &[
            ("BYOK_USER_TOKEN_SECRET", JWT_SECRET),
            ("BYOK_SERVER_KEY_OPENAI", SERVER_KEY),
            ("BYOK_SECRET", SECRET),
        ],
    )
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn user(sub: &str, tier: &str) -> String {
    user_token(&json!({"sub": sub, "tier": tier, "exp": now() + 300, "aud": "byok"}))
}

/// Who sends a request.
#[derive(Clone, Copy)]
enum As<'a> {
    /// The user's own key, and maybe a user token.
    Key(Option<&'a str>),
    /// The app's token and a user token: the app's key serves.
    App(Option<&'a str>),
    /// Nothing at all.
    Nobody,
}

async fn chat(
    proxy: &ProxyProcess,
    who: As<'_>,
    model: &str,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut r = client()
        .post(format!("{}/openai/v1/chat/completions", proxy.url()))
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}));
    let user = match who {
        As::Key(user) => {
            r = r.header("x-byok-key", KEY);
            user
        }
        As::App(user) => {
            r = r.bearer_auth(APP_TOKEN);
            user
        }
        As::Nobody => None,
    };
    if let Some(user) = user {
        r = r.header("x-byok-user", user);
    }
    let r = r.send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, r.json().await.unwrap_or_default(), headers)
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_tier_limits_models_whichever_key_serves() {
    let fake = FakeProvider::start().await;
    let proxy = tiered(&fake, &[]).await;
    let free = user("alice", "free");
    let pro = user("bob", "pro");
    let sent = || fake.requests().len();

    let before = sent();
    for who in [As::Key(Some(&free)), As::App(Some(&free)), As::Key(None)] {
        let (status, body, _) = chat(&proxy, who, "gpt-4o").await;
        assert_eq!((status, code(&body)), (403, "model_not_allowed"), "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("free") && message.contains("openai/gpt-4o"),
            "{message}"
        );
    }
    assert_eq!(sent(), before, "nothing refused was forwarded");

    let (status, _, headers) = chat(&proxy, As::App(Some(&free)), "gpt-4o-mini").await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["x-byok-key-source"], "server",
        "a user token lets the app's key serve"
    );
    let (status, _, headers) = chat(&proxy, As::Key(Some(&pro)), "gpt-4o").await;
    assert_eq!(
        (status, &headers["x-byok-key-source"]),
        (200, &"user".parse().unwrap())
    );
    // The app alone is not limited by tier; nobody at all may not use the app's key.
    assert_eq!(chat(&proxy, As::App(None), "gpt-4o").await.0, 200);
    let (status, body, _) = chat(&proxy, As::Nobody, "gpt-4o-mini").await;
    assert_eq!((status, code(&body)), (401, "missing_api_key"), "{body}");
    // The user token never reaches the provider or the logs (at TRACE).
    let signature = free.rsplit('.').next().unwrap();
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.headers.iter().all(|(_, v)| !v.contains(signature)))
    );
    assert!(
        !proxy.logs().contains(signature),
        "the user token in the logs"
    );
    // A provider no pattern names allows nothing, not even a request naming no model.
    let r = client()
        .get(format!("{}/anthropic/v1/models", proxy.url()))
        .header("x-byok-key", KEY)
        .header("x-byok-user", &free)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The tier is checked on the unified route too.
    let r = client()
        .post(format!("{}/v1/chat/completions", proxy.url()))
        .header("x-byok-key", KEY)
        .header("x-byok-user", &free)
        .json(&json!({"model": "anthropic/claude-haiku-4-5", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn a_bad_user_token_is_a_401_that_says_why() {
    let fake = FakeProvider::start().await;
    let proxy = tiered(&fake, &[]).await;
    let good = json!({"sub": "alice", "tier": "free", "exp": now() + 300, "aud": "byok"});
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let unsigned = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            b64.encode(br#"{"alg":"none"}"#),
            b64.encode(good.to_string())
        )
    };
    let forged = encode(
        &Header::default(),
        &good,
        &EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!!").unwrap(),
    )
    .unwrap();
    let cases = [
        (unsigned, "wrong algorithm"),
        (forged, "bad signature"),
        (user_token(&with("exp", json!(now() - 3600))), "expired"),
        (
            user_token(&with("aud", json!("elsewhere"))),
            "wrong audience",
        ),
        (
            user_token(&with("tier", json!("gold"))),
            "\"gold\" is not configured",
        ),
        (
            user_token(&json!({"sub": "x", "exp": now() + 60, "aud": "byok"})),
            "`tier` claim is missing",
        ),
    ];
    let before = fake.requests().len();
    for (jwt, says) in cases {
        let (status, body, _) = chat(&proxy, As::Key(Some(&jwt)), "gpt-4o-mini").await;
        assert_eq!((status, code(&body)), (401, "invalid_user_token"), "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{says}: {message}");
    }
    assert_eq!(fake.requests().len(), before);
    // A proxy with no user-token settings refuses any X-BYOK-User.
    let (_, plain) = crate::setup(&[], &[]).await;
    let (status, body, _) = chat(&plain, As::Key(Some(&user("alice", "free"))), "gpt-4o").await;
    assert_eq!((status, code(&body)), (401, "invalid_user_token"), "{body}");
}

#[tokio::test]
async fn requests_per_hour_count_only_forwarded_requests_across_instances() {
    let redis = RedisServer::start();
    let fake = FakeProvider::start().await;
    let a = tiered(&fake, &["--redis-url", &redis.url()]).await;
    let b = tiered(&fake, &["--redis-url", &redis.url()]).await;
    let carol = user("carol", "free");
    // A refusal before forwarding does not count.
    assert_eq!(chat(&a, As::Key(Some(&carol)), "gpt-4o").await.0, 403);
    assert_eq!(chat(&a, As::Key(Some(&carol)), "gpt-4o-mini").await.0, 200);
    assert_eq!(chat(&b, As::Key(Some(&carol)), "gpt-4o-mini").await.0, 200);
    assert_eq!(chat(&a, As::Key(Some(&carol)), "gpt-4o-mini").await.0, 200);
    let before = fake.requests().len();
    let (status, body, headers) = chat(&b, As::Key(Some(&carol)), "gpt-4o-mini").await;
    assert_eq!((status, code(&body)), (429, "rate_limited"), "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("free") && message.contains("3 requests an hour"),
        "{message}"
    );
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry));
    assert_eq!(fake.requests().len(), before);
    // Per user: another user of the same tier has their own count.
    assert_eq!(
        chat(&b, As::Key(Some(&user("dave", "free"))), "gpt-4o-mini")
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn the_apps_key_serves_a_user_within_their_tiers_daily_budget() {
    let fake = FakeProvider::start().await;
    let proxy = tiered(&fake, &["--rate-limit-per-ip", "0"]).await;
    let erin = user("erin", "free");
    let mut served = 0;
    let mut refusal = Value::Null;
    for _ in 0..3 {
        let (status, body, _) = chat(&proxy, As::App(Some(&erin)), "pricey").await;
        if status == 200 {
            served += 1;
            // Spend shows within a second; wait for it before the next request.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        } else {
            assert_eq!((status, code(&body)), (429, "budget_exceeded"), "{body}");
            refusal = body;
        }
    }
    assert_eq!(
        served, 2,
        "$0.30 each under $0.50: 0 and 0.30 spent before the two that pass"
    );
    let message = refusal["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("free") && message.contains("$0.50"),
        "{message}"
    );
    // Her own key is not limited by the budget on the app's.
    // (The tier's 3 requests an hour: 2 used.)
    let (status, _, headers) = chat(&proxy, As::Key(Some(&erin)), "pricey").await;
    assert_eq!(
        (status, &headers["x-byok-key-source"]),
        (200, &"user".parse().unwrap())
    );

    // Her usage, by her token, and by the app asking for her.
    let mine: Value = client()
        .get(format!("{}/byok/usage", proxy.url()))
        .header("x-byok-user", &erin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["today"]["requests"], 3, "{mine}");
    let sources: Vec<&str> = mine["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key_source"].as_str().unwrap())
        .collect();
    assert!(
        sources.contains(&"server") && sources.contains(&"user"),
        "{mine}"
    );
    let by_app: Value = client()
        .get(format!("{}/byok/usage?user=erin", proxy.url()))
        .bearer_auth(APP_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_app["today"], mine["today"]);
    let r = client()
        .get(format!("{}/byok/usage?user=erin", proxy.url()))
        .header("x-byok-user", &erin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn models_say_what_the_caller_may_use_and_what_the_apps_key_serves() {
    let fake = FakeProvider::start().await;
    let proxy = tiered(&fake, &[]).await;
    let list = |headers: Vec<(&'static str, String)>| {
        let url = format!("{}/byok/models", proxy.url());
        async move {
            let mut r = client().get(url);
            for (k, v) in headers {
                r = r.header(k, v);
            }
            let body: Value = r.send().await.unwrap().json().await.unwrap();
            body["models"].as_array().unwrap().clone()
        }
    };
    let find = |models: &[Value], provider: &str, model: &str| -> Value {
        models
            .iter()
            .find(|m| m["provider"] == provider && m["model"] == model)
            .cloned()
            .unwrap_or_else(|| panic!("{provider}/{model}"))
    };
    let free = list(vec![("x-byok-user", user("alice", "free"))]).await;
    assert_eq!(
        find(&free, "openai", "gpt-4o-mini"),
        json!({"provider": "openai", "model": "gpt-4o-mini", "allowed": true, "server_key": true,
               "price_checked": "2026-12-01"})
    );
    assert_eq!(find(&free, "openai", "gpt-4o")["allowed"], false);
    assert_eq!(find(&free, "openai", "gpt-4o")["server_key"], false);
    assert_eq!(
        find(&free, "gemini", "gemini-2.0-flash-lite")["allowed"],
        true
    );
    assert_eq!(
        find(&free, "gemini", "gemini-2.0-flash-lite")["server_key"],
        false,
        "no fallback for gemini"
    );
    assert!(
        free.iter()
            .all(|m| !m["model"].as_str().unwrap().ends_with('*')),
        "prefix entries are not listed"
    );
    let anonymous = list(vec![]).await;
    assert_eq!(
        find(&anonymous, "openai", "gpt-4o-mini")["server_key"],
        false
    );
    let app = list(vec![("authorization", format!("Bearer {APP_TOKEN}"))]).await;
    assert_eq!(find(&app, "anthropic", "claude-haiku-4-5")["allowed"], true);
    assert_eq!(find(&app, "openai", "gpt-4o")["server_key"], true);
}

#[tokio::test]
async fn a_grant_carries_its_makers_tier() {
    let fake = FakeProvider::start().await;
    let proxy = tiered(&fake, &[]).await;
    let r = client()
        .post(format!("{}/byok/grants", proxy.url()))
        .header("x-byok-key", KEY)
        .header("x-byok-user", user("alice", "free"))
        .json(&json!({"provider": "openai"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let grant: Value = r.json().await.unwrap();
    let token = grant["token"].as_str().unwrap();
    let job = |model: &'static str| {
        client()
            .post(format!("{}/openai/v1/chat/completions", proxy.url()))
            .bearer_auth(token)
            .json(&json!({"model": model, "messages": []}))
            .send()
    };
    assert_eq!(job("gpt-4o").await.unwrap().status(), 403);
    assert_eq!(job("gpt-4o-mini").await.unwrap().status(), 200);
    // Even when the job claims to be someone else.
    let r = client()
        .post(format!("{}/openai/v1/chat/completions", proxy.url()))
        .bearer_auth(token)
        .header("x-byok-user", user("bob", "pro"))
        .json(&json!({"model": "gpt-4o", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}
