//! Removing keys from what came from upstream before anyone sees it.
//!
//! ```
//! use byok_proxy::scrub::scrub;
//!
//! let body = r#"{"error":"Incorrect API key provided: sk-abc***wxyz"}"#;
//! assert_eq!(scrub(body, None), r#"{"error":"Incorrect API key provided: [REDACTED]"}"#);
//! ```
//!
//! What is recognised, and where:
//!
//! - **Response headers**: a value holding the request's key or a key prefix as they are is
//!   [`scrub`]bed (or dropped when what is left is not a valid value).
//! - **Error bodies** (read whole, then [`scrub`]bed): the request's key as it is, in base64 (standard or URL-safe, at any offset, so also inside an encoded
//!   `user:key` or `Bearer key`), and behind JSON escapes (`sk\u002dproj...`, `\/`: JSON bodies
//!   and `data:` lines of event streams are decoded and checked; one that hid a key is written
//!   out again, its object keys then in sorted order); and any key-shaped token (`sk-...`,
//!   `AIza...`, `byok_g_...`, masked echoes like `sk-abc***wxyz`) whatever key it is.
//! - **Successful answers** (streamed, never held): the request's key as it is, also when it
//!   is cut across two reads of the stream ([`stream::KeyFilter`]). It is replaced by a mask of
//!   its own length, so a `Content-Length` stays true. A key-shaped token there is left alone:
//!   it may be the model's own writing (code samples).
//!
//! Not recognised: a key divided between the contents of separate events (a model writing it
//! piece by piece: providers never give the model the key), a key inside a compressed
//! successful answer (the proxy never asks for compression, so providers send it plain), and
//! encodings other than the above (hex, percent-encoding of letters, and so on).

pub mod stream;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

/// What replaces a key.
pub const REDACTED: &str = "[REDACTED]";

/// Prefixes that mark a token as a provider key (OpenAI, Anthropic, OpenRouter, Google) or a
/// grant token of ours.
pub(crate) const KEY_PREFIXES: [&str; 4] =
    ["sk-", "sk_", "AIza", crate::core::grant_id::TOKEN_PREFIX];

/// Keys shorter than this are not searched for in base64: its forms would be too short to
/// tell from chance.
const MIN_BASE64_KEY: usize = 16;

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*' | '.' | '•' | '…')
}

/// Whether `token` is shaped like a provider key or a grant token (a known prefix and at least
/// eight characters).
#[must_use]
pub fn key_shaped(token: &str) -> bool {
    let token = token.trim();
    token.len() >= 8 && KEY_PREFIXES.iter().any(|p| token.starts_with(p))
}

/// Whether `bytes` holds `key` (if given) or a key prefix as they are: a fast check for
/// response headers (one scan for the bytes those start with), where the other forms are not
/// looked for.
#[must_use]
pub fn may_leak(bytes: &[u8], key: Option<&str>) -> bool {
    let key = key.map(str::as_bytes).filter(|k| !k.is_empty());
    let starts = |rest: &[u8]| {
        KEY_PREFIXES.iter().any(|p| rest.starts_with(p.as_bytes()))
            || key.is_some_and(|k| rest.starts_with(k))
    };
    // Every prefix starts with one of these; a key that does not is searched for on its own.
    memchr::memchr3_iter(b's', b'A', b'b', bytes).any(|i| starts(&bytes[i..]))
        || key.is_some_and(|k| {
            !matches!(k[0], b's' | b'A' | b'b') && memchr::memmem::find(bytes, k).is_some()
        })
}

/// Whether a word of `text` (a run of key characters) starts with a key prefix, however short:
/// what is left when something cut a key short.
#[must_use]
pub fn starts_a_key(text: &str) -> bool {
    text.split(|c: char| !is_token_char(c))
        .any(|word| KEY_PREFIXES.iter().any(|p| word.starts_with(p)))
}

/// Replaces `key` (if given: as it is, in base64, or behind JSON escapes) and every key-shaped
/// token (`sk-...`, `sk-ant-...`, `sk-or-...`, `AIza...`, including masked echoes like
/// `sk-abc***wxyz`) with `[REDACTED]`. See the module docs for the forms recognised.
#[must_use]
pub fn scrub(text: &str, key: Option<&str>) -> String {
    let needles = Needles::new(key);
    let plain = needles.scrub_text(text);
    if !plain.contains('\\') {
        return plain;
    }
    unescaped(&plain, &needles).unwrap_or(plain)
}

/// What [`scrub`] looks for besides key shapes: the key and its base64 forms, worked out once
/// per text (a JSON body is scrubbed string by string).
struct Needles<'a> {
    key: Option<&'a str>,
    base64: Vec<String>,
}

impl<'a> Needles<'a> {
    fn new(key: Option<&'a str>) -> Self {
        Self {
            key: key.filter(|k| k.len() >= 4),
            base64: key.map(base64_forms).unwrap_or_default(),
        }
    }

    /// [`scrub`] without looking behind JSON escapes.
    fn scrub_text(&self, text: &str) -> String {
        let mut text = match self.key {
            Some(key) => text.replace(key, REDACTED),
            None => text.to_owned(),
        };
        for form in &self.base64 {
            if text.contains(form.as_str()) {
                text = text.replace(form.as_str(), REDACTED);
            }
        }
        redact_key_shapes(&text)
    }
}

/// Every key-shaped token of `text` replaced.
fn redact_key_shapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_token_char) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        let token = &rest[..end];
        out.push_str(if key_shaped(token) { REDACTED } else { token });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The parts of `key`'s base64 encodings that do not depend on what surrounds it: for each of
/// the three offsets it can start at within a 3-byte group, the characters made only of its
/// own bits; in the standard and the URL-safe alphabet. None for a short key.
fn base64_forms(key: &str) -> Vec<String> {
    let key = key.as_bytes();
    if key.len() < MIN_BASE64_KEY {
        return Vec::new();
    }
    let mut forms = Vec::with_capacity(6);
    for offset in 0..3usize {
        let mut bytes = vec![0u8; offset];
        bytes.extend_from_slice(key);
        // Characters before `first` hold bits of the padding; from `last` on, bits of whatever
        // follows the key.
        let first = (8 * offset).div_ceil(6);
        let last = 8 * bytes.len() / 6;
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let form = engine.encode(&bytes)[first..last].to_owned();
            if !forms.contains(&form) {
                forms.push(form);
            }
        }
    }
    forms
}

/// `text` with keys hidden behind JSON escapes removed, if it is JSON (or lines of it, as in an
/// event stream's `data:` lines) and any were found; `None` when there was nothing to do.
fn unescaped(text: &str, needles: &Needles<'_>) -> Option<String> {
    if let Some(clean) = clean_json(text, needles) {
        return Some(clean);
    }
    let mut changed = false;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let (lead, json) = match body.strip_prefix("data:") {
            Some(rest) => ("data: ", rest.trim_start()),
            None => ("", body),
        };
        match clean_json(json, needles) {
            Some(clean) => {
                changed = true;
                out.push_str(lead);
                out.push_str(&clean);
                out.push_str(&line[body.len()..]);
            }
            None => out.push_str(line),
        }
    }
    changed.then_some(out)
}

/// `json` written out again with every string scrubbed, if it parses and a decoded string held
/// what [`Needles::scrub_text`] removes; else `None`.
fn clean_json(json: &str, needles: &Needles<'_>) -> Option<String> {
    if !json.contains('\\') {
        return None;
    }
    let mut value: serde_json::Value = serde_json::from_str(json).ok()?;
    clean_value(&mut value, needles).then(|| value.to_string())
}

/// Scrubs every string in `value` (object keys too); whether any changed.
fn clean_value(value: &mut serde_json::Value, needles: &Needles<'_>) -> bool {
    use serde_json::Value;
    let clean = |s: &mut String| {
        let scrubbed = needles.scrub_text(s);
        let changed = scrubbed != *s;
        *s = scrubbed;
        changed
    };
    match value {
        Value::String(s) => clean(s),
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| clean_value(v, needles) | changed),
        Value::Object(map) => {
            let mut changed = false;
            let entries = std::mem::take(map);
            for (mut name, mut v) in entries {
                changed |= clean(&mut name);
                changed |= clean_value(&mut v, needles);
                map.insert(name, v);
            }
            changed
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-proj-Xy7Qm2Lp9Rt4Vb8Nc3Kd";

    #[test]
    fn key_shapes_are_redacted_and_prose_is_kept() {
        let cases = [
            (
                "Incorrect API key provided: sk-proj-abcdef123456.",
                "Incorrect API key provided: [REDACTED]",
            ),
            (
                "key sk-ant-api03-XYZxyz_-123 invalid",
                "key [REDACTED] invalid",
            ),
            ("sk-or-v1-0123456789abcdef", "[REDACTED]"),
            ("AIzaSyA-1234567890abcdefghijklmnopqrstu", "[REDACTED]"),
            ("masked sk-abc***wxyz here", "masked [REDACTED] here"),
            ("task-manager sk-1 risk-free", "task-manager sk-1 risk-free"),
            ("{\"k\":\"sk-proj-abcdefgh\"}", "{\"k\":\"[REDACTED]\"}"),
            (
                "grant byok_g_AbC-_123xyz refused",
                "grant [REDACTED] refused",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(scrub(input, None), want, "{input}");
        }
    }

    #[test]
    fn may_leak_finds_the_key_and_every_prefix_anywhere() {
        for prefix in KEY_PREFIXES {
            assert!(
                may_leak(format!("x {prefix}abc").as_bytes(), None),
                "{prefix}"
            );
        }
        assert!(may_leak(b"req_custom-Secret-9", Some("custom-Secret-9")));
        assert!(may_leak(b"a sk-user", Some("sk-user")));
        assert!(!may_leak(
            b"application/json; charset=utf-8",
            Some("custom-Secret-9")
        ));
        assert!(!may_leak(b"bask basket A", Some("zz-top-secret")));
    }

    #[test]
    fn a_word_starting_like_a_key_is_told_from_one_that_contains_it() {
        assert!(starts_a_key("x sk-ant\u{fffd}abc"));
        assert!(starts_a_key("(AIza"));
        assert!(!starts_a_key("task-manager disk-free"));
    }

    #[test]
    fn the_literal_key_is_redacted_whatever_its_shape() {
        assert_eq!(
            scrub("bad token custom-Secret-9 given", Some("custom-Secret-9")),
            "bad token [REDACTED] given"
        );
    }

    #[test]
    fn a_key_in_base64_is_found_at_every_offset_in_both_alphabets() {
        for key in [KEY, "custom-server-token-+/?~>>"] {
            for lead in ["", "u", "us", "Bearer ", "user:"] {
                let secret = format!("{lead}{key}");
                for encoded in [
                    STANDARD_NO_PAD.encode(&secret),
                    base64::engine::general_purpose::STANDARD.encode(&secret),
                    URL_SAFE_NO_PAD.encode(&secret),
                ] {
                    let text = format!("{{\"auth\":\"Basic {encoded}\"}}");
                    let out = scrub(&text, Some(key));
                    assert!(out.contains(REDACTED), "{lead:?} {encoded} -> {out}");
                    // What is left of the encoding cannot give back more than two characters.
                    for form in base64_forms(key) {
                        assert!(!out.contains(&form), "{out}");
                    }
                }
            }
        }
        // A short key is not searched for in base64 (its forms would match by chance).
        assert!(base64_forms("sk-short1").is_empty());
    }

    #[test]
    fn a_key_behind_json_escapes_is_found() {
        let escaped = KEY.replace('-', "\\u002d");
        let all_escaped: String = KEY
            .chars()
            .map(|c| format!("\\u{:04X}", c as u32))
            .collect();
        for hidden in [escaped.as_str(), all_escaped.as_str()] {
            let body = format!("{{\"error\":{{\"message\":\"bad key {hidden} \\/ try again\"}}}}");
            let out = scrub(&body, Some(KEY));
            assert!(!out.contains(&KEY[8..]), "{out}");
            let json: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(json["error"]["message"], "bad key [REDACTED] / try again");
            // An unknown key in the same clothes goes by its shape.
            let out = scrub(&body, None);
            assert!(out.contains(REDACTED), "{out}");
        }
        // In an event stream, each `data:` line is read as JSON.
        let sse = format!(
            "event: error\ndata: {{\"message\":\"{escaped}\"}}\n\ndata: {{\"ok\":\"a\\/b\"}}\n\n"
        );
        let out = scrub(&sse, Some(KEY));
        assert_eq!(
            out,
            "event: error\ndata: {\"message\":\"[REDACTED]\"}\n\ndata: {\"ok\":\"a\\/b\"}\n\n"
        );
    }

    #[test]
    fn escapes_that_hide_nothing_leave_the_text_as_it_was() {
        let body = "{\"b\":\"caf\\u00e9 \\/ \\n\",\"a\":1}";
        assert_eq!(scrub(body, Some(KEY)), body);
        assert_eq!(scrub("not json \\u002d", Some(KEY)), "not json \\u002d");
    }
}
