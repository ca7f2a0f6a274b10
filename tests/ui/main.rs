//! The whole journey in a real browser: headless Chromium (WebDriver, via chromedriver)
//! against the real `byok-proxy` serving the real release build of the settings page (`dist/`,
//! built by `make ui`), with a fake provider on loopback.
//!
//! Screenshots of each screen go to `target/screenshots/ui/`.
//!
//! - this file: the whole journey of the settings page.
//! - `isolated`: the isolated mode: an app on another origin (with a hostile script) using the
//!   vault through the client library, consent in the vault's own windows.
// Tests panic on failure by design.
#![allow(clippy::unwrap_used)]

mod browser;
mod isolated;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use byok_e2e::{FakeProvider, ProxyProcess, write_files};
use serde_json::Value;
use thirtyfour::prelude::*;

use browser::Browser;

const PASSWORD: &str = "copper lantern orbit tulip";
const NEW_PASSWORD: &str = "violet harbor engine maple";
const WRONG_PASSWORD: &str = "copper lantern orbit tulips";
const VALID_KEY: &str = "sk-proj-E2EjourneyVALIDkey0123456789abcd";
/// The fake provider rejects keys containing "invalid".
const INVALID_KEY: &str = "sk-proj-invalidE2EjourneyKEY987654321zz";
/// Saved untested, then tested by the daily key check.
const CHECKED_KEY: &str = "sk-proj-E2EjourneyDAILYcheckKEY13579qrst";
/// What replaces `INVALID_KEY` in place.
const REPLACEMENT_KEY: &str = "sk-proj-E2EjourneyREPLACEMENTkey24680wxyz";
const LABEL: &str = "E2E-label-Workspace";
const BACKUP_PASSWORD: &str = "a separate backup passphrase";
const GRANT_LABEL: &str = "Nightly E2E job";
const PASSKEY_LABEL: &str = "Journey laptop";
/// Gemini's upstream is a closed port: its provider is unreachable.
const GEMINI_KEY: &str = "AIzaE2EjourneyGEMINIkey0123456789abcdef";
const LIMITED_KEY: &str = "sk-proj-E2Eratelimited0123456789wxyz";
const GROQ_KEY: &str = "gsk_E2EjourneyGROQkey0123456789abcdefABCDEF";
/// An Azure OpenAI key: 32 hex digits.
const AZURE_KEY: &str = "e2e0a2b1c3d4e5f6a7b8c9d0e1f2a3b4";

/// The app's key for Anthropic (the user has none), and the secret its user tokens are signed with.
const APPS_KEY: &str = "sk-ant-api03-TheAppsOwnE2EkeyQ7w3Zr8";
const JWT_SECRET: &str = "journey-secret-of-at-least-32-bytes-hs256";

/// A plan that allows three models (Gemini's so its key can be tested), and prices that make
/// the fake provider's 18 tokens cost $1.80 on gpt-4o-mini (so a $1 cap is reached by one
/// answer).
fn plans_and_prices() -> (PathBuf, PathBuf) {
    let [config, prices]: [PathBuf; 2] = write_files(
        "byok-ui-journey",
        &[
            (
                "byok.toml",
                r#"
default_tier = "free"
user_token_alg = "HS256"
[tiers.free]
models = ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest", "gemini/gemini-2.0-flash*", "groq/llama-3.1-8b-instant", "azure/gpt-4o-mini"]
"#,
            ),
            (
                "prices.toml",
                "[[model]]\nprovider = \"openai\"\nmodel = \"gpt-4o-mini\"\n\
                 input = 100000.0\ncached_input = 100000.0\noutput = 100000.0\n",
            ),
        ],
    )
    .try_into()
    .unwrap();
    (config, prices)
}

/// A user token for the free plan, as the app's backend would sign it.
fn user_token() -> String {
    let claims = serde_json::json!({
        "sub": "journey-user", "tier": "free", "exp": jsonwebtoken::get_current_timestamp() + 3600,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// Sends the Try-it form and waits until the status says the answer is complete or failed.
async fn send_try_it(browser: &Browser) -> String {
    browser.click_button("form", "Send").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = browser.text("#try-status").await;
        let error = browser.text("#try-error").await;
        if status.contains("This answer") || !error.is_empty() {
            return format!("{status}{error}");
        }
        assert!(Instant::now() < deadline, "no answer: {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Secrets that must not show up in logs or storage, with every 8-character piece of them.
fn assert_no_secrets(haystack: &str, place: &str) {
    for secret in [
        VALID_KEY,
        INVALID_KEY,
        REPLACEMENT_KEY,
        CHECKED_KEY,
        GEMINI_KEY,
        GROQ_KEY,
        AZURE_KEY,
        PASSWORD,
        NEW_PASSWORD,
        APPS_KEY,
        JWT_SECRET,
    ] {
        let chars: Vec<char> = secret.chars().collect();
        for piece in chars.windows(8) {
            let piece: String = piece.iter().collect();
            assert!(
                !haystack.contains(&piece),
                "{place} contains {piece:?}, a piece of a secret"
            );
        }
    }
}

fn dist_dir() -> PathBuf {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist");
    assert!(
        dist.join("index.html").is_file(),
        "the release UI is not built: run `make ui` (or `make test`, which builds it first)"
    );
    dist
}

/// IndexedDB (every database and store), localStorage, sessionStorage and cookies, as text.
const DUMP_STORAGE: &str = r"
const done = arguments[arguments.length - 1];
(async () => {
  const request = (r) => new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
  const out = { local: JSON.stringify({ ...localStorage }), session: JSON.stringify({ ...sessionStorage }),
                cookies: document.cookie, records: 0, idb: [] };
  for (const info of await indexedDB.databases()) {
    const db = await request(indexedDB.open(info.name));
    for (const store of db.objectStoreNames) {
      const tx = db.transaction(store);
      const values = await request(tx.objectStore(store).getAll());
      const keys = await request(tx.objectStore(store).getAllKeys());
      out.records += values.length;
      out.idb.push(JSON.stringify({ db: info.name, store, keys, values }));
    }
    db.close();
  }
  return out;
})().then(done, (e) => done({ error: String(e) }));
";

/// Controls without an accessible name (label, aria-label or text).
const UNNAMED_CONTROLS: &str = r"
const bad = [];
for (const el of document.querySelectorAll('input, select, textarea, button, a[href], meter')) {
  if (el.offsetParent === null) continue;
  const labelled = el.getAttribute('aria-labelledby');
  const name = (el.getAttribute('aria-label') || '').trim()
    || [...(el.labels || [])].map((l) => l.textContent.trim()).join('')
    || (labelled ? document.getElementById(labelled)?.textContent.trim() : '')
    || el.textContent.trim() || (el.title || '').trim();
  if (!name) bad.push(el.outerHTML.slice(0, 160));
}
return bad;
";

/// Elements sticking out of the viewport to the right (the page would scroll sideways).
const TOO_WIDE: &str = r"
const width = document.documentElement.clientWidth;
return [...document.querySelectorAll('body *')]
  .filter((el) => el.getBoundingClientRect().right > width + 0.5)
  .map((el) => `${el.tagName.toLowerCase()}.${el.className} right=${Math.round(el.getBoundingClientRect().right)} of ${width}`)
  .slice(0, 10);
";

async fn assert_accessible(browser: &Browser, screen: &str) {
    let unnamed = browser.run(UNNAMED_CONTROLS).await;
    assert_eq!(
        unnamed,
        Value::Array(vec![]),
        "unnamed controls on {screen}"
    );
}

/// Zero CSP violations, errors or secrets in the browser console since the last check, except
/// one `expected` error (a substring of it).
async fn assert_console_clean(browser: &Browser, expected: Option<&str>) {
    let console = browser.console().await;
    assert_no_secrets(&console.join("\n"), "the browser console");
    let problems: Vec<_> = console
        .iter()
        .filter(|l| {
            l.starts_with("SEVERE")
                || l.contains("Content Security Policy")
                || l.contains("Refused to")
        })
        .collect();
    match expected {
        None => assert!(
            problems.is_empty(),
            "browser console problems: {problems:#?}"
        ),
        Some(expected) => assert!(
            problems.len() == 1 && problems[0].contains(expected),
            "expected only {expected:?} in the console, got {problems:#?}"
        ),
    }
}

async fn storage(browser: &Browser) -> Value {
    let dump = browser.run_async(DUMP_STORAGE).await;
    assert!(dump.get("error").is_none(), "storage dump failed: {dump}");
    dump
}

/// The key row whose label is `label`, as a CSS selector.
async fn row_of(browser: &Browser, label: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for row in browser.driver.find_all(By::Css("li.key")).await.unwrap() {
            let text = row.text().await.unwrap_or_default();
            if text.contains(label) {
                let id = row.attr("data-key-id").await.unwrap().unwrap();
                return format!("li.key[data-key-id='{id}']");
            }
        }
        assert!(Instant::now() < deadline, "no key row labelled {label:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn create_with(browser: &Browser, password: &str) {
    browser.type_into("#new-password", password).await;
    browser.type_into("#confirm-password", password).await;
    browser.click_button("form", "Create vault").await;
    browser.wait_text("#notice", "Your vault is ready").await;
}

/// The one file the browser finished downloading into `dir`.
async fn downloaded(dir: &std::path::Path) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        if let [file] = files.as_slice()
            && file.extension().is_some_and(|e| e == "json")
        {
            return file.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no download in {dir:?}: {files:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Times unlocks in the page, interleaved: the passkey (the virtual authenticator), the
/// password (Argon2id), and WebCrypto's PBKDF2 at 600,000 iterations as the yardstick. Prints
/// medians; asserts only that every unlock worked. Leaves the vault unlocked.
async fn unlock_figures(browser: &Browser) {
    let mut figures: [(&str, Vec<f64>); 3] = [
        ("webcrypto pbkdf2 600k", Vec::new()),
        ("passkey unlock", Vec::new()),
        ("password unlock (argon2id)", Vec::new()),
    ];
    for _ in 0..5 {
        for (mode, times) in &mut figures {
            let script = TIME_UNLOCK
                .replace("MODE", mode.split(' ').next().unwrap_or_default())
                .replace("PASSWORD", NEW_PASSWORD);
            let answer = browser.run_async(&script).await;
            let ms = answer
                .as_f64()
                .unwrap_or_else(|| panic!("{mode} failed: {answer}"));
            times.push(ms);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let yardstick = median(&mut figures[0].1);
    let mut report = String::new();
    for (mode, times) in &mut figures {
        let ms = median(times);
        report.push_str(&format!(
            "{mode}: median {ms:.1} ms, {:.2}x webcrypto pbkdf2 beside it (5 interleaved runs, headless Chromium)\n",
            ms / yardstick
        ));
    }
    print!("{report}");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots/ui");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("unlock-figures.txt"), report).unwrap();
}

/// One timed unlock (MODE: webcrypto, passkey or password), resolving to milliseconds.
const TIME_UNLOCK: &str = r"
const done = arguments[arguments.length - 1];
const until = (test) => new Promise((resolve) => {
  if (test()) return resolve();
  const o = new MutationObserver(() => { if (test()) { o.disconnect(); resolve(); } });
  o.observe(document.body, { childList: true, subtree: true, characterData: true });
});
(async () => {
  const mode = 'MODE';
  if (mode === 'webcrypto') {
    const t0 = performance.now();
    const base = await crypto.subtle.importKey('raw', new TextEncoder().encode('PASSWORD'), 'PBKDF2', false, ['deriveBits']);
    await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(16), iterations: 600000 }, base, 256);
    return performance.now() - t0;
  }
  [...document.querySelectorAll('.topbar button')].find((b) => b.textContent.includes('Lock now')).click();
  const button = mode === 'passkey' ? 'unlock-passkey' : 'unlock';
  await until(() => document.getElementById(button));
  const t0 = performance.now();
  if (mode === 'password') document.getElementById('unlock-password').value = 'PASSWORD';
  document.getElementById(button).click();
  await until(() => !document.getElementById('unlock-password'));
  return performance.now() - t0;
})().then(done, (e) => done('error: ' + e));
";

/// Opens tab `name` of the settings page (`keys`, `security`, ...).
/// Opens the card of provider `id` from the "Another provider" list, with its add form.
async fn add_another_provider(browser: &Browser, id: &str) {
    browser
        .run(&format!("const s = document.querySelector('#other-provider'); s.value = '{id}'; s.dispatchEvent(new Event('change'));"))
        .await;
    browser.click_button("#more-providers", "Add a key").await;
}

/// The last key test the fake provider saw (a request for its model list).
fn last_key_test(fake: &FakeProvider) -> byok_e2e::Recorded {
    fake.requests()
        .into_iter()
        .rev()
        .find(|r| r.uri.ends_with("/models"))
        .unwrap()
}

async fn open_tab(browser: &Browser, name: &str) {
    browser
        .el(&format!("a[href='#{name}']"))
        .await
        .click()
        .await
        .unwrap();
}

async fn unlock_with(browser: &Browser, password: &str) {
    browser.type_into("#unlock-password", password).await;
    browser.click_button("form", "Unlock").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_in_a_real_browser() {
    let dist = dist_dir();
    let fake = FakeProvider::start().await;
    let mut args: Vec<String> = ["openai", "anthropic", "openrouter", "custom"]
        .iter()
        .flat_map(|p| [format!("--upstream-{p}"), fake.url()])
        .collect();
    args.extend(["--upstream-gemini".into(), "http://127.0.0.1:1".into()]);
    args.extend([
        "--upstream".into(),
        format!("groq={0}/openai,azure={0}/r/{{resource}}", fake.url()),
    ]);
    args.extend(["--static-dir".into(), dist.display().to_string()]);
    let (config, prices) = plans_and_prices();
    for (flag, value) in [
        ("--config", config.display().to_string()),
        ("--prices", prices.display().to_string()),
        ("--fallback", "anthropic=when-missing".into()),
    ] {
        args.extend([flag.into(), value]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let proxy = ProxyProcess::start(
        &args,
        &[
            ("BYOK_USER_TOKEN_SECRET", JWT_SECRET),
            ("BYOK_SERVER_KEY_ANTHROPIC", APPS_KEY),
            // Every key the page sends must come sealed (the vault's default), or this fails.
            ("BYOK_REQUIRE_SEALED", "on"),
        ],
    );
    let browser = Browser::start().await;
    // By name, as people open it: WebAuthn refuses IP addresses as the passkeys' site.
    let page = format!("{}/", proxy.url()).replace("://127.0.0.1:", "://localhost:");

    // First run: create the vault.
    browser.driver.goto(&page).await.unwrap();
    browser.wait_text("h1", "Create your key vault").await;
    assert!(
        browser.text(".warning").await.contains("no way to recover"),
        "the forgotten-password warning is shown"
    );
    browser.type_into("#new-password", "password").await;
    browser.wait_text(".strength-text", "weak").await;
    browser.type_into("#new-password", PASSWORD).await;
    browser.wait_text(".strength-text", "strong").await;
    browser
        .type_into("#confirm-password", "something else")
        .await;
    assert_accessible(&browser, "create").await;
    browser.shot("01-create").await;
    browser.click_button("form", "Create vault").await;
    browser.wait_text("[role=alert]", "not the same").await;
    assert_eq!(
        browser
            .el("#new-password")
            .await
            .value()
            .await
            .unwrap()
            .as_deref(),
        Some(""),
        "password fields are cleared after use"
    );
    browser.type_into("#new-password", PASSWORD).await;
    browser.type_into("#confirm-password", PASSWORD).await;
    browser.click_button("form", "Create vault").await;
    browser.wait_text("#notice", "Your vault is ready").await;
    browser.wait_text(".countdown", "Locks in 30:00").await;
    browser
        .wait_text("#provider-openai .count", "no keys")
        .await;
    assert_accessible(&browser, "keys (empty)").await;
    browser.shot("02-keys-empty").await;

    // Add a key: the shape check speaks as you type; the key is tested before it is saved.
    browser
        .click_button("#provider-openai", "Add OpenAI key")
        .await;
    browser
        .type_into("#add-openai-key", "sk-ant-api03-thisisanthropicskey12345")
        .await;
    browser
        .wait_text("#add-openai-key-shape", "looks like a key for Anthropic")
        .await;
    browser.type_into("#add-openai-label", LABEL).await;
    browser.type_into("#add-openai-key", VALID_KEY).await;
    browser
        .wait_text("#add-openai-key-shape", "Looks like a valid key")
        .await;
    assert_accessible(&browser, "add key").await;
    let form_name = browser
        .el("#provider-openai .add-form")
        .await
        .attr("aria-label")
        .await
        .unwrap();
    assert_eq!(form_name.as_deref(), Some("Add an OpenAI key"));
    browser.shot("03-add-key").await;
    browser.click_button("#provider-openai", "Save key").await;
    browser.wait_text("#notice", "tested and working").await;
    let valid_row = row_of(&browser, LABEL).await;
    let text = browser.wait_text(&valid_row, "Valid").await;
    assert!(text.contains("Default") && text.contains("…abcd"), "{text}");

    // A second key, saved without a test, then tested: rejected, and said so without the key.
    browser
        .click_button("#provider-openai", "Add OpenAI key")
        .await;
    browser.type_into("#add-openai-label", "Old key").await;
    browser.type_into("#add-openai-key", INVALID_KEY).await;
    browser
        .el("#provider-openai .add-form input[type=checkbox]")
        .await
        .click()
        .await
        .unwrap();
    browser.click_button("#provider-openai", "Save key").await;
    browser.wait_text("#notice", "Saved “Old key”").await;
    let old_row = row_of(&browser, "Old key").await;
    browser.wait_text(&old_row, "Not tested yet").await;
    browser.click_button(&old_row, "Test").await;
    let alert = browser
        .wait_text("#alert", "The provider rejected “Old key” (status 401).")
        .await;
    assert_no_secrets(&alert, "the rejection message");
    assert_eq!(alert.matches("rejected").count(), 1, "said once: {alert}");
    browser.wait_text(&old_row, "Rejected").await;
    browser.shot("04-keys-tested").await;

    // An unreachable provider is said in words, and nothing is saved.
    assert_console_clean(&browser, None).await;
    browser
        .click_button("#provider-gemini", "Add Google Gemini key")
        .await;
    browser.type_into("#add-gemini-key", GEMINI_KEY).await;
    browser.click_button("#provider-gemini", "Save key").await;
    let error = browser
        .wait_text(
            "#provider-gemini [role=alert]",
            "The key could not be tested: the provider could not be reached",
        )
        .await;
    assert!(error.contains("untick “Test before saving”"), "{error}");
    browser.shot("05-provider-unreachable").await;
    // The browser reports the proxy's 502 itself; that one line is expected.
    let gateway =
        "/byok/test/gemini - Failed to load resource: the server responded with a status of 502";
    assert_console_clean(&browser, Some(gateway)).await;
    browser.click_button("#provider-gemini", "Cancel").await;
    browser
        .wait_text("#provider-gemini .count", "no keys")
        .await;

    // A provider beyond the four shown from the start: picked from the list, its card comes
    // with the add form open; the key is tested on Groq's own path and saved.
    assert_eq!(
        browser.text("#provider-groq").await,
        "",
        "no card before it is picked"
    );
    let picker = browser.text("#other-provider").await;
    assert!(
        picker.contains("Groq") && picker.contains("Mistral"),
        "{picker}"
    );
    add_another_provider(&browser, "groq").await;
    browser
        .wait_text("#provider-groq", "Groq keys start with gsk_.")
        .await;
    browser.type_into("#add-groq-key", GROQ_KEY).await;
    browser.click_button("#provider-groq", "Save key").await;
    browser.wait_text("#provider-groq .count", "1 key").await;
    let tested = last_key_test(&fake);
    assert_eq!(tested.uri, "/openai/v1/models");
    assert_eq!(
        tested.header("authorization"),
        Some(format!("Bearer {GROQ_KEY}").as_str())
    );
    let picker = browser.text("#other-provider").await;
    assert!(
        !picker.contains("Groq"),
        "a provider with a key has its card: {picker}"
    );
    browser.shot("05b-another-provider").await;

    // Azure OpenAI: the key comes with its resource's name, which must be one DNS label; the
    // key is tested at that resource, in `api-key`.
    add_another_provider(&browser, "azure").await;
    browser
        .wait_text("#provider-azure", "Keys and Endpoint")
        .await;
    browser
        .type_into("#add-azure-resource", "contoso.evil.example")
        .await;
    browser.type_into("#add-azure-key", AZURE_KEY).await;
    browser.click_button("#provider-azure", "Save key").await;
    browser
        .wait_text("#provider-azure [role=alert]", "1 to 63 lowercase letters")
        .await;
    browser.type_into("#add-azure-resource", "Contoso").await;
    browser.click_button("#provider-azure", "Save key").await;
    browser.wait_text("#provider-azure .count", "1 key").await;
    browser
        .wait_text("#provider-azure .resource", "contoso.openai.azure.com")
        .await;
    let tested = last_key_test(&fake);
    assert_eq!(tested.uri, "/r/contoso/openai/v1/models");
    assert_eq!(tested.header("api-key"), Some(AZURE_KEY));
    browser.shot("05c-azure").await;

    // Rename, make default and back, delete with confirmation.
    browser.click_button(&old_row, "Rename").await;
    browser
        .type_into(&format!("{old_row} input"), "Retired key")
        .await;
    browser.click_button(&old_row, "Save").await;
    browser
        .wait_text("#notice", "Renamed to “Retired key”")
        .await;
    browser.click_button(&old_row, "Make default").await;
    browser.wait_text(&old_row, "Default").await;
    browser.click_button(&valid_row, "Make default").await;
    browser.wait_text(&valid_row, "Default").await;

    // Replace the rejected key in place: a new key the provider refuses changes nothing; a
    // good one takes the row's place (same name), tested and working.
    browser.click_button(&old_row, "Replace").await;
    let new_key = format!("{old_row} .replace-form input[type=password]");
    browser
        .type_into(&new_key, &format!("{INVALID_KEY}2"))
        .await;
    browser.click_button(&old_row, "Replace key").await;
    browser
        .wait_text(
            &format!("{old_row} [role=alert]"),
            "The provider rejected the new key (status 401); nothing was changed.",
        )
        .await;
    browser.type_into(&new_key, REPLACEMENT_KEY).await;
    browser.click_button(&old_row, "Replace key").await;
    browser
        .wait_text(
            "#notice",
            "now holds the new key (…wxyz), tested and working",
        )
        .await;
    let text = browser.wait_text(&old_row, "Valid").await;
    assert!(
        text.contains("Retired key") && text.contains("…wxyz"),
        "{text}"
    );

    // Turn the default off: it is never sent, not even tested, and the other key serves
    // meanwhile, as the card says. Then on again.
    browser.click_button(&valid_row, "Turn off").await;
    browser.wait_text(&valid_row, "Off: not sent").await;
    browser
        .wait_text(
            "#provider-openai .serving",
            &format!("The default, “{LABEL}”, is off: “Retired key” serves OpenAI requests"),
        )
        .await;
    let actions = browser.text(&format!("{valid_row} .key-actions")).await;
    assert!(
        actions.contains("Turn on") && !actions.contains("Test"),
        "{actions}"
    );
    // An expiry date three days ahead: flagged, still sent.
    browser.click_button(&valid_row, "Expiry").await;
    browser
        .run(&format!(
            "document.querySelector(\"{valid_row} input[type=date]\").value = \
             new Date(Date.now() + 3 * 864e5).toISOString().slice(0, 10);"
        ))
        .await;
    browser.click_button(&valid_row, "Save date").await;
    browser
        .wait_text("#notice", "flagged from a week before")
        .await;
    browser.wait_text(&valid_row, "Expires in").await;
    browser.shot("06a-key-life").await;
    browser.click_button(&valid_row, "Turn on").await;
    browser.wait_text("#notice", "is on again").await;
    browser.click_button(&valid_row, "Expiry").await;
    browser.click_button(&valid_row, "Remove date").await;
    browser.wait_text("#notice", "has no expiry date now").await;
    assert!(!browser.text(&valid_row).await.contains("Expires"));
    assert!(
        !browser
            .text("#provider-openai")
            .await
            .contains("serves OpenAI requests")
    );

    browser.click_button(&old_row, "Delete").await;
    browser
        .wait_text(
            &format!("{old_row} [role=alertdialog]"),
            "Delete “Retired key”",
        )
        .await;
    browser.shot("06-confirm-delete").await;
    browser.click_button(&old_row, "Delete key").await;
    browser.wait_text("#notice", "was deleted").await;
    browser.wait_text("#provider-openai .count", "1 key").await;

    // Lock; a wrong password says so and keeps everything; the right one unlocks.
    browser.click_button(".topbar", "Lock now").await;
    browser.wait_text("h1", "Unlock your vault").await;
    let before = storage(&browser).await;
    unlock_with(&browser, WRONG_PASSWORD).await;
    browser.wait_text("#unlock-error", "did not unlock").await;
    assert_eq!(
        browser
            .el("#unlock-password")
            .await
            .value()
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );
    assert_eq!(
        storage(&browser).await,
        before,
        "a wrong password changes nothing stored"
    );
    assert_accessible(&browser, "unlock").await;
    browser.shot("07-wrong-password").await;
    // By keyboard alone: the password field has focus; Enter submits.
    let focused = browser.driver.active_element().await.unwrap();
    assert_eq!(
        focused.id().await.unwrap().as_deref(),
        Some("unlock-password")
    );
    focused
        .send_keys(format!("{PASSWORD}{}", char::from(Key::Enter)))
        .await
        .unwrap();
    browser.wait_text("#notice", "Vault unlocked").await;
    browser.wait_text(&valid_row, LABEL).await;

    // Several keys standing in for each other: a second OpenAI key, made the default, that
    // the provider rate-limits (429, Retry-After 30). Try it's request goes to it, then to
    // the next key, which serves; the limited one rests, and the keys tab says so.
    browser
        .click_button("#provider-openai", "Add OpenAI key")
        .await;
    browser.type_into("#add-openai-label", "Busy key").await;
    browser.type_into("#add-openai-key", LIMITED_KEY).await;
    browser.click_button("#provider-openai", "Save key").await;
    browser.wait_text("#notice", "Saved “Busy key”").await;
    let busy_row = row_of(&browser, "Busy key").await;
    browser.click_button(&busy_row, "Make default").await;
    browser.wait_text(&busy_row, "Default").await;
    let several = browser.text("#provider-openai .several-keys").await;
    assert!(
        several.contains("the same request goes to the next usable key")
            && several.contains("Spread requests over the usable keys"),
        "{several}"
    );
    let sent_before = fake.requests().len();

    // Try it: a streamed answer through the proxy, with the vault's key.
    open_tab(&browser, "try").await;
    browser.wait_text("h1", "Try it").await;
    // How an app does the same: the client library, imported from this vault's origin.
    let origin = page.trim_end_matches('/');
    browser
        .wait_text(
            "#try-example",
            &format!("import {{ Byok }} from \"{origin}/byok-client.js\""),
        )
        .await;
    assert_eq!(
        browser
            .el("#try-model")
            .await
            .value()
            .await
            .unwrap()
            .as_deref(),
        Some("gpt-4o-mini")
    );
    browser.click_button("form", "Send").await;
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !browser.text("#try-status").await.contains("Complete") {
        let answer = browser.text("#try-answer").await;
        if seen.last() != Some(&answer) {
            seen.push(answer);
        }
        assert!(
            Instant::now() < deadline,
            "the answer never completed: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(browser.text("#try-answer").await, "Hello");
    assert!(
        seen.iter().any(|s| s == "Hel"),
        "the answer arrived in pieces, not all at once: {seen:?}"
    );
    let status = browser.text("#try-status").await;
    assert!(
        status.contains(&format!(
            "served with your key “{LABEL}” (…abcd), after the provider refused your first key"
        )),
        "{status}"
    );
    let tried: Vec<_> = fake.requests()[sent_before..]
        .iter()
        .filter(|r| r.uri == "/v1/chat/completions")
        .map(|r| r.header("authorization").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        tried,
        [
            format!("Bearer {LIMITED_KEY}"),
            format!("Bearer {VALID_KEY}")
        ],
        "the same request, to the busy key, then to the next"
    );
    // The browser reports the busy key's 429 itself; that one line is expected.
    assert_console_clean(
        &browser,
        Some("/v1/chat/completions - Failed to load resource: the server responded with a status of 429"),
    )
    .await;
    // Each answer says what it cost: the fake provider reported 18 tokens (the page asks for
    // usage), priced by the test's table at $0.10 a token.
    let status = browser
        .wait_text("#try-status", "This answer: 18 tokens · $1.80")
        .await;
    assert!(status.contains("your key"), "{status}");
    assert_accessible(&browser, "try it").await;
    browser.shot("08-try-it").await;

    // The keys tab: the busy key rests, the other served the last request. (That the next
    // request skips a resting key is the vault's browser test's, where nothing else counts.)
    open_tab(&browser, "keys").await;
    browser
        .wait_text(&busy_row, "Resting, under a minute left")
        .await;
    browser
        .wait_text(&valid_row, "Served the last request")
        .await;
    assert!(!browser.text(&busy_row).await.contains("Served the last"));
    assert_accessible(&browser, "several keys").await;
    browser.shot("08a-failover").await;
    // The busy key goes, so the rest of the journey has one OpenAI key again.
    open_tab(&browser, "keys").await;
    browser.click_button(&busy_row, "Delete").await;
    browser.click_button(&busy_row, "Delete key").await;
    browser.wait_text("#notice", "was deleted").await;
    browser.wait_text("#provider-openai .count", "1 key").await;
    open_tab(&browser, "try").await;
    browser.wait_text("h1", "Try it").await;

    // The model picker: the priced models, marked by what the plan allows.
    let pick = |model: &str| format!("#try-model-pick option[value='{model}']");
    browser.wait_text(&pick("gpt-4o-mini"), "your key").await;
    let outside = browser.el(&pick("gpt-4o")).await;
    assert!(outside.text().await.unwrap().contains("not on your plan"));
    assert!(
        !outside.is_enabled().await.unwrap(),
        "a model outside the plan cannot be picked"
    );

    // The app says who the user is: the app's Anthropic key now serves the user, who has none.
    let token = user_token();
    browser
        .run(&format!("window.byokSetUserToken('{token}'); return [];"))
        .await;
    browser
        .el("#try-provider option[value='anthropic']")
        .await
        .click()
        .await
        .unwrap();
    browser
        .wait_text(&pick("claude-3-5-haiku-latest"), "app's key")
        .await;
    let sonnet = browser.text(&pick("claude-sonnet-4-5")).await;
    assert!(sonnet.contains("not on your plan"), "{sonnet}");
    browser
        .el(&pick("claude-3-5-haiku-latest"))
        .await
        .click()
        .await
        .unwrap();
    assert_accessible(&browser, "model picker").await;
    browser.shot("08b-model-picker").await;
    let status = send_try_it(&browser).await;
    assert!(
        status.contains("served with the app's key") && status.contains("This answer: 18 tokens"),
        "{status}"
    );
    let apps = fake
        .requests()
        .into_iter()
        .filter(|r| r.header("x-api-key") == Some(APPS_KEY))
        .count();
    assert_eq!(apps, 1, "the app's key served exactly the one request");

    // The Usage tab: 30 days, your keys against the app's, as a chart and as tables.
    open_tab(&browser, "usage").await;
    browser.wait_text("h1", "Usage").await;
    browser.wait_text("#usage-yours", "18 tokens · $1.80").await;
    browser.wait_text("#usage-apps", "18 tokens").await;
    let bars = browser
        .run("return document.querySelectorAll('#usage-chart g[data-date]').length;")
        .await;
    assert_eq!(bars, 30, "a bar group per day");
    let providers = browser.text("#usage-providers").await;
    assert!(
        providers.contains("OpenAI") && providers.contains("Anthropic"),
        "{providers}"
    );
    let today = browser.text("#usage-days tbody tr:first-child").await;
    assert!(today.contains("18 tokens · $1.80"), "today first: {today}");
    assert_accessible(&browser, "usage").await;
    browser.shot("08c-usage").await;

    // Each key shows what it spent; a daily cap of $1 is already reached, so the next
    // request is refused by the proxy and never reaches the provider.
    open_tab(&browser, "keys").await;
    browser
        .wait_text(
            &valid_row,
            "Today: 18 tokens · $1.80; last 30 days: 18 tokens · $1.80",
        )
        .await;
    browser.wait_text(&valid_row, "No daily cap").await;
    browser.click_button(&valid_row, "Daily cap").await;
    browser.type_into(&format!("{valid_row} input"), "1").await;
    browser.click_button(&valid_row, "Save cap").await;
    browser
        .wait_text("#notice", "may spend at most $1 a day (UTC)")
        .await;
    browser.wait_text(&valid_row, "Daily cap $1").await;
    // Today's $1.80 already passes it: the row says so before anything is refused.
    browser
        .wait_text(
            &format!("{valid_row} .cap-note"),
            "Today's cap of $1.00 is reached: the proxy refuses this key until midnight UTC.",
        )
        .await;
    browser.shot("08d-daily-cap").await;
    let chats_before = fake.requests().len();
    open_tab(&browser, "try").await;
    browser.wait_text("h1", "Try it").await;
    let refused = send_try_it(&browser).await;
    assert!(
        refused.contains("Not sent: this key's daily cap of $1.00 is reached"),
        "{refused}"
    );
    assert_eq!(
        fake.requests().len(),
        chats_before,
        "a request over the cap never reaches the provider"
    );
    browser.shot("08e-cap-reached").await;
    browser
        .run("window.byokSetUserToken(null); return [];")
        .await;
    let signature = token.rsplit('.').next().unwrap();
    assert!(
        !proxy.logs().contains(signature),
        "the user token is never logged"
    );
    // The browser reports the refusal itself; that line is expected.
    assert_console_clean(
        &browser,
        Some("/v1/chat/completions - Failed to load resource: the server responded with a status of 429"),
    )
    .await;

    // Grants: make one for a background job, see it live, let a job use it, revoke it, and
    // the job is refused from then on.
    open_tab(&browser, "grants").await;
    browser.wait_text("#new-grant-title", "New grant").await;
    browser.wait_text("#no-grants", "No active grants").await;
    browser.type_into("#grant-label", GRANT_LABEL).await;
    browser.type_into("#grant-max", "5").await;
    browser.type_into("#grant-models", "gpt-4o-mini").await;
    // Above what the key spent today ($1.80), so the job may run; left empty, the grant
    // would take the key's own $1 cap, already reached.
    browser.type_into("#grant-cap", "5").await;
    browser.click_button("#new-grant", "Make grant").await;
    browser.wait_text("#notice", "Grant made").await;
    let token = browser.wait_text("#grant-token", "byok_g_").await;
    let token = token.trim().to_owned();
    let grant_row = browser.wait_text("#grants", GRANT_LABEL).await;
    assert!(
        grant_row.contains("OpenAI") && grant_row.contains(LABEL),
        "{grant_row}"
    );
    browser.wait_text("#grants .requests-left", "5 of 5").await;
    assert_accessible(&browser, "grants").await;
    browser
        .run("document.getElementById('grants-title').scrollIntoView(); return [];")
        .await;
    browser.shot("09-grants").await;
    let job = |token: String| {
        let url = format!("{}/v1/chat/completions", proxy.url());
        async move {
            reqwest::Client::builder()
                .no_proxy()
                .build()
                .unwrap()
                .post(url)
                .bearer_auth(token)
                .json(&serde_json::json!({"model": "openai/gpt-4o-mini", "messages": []}))
                .send()
                .await
                .unwrap()
        }
    };
    let used = job(token.clone()).await;
    assert_eq!(used.status(), 200);
    assert_eq!(used.headers()["x-byok-key-source"], "grant");
    browser.click_button("#grants", "Revoke").await;
    browser.wait_text("#notice", "Grant revoked").await;
    browser.wait_text("#no-grants", "No active grants").await;
    assert_eq!(
        job(token.clone()).await.status(),
        401,
        "a revoked grant is refused"
    );
    let dump = storage(&browser).await.to_string();
    assert!(!dump.contains(GRANT_LABEL), "grant labels are encrypted");
    assert!(!dump.contains(&token[7..20]), "the token is never stored");
    assert!(
        !proxy.logs().contains(&token[7..20]),
        "the token is never logged"
    );

    // The provider got the key in its own auth header, and nothing else secret (the answered
    // request: the one before it went to the busy key).
    let chat = fake
        .requests()
        .into_iter()
        .find(|r| {
            r.uri == "/v1/chat/completions"
                && r.header("authorization")
                    .is_some_and(|a| !a.contains(LIMITED_KEY))
        })
        .expect("the chat request reached the provider");
    assert_eq!(
        chat.header("authorization"),
        Some(format!("Bearer {VALID_KEY}").as_str())
    );
    for name in [
        "x-byok-key",
        "cookie",
        "x-api-key",
        "x-goog-api-key",
        "origin",
        "referer",
    ] {
        assert_eq!(chat.header(name), None, "{name} reached the provider");
    }
    let body: Value = serde_json::from_str(&chat.body).unwrap();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["stream"], true);
    let tests: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.uri == "/v1/models")
        .collect();
    let tested: Vec<_> = tests
        .iter()
        .map(|r| r.header("authorization").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        tested,
        [
            format!("Bearer {VALID_KEY}"),
            format!("Bearer {INVALID_KEY}"),
            format!("Bearer {INVALID_KEY}2"),
            format!("Bearer {REPLACEMENT_KEY}"),
            format!("Bearer {LIMITED_KEY}"),
        ],
        "a test before saving, one of the second key, two before replacing it; none while off; \
         one before saving the busy key"
    );

    // The proxy's logs (at TRACE) and the page's storage hold no key and no password.
    let logs = proxy.logs();
    assert!(logs.lines().count() > 20, "the proxy logged the requests");
    assert_no_secrets(&logs, "the proxy logs");
    let dump = storage(&browser).await;
    assert!(
        dump["records"].as_u64().unwrap() >= 2,
        "the vault and its key are stored: {dump}"
    );
    let dump_text = dump.to_string();
    assert_no_secrets(&dump_text, "browser storage");
    assert!(!dump_text.contains(LABEL), "labels are encrypted too");
    assert!(
        !dump_text.contains("openai"),
        "even the provider is encrypted"
    );

    // Reload: locked, and the key is still there after unlocking.
    browser.driver.refresh().await.unwrap();
    browser.wait_text("h1", "Unlock your vault").await;
    unlock_with(&browser, PASSWORD).await;
    browser.wait_text("#notice", "Vault unlocked").await;
    open_tab(&browser, "keys").await;
    browser.wait_text(&valid_row, LABEL).await;

    // Narrow (phone) screen: everything fits without sideways scrolling.
    browser
        .driver
        .set_window_rect(0, 0, 390, 844)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    browser.shot("10-mobile").await;
    let too_wide = browser.run(TOO_WIDE).await;
    assert_eq!(
        too_wide,
        Value::Array(vec![]),
        "elements wider than a phone screen"
    );
    browser
        .driver
        .set_window_rect(0, 0, 1280, 900)
        .await
        .unwrap();

    // Auto-lock with a short period; input on the page counts as activity.
    open_tab(&browser, "security").await;
    browser
        .el("#auto-lock option[value='1']")
        .await
        .click()
        .await
        .unwrap();
    browser.wait_text("#notice", "locks after 1 minute").await;
    // The vault asked for persistent storage when it was made; the page says what the
    // browser answered, as the browser itself reports it.
    let persisted = browser
        .run_async("navigator.storage.persisted().then(arguments[0]);")
        .await;
    let kept = browser.text("#storage-status").await;
    let want = if persisted == true {
        "Persistent:"
    } else {
        "Not persistent:"
    };
    assert!(kept.starts_with(want), "{persisted}: {kept}");
    // The daily key check is off until turned on; on, the vault tests in the background each
    // key that is on and was not tested today (here, one saved untested), and the Keys tab
    // shows the answer. Below, the vault still locks on time.
    let key_tests = || {
        fake.requests()
            .into_iter()
            .filter(|r| r.uri == "/v1/models")
            .map(|r| r.header("authorization").unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    open_tab(&browser, "keys").await;
    browser
        .click_button("#provider-openai", "Add OpenAI key")
        .await;
    browser
        .type_into("#add-openai-label", "Daily-checked")
        .await;
    browser.type_into("#add-openai-key", CHECKED_KEY).await;
    browser
        .el("#provider-openai .add-form input[type=checkbox]")
        .await
        .click()
        .await
        .unwrap();
    browser.click_button("#provider-openai", "Save key").await;
    browser.wait_text("#notice", "Saved “Daily-checked”").await;
    let checked_row = row_of(&browser, "Daily-checked").await;
    browser.wait_text(&checked_row, "Not tested yet").await;
    open_tab(&browser, "security").await;
    let before = key_tests().len();
    let retest = browser.el("#daily-retest").await;
    assert!(!retest.is_selected().await.unwrap(), "off by default");
    retest.click().await.unwrap();
    browser.wait_text("#notice", "tested once a day").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while key_tests().len() == before {
        assert!(Instant::now() < deadline, "the daily check tested nothing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_accessible(&browser, "security").await;
    // No app has been approved in this vault: the panel says so (apps are approved in the
    // vault's own consent window; the vault's browser tests connect and revoke them).
    browser
        .wait_text("#apps-empty", "No app is connected.")
        .await;
    browser.shot("11-security").await;
    browser
        .run("document.getElementById('apps-title').scrollIntoView(); return [];")
        .await;
    browser.shot("11d-connected-apps").await;
    assert_eq!(
        key_tests()[before..],
        [format!("Bearer {CHECKED_KEY}")],
        "only the key not tested today"
    );
    open_tab(&browser, "keys").await;
    browser
        .wait_text(&checked_row, "Valid · tested just now")
        .await;
    open_tab(&browser, "security").await;
    tokio::time::sleep(Duration::from_secs(15)).await;
    let remaining = |text: String| -> u64 {
        let t = text.trim_start_matches("Locks in ");
        let (m, s) = t.split_once(':').unwrap();
        m.parse::<u64>().unwrap() * 60 + s.parse::<u64>().unwrap()
    };
    let idle = remaining(browser.text(".countdown").await);
    assert!(idle <= 46, "the countdown runs: {idle} s left");
    browser
        .el("#reset-confirm")
        .await
        .send_keys("x")
        .await
        .unwrap();
    browser.type_into("#reset-confirm", "").await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let touched = remaining(browser.text(".countdown").await);
    assert!(
        touched >= 57,
        "typing postponed auto-lock: {touched} s left"
    );
    let started = Instant::now();
    while !browser.text("h1").await.contains("Unlock your vault") {
        assert!(
            started.elapsed() < Duration::from_secs(75),
            "the vault never locked itself"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let locked_after = started.elapsed();
    assert!(
        locked_after > Duration::from_secs(50),
        "locked too early: {locked_after:?}"
    );
    browser
        .wait_text("#notice", "locked itself after 1 minute without activity")
        .await;
    browser.shot("12-auto-locked").await;

    // Change the password: the old one stops working, the new one works.
    unlock_with(&browser, PASSWORD).await;
    browser.wait_text("#notice", "Vault unlocked").await;
    open_tab(&browser, "security").await;
    browser.type_into("#current-password", PASSWORD).await;
    browser.type_into("#changed-password", NEW_PASSWORD).await;
    browser.type_into("#changed-confirm", NEW_PASSWORD).await;
    browser.click_button("form", "Change password").await;
    browser.wait_text("#notice", "Password changed").await;
    browser.click_button(".topbar", "Lock now").await;
    unlock_with(&browser, PASSWORD).await;
    browser.wait_text("#unlock-error", "did not unlock").await;
    unlock_with(&browser, NEW_PASSWORD).await;
    browser.wait_text("#notice", "Vault unlocked").await;

    // The password is hashed with Argon2id, the default for new vaults and password changes.
    open_tab(&browser, "security").await;
    browser
        .wait_text("#password-hashing", "Argon2id, 64 MiB, 3 passes")
        .await;

    // A passkey (a virtual authenticator with PRF) unlocks the vault beside the password;
    // removed, it unlocks nothing.
    browser.virtual_authenticator().await;
    browser.type_into("#passkey-label", PASSKEY_LABEL).await;
    browser.el("#add-passkey").await.click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !browser.text("#notice").await.contains("added") {
        let problem = browser.text("#passkey-error").await;
        assert!(problem.is_empty(), "registering failed: {problem}");
        assert!(Instant::now() < deadline, "registering never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser
        .wait_text("#notice", &format!("Passkey “{PASSKEY_LABEL}” added"))
        .await;
    browser.wait_text("#passkey-list", PASSKEY_LABEL).await;
    assert_accessible(&browser, "security with a passkey").await;
    browser.shot("11b-passkey").await;
    let stored = storage(&browser).await.to_string();
    assert!(stored.contains("passkey:"), "a passkey record: {stored}");
    assert!(
        !stored.contains(PASSKEY_LABEL),
        "the passkey's name is sealed"
    );
    browser.click_button(".topbar", "Lock now").await;
    browser.wait_text("h1", "Unlock your vault").await;
    let offer = browser.el("#unlock-passkey").await;
    browser.shot("11c-unlock-with-passkey").await;
    offer.click().await.unwrap();
    browser
        .wait_text("#notice", "Vault unlocked with your passkey")
        .await;
    unlock_figures(&browser).await;
    open_tab(&browser, "security").await;
    browser
        .el(&format!(
            "button[aria-label='Remove passkey {PASSKEY_LABEL}']"
        ))
        .await
        .click()
        .await
        .unwrap();
    browser.wait_text("#notice", "can no longer unlock").await;
    assert!(
        !storage(&browser).await.to_string().contains("passkey:"),
        "its wrapped vault key is deleted"
    );
    browser.click_button(".topbar", "Lock now").await;
    browser.wait_text("h1", "Unlock your vault").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        browser
            .driver
            .find_all(By::Css("#unlock-passkey"))
            .await
            .unwrap()
            .is_empty(),
        "no passkey to offer"
    );
    // The password works as before.
    unlock_with(&browser, NEW_PASSWORD).await;
    browser.wait_text("#notice", "Vault unlocked").await;

    // A backup before losing everything: the vault password is asked again, the file gets its
    // own password, and the browser saves it.
    let downloads = std::env::temp_dir().join(format!("byok-journey-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&downloads);
    std::fs::create_dir_all(&downloads).unwrap();
    browser.download_to(&downloads).await;
    // The old vault password first: refused, nothing downloaded.
    for (vault_password, answer_in, answer) in [
        (PASSWORD, "#backup-form .field-error", "did not unlock"),
        (
            NEW_PASSWORD,
            "#notice",
            "It opens only with the backup password",
        ),
    ] {
        browser
            .type_into("#backup-vault-password", vault_password)
            .await;
        browser.type_into("#backup-password", BACKUP_PASSWORD).await;
        browser
            .click_button("#backup-form", "Download encrypted backup")
            .await;
        browser.wait_text(answer_in, answer).await;
    }
    let backup = downloaded(&downloads).await;
    let name = backup.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("byok-backup-20") && name.ends_with(".json"),
        "{name}"
    );
    let file = std::fs::read_to_string(&backup).unwrap();
    assert_no_secrets(&file, "the backup file");
    for plain in [LABEL, "openai", "anthropic"] {
        assert!(!file.contains(plain), "the backup shows {plain:?}");
    }
    assert!(file.contains("\"byok-backup\""), "{file}");
    assert_console_clean(&browser, None).await;

    // Reset: type to confirm; back to the first-run screen with nothing stored.
    open_tab(&browser, "security").await;
    assert!(
        !browser.el("#reset-vault").await.is_enabled().await.unwrap(),
        "reset needs the phrase"
    );
    browser.type_into("#reset-confirm", "delete my keys").await;
    browser
        .click_button(".danger-zone", "Delete the vault and all keys")
        .await;
    browser.wait_text("h1", "Create your key vault").await;
    browser.wait_text("#notice", "were deleted").await;
    assert_eq!(
        storage(&browser).await["records"],
        0,
        "nothing left in IndexedDB"
    );
    browser.shot("13-after-reset").await;

    // The browser lost the vault (and the password is forgotten): a new vault takes the keys
    // back from the backup. A wrong backup password changes nothing and says so.
    assert!(
        browser
            .text("#restore-hint")
            .await
            .contains("restore your keys")
    );
    create_with(&browser, "a brand new vault password").await;
    open_tab(&browser, "security").await;
    let picker = browser.el("#restore-file").await;
    picker.send_keys(backup.to_string_lossy()).await.unwrap();
    browser.type_into("#restore-password", PASSWORD).await;
    browser
        .click_button("#restore-form", "Restore from backup")
        .await;
    browser
        .wait_text("#restore-form .field-error", "did not open the backup")
        .await;
    assert_eq!(browser.text("#restore-result").await, "");
    browser
        .type_into("#restore-password", BACKUP_PASSWORD)
        .await;
    browser
        .click_button("#restore-form", "Restore from backup")
        .await;
    let restored = browser.wait_text("#restore-result", "Added").await;
    assert!(restored.contains(LABEL), "{restored}");
    browser.shot("14-restored").await;
    // Again: everything is already there; nothing is added or overwritten.
    picker.send_keys(backup.to_string_lossy()).await.unwrap();
    browser
        .type_into("#restore-password", BACKUP_PASSWORD)
        .await;
    browser
        .click_button("#restore-form", "Restore from backup")
        .await;
    browser
        .wait_text("#restore-result", "No key was added")
        .await;
    open_tab(&browser, "keys").await;
    browser.wait_text(&valid_row, LABEL).await;
    assert_no_secrets(
        &storage(&browser).await.to_string(),
        "browser storage after restoring",
    );

    // Zero CSP violations (and no errors at all) in the browser console.
    assert_console_clean(&browser, None).await;
    assert_no_secrets(&proxy.logs(), "the proxy logs");

    browser.driver.clone().quit().await.unwrap();
}
