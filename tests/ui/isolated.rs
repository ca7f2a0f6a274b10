//! The isolated mode in headless Chromium: the vault on one origin (the real proxy serving
//! `dist/`), an app on another (a page that imports the client library, with a hostile script
//! loaded before anything else), talking through the embed document; consent in the vault's
//! own windows.
//!
//! Origins on loopback: `keys.byok.localhost` (the vault) and `app.byok.localhost` (the app)
//! are one site; `evil.byok.localhost` is an origin the operator does not list;
//! `app.other.localhost` is listed but another site, whose frame gets partitioned storage.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use byok_e2e::{FakeProvider, ProxyProcess};
use serde_json::Value;
use thirtyfour::prelude::*;

use crate::browser::Browser;
use crate::{create_with, dist_dir, unlock_with};

const PASSWORD: &str = "amber quartz meadow falcon";
const OPENAI_KEY: &str = "sk-proj-ISOLATEDmodeOPENAIkey0123456789";
const ANTHROPIC_KEY: &str = "sk-ant-api03-ISOLATEDmodeANTHROPIC42";
/// A key the app's page plants in its own request: it must never reach the provider.
/// (It shares no 8-character piece with a real key: the page may see its own value.)
const PLANTED: &str = "planted-by-the-app-page-0000000000";

/// Serves the example app (`tests/support/isolated/`) on `listener`, its pages naming the vault
/// at `vault`; and the vault's own package (for the benchmark's in-page vault).
fn serve_app(listener: tokio::net::TcpListener, vault: String) {
    async fn file(State(vault): State<String>, uri: Uri) -> Response {
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/support/isolated");
        let path = match uri.path() {
            "/" => "/app.html",
            other => other,
        };
        let (file, kind) = match path {
            "/app.html" | "/bench.html" => (format!("{fixtures}{path}"), "text/html"),
            "/app.js" | "/hostile.js" | "/bench.js" => {
                (format!("{fixtures}{path}"), "text/javascript")
            }
            "/vault/byok_vault.js" => (
                dist_dir().join("vault/byok_vault.js").display().to_string(),
                "text/javascript",
            ),
            "/vault/byok_vault_bg.wasm" => (
                dist_dir()
                    .join("vault/byok_vault_bg.wasm")
                    .display()
                    .to_string(),
                "application/wasm",
            ),
            _ => return axum::http::StatusCode::NOT_FOUND.into_response(),
        };
        let bytes = std::fs::read(file).unwrap();
        let body = if kind.starts_with("text/") {
            String::from_utf8(bytes)
                .unwrap()
                .replace("@VAULT@", &vault)
                .into_bytes()
        } else {
            bytes
        };
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(kind))],
            body,
        )
            .into_response()
    }
    let app = Router::new().fallback(file).with_state(vault);
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// The vault's origin (the real proxy serving `dist/`, a fake provider behind it), the app's
/// server on another origin, and a browser in which the person's vault holds two keys.
struct World {
    fake: FakeProvider,
    proxy: ProxyProcess,
    browser: Browser,
    /// The vault's origin.
    vault: String,
    /// The app server's port (its origins differ by name).
    port: u16,
}

impl World {
    async fn start() -> Self {
        let fake = FakeProvider::start().await;
        // The app's port must be known before the proxy lists it; its pages, the vault's URL.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = format!("http://app.byok.localhost:{port}");
        let mut args: Vec<String> = ["openai", "anthropic", "gemini", "openrouter", "custom"]
            .iter()
            .flat_map(|p| [format!("--upstream-{p}"), fake.url()])
            .collect();
        args.extend([
            "--static-dir".into(),
            dist_dir().display().to_string(),
            "--embed-origins".into(),
            format!("{app},http://app.other.localhost:{port}"),
            // The benchmark's in-page vault calls the proxy from the app's origin.
            "--cors-origins".into(),
            app,
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // The vault's frame always seals; the benchmark's in-page vault seals by default.
        let proxy = ProxyProcess::start(&args, &[("BYOK_REQUIRE_SEALED", "on")]);
        let vault = proxy
            .url()
            .replace("://127.0.0.1:", "://keys.byok.localhost:");
        serve_app(listener, vault.clone());
        let browser = Browser::start().await;

        // The person's vault, on its own origin: two keys.
        browser.driver.goto(format!("{vault}/")).await.unwrap();
        create_with(&browser, PASSWORD).await;
        for (provider, title, label, key) in [
            ("openai", "OpenAI", "Work", OPENAI_KEY),
            ("anthropic", "Anthropic", "Personal", ANTHROPIC_KEY),
        ] {
            let card = format!("#provider-{provider}");
            browser
                .click_button(&card, &format!("Add {title} key"))
                .await;
            browser
                .type_into(&format!("#add-{provider}-label"), label)
                .await;
            browser
                .type_into(&format!("#add-{provider}-key"), key)
                .await;
            browser.click_button(&card, "Save key").await;
            browser.wait_text("#notice", label).await;
        }
        Self {
            fake,
            proxy,
            browser,
            vault,
            port,
        }
    }

    /// An origin of the app's server, by host name.
    fn origin(&self, host: &str) -> String {
        format!("http://{host}:{}", self.port)
    }
}

/// Waits until `window.results[name]` is set on the app's page; returns it.
async fn result(browser: &Browser, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value = browser
            .run(&format!(
                "return window.results && window.results[{name:?}] || null;"
            ))
            .await;
        if !value.is_null() {
            return value;
        }
        assert!(Instant::now() < deadline, "the app never got {name}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Calls `window.app.{call}` on the app's page and waits for `results[name]` (cleared first).
async fn app(browser: &Browser, call: &str, name: &str) -> Value {
    browser
        .run(&format!(
            "delete window.results[{name:?}]; window.app.{call}; return null;"
        ))
        .await;
    result(browser, name).await
}

/// Clicks `button` on the app's page, switches to the vault window it opens, and returns the
/// app's window handle.
async fn open_vault_window(browser: &Browser, button: &str) -> WindowHandle {
    let app_window = browser.driver.window().await.unwrap();
    let before = browser.driver.windows().await.unwrap();
    browser.el(button).await.click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = browser.driver.windows().await.unwrap();
        if let Some(popup) = now.iter().find(|w| !before.contains(w)) {
            browser
                .driver
                .switch_to_window(popup.clone())
                .await
                .unwrap();
            return app_window;
        }
        assert!(Instant::now() < deadline, "no vault window opened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the vault window closes itself, then goes back to the app's window.
async fn back_to_app(browser: &Browser, app_window: WindowHandle) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser.driver.windows().await.unwrap().len() > 1 {
        assert!(Instant::now() < deadline, "the vault window stayed open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.driver.switch_to_window(app_window).await.unwrap();
}

/// Every 8-character piece of `secret`.
fn pieces(secret: &str) -> Vec<&str> {
    (0..=secret.len() - 8).map(|i| &secret[i..i + 8]).collect()
}

/// What the app's page captured (the hostile script), joined.
async fn captured(browser: &Browser) -> String {
    browser
        .run("return (window.__captured || []).join('\\n');")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// In the vault window: unlocks, waits for the consent, screenshots it, answers.
async fn consent(browser: &Browser, asking: &str, shot: &str, allow: bool) {
    browser.wait_text("#consent-asking", asking).await;
    unlock_with(browser, PASSWORD).await;
    browser.el("#consent-allow").await;
    browser.shot(shot).await;
    let button = if allow {
        "#consent-allow"
    } else {
        "#consent-deny"
    };
    browser.el(button).await.click().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_on_another_origin_uses_the_keys_and_never_sees_one() {
    let world = World::start().await;
    let (fake, proxy, browser, vault) = (&world.fake, &world.proxy, &world.browser, &world.vault);
    let app_origin = world.origin("app.byok.localhost");
    let evil_origin = world.origin("evil.byok.localhost");
    let other_site = world.origin("app.other.localhost");

    // The app, on another origin, with a hostile script loaded first.
    browser.driver.goto(format!("{app_origin}/")).await.unwrap();
    result(browser, "loaded").await;
    assert_eq!(app(browser, "connect()", "connect").await["ok"], true);
    let status = app(browser, "status()", "status").await;
    assert_eq!(
        status["ok"],
        serde_json::json!({ "connected": null, "locked": true, "providers": [] }),
        "the app's frame starts locked: the vault key is in no window of the app's"
    );
    let locked = app(browser, "fetchJson('/v1/chat/completions')", "json").await;
    assert_eq!(locked["error"], "locked");

    // Connect: a vault window asks, after unlocking there; it hands the vault to the frame.
    let app_window = open_vault_window(browser, "#connect").await;
    consent(
        browser,
        &format!("{app_origin} asks to use your keys"),
        "20-consent-connect",
        true,
    )
    .await;
    back_to_app(browser, app_window.clone()).await;
    assert_eq!(result(browser, "access").await["ok"], true);
    let status = app(browser, "status()", "status").await;
    assert_eq!(
        status["ok"],
        serde_json::json!({ "connected": true, "locked": false, "providers": ["openai", "anthropic"] })
    );
    browser.shot("21-app-connected").await;

    // A JSON request: the vault's key goes, the one the page planted does not.
    let before = fake.requests().len();
    let planted = format!(
        "fetchJson('/v1/chat/completions', {{ 'x-byok-key': '{PLANTED}', authorization: 'Bearer {PLANTED}', 'x-api-key': '{PLANTED}' }})"
    );
    let answer = app(browser, &planted, "json").await;
    assert_eq!(answer["ok"]["status"], 200, "{answer}");
    assert_eq!(answer["ok"]["source"], "user");
    assert!(
        answer["ok"]["body"]
            .as_str()
            .unwrap()
            .contains("Hello from the fake provider")
    );
    let sent = fake.requests();
    assert_eq!(sent.len(), before + 1);
    let last = sent.last().unwrap();
    assert_eq!(last.uri, "/v1/chat/completions");
    assert_eq!(
        last.header("authorization"),
        Some(&*format!("Bearer {OPENAI_KEY}"))
    );
    assert!(
        !last.headers.iter().any(|(_, v)| v.contains(PLANTED)),
        "a credential the page set never goes: {:?}",
        last.headers
    );

    // A streamed answer arrives event by event, as the provider sends it.
    let chat = app(browser, "chatStream()", "chat").await;
    let reads = chat["ok"].as_array().unwrap();
    assert!(reads.len() >= 3, "{chat}");
    let at = |i: usize| reads[i]["at"].as_f64().unwrap();
    assert!(
        at(0) + 150.0 < at(reads.len() - 1),
        "the first event came before the last was sent: {chat}"
    );
    let text: String = reads.iter().map(|r| r["text"].as_str().unwrap()).collect();
    assert!(text.contains("data: [DONE]"), "{text}");

    // Aborting stops the provider's stream.
    let stream = app(browser, "streamThenAbort()", "stream").await;
    assert!(
        stream["ok"]["first"]
            .as_str()
            .unwrap()
            .starts_with("data: 0"),
        "{stream}"
    );
    assert_eq!(stream["ok"]["after"], "aborted");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !fake.stream_cancelled() {
        assert!(
            Instant::now() < deadline,
            "the provider kept streaming after the abort"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Paths outside a provider's are refused before anything is sent.
    let before = fake.requests().len();
    for path in [
        "/../byok/usage",
        "/v1/%2e%2e/%2e%2e/byok/grants",
        "https://evil.example/v1/models",
        "//evil.example/v1/models",
    ] {
        let refused = app(browser, &format!("fetchPath({path:?})"), "path").await;
        assert_eq!(refused["error"], "forbidden_path", "{path}: {refused}");
    }
    assert_eq!(
        fake.requests().len(),
        before,
        "nothing reached the provider"
    );

    // A grant: the person approves its scope in a vault window; the app gets the token.
    let app_window = open_vault_window(browser, "#grant").await;
    consent(browser, "asks for a grant", "22-consent-grant", true).await;
    back_to_app(browser, app_window.clone()).await;
    let grant = result(browser, "grant").await;
    let token = grant["ok"]["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("byok_g_"), "{grant}");
    let job = reqwest::Client::builder().no_proxy().build().unwrap();
    let used = job
        .post(format!("{}/v1/chat/completions", proxy.url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "model": "openai/gpt-4o-mini", "messages": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(used.status(), 200);
    assert_eq!(
        fake.requests().last().unwrap().header("authorization"),
        Some(&*format!("Bearer {OPENAI_KEY}"))
    );

    // Deny: the app hears no.
    let app_window = open_vault_window(browser, "#connect").await;
    consent(browser, "asks to use your keys", "23-consent-deny", false).await;
    back_to_app(browser, app_window.clone()).await;
    assert_eq!(result(browser, "access").await["ok"], false);

    // The settings page, opened by the app: the person revokes it there.
    let app_window = open_vault_window(browser, "#settings").await;
    unlock_with(browser, PASSWORD).await;
    browser
        .el("a[href='#security']")
        .await
        .click()
        .await
        .unwrap();
    browser.wait_text("#app-list", &app_origin).await;
    browser
        .run("document.getElementById('apps-title').scrollIntoView(); return [];")
        .await;
    browser.shot("24-connected-apps").await;
    browser.click_button("#app-list", "Revoke").await;
    browser.wait_text("#notice", "is disconnected").await;
    browser.driver.close_window().await.unwrap();
    browser
        .driver
        .switch_to_window(app_window.clone())
        .await
        .unwrap();
    let revoked = app(browser, "fetchJson('/v1/chat/completions')", "json").await;
    assert_eq!(revoked["error"], "not_connected", "revoked at once");
    let status = app(browser, "status()", "status").await;
    assert_eq!(status["ok"]["connected"], false);
    assert_eq!(status["ok"]["providers"], serde_json::json!([]));

    // Locking in a vault window locks the app's frame; unlocking there hands it back.
    let app_window = open_vault_window(browser, "#connect").await;
    consent(browser, "asks to use your keys", "25-consent-again", true).await;
    back_to_app(browser, app_window.clone()).await;
    assert_eq!(result(browser, "access").await["ok"], true);
    let app_window = open_vault_window(browser, "#settings").await;
    unlock_with(browser, PASSWORD).await;
    browser.el("#lock-now").await.click().await.unwrap();
    browser
        .driver
        .switch_to_window(app_window.clone())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = app(browser, "status()", "status").await;
        if status["ok"]["locked"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "the frame did not lock");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let changes = browser.run("return window.results.changes;").await;
    assert!(
        changes
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["locked"] == true),
        "the app heard of the lock: {changes}"
    );
    let windows = browser.driver.windows().await.unwrap();
    let settings = windows.iter().find(|w| **w != app_window).unwrap().clone();
    browser.driver.switch_to_window(settings).await.unwrap();
    unlock_with(browser, PASSWORD).await;
    // Unlocked there (the key is derived first): then the frame has it.
    browser.el("#lock-now").await;
    browser.driver.close_window().await.unwrap();
    browser
        .driver
        .switch_to_window(app_window.clone())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = app(browser, "status()", "status").await;
        if status["ok"]["locked"] == false && status["ok"]["connected"] == true {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "unlocking in the vault's window did not reach the frame"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A consent page framed by the app says nothing and approves nothing.
    let framed = browser
        .run_async(&format!(
            "const done = arguments[0];
             let heard = false;
             window.addEventListener('message', (e) => {{ if (e.data && e.data.byok === 'consent-hello' && e.source === frame.contentWindow) heard = true; }});
             const frame = document.createElement('iframe');
             frame.src = '{vault}/#connect';
             document.body.appendChild(frame);
             setTimeout(() => done(heard), 2500);"
        ))
        .await;
    assert_eq!(framed, false, "a framed consent page never speaks");

    // Everything the hostile script saw: no piece of a key or of the password.
    let seen = captured(browser).await;
    assert!(
        seen.len() > 1000,
        "the hostile script saw the traffic: {} bytes",
        seen.len()
    );
    assert!(seen.contains("port.postMessage"), "it watched the port");
    for secret in [OPENAI_KEY, ANTHROPIC_KEY, PASSWORD] {
        for piece in pieces(secret) {
            assert!(
                !seen.contains(piece),
                "the app's page saw {piece:?} of a secret"
            );
        }
    }

    // An origin the operator does not list: refused, and its frame never runs.
    browser
        .driver
        .goto(format!("{evil_origin}/"))
        .await
        .unwrap();
    result(browser, "loaded").await;
    let refused = app(browser, "connect()", "connect").await;
    assert_eq!(refused["error"], "not_allowed");
    let framed = browser
        .run_async(&format!(
            "const done = arguments[0];
             let heard = false;
             window.addEventListener('message', (e) => {{ if (e.data && e.data.byok === 'embed-ready') heard = true; }});
             const frame = document.createElement('iframe');
             frame.src = '{vault}/embed.html';
             document.body.appendChild(frame);
             setTimeout(() => done(heard), 2500);"
        ))
        .await;
    assert_eq!(
        framed, false,
        "an unlisted origin cannot frame the embed document"
    );

    // Another site, listed: the browser keeps the vault's storage apart in its frame.
    browser.driver.goto(format!("{other_site}/")).await.unwrap();
    result(browser, "loaded").await;
    let partitioned = app(browser, "connect()", "connect").await;
    assert_eq!(partitioned["error"], "storage_partitioned", "{partitioned}");
}

/// What the isolated mode adds to a request, against the in-page vault in the same page and to
/// the same proxy: time to the `Response`, and to its end, JSON and SSE; medians of interleaved
/// rounds. `make bench-isolated` runs it and prints the figures (goal: at most 2 ms added).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: `make bench-isolated` runs it and prints its figures"]
async fn bench_the_isolated_mode_against_the_in_page_vault() {
    let world = World::start().await;
    let browser = &world.browser;
    browser
        .driver
        .goto(format!("{}/bench.html", world.origin("app.byok.localhost")))
        .await
        .unwrap();
    result(browser, "loaded").await;
    let app_window = open_vault_window(browser, "#connect").await;
    consent(browser, "asks to use your keys", "bench-consent", true).await;
    back_to_app(browser, app_window).await;
    assert_eq!(result(browser, "access").await["ok"], true);
    let prepared = browser
        .run_async(&format!(
            "window.bench.prepare({PASSWORD:?}, {OPENAI_KEY:?}).then(arguments[0], (e) => arguments[0](String(e)));"
        ))
        .await;
    assert_eq!(prepared, true, "{prepared}");
    let rounds = std::env::var("BYOK_BENCH_ROUNDS").unwrap_or_else(|_| "41".into());
    let figures = browser
        .run_async(&format!(
            "window.bench.run({rounds}).then(arguments[0], (e) => arguments[0](String(e)));"
        ))
        .await;
    assert!(figures.is_object(), "{figures}");
    println!(
        "isolated mode against the in-page vault, medians of {rounds} interleaved rounds (the first dropped):"
    );
    for kind in ["json", "sse"] {
        let isolated = &figures[format!("isolated {kind}")];
        let in_page = &figures[format!("in-page {kind}")];
        let ms = |v: &Value, what: &str| v[what].as_f64().unwrap();
        println!(
            "  {kind}: to the Response {:.2} ms vs {:.2} ms (+{:.2} ms); to its end {:.2} ms vs {:.2} ms (+{:.2} ms)",
            ms(isolated, "head"),
            ms(in_page, "head"),
            ms(isolated, "head") - ms(in_page, "head"),
            ms(isolated, "end"),
            ms(in_page, "end"),
            ms(isolated, "end") - ms(in_page, "end"),
        );
    }
}
