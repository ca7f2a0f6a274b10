use serde_json::{Value, json};

use byok_e2e::{FakeProvider, ProxyProcess};

use crate::{client, get_json, setup};

const KEY: &str = "sk-proj-FORWARDforwardFORWARD0001";

#[tokio::test]
async fn each_provider_gets_its_own_auth_header() {
    let (fake, proxy) = setup(&[], &[]).await;
    let cases = [
        (
            "openai",
            "/v1/chat/completions",
            "authorization",
            format!("Bearer {KEY}"),
        ),
        (
            "openrouter",
            "/v1/chat/completions",
            "authorization",
            format!("Bearer {KEY}"),
        ),
        (
            "custom",
            "/v1/chat/completions",
            "authorization",
            format!("Bearer {KEY}"),
        ),
        ("anthropic", "/v1/messages", "x-api-key", KEY.to_owned()),
        (
            "gemini",
            "/v1beta/models/gemini-2.0-flash:generateContent",
            "x-goog-api-key",
            KEY.to_owned(),
        ),
    ];
    for (provider, path, header, want) in &cases {
        let response = client()
            .post(format!("{}/{provider}{path}", proxy.url()))
            .header("x-byok-key", KEY)
            .json(&json!({"model": "m", "messages": []}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{provider}");
        assert_eq!(response.headers()["x-byok-key-source"], "user");
        let seen = fake.requests().pop().unwrap();
        assert_eq!(seen.uri, *path, "{provider}");
        assert_eq!(seen.header(header), Some(want.as_str()), "{provider}");
        let auth_headers = ["authorization", "x-api-key", "x-goog-api-key"];
        let present: Vec<_> = auth_headers
            .iter()
            .filter(|h| seen.header(h).is_some())
            .collect();
        assert_eq!(present, [header], "{provider}: exactly one auth header");
    }
    // Anthropic gets a default version, or the client's own.
    let seen = fake
        .requests()
        .into_iter()
        .find(|r| r.uri == "/v1/messages")
        .unwrap();
    assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"));
    client()
        .post(format!("{}/anthropic/v1/messages", proxy.url()))
        .header("x-byok-key", KEY)
        .header("anthropic-version", "2024-10-22")
        .send()
        .await
        .unwrap();
    assert_eq!(
        fake.requests().pop().unwrap().header("anthropic-version"),
        Some("2024-10-22")
    );
}

#[tokio::test]
async fn credentials_cookies_and_hop_by_hop_headers_are_stripped() {
    let (fake, proxy) = setup(&[], &[]).await;
    let response = client()
        .post(format!(
            "{}/openai/v1/chat/completions?foo=bar",
            proxy.url()
        ))
        .header("x-byok-key", KEY)
        .header("authorization", "Bearer client-own-token")
        .header("x-api-key", "client-x-api-key")
        .header("x-goog-api-key", "client-goog-key")
        .header("api-key", "client-azure-key")
        .header("cookie", "session=abc")
        .header("connection", "keep-alive, x-title")
        .header("x-title", "named in Connection")
        .header("keep-alive", "timeout=5")
        .header("x-forwarded-for", "10.0.0.1")
        .header("proxy-authorization", "Basic Zm9vOmJhcg==")
        .header("openai-organization", "org-123")
        .header("x-stainless-lang", "python")
        .json(&json!({"model": "gpt-4o-mini"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = fake.requests().pop().unwrap();
    assert_eq!(seen.uri, "/v1/chat/completions?foo=bar");
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    for gone in [
        "x-byok-key",
        "x-api-key",
        "x-goog-api-key",
        "api-key",
        "cookie",
        "x-title",
        "keep-alive",
        "x-forwarded-for",
        "proxy-authorization",
    ] {
        assert_eq!(seen.header(gone), None, "{gone} reached the provider");
    }
    assert!(
        seen.header("host")
            .is_some_and(|h| !h.contains(&proxy.addr().port().to_string()))
    );
    assert_eq!(seen.header("openai-organization"), Some("org-123"));
    assert_eq!(seen.header("x-stainless-lang"), Some("python"));
    let dump = format!("{seen:?}");
    for secret in [
        "client-own-token",
        "client-x-api-key",
        "client-goog-key",
        "client-azure-key",
        "session=abc",
    ] {
        assert!(!dump.contains(secret), "{secret}");
    }
}

#[tokio::test]
async fn a_base_url_with_a_path_keeps_it() {
    // OpenRouter's API lives under `/api`; an operator's server may too.
    let fake = FakeProvider::start().await;
    let base = format!("{}/api/", fake.url());
    let proxy = ProxyProcess::start(&["--upstream-openrouter", &base], &[]);
    for _ in 0..2 {
        let response = client()
            .post(format!(
                "{}/openrouter/v1/chat/completions?trace=1",
                proxy.url()
            ))
            .header("x-byok-key", KEY)
            .json(&json!({"model": "m", "messages": []}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let seen = fake.requests().pop().unwrap();
        assert_eq!(seen.uri, "/api/v1/chat/completions?trace=1");
        let authority = fake.url().trim_start_matches("http://").to_owned();
        assert_eq!(seen.header("host"), Some(authority.as_str()));
    }
}

#[tokio::test]
async fn unified_endpoint_routes_by_model_prefix() {
    let (fake, proxy) = setup(&[], &[]).await;
    let cases = [
        (
            "/v1/chat/completions",
            "openai/gpt-4o-mini",
            "/v1/chat/completions",
            "gpt-4o-mini",
            "authorization",
        ),
        (
            "/v1/chat/completions",
            "anthropic/claude-sonnet-4-5",
            "/v1/chat/completions",
            "claude-sonnet-4-5",
            "x-api-key",
        ),
        (
            "/v1/chat/completions",
            "gemini/gemini-2.0-flash",
            "/v1beta/openai/chat/completions",
            "gemini-2.0-flash",
            "x-goog-api-key",
        ),
        (
            "/v1/chat/completions",
            "openrouter/meta-llama/llama-3-8b",
            "/v1/chat/completions",
            "meta-llama/llama-3-8b",
            "authorization",
        ),
        (
            "/v1/embeddings",
            "openai/text-embedding-3-small",
            "/v1/embeddings",
            "text-embedding-3-small",
            "authorization",
        ),
        (
            "/v1/embeddings",
            "gemini/text-embedding-004",
            "/v1beta/openai/embeddings",
            "text-embedding-004",
            "x-goog-api-key",
        ),
    ];
    for (route, model, upstream_path, upstream_model, auth) in cases {
        let response = client()
            .post(format!("{}{route}", proxy.url()))
            .header("x-byok-key", KEY)
            .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}], "temperature": 0.5}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{model}");
        let seen = fake.requests().pop().unwrap();
        assert_eq!(seen.uri, upstream_path, "{model}");
        assert!(seen.header(auth).is_some(), "{model}");
        let body: Value = serde_json::from_str(&seen.body).unwrap();
        assert_eq!(body["model"], upstream_model);
        assert_eq!(body["temperature"], 0.5, "other fields pass untouched");
    }
    let before = fake.requests().len();
    for (body, status, code) in [
        (json!({"messages": []}), 400, "bad_request"),
        (json!({"model": "gpt-4o"}), 400, "bad_request"),
        (json!({"model": "bedrock/gpt-4o"}), 404, "unknown_provider"),
        // Azure's model names its resource first.
        (json!({"model": "azure/gpt-4o"}), 400, "bad_resource"),
        (json!({"model": "anthropic/"}), 400, "bad_request"),
    ] {
        let response = client()
            .post(format!("{}/v1/chat/completions", proxy.url()))
            .header("x-byok-key", KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{body}");
        assert!(error["error"]["message"].is_string());
    }
    let response = client()
        .post(format!("{}/v1/embeddings", proxy.url()))
        .header("x-byok-key", KEY)
        .json(&json!({"model": "anthropic/claude", "input": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "anthropic has no embeddings");
    assert_eq!(
        fake.requests().len(),
        before,
        "bad requests never reach the provider"
    );
}

#[tokio::test]
async fn key_test_endpoint_reports_validity_without_echoing_the_key() {
    let (fake, proxy) = setup(&[], &[]).await;
    for (provider, key, valid, path) in [
        ("openai", KEY, true, "/v1/models"),
        (
            "openai",
            "sk-proj-invalidINVALIDinvalid",
            false,
            "/v1/models",
        ),
        (
            "anthropic",
            "sk-ant-api03-rejectedREJECTED",
            false,
            "/v1/models",
        ),
        (
            "gemini",
            "AIzaGoodGoodGoodGoodGoodGoodGood",
            true,
            "/v1beta/models?pageSize=1",
        ),
        ("openrouter", "sk-or-v1-goodgoodgoodgood", true, "/v1/key"),
    ] {
        let response = client()
            .post(format!("{}/byok/test/{provider}", proxy.url()))
            .header("x-byok-key", key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        assert!(!text.contains(&key[8..]), "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["valid"], valid, "{provider} {text}");
        assert_eq!(body["provider"], provider);
        assert_eq!(body["status"], if valid { 200 } else { 401 });
        let seen = fake.requests().pop().unwrap();
        assert_eq!((seen.method.as_str(), seen.uri.as_str()), ("GET", path));
    }
    let missing = client()
        .post(format!("{}/byok/test/openai", proxy.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
}

#[tokio::test]
async fn providers_health_and_metrics() {
    let (_fake, proxy) = setup(&[], &[]).await;
    let health = client()
        .get(format!("{}/healthz", proxy.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");
    let providers = get_json(&format!("{}/byok/providers", proxy.url())).await;
    let ids: Vec<&str> = providers["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    // The named providers are served at their public addresses by default; custom only
    // when set (here, at the fake).
    assert_eq!(
        ids,
        [
            "openai",
            "anthropic",
            "gemini",
            "openrouter",
            "mistral",
            "groq",
            "deepseek",
            "xai",
            "together",
            "fireworks",
            "cerebras",
            "perplexity",
            "azure",
            "custom"
        ]
    );
    assert!(
        providers["providers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["server_key"] == false)
    );

    for _ in 0..3 {
        client()
            .post(format!("{}/openai/v1/chat/completions", proxy.url()))
            .header("x-byok-key", KEY)
            .body("{}")
            .send()
            .await
            .unwrap();
    }
    client()
        .post(format!("{}/openai/v1/chat/completions", proxy.url()))
        .send()
        .await
        .unwrap();
    let metrics = crate::metrics(&proxy).await;
    assert!(
        metrics
            .contains(r#"byok_requests_total{provider="openai",status="200",key_source="user"} 3"#),
        "{metrics}"
    );
    assert!(
        metrics
            .contains(r#"byok_requests_total{provider="openai",status="401",key_source="none"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"byok_upstream_latency_seconds_count{provider="openai"} 3"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"byok_streamed_bytes_total{provider="openai"}"#));
    assert!(!metrics.contains(&KEY[8..]));
}

#[tokio::test]
async fn system_proxy_variables_are_ignored() {
    let dead = "http://127.0.0.1:9";
    let env = [
        ("HTTP_PROXY", dead),
        ("HTTPS_PROXY", dead),
        ("ALL_PROXY", dead),
        ("http_proxy", dead),
    ];
    let (fake, proxy) = setup(&[], &env).await;
    let response = client()
        .get(format!("{}/openai/v1/models", proxy.url()))
        .header("x-byok-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(fake.requests().len(), 1, "went straight to the provider");
}
