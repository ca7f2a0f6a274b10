//! The named OpenAI-compatible providers: each gets the key as a Bearer token on its real
//! paths (pass-through, unified and key test), and its answers are counted and priced.

use serde_json::{Value, json};

use byok_e2e::{FakeProvider, ProxyProcess};

use crate::client;
use crate::usage::usage_with;

const KEY: &str = "named-PROVIDERS-key-0123456789abcdefABCDEF";

/// One provider as its documentation describes it: the path of its base URL below the host,
/// a request of its own API (pass-through), where the unified chat route goes (none for
/// Perplexity, whose chat completions are retired) and how a key is checked.
struct Case {
    id: &'static str,
    base_path: &'static str,
    own_path: &'static str,
    unified_chat: Option<&'static str>,
    key_check: (&'static str, &'static str),
}

const CASES: [Case; 8] = [
    Case {
        id: "mistral",
        base_path: "",
        own_path: "/v1/chat/completions",
        unified_chat: Some("/v1/chat/completions"),
        key_check: ("GET", "/v1/models"),
    },
    Case {
        id: "groq",
        base_path: "/openai",
        own_path: "/v1/chat/completions",
        unified_chat: Some("/openai/v1/chat/completions"),
        key_check: ("GET", "/openai/v1/models"),
    },
    Case {
        id: "deepseek",
        base_path: "",
        own_path: "/chat/completions",
        unified_chat: Some("/chat/completions"),
        key_check: ("GET", "/models"),
    },
    Case {
        id: "xai",
        base_path: "",
        own_path: "/v1/chat/completions",
        unified_chat: Some("/v1/chat/completions"),
        key_check: ("GET", "/v1/models"),
    },
    Case {
        id: "together",
        base_path: "",
        own_path: "/v1/chat/completions",
        unified_chat: Some("/v1/chat/completions"),
        key_check: ("GET", "/v1/models"),
    },
    Case {
        id: "fireworks",
        base_path: "/inference",
        own_path: "/v1/chat/completions",
        unified_chat: Some("/inference/v1/chat/completions"),
        key_check: ("GET", "/inference/v1/models"),
    },
    Case {
        id: "cerebras",
        base_path: "",
        own_path: "/v1/chat/completions",
        unified_chat: Some("/v1/chat/completions"),
        key_check: ("GET", "/v1/models"),
    },
    Case {
        id: "perplexity",
        base_path: "",
        own_path: "/v1/responses",
        unified_chat: None,
        key_check: ("POST", "/v1/responses"),
    },
];

/// A proxy sending every named provider to `fake`, below each one's real base path.
fn start(fake: &FakeProvider) -> ProxyProcess {
    let pairs: Vec<String> = CASES
        .iter()
        .map(|c| format!("{}={}{}", c.id, fake.url(), c.base_path))
        .collect();
    ProxyProcess::start(&["--upstream", &pairs.join(",")], &[])
}

#[tokio::test]
async fn each_named_provider_gets_the_key_as_a_bearer_token_on_its_own_paths() {
    let fake = FakeProvider::start().await;
    let proxy = start(&fake);
    for case in &CASES {
        let id = case.id;
        // Its own API, through the pass-through route.
        let r = client()
            .post(format!("{}/{id}{}", proxy.url(), case.own_path))
            .header("x-byok-key", KEY)
            .json(&json!({"model": "m", "input": "hi", "messages": []}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{id}");
        let seen = fake.requests().pop().unwrap();
        assert_eq!(
            seen.uri,
            format!("{}{}", case.base_path, case.own_path),
            "{id}"
        );
        assert_eq!(
            seen.header("authorization"),
            Some(format!("Bearer {KEY}").as_str()),
            "{id}"
        );
        assert!(
            seen.header("x-byok-key").is_none() && seen.header("x-api-key").is_none(),
            "{id}"
        );

        // The unified route, by `provider/model` (a model name may have slashes of its own).
        let before = fake.requests().len();
        let r = client()
            .post(format!("{}/v1/chat/completions", proxy.url()))
            .header("x-byok-key", KEY)
            .json(&json!({"model": format!("{id}/org/some-model"), "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        match case.unified_chat {
            Some(path) => {
                assert_eq!(r.status(), 200, "{id}");
                let seen = fake.requests().pop().unwrap();
                assert_eq!(seen.uri, path, "{id}");
                let body: Value = serde_json::from_str(&seen.body).unwrap();
                assert_eq!(body["model"], "org/some-model", "{id}");
                assert_eq!(
                    seen.header("authorization"),
                    Some(format!("Bearer {KEY}").as_str())
                );
            }
            None => {
                assert_eq!(r.status(), 400, "{id}");
                let error: Value = r.json().await.unwrap();
                let message = error["error"]["message"].as_str().unwrap();
                assert!(message.contains(&format!("/{id}/")), "{message}");
                assert_eq!(fake.requests().len(), before, "{id}: never sent");
            }
        }

        // The key test, by the provider's cheapest authenticated request.
        for (key, valid) in [
            (KEY, true),
            ("named-rejected-key-0123456789abcdefABCDEF", false),
        ] {
            let r = client()
                .post(format!("{}/byok/test/{id}", proxy.url()))
                .header("x-byok-key", key)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{id}");
            let text = r.text().await.unwrap();
            assert!(!text.contains(&key[10..]), "{text}");
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(body["valid"], valid, "{id}: {text}");
            let seen = fake.requests().pop().unwrap();
            let (method, path) = case.key_check;
            assert_eq!(
                (seen.method.as_str(), seen.uri.as_str()),
                (method, path),
                "{id}"
            );
            if method == "POST" {
                // An empty request: a key the provider knows gets 400 and nothing runs.
                assert_eq!(seen.body, "{}");
                if valid {
                    assert_eq!(body["status"], 400, "{text}");
                }
            }
        }
    }
}

#[tokio::test]
async fn named_providers_answers_are_counted_and_priced_from_their_entries() {
    let fake = FakeProvider::start().await;
    let proxy = start(&fake);
    // Groq, unified and streamed, asking for usage: 11 in (4 cached, which Groq prices as
    // input for this model), 7 out, at llama-3.1-8b-instant's 0.05 / 0.08.
    let r = client()
        .post(format!("{}/v1/chat/completions", proxy.url()))
        .header("x-byok-key", KEY)
        .json(
            &json!({"model": "groq/llama-3.1-8b-instant", "stream": true,
            "stream_options": {"include_usage": true}, "messages": []}),
        )
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().ends_with("data: [DONE]\n\n"));
    // Perplexity's Agent API (OpenAI's Responses shape): 20 in (5 cached), 9 out, counted
    // and not priced.
    let r = client()
        .post(format!("{}/perplexity/v1/responses", proxy.url()))
        .header("x-byok-key", KEY)
        .json(&json!({"model": "openai/gpt-5.2", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report = usage_with(&proxy, KEY, 2).await;
    let today = &report["today"];
    assert_eq!(today["requests"], 2, "{report}");
    assert_eq!(today["input_tokens"], 11 + 20, "{report}");
    assert_eq!(today["cached_input_tokens"], 4 + 5, "{report}");
    assert_eq!(today["output_tokens"], 7 + 9, "{report}");
    assert_eq!(today["unpriced_requests"], 1, "{report}");
    let groq = (11.0 * 0.05 + 7.0 * 0.08) / 1e6;
    let cost = today["cost_usd"].as_f64().unwrap();
    assert!((cost - groq).abs() < 1e-12, "{cost} vs {groq}");
}
