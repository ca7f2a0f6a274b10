//! Azure OpenAI: the user's resource names the host, so it travels in every request
//! (`/azure/<resource>/...`, or the model `azure/<resource>/<deployment>`) and is bound to
//! grants and sealed keys. A name that is not one DNS label is refused before any connection.
//!
//! The fake provider plays every resource below one path (`/r/{resource}`): `*.localhost` does
//! not resolve on these machines, and the slot is filled the same way in a host.

use serde_json::{Value, json};

use byok_e2e::{FakeProvider, ProxyProcess, raw_request};

use crate::{client, get_json};

/// An Azure key: 32 hex digits, as older Azure resources issue them.
const KEY: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const SECRET: &str = "5e6f7a8b9c0d1e2f5e6f7a8b9c0d1e2f5e6f7a8b9c0d1e2f5e6f7a8b9c0d1e2f";

fn start(fake: &FakeProvider, env: &[(&str, &str)]) -> ProxyProcess {
    let upstream = format!("azure={}/r/{{resource}}", fake.url());
    ProxyProcess::start(&["--upstream", &upstream], env)
}

async fn post(proxy: &ProxyProcess, path: &str, key: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}{path}", proxy.url()))
        .header("x-byok-key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The status and error code of `response`.
async fn code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"].as_str().unwrap_or("").to_owned();
    (status, code)
}

fn chat(model: &str) -> Value {
    json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }] })
}

#[tokio::test]
async fn the_key_goes_in_api_key_to_the_resource_the_request_names() {
    let fake = FakeProvider::start().await;
    let proxy = start(&fake, &[]);
    let providers = get_json(&format!("{}/byok/providers", proxy.url())).await;
    let azure = providers["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "azure")
        .unwrap();
    assert_eq!(azure["resource"], true, "{providers}");

    // Pass-through: the OpenAI SDK's base URL is `<proxy>/azure/<resource>/openai/v1`.
    let r = post(
        &proxy,
        "/azure/contoso/openai/v1/chat/completions?trace=1",
        KEY,
        &chat("my-gpt-4o"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let seen = fake.requests().pop().unwrap();
    assert_eq!(seen.uri, "/r/contoso/openai/v1/chat/completions?trace=1");
    assert_eq!(seen.header("api-key"), Some(KEY));
    assert!(seen.header("authorization").is_none() && seen.header("x-byok-key").is_none());

    // Unified: `azure/<resource>/<deployment>`; the deployment alone goes up.
    let r = post(
        &proxy,
        "/v1/chat/completions",
        KEY,
        &chat("azure/fabrikam-eu/gpt-4o-mini"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let seen = fake.requests().pop().unwrap();
    assert_eq!(seen.uri, "/r/fabrikam-eu/openai/v1/chat/completions");
    let body: Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(body["model"], "gpt-4o-mini");
    let r = post(
        &proxy,
        "/v1/embeddings",
        KEY,
        &json!({"model": "azure/contoso/emb", "input": "x"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        fake.requests().pop().unwrap().uri,
        "/r/contoso/openai/v1/embeddings"
    );

    // The key test, at the resource: its model list.
    for (key, valid) in [(KEY, true), ("rejected0123456789abcdef01234567", false)] {
        let r = client()
            .post(format!("{}/byok/test/azure/contoso", proxy.url()))
            .header("x-byok-key", key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["valid"], valid, "{body}");
        let seen = fake.requests().pop().unwrap();
        assert_eq!(
            (seen.method.as_str(), seen.uri.as_str()),
            ("GET", "/r/contoso/openai/v1/models")
        );
    }
}

#[tokio::test]
async fn a_resource_that_is_not_one_dns_label_reaches_no_one() {
    let fake = FakeProvider::start().await;
    let proxy = start(&fake, &[]);
    let paths = [
        "/azure/evil.example/openai/v1/chat/completions",
        "/azure/Contoso/openai/v1/chat/completions",
        "/azure/-contoso/openai/v1/chat/completions",
        "/azure/contoso-/openai/v1/chat/completions",
        "/azure/a%2eb/openai/v1/chat/completions",
        "/azure/a%2fb/openai/v1/chat/completions",
        "/azure/user@evil/openai/v1/chat/completions",
        "/azure/evil:8443/openai/v1/chat/completions",
        "/azure/%65vil/openai/v1/chat/completions",
        "/azure//openai/v1/chat/completions",
        "/azure/contoso",
        "/azure/",
    ];
    let long = format!("/azure/{}/openai/v1/models", "a".repeat(64));
    for path in paths.iter().copied().chain([long.as_str()]) {
        let (status, error) = code(post(&proxy, path, KEY, &chat("m")).await).await;
        assert!(
            (status, error.as_str()) == (400, "bad_resource")
                || (status, error.as_str()) == (400, "bad_path"),
            "{path}: {status} {error}"
        );
    }
    // Sent as written (HTTP clients resolve dot segments, even escaped ones, before sending).
    for path in [
        "/azure/../openai/v1/models",
        "/azure/%2e%2e/openai/v1/models",
    ] {
        let request = format!(
            "GET {path} HTTP/1.1\r\nhost: x\r\nx-byok-key: {KEY}\r\nconnection: close\r\n\r\n"
        );
        assert_eq!(raw_request(proxy.addr(), &request), 400, "{path}");
    }
    for model in [
        "azure/evil.example/m",
        "azure/EVIL/m",
        "azure/gpt-4o",
        "azure/a b/m",
    ] {
        let (status, error) =
            code(post(&proxy, "/v1/chat/completions", KEY, &chat(model)).await).await;
        assert_eq!((status, error.as_str()), (400, "bad_resource"), "{model}");
    }
    for path in ["/byok/test/azure", "/byok/test/azure/evil.example"] {
        let (status, error) = code(post(&proxy, path, KEY, &json!({})).await).await;
        assert_eq!((status, error.as_str()), (400, "bad_resource"), "{path}");
    }
    // Another provider takes no resource in its test route.
    let (status, _) = code(post(&proxy, "/byok/test/openai/contoso", KEY, &json!({})).await).await;
    assert_eq!(status, 404);
    assert!(
        fake.requests().is_empty(),
        "nothing reached any upstream: {:?}",
        fake.requests().iter().map(|r| &r.uri).collect::<Vec<_>>()
    );
    // The message says what a name may be, and never repeats the one given.
    let r = post(
        &proxy,
        "/azure/evil.example/openai/v1/models",
        KEY,
        &json!({}),
    )
    .await;
    let text = r.text().await.unwrap();
    assert!(text.contains("DNS") || text.contains("1 to 63"), "{text}");
    assert!(!text.contains("evil"), "{text}");
}

#[tokio::test]
async fn a_grant_and_a_sealed_key_stay_with_their_resource() {
    let fake = FakeProvider::start().await;
    let proxy = start(&fake, &[("BYOK_SECRET", SECRET)]);

    // A grant names its resource when made; its holder cannot point it at another.
    let r = post(&proxy, "/byok/grants", KEY, &json!({"provider": "azure"})).await;
    let (status, error) = code(r).await;
    assert_eq!(
        (status, error.as_str()),
        (400, "invalid_grant_scope"),
        "{error}"
    );
    let r = post(
        &proxy,
        "/byok/grants",
        KEY,
        &json!({"provider": "azure", "resource": "contoso", "max_requests": 5}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    assert_eq!(made["resource"], "contoso");
    let token = made["token"].as_str().unwrap().to_owned();
    let before = fake.requests().len();
    let (status, error) = code(
        post(
            &proxy,
            "/azure/attacker/openai/v1/chat/completions",
            &token,
            &chat("m"),
        )
        .await,
    )
    .await;
    assert_eq!((status, error.as_str()), (403, "grant_wrong_resource"));
    assert_eq!(fake.requests().len(), before, "refused before the provider");
    let r = post(
        &proxy,
        "/azure/contoso/openai/v1/chat/completions",
        &token,
        &chat("m"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let seen = fake.requests().pop().unwrap();
    assert_eq!(seen.uri, "/r/contoso/openai/v1/chat/completions");
    assert_eq!(
        seen.header("api-key"),
        Some(KEY),
        "the grant's key, not its token"
    );

    // A sealed key is bound to its request's path, and so to its resource.
    let config = get_json(&format!("{}/byok/seal-key", proxy.url())).await;
    let id = config["keys"][0]["id"].as_str().unwrap();
    let public =
        byok_seal::PublicKey::from_base64(config["keys"][0]["public_key"].as_str().unwrap())
            .unwrap();
    let body = chat("m").to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let sealed_for = |target: &str| {
        let request = byok_seal::Request::new("POST", target, body.as_bytes());
        byok_seal::seal(&public, id, &request, now, KEY.as_bytes()).unwrap()
    };
    let send = |target: &'static str, sealed: String| {
        let url = format!("{}{target}", proxy.url());
        let body = body.clone();
        async move {
            client()
                .post(url)
                .header("content-type", "application/json")
                .header("x-byok-sealed", sealed)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let before = fake.requests().len();
    let moved = sealed_for("/azure/contoso/openai/v1/chat/completions");
    let (status, error) =
        code(send("/azure/attacker/openai/v1/chat/completions", moved).await).await;
    assert_eq!((status, error.as_str()), (401, "seal_invalid"), "{error}");
    assert_eq!(fake.requests().len(), before);
    let kept = sealed_for("/azure/contoso/openai/v1/chat/completions");
    let r = send("/azure/contoso/openai/v1/chat/completions", kept).await;
    assert_eq!(r.status(), 200);
    let seen = fake.requests().pop().unwrap();
    assert_eq!(seen.uri, "/r/contoso/openai/v1/chat/completions");
    assert_eq!(seen.header("api-key"), Some(KEY));
}

#[tokio::test]
async fn an_azure_upstream_must_hold_the_resource_slot_once() {
    for bad in [
        "azure=https://contoso.openai.azure.com",
        "azure=https://{resource}{resource}.openai.azure.com",
        "azure=https://x{resource}.openai.azure.com",
    ] {
        let (status, stderr) = byok_e2e::run_to_exit(&["--upstream", bad]);
        assert_ne!(status, Some(0), "{bad}");
        assert!(stderr.contains("{resource}"), "{bad}: {stderr}");
    }
}
