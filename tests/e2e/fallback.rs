//! The server-key fallback matrix. OpenAI: `when-missing-or-rejected`; Anthropic:
//! `when-missing`; Gemini: off (though it has a server key).

use crate::{client, get_json, setup};

const USER_KEY: &str = "sk-proj-USERuserUSERuser0004";
const REJECTED_KEY: &str = "sk-ant-api03-rejectedUSERkey";
const APP_TOKEN: &str = "app-token-0123456789";

#[tokio::test]
async fn fallback_policy_matrix() {
    let env = [
        ("BYOK_SERVER_KEY_OPENAI", "sk-server-OPENAIserver"),
        ("BYOK_SERVER_KEY_ANTHROPIC", "sk-ant-server-ANTHROPIC"),
        ("BYOK_SERVER_KEY_GEMINI", "AIzaServerServerServerServer"),
        ("BYOK_APP_TOKENS", APP_TOKEN),
        (
            "BYOK_FALLBACK",
            "openai=when-missing-or-rejected,anthropic=when-missing",
        ),
    ];
    let (fake, proxy) = setup(&[], &env).await;
    // (provider, user key, app auth, expected status, expected source, key the provider saw)
    let openai_rejected = "sk-proj-rejectedREJECTED00";
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        bool,
        u16,
        Option<&'a str>,
        Option<&'a str>,
    );
    let cases: [Case; 10] = [
        ("openai", None, false, 401, None, None),
        (
            "openai",
            None,
            true,
            200,
            Some("server"),
            Some("Bearer sk-server-OPENAIserver"),
        ),
        (
            "openai",
            Some(USER_KEY),
            true,
            200,
            Some("user"),
            Some("Bearer sk-proj-USERuserUSERuser0004"),
        ),
        (
            "openai",
            Some(USER_KEY),
            false,
            200,
            Some("user"),
            Some("Bearer sk-proj-USERuserUSERuser0004"),
        ),
        (
            "openai",
            Some(openai_rejected),
            true,
            200,
            Some("server"),
            Some("Bearer sk-server-OPENAIserver"),
        ),
        (
            "openai",
            Some(openai_rejected),
            false,
            401,
            Some("user"),
            None,
        ),
        (
            "anthropic",
            None,
            true,
            200,
            Some("server"),
            Some("sk-ant-server-ANTHROPIC"),
        ),
        (
            "anthropic",
            Some(REJECTED_KEY),
            true,
            401,
            Some("user"),
            None,
        ),
        ("gemini", None, true, 401, None, None),
        ("anthropic", None, false, 401, None, None),
    ];
    for (provider, key, app, status, source, seen_key) in cases {
        let before = fake.requests().len();
        let mut request = client()
            .post(format!("{}/{provider}/v1/chat/completions", proxy.url()))
            .body(r#"{"model":"m","messages":[]}"#)
            .header("content-type", "application/json");
        if let Some(key) = key {
            request = request.header("x-byok-key", key);
        }
        if app {
            request = request.header("authorization", format!("Bearer {APP_TOKEN}"));
        }
        let response = request.send().await.unwrap();
        let label = format!("{provider} key={key:?} app={app}");
        assert_eq!(response.status().as_u16(), status, "{label}");
        assert_eq!(
            response
                .headers()
                .get("x-byok-key-source")
                .map(|v| v.to_str().unwrap()),
            source,
            "{label}"
        );
        let text = response.text().await.unwrap();
        assert!(
            !text.contains("server-"),
            "{label}: server key in body: {text}"
        );
        let seen = fake.requests();
        if let Some(seen_key) = seen_key {
            let last = seen.last().unwrap();
            let auth = last
                .header("authorization")
                .or(last.header("x-api-key"))
                .unwrap();
            assert_eq!(auth, seen_key, "{label}");
            assert_eq!(
                last.body, r#"{"model":"m","messages":[]}"#,
                "{label}: body resent intact"
            );
        }
        if key.is_none() && status == 401 {
            assert_eq!(
                seen.len(),
                before,
                "{label}: upstream contacted without a key"
            );
        }
    }
    // A wrong app token is not the app.
    let response = client()
        .post(format!("{}/openai/v1/chat/completions", proxy.url()))
        .header("authorization", "Bearer app-token-0123456780")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let providers = get_json(&format!("{}/byok/providers", proxy.url())).await;
    let with_server: Vec<&str> = providers["providers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["server_key"] == true)
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(with_server, ["openai", "anthropic"]);
}
