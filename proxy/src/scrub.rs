//! Removing keys from text that came from upstream (error bodies) before anyone sees it.
//!
//! ```
//! use byok_proxy::scrub::scrub;
//!
//! let body = r#"{"error":"Incorrect API key provided: sk-abc***wxyz"}"#;
//! assert_eq!(scrub(body, None), r#"{"error":"Incorrect API key provided: [REDACTED]"}"#);
//! ```

/// What replaces a key.
pub const REDACTED: &str = "[REDACTED]";

/// Prefixes that mark a token as a provider key (OpenAI, Anthropic, OpenRouter, Google) or a
/// grant token of ours.
pub(crate) const KEY_PREFIXES: [&str; 4] = ["sk-", "sk_", "AIza", crate::grants::TOKEN_PREFIX];

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

/// Replaces `key` (if given) and every key-shaped token (`sk-...`, `sk-ant-...`, `sk-or-...`,
/// `AIza...`, including masked echoes like `sk-abc***wxyz`) with `[REDACTED]`.
#[must_use]
pub fn scrub(text: &str, key: Option<&str>) -> String {
    let text = match key {
        Some(key) if key.len() >= 4 => text.replace(key, REDACTED),
        _ => text.to_owned(),
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_literal_key_is_redacted_whatever_its_shape() {
        assert_eq!(
            scrub("bad token custom-Secret-9 given", Some("custom-Secret-9")),
            "bad token [REDACTED] given"
        );
    }
}
