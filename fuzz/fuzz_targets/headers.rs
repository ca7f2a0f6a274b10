//! Headers a client sends and headers a provider answers with: nothing that carries a
//! credential reaches the provider, and no header passed back to the client holds the key.
#![no_main]

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use byok_proxy::http::forward::{request_headers, response_headers};
use byok_proxy::scrub::starts_a_key;
use libfuzzer_sys::fuzz_target;

const KEY: &str = "sk-proj-FUZZfuzzFUZZfuzz0001";

fuzz_target!(|raw: &[u8]| {
    let mut headers = HeaderMap::new();
    for line in raw.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        // The key may stand anywhere a `@` is.
        let value = value
            .split(|&b| b == b'@')
            .collect::<Vec<_>>()
            .join(KEY.as_bytes());
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name),
            HeaderValue::from_bytes(&value),
        ) {
            headers.append(name, value);
        }
    }
    let upstream = request_headers(headers.clone());
    for name in [
        "x-byok-key",
        "authorization",
        "cookie",
        "host",
        "x-api-key",
        "x-goog-api-key",
    ] {
        assert!(!upstream.contains_key(name), "{name} forwarded");
    }
    let back = response_headers(headers, KEY);
    for (name, value) in &back {
        let value = value.as_bytes();
        assert!(
            !value.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
            "{name} passed the key"
        );
        let text = String::from_utf8_lossy(value);
        assert!(
            !starts_a_key(&text),
            "{name} passed the start of a key: {text:?}"
        );
    }
});
