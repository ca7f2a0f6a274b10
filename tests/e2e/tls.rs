use serde_json::json;

use byok_e2e::{FakeProvider, ProxyProcess};

use crate::client;

const KEY: &str = "sk-proj-TLStlsTLStlsTLStls000001";

/// Writes `pem` where the proxy can read it, named after the fake's port.
fn ca_file(fake: &FakeProvider, pem: &str) -> std::path::PathBuf {
    let port = fake.url().rsplit(':').next().unwrap_or_default().to_owned();
    let path = std::env::temp_dir().join(format!("byok-e2e-ca-{}-{port}.pem", std::process::id()));
    std::fs::write(&path, pem).unwrap();
    path
}

async fn chat(proxy: &ProxyProcess, stream: bool) -> reqwest::Response {
    client()
        .post(format!(
            "{}/openai/v1/chat/completions?trace=1",
            proxy.url()
        ))
        .header("x-byok-key", KEY)
        .json(&json!({"model": "m", "messages": [], "stream": stream}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn https_providers_are_spoken_to_over_http2_or_http1_as_they_offer() {
    for (offered, version) in [
        (&["h2", "http/1.1"][..], "HTTP/2.0"),
        (&["http/1.1"][..], "HTTP/1.1"),
    ] {
        let (fake, ca) = FakeProvider::start_tls(offered).await;
        assert!(fake.url().starts_with("https://"));
        let ca = ca_file(&fake, &ca);
        // One worker: each has its own provider connections.
        let proxy = ProxyProcess::start(
            &[
                "--workers",
                "1",
                "--upstream-openai",
                &fake.url(),
                "--upstream-ca",
                ca.to_str().unwrap(),
            ],
            &[],
        );
        // Twice: on a new connection, then on the pooled (HTTP/1.1) or shared (HTTP/2) one.
        for _ in 0..2 {
            let response = chat(&proxy, false).await;
            assert_eq!(response.status(), 200, "{version}");
            let body: serde_json::Value = response.json().await.unwrap();
            assert!(body["choices"].is_array(), "{version}: {body}");
            let seen = fake.requests().pop().unwrap();
            assert_eq!(seen.version, version);
            assert_eq!(seen.uri, "/v1/chat/completions?trace=1");
            let bearer = format!("Bearer {KEY}");
            assert_eq!(seen.header("authorization"), Some(bearer.as_str()));
            assert_eq!(seen.header("x-byok-key"), None);
        }
        // A stream comes through whole over TLS too.
        let response = chat(&proxy, true).await;
        assert_eq!(response.status(), 200, "{version}");
        assert_eq!(
            response.text().await.unwrap(),
            byok_e2e::fake_sse_chunks().concat(),
            "{version}"
        );
        assert_eq!(fake.requests().len(), 3, "{version}");
        let peers: std::collections::BTreeSet<_> = fake.requests().iter().map(|r| r.peer).collect();
        assert_eq!(
            peers.len(),
            1,
            "{version}: one connection for all three: {peers:?}"
        );
        let _ = std::fs::remove_file(ca);
    }
}

#[tokio::test]
async fn an_https_provider_whose_certificate_is_not_trusted_is_never_sent_a_request() {
    let (fake, _ca) = FakeProvider::start_tls(&["h2", "http/1.1"]).await;
    let proxy = ProxyProcess::start(&["--upstream-openai", &fake.url()], &[]);
    let response = chat(&proxy, false).await;
    assert_eq!(response.status(), 502);
    let body = response.text().await.unwrap();
    assert!(!body.contains(KEY), "{body}");
    assert!(fake.requests().is_empty());
}
