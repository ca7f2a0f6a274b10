//! The official OpenAI Python SDK (installed by `make tools` into `.tools/venv`) talks to the
//! unified endpoint with only `base_url` changed and the key in one extra header.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::setup;

fn python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.join(".tools/venv/bin/python")
}

#[tokio::test]
async fn official_openai_sdk_works_through_the_unified_endpoint() {
    let (fake, proxy) = setup(&[], &[]).await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("support/openai_client.py");
    let url = proxy.url();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .arg(script)
            .arg(format!("{url}/v1"))
            .arg("sk-ant-api03-SDKsdkSDKsdk0005")
            .output()
            .expect("run the OpenAI SDK script (make tools installs it)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["plain"], "Hello from the fake provider");
    assert_eq!(result["plain_model"], "claude-sonnet-4-5");
    assert_eq!(result["streamed"], "Hello");
    assert_eq!(result["embedding_len"], 2);
    assert_eq!(result["key_source"], "user");
    let seen = fake.requests();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .take(2)
            .all(|r| r.header("x-api-key") == Some("sk-ant-api03-SDKsdkSDKsdk0005"))
    );
    assert!(seen.iter().all(|r| {
        r.header("authorization")
            .is_none_or(|a| !a.contains("sdk-app-token"))
    }));
}
