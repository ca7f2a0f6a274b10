//! Models: the one rule a model pattern matches by (grant scopes and tiers alike), and the
//! model a provider request names. Pure functions, no I/O.

use serde_json::Value;

use super::Provider;

/// Whether `model` matches `pattern`: the exact name, or a prefix ending in `*`. The one rule
/// for grant scopes and tiers alike.
#[must_use]
pub fn matches(pattern: &str, model: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => model.starts_with(prefix),
        None => pattern == model,
    }
}

/// The model a provider request names, as the provider knows it: Gemini's from the path
/// (`.../models/{model}:{method}`), the others' from the JSON body's `model`.
#[must_use]
pub fn requested_model(provider: Provider, path: &str, body: &[u8]) -> Option<String> {
    if provider == Provider::Gemini
        && let Some((_, rest)) = path.split_once("/models/")
    {
        let model = rest.split([':', '/', '?']).next().unwrap_or_default();
        return (!model.is_empty()).then(|| model.to_owned());
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("model")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_requested_model_per_provider() {
        let body = br#"{"model":"gpt-4o-mini","messages":[]}"#;
        assert_eq!(
            requested_model(Provider::Openai, "/v1/chat/completions", body).as_deref(),
            Some("gpt-4o-mini")
        );
        assert_eq!(
            requested_model(Provider::Anthropic, "/v1/messages", br#"{"max_tokens":1}"#),
            None
        );
        assert_eq!(requested_model(Provider::Openai, "/v1/models", b""), None);
        assert_eq!(
            requested_model(
                Provider::Gemini,
                "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
                b"{}"
            )
            .as_deref(),
            Some("gemini-2.0-flash")
        );
        assert_eq!(
            requested_model(
                Provider::Gemini,
                "/v1beta/openai/chat/completions",
                br#"{"model":"gemini-2.0-flash"}"#
            )
            .as_deref(),
            Some("gemini-2.0-flash")
        );
    }
}
