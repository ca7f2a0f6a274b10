//! The vault in headless Chromium: IndexedDB, WebCrypto, the timer, BroadcastChannel, fetch.
//!
//! Run by `make test` (`cargo test -p byok-vault --target wasm32-unknown-unknown --test
//! browser`), with `tests/support/echo_server.py` listening on `BYOK_ECHO_URL` (read at compile
//! time; `make` starts the server on a free port) for the `fetch` tests. Every test uses its
//! own database name.
#![cfg(target_arch = "wasm32")]
// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::rc::Rc;

use byok_vault::wasm::{BrowserKdf, IdbStore, Vault, subtle_crypto, webcrypto_pbkdf2_sha256};
use byok_vault::{Kdf, KdfParams, RustKdf, SecretString, Store, kdf};
use gloo_timers::future::TimeoutFuture;
use js_sys::{Promise, Reflect};
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const PASSWORD: &str = "correct horse battery";
const OPENAI_KEY: &str = "sk-proj-BROWSERbrowserBROWSER4242";
const ANTHROPIC_KEY: &str = "sk-ant-api03-VAULTINTHEBROWSER77";
const LABEL: &str = "label-that-must-not-leak";
const ECHO_URL: &str = match option_env!("BYOK_ECHO_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:8791",
};

fn unique_name(test: &str) -> String {
    format!("byok-test-{test}-{}", js_sys::Math::random())
}

async fn open(name: &str, extra: &[(&str, JsValue)]) -> Vault {
    let options = js_sys::Object::new();
    Reflect::set(&options, &"name".into(), &name.into()).unwrap();
    for (k, v) in extra {
        Reflect::set(&options, &(*k).into(), v).unwrap();
    }
    // Through the JavaScript entry point, so its option parsing is tested too.
    let vault = done(Vault::open(options.into())).await.unwrap();
    Vault::try_from_js_value(vault).unwrap()
}

async fn done(p: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

fn code(err: &JsValue) -> String {
    Reflect::get(err, &"code".into())
        .unwrap()
        .as_string()
        .unwrap_or_default()
}

fn message(err: &JsValue) -> String {
    Reflect::get(err, &"message".into())
        .unwrap()
        .as_string()
        .unwrap_or_default()
}

/// Every record of a vault database, raw, read through IndexedDB directly.
async fn raw_records(name: &str) -> Vec<(String, String)> {
    IdbStore::open(name).await.unwrap().get_all().await.unwrap()
}

/// What the echo server saw of `vault.fetch(provider, url, init)`: its JSON answer.
async fn echoed(vault: &Vault, provider: &str, url: String, init: JsValue) -> JsValue {
    let response: web_sys::Response = done(vault.fetch(provider.into(), url, init))
        .await
        .unwrap()
        .unchecked_into();
    assert_eq!(response.status(), 200);
    done(response.json().unwrap()).await.unwrap()
}

/// The string at `path` in `value`, if there is one.
fn field(value: &JsValue, path: &[&str]) -> Option<String> {
    let mut v = value.clone();
    for p in path {
        v = Reflect::get(&v, &(*p).into()).unwrap();
    }
    v.as_string()
}

fn labels(list: JsValue) -> Vec<String> {
    js_sys::Array::from(&list)
        .iter()
        .map(|k| {
            Reflect::get(&k, &"label".into())
                .unwrap()
                .as_string()
                .unwrap()
        })
        .collect()
}

#[wasm_bindgen_test]
async fn webcrypto_and_rust_pbkdf2_give_identical_bytes() {
    let subtle = subtle_crypto().expect("the test page is a secure context");
    let cases: [(&[u8], &[u8], u32); 4] = [
        (b"password", b"salt", 1),
        (b"password", b"salt", 4096),
        (
            b"passwordPASSWORDpassword",
            b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
            4096,
        ),
        (PASSWORD.as_bytes(), &[7u8; 16], 600_000),
    ];
    for (password, salt, iterations) in cases {
        let web = webcrypto_pbkdf2_sha256(&subtle, password, salt, iterations)
            .await
            .unwrap();
        let rust = kdf::pbkdf2_sha256(password, salt, iterations);
        assert_eq!(
            web.expose_secret(),
            rust.expose_secret(),
            "{iterations} iterations"
        );
    }
    // RFC 7914 section 11 (PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1), first 32 bytes.
    let rfc = webcrypto_pbkdf2_sha256(&subtle, b"passwd", b"salt", 1)
        .await
        .unwrap();
    assert_eq!(
        rfc.expose_secret()[..8],
        [0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f]
    );
    // And through the trait the vault uses.
    let params = KdfParams::generate().unwrap();
    let password = SecretString::from(PASSWORD);
    let a = BrowserKdf.derive(&password, &params).await.unwrap();
    let b = RustKdf.derive(&password, &params).await.unwrap();
    assert_eq!(a.expose_secret(), b.expose_secret());
}

#[wasm_bindgen_test]
async fn create_add_reopen_and_unlock_again() {
    let name = unique_name("roundtrip");
    let vault = open(&name, &[]).await;
    assert_eq!(done(vault.exists()).await.unwrap(), false);
    done(vault.create(PASSWORD.into(), None)).await.unwrap();
    assert!(!vault.is_locked());
    let info = done(vault.add("openai".into(), OPENAI_KEY.into(), LABEL.into(), None))
        .await
        .unwrap();
    assert_eq!(Reflect::get(&info, &"preview".into()).unwrap(), "…4242");
    done(vault.add(
        "anthropic".into(),
        ANTHROPIC_KEY.into(),
        "second".into(),
        None,
    ))
    .await
    .unwrap();
    let before = labels(vault.list().unwrap());
    drop(vault);

    // A new page load: a fresh instance over the same database starts locked.
    let reopened = open(&name, &[]).await;
    assert!(reopened.is_locked());
    assert_eq!(done(reopened.exists()).await.unwrap(), true);
    let err = reopened.list().unwrap_err();
    assert_eq!(code(&err), "locked");
    done(reopened.unlock(PASSWORD.into())).await.unwrap();
    assert_eq!(labels(reopened.list().unwrap()), before);
    assert_eq!(before, [LABEL, "second"]);
}

#[wasm_bindgen_test]
async fn wrong_password_rejects_and_leaves_data_intact() {
    let name = unique_name("wrongpw");
    let vault = open(&name, &[]).await;
    done(vault.create(PASSWORD.into(), None)).await.unwrap();
    done(vault.add("openai".into(), OPENAI_KEY.into(), LABEL.into(), None))
        .await
        .unwrap();
    vault.lock();
    let before = raw_records(&name).await;

    let err = done(vault.unlock("not the password".into()))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "decrypt");
    assert_eq!(message(&err), "wrong password or damaged vault data");
    assert!(vault.is_locked());
    assert_eq!(raw_records(&name).await, before);

    done(vault.unlock(PASSWORD.into())).await.unwrap();
    assert_eq!(labels(vault.list().unwrap()), [LABEL]);
}

#[wasm_bindgen_test]
async fn raw_indexeddb_never_holds_a_key_or_label_in_plaintext() {
    let name = unique_name("raw");
    let vault = open(&name, &[]).await;
    done(vault.create(PASSWORD.into(), None)).await.unwrap();
    done(vault.add("openai".into(), OPENAI_KEY.into(), LABEL.into(), None))
        .await
        .unwrap();
    done(vault.add(
        "anthropic".into(),
        ANTHROPIC_KEY.into(),
        "second".into(),
        None,
    ))
    .await
    .unwrap();
    let records = raw_records(&name).await;
    assert_eq!(records.len(), 4, "vault key, settings, two entries");
    let dump = format!("{records:?}");
    for needle in [
        OPENAI_KEY,
        &OPENAI_KEY[8..20],
        &ANTHROPIC_KEY[7..19],
        "4242",
        LABEL,
        "second",
        "openai",
        "anthropic",
        PASSWORD,
    ] {
        assert!(!dump.contains(needle), "IndexedDB shows {needle:?}");
    }
    // Nothing in the page's other storage either.
    let window = Reflect::get(&js_sys::global(), &"localStorage".into()).unwrap();
    let length = Reflect::get(&window, &"length".into()).unwrap();
    assert_eq!(length, 0);
}

#[wasm_bindgen_test]
async fn auto_lock_fires_from_the_timer_alone() {
    let name = unique_name("autolock");
    let vault = open(&name, &[("autoLockMs", 300.into())]).await;
    let events = Rc::new(RefCell::new(Vec::new()));
    let sink = events.clone();
    let listener = Closure::<dyn Fn(bool)>::new(move |locked| sink.borrow_mut().push(locked));
    vault.on_lock_change(
        listener
            .as_ref()
            .unchecked_ref::<js_sys::Function>()
            .clone(),
    );
    listener.forget();
    done(vault.create(PASSWORD.into(), None)).await.unwrap();
    assert_eq!(*events.borrow(), [false]);

    // Activity keeps it open...
    for _ in 0..4 {
        TimeoutFuture::new(150).await;
        vault.touch();
    }
    assert_eq!(*events.borrow(), [false], "touch postpones the lock");
    // ...and idleness locks it, with nobody calling into the vault: only the timer runs.
    TimeoutFuture::new(700).await;
    assert_eq!(*events.borrow(), [false, true]);
    assert!(vault.is_locked());
    assert_eq!(vault.remaining_ms(), None);
}

#[wasm_bindgen_test]
async fn locking_one_instance_locks_the_others() {
    let name = unique_name("broadcast");
    let first = open(&name, &[]).await;
    let second = open(&name, &[]).await;
    done(first.create(PASSWORD.into(), None)).await.unwrap();
    done(second.unlock(PASSWORD.into())).await.unwrap();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = seen.clone();
    let listener = Closure::<dyn Fn(bool)>::new(move |locked| sink.borrow_mut().push(locked));
    second.on_lock_change(
        listener
            .as_ref()
            .unchecked_ref::<js_sys::Function>()
            .clone(),
    );
    listener.forget();
    assert!(!second.is_locked());

    first.lock();
    TimeoutFuture::new(200).await;
    assert!(second.is_locked());
    assert_eq!(*seen.borrow(), [true]);

    // A vault with another name is not affected.
    let other = open(&unique_name("bystander"), &[]).await;
    done(other.create(PASSWORD.into(), None)).await.unwrap();
    first.lock();
    TimeoutFuture::new(100).await;
    assert!(!other.is_locked());
}

#[wasm_bindgen_test]
async fn a_proxy_without_a_seal_key_gets_plain_keys_only_when_the_vault_allows_them() {
    // The echo server publishes no seal key (404), as a proxy from before sealed keys.
    let url = format!("{ECHO_URL}/openai/v1/models");
    for (mode, plain) in [
        (None, true),
        (Some("auto"), true),
        (Some("never"), true),
        (Some("always"), false),
    ] {
        let name = unique_name("seal-mode");
        let extra: Vec<(&str, JsValue)> = match mode {
            Some(mode) => vec![("proxyUrl", ECHO_URL.into()), ("seal", mode.into())],
            None => vec![("proxyUrl", ECHO_URL.into())],
        };
        let vault = open(&name, &extra).await;
        done(vault.create(PASSWORD.into(), None)).await.unwrap();
        done(vault.add("openai".into(), OPENAI_KEY.into(), LABEL.into(), None))
            .await
            .unwrap();
        // A FormData body: sent as before when the key goes plain (it cannot be sealed).
        let init = js_sys::Object::new();
        Reflect::set(&init, &"method".into(), &"POST".into()).unwrap();
        let form_data: js_sys::Function = Reflect::get(&js_sys::global(), &"FormData".into())
            .unwrap()
            .into();
        let form = Reflect::construct(&form_data, &js_sys::Array::new()).unwrap();
        Reflect::set(&init, &"body".into(), &form).unwrap();
        let answer = done(vault.fetch("openai".into(), url.clone(), init.into())).await;
        if plain {
            let response: web_sys::Response = answer.unwrap().dyn_into().unwrap();
            let echo = JsFuture::from(response.json().unwrap()).await.unwrap();
            assert_eq!(
                field(&echo, &["headers", "x-byok-key"]).as_deref(),
                Some(OPENAI_KEY),
                "{mode:?}"
            );
            assert_eq!(
                field(&echo, &["headers", "x-byok-sealed"]),
                None,
                "{mode:?}"
            );
        } else {
            assert_eq!(
                code(&answer.unwrap_err()),
                "unreachable",
                "{mode:?}: no plain key sent"
            );
        }
    }
    let err = Vault::open({
        let options = js_sys::Object::new();
        Reflect::set(&options, &"seal".into(), &"sometimes".into()).unwrap();
        options.into()
    });
    assert_eq!(code(&done(err).await.unwrap_err()), "invalid_input");
}

#[wasm_bindgen_test]
async fn a_proxy_that_rotated_its_seal_key_is_asked_again_once() {
    for (prefix, settles) in [("rotating", true), ("stale", false)] {
        let name = unique_name("seal-rotated");
        let base = format!("{ECHO_URL}/{prefix}/");
        let vault = open(&name, &[("proxyUrl", base.clone().into())]).await;
        done(vault.create(PASSWORD.into(), None)).await.unwrap();
        done(vault.add("openai".into(), OPENAI_KEY.into(), LABEL.into(), None))
            .await
            .unwrap();
        let init = js_sys::Object::new();
        Reflect::set(&init, &"method".into(), &"POST".into()).unwrap();
        Reflect::set(&init, &"body".into(), &"{}".into()).unwrap();
        let url = format!("{base}openai/v1/chat/completions");
        let response: web_sys::Response = done(vault.fetch("openai".into(), url, init.into()))
            .await
            .unwrap()
            .dyn_into()
            .unwrap();
        if settles {
            // Sealed to k1, told it is unknown, asked for the key again, sealed to k2.
            assert_eq!(response.status(), 200);
            let echo = JsFuture::from(response.json().unwrap()).await.unwrap();
            let sealed = field(&echo, &["headers", "x-byok-sealed"]).unwrap();
            assert!(sealed.starts_with("v1.k2."), "{sealed}");
            assert!(!sealed.contains(&OPENAI_KEY[8..16]), "{sealed}");
            assert_eq!(field(&echo, &["headers", "x-byok-key"]), None);
            assert_eq!(field(&echo, &["body"]).as_deref(), Some("{}"));
        } else {
            // Still unknown after asking again: the proxy's answer, not a loop.
            assert_eq!(response.status(), 401);
        }
    }
}

#[wasm_bindgen_test]
async fn fetch_attaches_the_key_header_only_for_the_proxy() {
    let name = unique_name("fetch");
    let vault = open(&name, &[("proxyUrl", ECHO_URL.into())]).await;
    done(vault.create(PASSWORD.into(), None)).await.unwrap();

    let locked_err = done(vault.fetch("openai".into(), "/x".into(), JsValue::UNDEFINED))
        .await
        .unwrap_err();
    assert_eq!(code(&locked_err), "no_key");

    done(vault.add("openai".into(), OPENAI_KEY.into(), LABEL.into(), None))
        .await
        .unwrap();
    let init = js_sys::Object::new();
    Reflect::set(&init, &"method".into(), &"POST".into()).unwrap();
    Reflect::set(&init, &"body".into(), &"{\"hello\":1}".into()).unwrap();
    let headers = js_sys::Object::new();
    Reflect::set(&headers, &"Content-Type".into(), &"application/json".into()).unwrap();
    Reflect::set(&init, &"headers".into(), &headers).unwrap();
    let url = format!("{ECHO_URL}/openai/v1/chat/completions");
    let echo = echoed(&vault, "openai", url, init.into()).await;
    let got = |path: &[&str]| field(&echo, path);
    assert_eq!(got(&["headers", "x-byok-key"]).as_deref(), Some(OPENAI_KEY));
    assert_eq!(
        got(&["headers", "content-type"]).as_deref(),
        Some("application/json")
    );
    assert_eq!(
        got(&["path"]).as_deref(),
        Some("/openai/v1/chat/completions")
    );
    assert_eq!(got(&["body"]).as_deref(), Some("{\"hello\":1}"));
    assert_eq!(got(&["headers", "x-byok-daily-cap"]), None, "no cap set");
    assert_eq!(got(&["headers", "x-byok-user"]), None, "no user token set");

    // The key's daily cap and the app's user token travel with it once set.
    let list = js_sys::Array::from(&vault.list().unwrap());
    let id = Reflect::get(&list.get(0), &"id".into()).unwrap();
    let capped = done(vault.set_daily_cap(id.as_string().unwrap(), "0.50".into()))
        .await
        .unwrap();
    assert_eq!(
        Reflect::get(&capped, &"dailyCapUsd".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("0.5")
    );
    let bad = done(vault.set_daily_cap(id.as_string().unwrap(), "-1".into()))
        .await
        .unwrap_err();
    assert_eq!(code(&bad), "invalid_input");
    vault.set_user_token(Some("header.payload.signature".into()));
    let url = format!("{ECHO_URL}/openai/v1/models");
    let echo = echoed(&vault, "openai", url.clone(), JsValue::UNDEFINED).await;
    assert_eq!(
        field(&echo, &["headers", "x-byok-daily-cap"]).as_deref(),
        Some("0.5")
    );
    assert_eq!(
        field(&echo, &["headers", "x-byok-user"]).as_deref(),
        Some("header.payload.signature")
    );
    vault.set_user_token(None);
    done(vault.set_daily_cap(id.as_string().unwrap(), JsValue::NULL))
        .await
        .unwrap();
    let echo = echoed(&vault, "openai", url, JsValue::UNDEFINED).await;
    assert_eq!(field(&echo, &["headers", "x-byok-daily-cap"]), None);
    assert_eq!(field(&echo, &["headers", "x-byok-user"]), None);

    // Last use is recorded.
    TimeoutFuture::new(50).await;
    let list = js_sys::Array::from(&vault.list().unwrap());
    assert!(
        Reflect::get(&list.get(0), &"lastUsedMs".into())
            .unwrap()
            .as_f64()
            .is_some()
    );

    // Other hosts never get the key, and redirects are refused rather than followed.
    for elsewhere in ["https://example.invalid/v1/chat", "http://127.0.0.1:1/x"] {
        let err = done(vault.fetch("openai".into(), elsewhere.into(), JsValue::UNDEFINED))
            .await
            .unwrap_err();
        assert_eq!(code(&err), "invalid_input", "{elsewhere}");
        assert!(!message(&err).contains(OPENAI_KEY));
    }
    let redirect = format!("{ECHO_URL}/redirect");
    let err = done(vault.fetch("openai".into(), redirect, JsValue::UNDEFINED))
        .await
        .unwrap_err();
    assert_eq!(
        code(&err),
        "unreachable",
        "a redirect response is an error, not followed"
    );

    vault.lock();
    let err = done(vault.fetch("openai".into(), ECHO_URL.into(), JsValue::UNDEFINED))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "locked");
}

#[wasm_bindgen_test]
async fn corrupted_record_is_reported_and_the_rest_still_work() {
    let name = unique_name("corrupt");
    let vault = open(&name, &[]).await;
    done(vault.create(PASSWORD.into(), None)).await.unwrap();
    let a = done(vault.add("openai".into(), OPENAI_KEY.into(), "a".into(), None))
        .await
        .unwrap();
    done(vault.add("anthropic".into(), ANTHROPIC_KEY.into(), "b".into(), None))
        .await
        .unwrap();
    vault.lock();
    let id = Reflect::get(&a, &"id".into()).unwrap().as_string().unwrap();
    let store = IdbStore::open(&name).await.unwrap();
    store
        .write(byok_vault::Batch::put(
            id.clone(),
            "{\"format\":1,\"garbage\":true}".into(),
        ))
        .await
        .unwrap();

    done(vault.unlock(PASSWORD.into())).await.unwrap();
    assert_eq!(vault.unreadable().unwrap(), std::slice::from_ref(&id));
    assert_eq!(labels(vault.list().unwrap()), ["b"]);
    done(vault.remove(id)).await.unwrap();
    assert!(vault.unreadable().unwrap().is_empty());
}

#[wasm_bindgen_test]
async fn change_password_and_reset() {
    let name = unique_name("password");
    let vault = open(&name, &[]).await;
    // Made with PBKDF2 (as vaults before Argon2id were); a password change moves it to
    // Argon2id, the default.
    done(vault.create(PASSWORD.into(), Some("pbkdf2-sha256".into())))
        .await
        .unwrap();
    let hashing = done(vault.password_hashing()).await.unwrap();
    assert_eq!(
        field(&hashing, &["description"]).as_deref(),
        Some("PBKDF2-SHA256, 600,000 iterations")
    );
    done(vault.add("openai".into(), OPENAI_KEY.into(), "a".into(), None))
        .await
        .unwrap();
    let err = done(vault.change_password("wrong password".into(), "new password".into(), None))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "decrypt");
    let err = done(vault.change_password(
        PASSWORD.into(),
        "new password".into(),
        Some("scrypt".into()),
    ))
    .await
    .unwrap_err();
    assert_eq!(code(&err), "invalid_input");
    done(vault.change_password(PASSWORD.into(), "new password".into(), None))
        .await
        .unwrap();
    let hashing = done(vault.password_hashing()).await.unwrap();
    assert_eq!(field(&hashing, &["alg"]).as_deref(), Some("argon2id"));
    assert_eq!(
        Reflect::get(&hashing, &"memoryKib".into())
            .unwrap()
            .as_f64(),
        Some(65_536.0)
    );
    vault.lock();
    assert!(done(vault.unlock(PASSWORD.into())).await.is_err());
    done(vault.unlock("new password".into())).await.unwrap();
    assert_eq!(labels(vault.list().unwrap()), ["a"]);

    done(vault.reset()).await.unwrap();
    assert!(vault.is_locked());
    assert!(raw_records(&name).await.is_empty());
    assert_eq!(done(vault.exists()).await.unwrap(), false);
}

#[wasm_bindgen_test]
async fn without_a_registered_passkey_nothing_is_offered_or_unlocked() {
    let vault = open(&unique_name("passkeys"), &[]).await;
    done(vault.create(PASSWORD.into(), None)).await.unwrap();
    assert_eq!(done(vault.has_passkeys()).await.unwrap(), false);
    assert_eq!(
        js_sys::Array::from(&done(vault.passkeys()).await.unwrap()).length(),
        0
    );
    let support = done(vault.passkey_support()).await.unwrap();
    assert!(
        Reflect::get(&support, &"available".into())
            .unwrap()
            .as_bool()
            .is_some(),
        "a yes or no"
    );
    vault.lock();
    let err = done(vault.unlock_with_passkey()).await.unwrap_err();
    assert_eq!(code(&err), "passkey");
    assert!(vault.is_locked());
    let err = done(vault.add_passkey("Laptop".into())).await.unwrap_err();
    assert_eq!(code(&err), "locked");
}

#[wasm_bindgen_test]
async fn create_asks_the_browser_to_keep_the_storage() {
    let name = unique_name("persist");
    let vault = open(&name, &[]).await;
    done(vault.create(PASSWORD.into(), None)).await.unwrap();
    let answer = done(vault.persist_storage()).await.unwrap();
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).unwrap();
    let storage = Reflect::get(&navigator, &"storage".into()).unwrap();
    let persisted: js_sys::Function = Reflect::get(&storage, &"persisted".into())
        .unwrap()
        .unchecked_into();
    let persisted = done(persisted.call0(&storage).unwrap().unchecked_into())
        .await
        .unwrap();
    assert!(
        answer.as_bool().is_some(),
        "this browser can say: {answer:?}"
    );
    assert_eq!(
        answer.as_bool(),
        persisted.as_bool(),
        "the vault reports what the browser then says"
    );
}

#[wasm_bindgen_test]
fn check_key_explains_shape_problems() {
    assert_eq!(Vault::check_key("openai", OPENAI_KEY).unwrap(), None);
    let problem = Vault::check_key("openai", ANTHROPIC_KEY).unwrap().unwrap();
    assert!(problem.contains("Anthropic"), "{problem}");
    assert!(Vault::check_key("bedrock", OPENAI_KEY).is_err());
}

#[wasm_bindgen_test]
async fn grants_are_remembered_sealed_listed_and_revoked() {
    let name = unique_name("grants");
    let vault = open(&name, &[("proxyUrl", ECHO_URL.into())]).await;
    done(vault.create(PASSWORD.into(), None)).await.unwrap();
    done(vault.add("openai".into(), OPENAI_KEY.into(), LABEL.into(), None))
        .await
        .unwrap();
    let options = js_sys::Object::new();
    Reflect::set(&options, &"label".into(), &"grant-label-never-plain".into()).unwrap();
    Reflect::set(&options, &"ttlSeconds".into(), &600.into()).unwrap();
    Reflect::set(&options, &"maxRequests".into(), &7.into()).unwrap();
    let models = js_sys::Array::of1(&"gpt-4o-mini".into());
    Reflect::set(&options, &"models".into(), &models).unwrap();
    let issued = done(vault.grant("openai".into(), options.into()))
        .await
        .unwrap();
    let get = |v: &JsValue, k: &str| Reflect::get(v, &k.into()).unwrap();
    let token = get(&issued, "token").as_string().unwrap();
    let id = get(&issued, "id").as_string().unwrap();
    assert!(token.starts_with("byok_g_"));
    let expires = get(&issued, "expiresAt").as_f64().unwrap();
    assert!(
        expires > js_sys::Date::now() + 590_000.0,
        "milliseconds, ten minutes ahead"
    );

    // Remembered: listed with its scope; sealed in IndexedDB (no token, label or provider).
    let list = js_sys::Array::from(&done(vault.grants()).await.unwrap());
    assert_eq!(list.length(), 1);
    let grant = list.get(0);
    assert_eq!(get(&grant, "id").as_string().as_deref(), Some(id.as_str()));
    assert_eq!(
        get(&grant, "label").as_string().as_deref(),
        Some("grant-label-never-plain")
    );
    assert_eq!(get(&grant, "maxRequests").as_f64(), Some(7.0));
    let raw = raw_records(&name).await;
    assert!(raw.iter().any(|(k, _)| *k == format!("grant:{id}")));
    for (key, value) in &raw {
        for plain in [
            &token[7..],
            "grant-label-never-plain",
            "openai",
            "gpt-4o-mini",
            OPENAI_KEY,
        ] {
            assert!(
                !value.contains(plain) && !key.contains(plain),
                "{plain} in {key}"
            );
        }
    }
    let status = done(vault.grant_status(id.clone())).await.unwrap();
    assert_eq!(get(&status, "active").as_bool(), Some(true));
    assert_eq!(get(&status, "requestsLeft").as_f64(), Some(7.0));

    // A bad scope comes back as the proxy's reason, and nothing is remembered.
    let bad = js_sys::Object::new();
    Reflect::set(&bad, &"ttlSeconds".into(), &0.into()).unwrap();
    let err = done(vault.grant("openai".into(), bad.into()))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "proxy");
    assert!(message(&err).contains("ttl_seconds"), "{}", message(&err));
    let err = done(vault.grant("anthropic".into(), JsValue::UNDEFINED))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "no_key");

    // Revoke one, then all; each is forgotten.
    done(vault.revoke_grant(id.clone())).await.unwrap();
    let status = done(vault.grant_status(id.clone())).await.unwrap_err();
    assert_eq!(code(&status), "not_found", "forgotten once revoked");
    assert_eq!(
        js_sys::Array::from(&done(vault.grants()).await.unwrap()).length(),
        0
    );
    for _ in 0..2 {
        done(vault.grant("openai".into(), JsValue::UNDEFINED))
            .await
            .unwrap();
    }
    let revoked = done(vault.revoke_all_grants()).await.unwrap();
    assert_eq!(revoked.as_f64(), Some(2.0));
    assert_eq!(
        js_sys::Array::from(&done(vault.grants()).await.unwrap()).length(),
        0
    );
    assert!(
        raw_records(&name)
            .await
            .iter()
            .all(|(k, _)| !k.starts_with("grant:"))
    );
}

#[wasm_bindgen_test]
async fn a_backup_restores_every_key_after_a_reset_and_shows_nothing_in_plaintext() {
    let name = unique_name("backup");
    let vault = open(&name, &[("proxyUrl", ECHO_URL.into())]).await;
    done(vault.create(PASSWORD.into(), None)).await.unwrap();
    done(vault.add("openai".into(), OPENAI_KEY.into(), LABEL.into(), None))
        .await
        .unwrap();
    done(vault.add(
        "anthropic".into(),
        ANTHROPIC_KEY.into(),
        "second".into(),
        None,
    ))
    .await
    .unwrap();
    let before = labels(vault.list().unwrap());

    // The vault password is asked again; a wrong one gives no file.
    let wrong = done(vault.export_backup("wrong password".into(), None))
        .await
        .unwrap_err();
    assert_eq!(code(&wrong), "decrypt");
    let file: web_sys::File =
        done(vault.export_backup(PASSWORD.into(), Some("the backup's own password".into())))
            .await
            .unwrap()
            .unchecked_into();
    assert!(file.name().starts_with("byok-backup-20"), "{}", file.name());
    assert!(file.name().ends_with(".json"));
    assert_eq!(file.type_(), "application/json");
    let text = done(file.text()).await.unwrap().as_string().unwrap();
    for needle in [
        &OPENAI_KEY[8..20],
        &ANTHROPIC_KEY[7..19],
        "4242",
        LABEL,
        "second",
        "openai",
        "anthropic",
        PASSWORD,
    ] {
        assert!(!text.contains(needle), "the backup shows {needle:?}");
    }

    // The browser loses everything; a new vault with a new password takes the file back.
    done(vault.reset()).await.unwrap();
    assert!(raw_records(&name).await.is_empty());
    done(vault.create("a brand new vault password".into(), None))
        .await
        .unwrap();
    let refused = done(vault.import_backup(file.clone().into(), PASSWORD.into()))
        .await
        .unwrap_err();
    assert_eq!(code(&refused), "backup_unreadable", "{}", message(&refused));
    assert!(labels(vault.list().unwrap()).is_empty(), "nothing changed");
    let report = done(vault.import_backup(file.clone().into(), "the backup's own password".into()))
        .await
        .unwrap();
    let added = labels(Reflect::get(&report, &"added".into()).unwrap());
    assert_eq!(added.len(), 2);
    assert_eq!(labels(vault.list().unwrap()), before);
    // Twice: nothing added, both reported as held.
    let again = done(vault.import_backup(text.clone().into(), "the backup's own password".into()))
        .await
        .unwrap();
    assert!(labels(Reflect::get(&again, &"added".into()).unwrap()).is_empty());
    assert_eq!(
        labels(Reflect::get(&again, &"skipped".into()).unwrap()).len(),
        2
    );

    // The restored key is sent as before.
    let url = format!("{ECHO_URL}/openai/v1/models");
    let echo = echoed(&vault, "openai", url, JsValue::UNDEFINED).await;
    assert_eq!(
        field(&echo, &["headers", "x-byok-key"]).as_deref(),
        Some(OPENAI_KEY)
    );
    // And IndexedDB holds it sealed, as ever.
    let dump = format!("{:?}", raw_records(&name).await);
    for needle in [&OPENAI_KEY[8..20], LABEL, "openai", "anthropic"] {
        assert!(!dump.contains(needle), "IndexedDB shows {needle:?}");
    }
}

#[wasm_bindgen_test]
async fn off_and_expired_keys_are_never_sent_and_a_replaced_key_is() {
    const OPENAI_KEY_2: &str = "sk-proj-SECONDsecondSECOND5678";
    const REPLACEMENT: &str = "sk-proj-REPLACEDreplacedREPLACED99";
    let name = unique_name("life");
    let vault = open(&name, &[("proxyUrl", ECHO_URL.into())]).await;
    done(vault.create(PASSWORD.into(), None)).await.unwrap();
    let first = done(vault.add("openai".into(), OPENAI_KEY.into(), LABEL.into(), None))
        .await
        .unwrap();
    let first = field(&first, &["id"]).unwrap();
    TimeoutFuture::new(5).await; // a later creation time: the second is "next"
    let second = done(vault.add("openai".into(), OPENAI_KEY_2.into(), "second".into(), None))
        .await
        .unwrap();
    let second = field(&second, &["id"]).unwrap();
    let url = format!("{ECHO_URL}/openai/v1/models");
    let sent = |echo: JsValue| field(&echo, &["headers", "x-byok-key"]);

    // The default off: the second key goes, never the first; testing the first is refused
    // before anything leaves the page.
    let off = done(vault.set_enabled(first.clone(), false)).await.unwrap();
    assert_eq!(Reflect::get(&off, &"enabled".into()).unwrap(), false);
    let echo = echoed(&vault, "openai", url.clone(), JsValue::UNDEFINED).await;
    assert_eq!(sent(echo).as_deref(), Some(OPENAI_KEY_2));
    let refused = done(vault.test_key(first.clone())).await.unwrap_err();
    assert_eq!(code(&refused), "key_off", "{}", message(&refused));

    // The second expired a moment ago: nothing to send, the clear no_key.
    let past = js_sys::Date::now() - 1.0;
    done(vault.set_expiry(second.clone(), Some(past)))
        .await
        .unwrap();
    let none = done(vault.fetch("openai".into(), url.clone(), JsValue::UNDEFINED))
        .await
        .unwrap_err();
    assert_eq!(code(&none), "no_key", "{}", message(&none));
    let bad = done(vault.set_expiry(second.clone(), Some(-5.0)))
        .await
        .unwrap_err();
    assert_eq!(code(&bad), "invalid_input");

    // Replacing the expired key: a new key the test refuses changes nothing; one it accepts
    // takes the old one's place and serves.
    let test_first = js_sys::Object::new();
    Reflect::set(&test_first, &"test".into(), &true.into()).unwrap();
    let refused_key = "sk-proj-invalidINVALIDinvalid0000";
    let failed = done(vault.replace(
        second.clone(),
        refused_key.into(),
        test_first.clone().into(),
    ))
    .await
    .unwrap_err();
    assert_eq!(code(&failed), "key_rejected", "{}", message(&failed));
    assert_eq!(
        message(&failed),
        "the provider rejected the new key (status 401); nothing was changed"
    );
    let replaced = done(vault.replace(second.clone(), REPLACEMENT.into(), test_first.into()))
        .await
        .unwrap();
    assert_eq!(field(&replaced, &["testStatus"]).as_deref(), Some("valid"));
    assert_eq!(field(&replaced, &["id"]), Some(second.clone()));
    assert_eq!(field(&replaced, &["label"]).as_deref(), Some("second"));
    assert!(
        Reflect::get(&replaced, &"expiresMs".into())
            .unwrap()
            .is_null()
    );
    assert!(
        Reflect::get(&replaced, &"replacedMs".into())
            .unwrap()
            .as_f64()
            .is_some()
    );
    let echo = echoed(&vault, "openai", url.clone(), JsValue::UNDEFINED).await;
    assert_eq!(sent(echo).as_deref(), Some(REPLACEMENT));

    // Back on, the default serves again; IndexedDB never shows either secret.
    done(vault.set_enabled(first, true)).await.unwrap();
    let echo = echoed(&vault, "openai", url, JsValue::UNDEFINED).await;
    assert_eq!(sent(echo).as_deref(), Some(OPENAI_KEY));
    let dump = format!("{:?}", raw_records(&name).await);
    for needle in [&OPENAI_KEY_2[8..], &REPLACEMENT[8..], LABEL, "second"] {
        assert!(!dump.contains(needle), "IndexedDB shows {needle:?}");
    }
}

#[wasm_bindgen_test]
async fn daily_retest_is_off_until_turned_on_then_tests_each_usable_key() {
    let name = unique_name("retest");
    let vault = open(&name, &[("proxyUrl", ECHO_URL.into())]).await;
    done(vault.create(PASSWORD.into(), None)).await.unwrap();
    for (key, label) in [
        (OPENAI_KEY, "good"),
        ("sk-proj-invalidINVALIDinvalid0000", "refused"),
        (ANTHROPIC_KEY, "off"),
    ] {
        let provider = if key == ANTHROPIC_KEY {
            "anthropic"
        } else {
            "openai"
        };
        done(vault.add(provider.into(), key.into(), label.into(), None))
            .await
            .unwrap();
    }
    let off = labels_and(&vault, "id")
        .into_iter()
        .find(|(l, _)| l == "off")
        .unwrap()
        .1;
    done(vault.set_enabled(off, false)).await.unwrap();
    let statuses = || labels_and(&vault, "testStatus");

    // Off by default: a few ticks of the vault's timer test nothing.
    assert!(!vault.daily_retest().unwrap());
    TimeoutFuture::new(1_500).await;
    assert!(
        statuses().iter().all(|(_, s)| s == "untested"),
        "{:?}",
        statuses()
    );

    // On: the next tick tests every usable key and records the answers; the off key is
    // never sent.
    done(vault.set_daily_retest(true)).await.unwrap();
    assert!(vault.daily_retest().unwrap());
    let mut waited = 0;
    while statuses()
        .iter()
        .any(|(l, s)| l != "off" && s == "untested")
    {
        assert!(waited < 5_000, "not re-tested: {:?}", statuses());
        TimeoutFuture::new(100).await;
        waited += 100;
    }
    let mut got = statuses();
    got.sort();
    assert_eq!(
        got,
        [
            ("good".to_owned(), "valid".to_owned()),
            ("off".to_owned(), "untested".to_owned()),
            ("refused".to_owned(), "invalid".to_owned()),
        ]
    );
}

/// Each listed key's label with its string field `name`.
fn labels_and(vault: &Vault, name: &str) -> Vec<(String, String)> {
    js_sys::Array::from(&vault.list().unwrap())
        .iter()
        .map(|k| (field(&k, &["label"]).unwrap(), field(&k, &[name]).unwrap()))
        .collect()
}

#[wasm_bindgen_test]
async fn an_app_approved_or_revoked_in_one_window_counts_at_once_in_another() {
    use byok_vault::wasm::{BrowserVault, Options};
    let name = unique_name("apps");
    let options = || Options {
        name: Some(name.clone()),
        ..Options::default()
    };
    // The consent window and the vault serving an app: two instances over one database.
    let consent = BrowserVault::open(options()).await.unwrap();
    let serving = BrowserVault::open(options()).await.unwrap();
    consent.core().create(&PASSWORD.into()).await.unwrap();
    serving.core().unlock(&PASSWORD.into()).await.unwrap();
    let app = "https://app.byok.localhost";
    assert!(!serving.core().app_connected(app).await.unwrap());
    consent.core().approve_app(app).await.unwrap();
    assert!(serving.core().app_connected(app).await.unwrap());
    assert!(
        !raw_records(&name)
            .await
            .iter()
            .any(|(id, raw)| id.contains("byok.localhost") || raw.contains("byok.localhost")),
        "the origin is sealed"
    );
    consent.core().revoke_app(app).await.unwrap();
    assert!(!serving.core().app_connected(app).await.unwrap());
    assert!(serving.core().connected_apps().await.unwrap().is_empty());
}

/// `vault.fetch` of a POST to the echo server's `/failover/` provider: the response, and the
/// keys the provider saw (cleared after).
async fn failover_fetch(vault: &Vault, body: JsValue) -> (web_sys::Response, Vec<String>) {
    let init = js_sys::Object::new();
    Reflect::set(&init, &"method".into(), &"POST".into()).unwrap();
    Reflect::set(&init, &"body".into(), &body).unwrap();
    let url = format!("{ECHO_URL}/failover/v1/chat/completions");
    let response: web_sys::Response = done(vault.fetch("openai".into(), url, init.into()))
        .await
        .unwrap()
        .unchecked_into();
    let log = web_sys::window()
        .unwrap()
        .fetch_with_str(&format!("{ECHO_URL}/failover-log"));
    let log: web_sys::Response = done(log).await.unwrap().unchecked_into();
    let seen = js_sys::Array::from(&done(log.json().unwrap()).await.unwrap())
        .iter()
        .map(|k| k.as_string().unwrap())
        .collect();
    (response, seen)
}

fn header(response: &web_sys::Response, name: &str) -> Option<String> {
    response.headers().get(name).unwrap()
}

/// Adds OpenAI key `key` to `vault`; its id.
async fn add_openai(vault: &Vault, key: &str) -> String {
    let added = done(vault.add("openai".into(), key.into(), "k".into(), None))
        .await
        .unwrap();
    field(&added, &["id"]).unwrap()
}

/// The key info of `id`, as `vault.list()` gives it.
fn info(vault: &Vault, id: &str) -> JsValue {
    js_sys::Array::from(&vault.list().unwrap())
        .iter()
        .find(|k| field(k, &["id"]).as_deref() == Some(id))
        .unwrap()
}

#[wasm_bindgen_test]
async fn a_refused_key_gives_way_to_the_next_and_rests_while_the_provider_asks() {
    const LIMITED: &str = "sk-proj-limitedAAAAaaaaAAAA0001";
    const GOOD: &str = "sk-proj-goodBBBBbbbbBBBBbbbb0002";
    const OTHER: &str = "sk-proj-goodCCCCccccCCCCcccc0003";
    const BROKEN: &str = "sk-proj-brokenDDDDddddDDDD0004";
    const REFUSED: &str = "sk-proj-refusedEEEEeeeeEEEE0005";
    const PROXYOWN: &str = "sk-proj-proxyownFFFFffffFFFF06";
    let name = unique_name("failover");
    let vault = open(&name, &[("proxyUrl", ECHO_URL.into())]).await;
    done(vault.create(PASSWORD.into(), None)).await.unwrap();
    let mut ids = Vec::new();
    for key in [LIMITED, GOOD] {
        ids.push(add_openai(&vault, key).await);
        TimeoutFuture::new(5).await;
    }
    let (limited, good) = (ids[0].clone(), ids[1].clone());

    // The default (the first key) is rate limited: the same request goes to the next key,
    // whose answer the app gets, saying which key served and how many were tried.
    let (response, seen) = failover_fetch(&vault, "{\"n\":1}".into()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(seen, [LIMITED, GOOD]);
    assert_eq!(
        header(&response, "x-byok-key-id").as_deref(),
        Some(good.as_str())
    );
    assert_eq!(header(&response, "x-byok-attempts").as_deref(), Some("2"));
    let answer = done(response.json().unwrap()).await.unwrap();
    assert_eq!(
        field(&answer, &["body"]).as_deref(),
        Some("{\"n\":1}"),
        "the same body"
    );
    // The limited key rests for the provider's Retry-After (30 s) and is skipped meanwhile.
    TimeoutFuture::new(50).await;
    let rest = Reflect::get(&info(&vault, &limited), &"cooldownUntilMs".into())
        .unwrap()
        .as_f64()
        .unwrap();
    let left = rest - js_sys::Date::now();
    assert!((25_000.0..=30_500.0).contains(&left), "{left}");
    let (response, seen) = failover_fetch(&vault, "{\"n\":2}".into()).await;
    assert_eq!((response.status(), seen), (200, vec![GOOD.to_owned()]));
    assert_eq!(header(&response, "x-byok-attempts").as_deref(), Some("1"));

    // Spread: requests take turns over the keys that are ready.
    let other = add_openai(&vault, OTHER).await;
    done(vault.set_spread("openai".into(), true)).await.unwrap();
    assert!(vault.spreads("openai".into()).unwrap());
    let mut served = Vec::new();
    for n in 0..4 {
        let (response, seen) = failover_fetch(&vault, format!("{{\"n\":{n}}}").into()).await;
        assert_eq!((response.status(), seen.len()), (200, 1), "{seen:?}");
        served.push(header(&response, "x-byok-key-id").unwrap());
    }
    assert!(
        served.contains(&good) && served.contains(&other),
        "{served:?}"
    );
    assert!(
        !served.contains(&limited),
        "a resting key waits: {served:?}"
    );
    done(vault.set_spread("openai".into(), false))
        .await
        .unwrap();

    // A 500 is the provider's answer, not a refusal: never sent again.
    let broken = add_openai(&vault, BROKEN).await;
    done(vault.set_default(broken.clone())).await.unwrap();
    let (response, seen) = failover_fetch(&vault, "{}".into()).await;
    assert_eq!((response.status(), seen), (500, vec![BROKEN.to_owned()]));
    // Nor is a refusal of the proxy's own (no provider answered the key).
    let own = add_openai(&vault, PROXYOWN).await;
    done(vault.set_default(own.clone())).await.unwrap();
    let (response, seen) = failover_fetch(&vault, "{}".into()).await;
    assert_eq!((response.status(), seen), (429, vec![PROXYOWN.to_owned()]));
    done(vault.set_enabled(own, false)).await.unwrap();

    // A 401 marks the key rejected, as a failed test does, and the next key serves.
    let refused = add_openai(&vault, REFUSED).await;
    done(vault.set_default(refused.clone())).await.unwrap();
    done(vault.set_enabled(broken, false)).await.unwrap();
    let (response, seen) = failover_fetch(&vault, "{}".into()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(seen.first().map(String::as_str), Some(REFUSED));
    assert_eq!(seen.len(), 2, "{seen:?}");
    TimeoutFuture::new(50).await;
    assert_eq!(
        field(&info(&vault, &refused), &["testStatus"]).as_deref(),
        Some("invalid")
    );
    // Every key refused: the app gets the last refusal, having tried each once.
    done(vault.set_enabled(good, false)).await.unwrap();
    done(vault.set_enabled(other, false)).await.unwrap();
    let (response, seen) = failover_fetch(&vault, "{}".into()).await;
    assert_eq!(
        seen.len(),
        2,
        "the refused default, then the resting key: {seen:?}"
    );
    assert!(
        matches!(response.status(), 401 | 429),
        "{}",
        response.status()
    );
    assert_eq!(header(&response, "x-byok-attempts").as_deref(), Some("2"));
}

#[wasm_bindgen_test]
async fn an_azure_request_goes_to_each_keys_own_resource() {
    const EAST: &str = "limited0east0000aaaaaaaaaaaaaaaa";
    const WEST: &str = "0west00000000000bbbbbbbbbbbbbbbb";
    let name = unique_name("azure");
    // The echo server's `/azure/` plays the provider (and the proxy's key source), as its
    // `/failover/` does.
    let base = format!("{ECHO_URL}/");
    let vault = open(&name, &[("proxyUrl", base.clone().into())]).await;
    done(vault.create(PASSWORD.into(), None)).await.unwrap();
    let missing = done(vault.add("azure".into(), WEST.into(), "w".into(), None))
        .await
        .unwrap_err();
    assert_eq!(code(&missing), "invalid_input");
    for (key, resource) in [(EAST, "East-1"), (WEST, "west")] {
        let added = done(vault.add(
            "azure".into(),
            key.into(),
            "k".into(),
            Some(resource.into()),
        ))
        .await
        .unwrap();
        assert_eq!(
            field(&added, &["resource"]).as_deref(),
            Some(resource.to_lowercase().as_str())
        );
        TimeoutFuture::new(5).await;
    }
    // The app names no resource; the first key's is refused (429), and the same request goes
    // to the second key at its own resource.
    let init = js_sys::Object::new();
    Reflect::set(&init, &"method".into(), &"POST".into()).unwrap();
    Reflect::set(&init, &"body".into(), &"{\"model\":\"gpt-4o\"}".into()).unwrap();
    let url = format!("{base}azure/openai/v1/chat/completions?api-version=x");
    let response: web_sys::Response = done(vault.fetch("azure".into(), url, init.clone().into()))
        .await
        .unwrap()
        .unchecked_into();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-byok-attempts").as_deref(), Some("2"));
    let answer = done(response.json().unwrap()).await.unwrap();
    assert_eq!(
        field(&answer, &["path"]).as_deref(),
        Some("/azure/west/openai/v1/chat/completions?api-version=x")
    );
    let log = web_sys::window()
        .unwrap()
        .fetch_with_str(&format!("{ECHO_URL}/failover-log"));
    let log: web_sys::Response = done(log).await.unwrap().unchecked_into();
    let paths = js_sys::Array::from(&done(log.json().unwrap()).await.unwrap()).length();
    assert_eq!(paths, 2);
    // A URL outside `azure/` cannot carry the resource: refused before anything is sent.
    let elsewhere = format!("{base}v1/chat/completions");
    let err = done(vault.fetch("azure".into(), elsewhere, init.into()))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "invalid_input");
    assert!(
        message(&err).contains("azure/openai/v1"),
        "{}",
        message(&err)
    );
}
