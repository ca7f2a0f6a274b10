//! Provider keys and what the vault knows about them.

use serde::{Deserialize, Serialize};

pub use byok_providers::{Provider, UnknownProvider};

use crate::secret::SecretString;

/// Longest label accepted, in characters.
pub const MAX_LABEL_CHARS: usize = 64;
/// Longest key accepted, in bytes. Real keys are under 200; this only stops abuse.
pub const MAX_KEY_LEN: usize = 512;

/// Why a key was refused. Messages describe the problem without quoting the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyShapeError {
    /// Nothing (or only whitespace) was entered.
    #[error("the key is empty")]
    Empty,
    /// Spaces, tabs or line breaks inside the key: usually a bad copy-paste.
    #[error("the key contains spaces or line breaks; copy it again without them")]
    Whitespace,
    /// Characters no provider uses.
    #[error("the key contains characters that API keys never have")]
    BadCharacters,
    /// Longer than any real key.
    #[error("the key is too long to be an API key")]
    TooLong,
    /// Too short for this provider.
    #[error("the key is too short for a {} key", .0.display_name())]
    TooShort(Provider),
    /// The prefix says it belongs to another provider.
    #[error(
        "this looks like a key for {}, not for {}; choose {} as the provider",
        found.display_name(), expected.display_name(), found.display_name()
    )]
    WrongProvider {
        /// The provider chosen.
        expected: Provider,
        /// The provider the prefix belongs to.
        found: Provider,
    },
    /// The prefix is not the provider's.
    #[error("{} keys start with {prefix}", provider.display_name())]
    WrongPrefix {
        /// The provider chosen.
        provider: Provider,
        /// The prefix its keys start with.
        prefix: &'static str,
    },
}

/// Checks that `key` has the shape of a `provider` key and returns it without surrounding
/// whitespace (a trailing newline from a paste is common and harmless).
///
/// # Errors
///
/// A [`KeyShapeError`] saying what is wrong, never quoting the key.
pub fn validate_key(provider: Provider, key: &str) -> Result<SecretString, KeyShapeError> {
    let key = key.trim();
    if key.is_empty() {
        return Err(KeyShapeError::Empty);
    }
    if key.chars().any(char::is_whitespace) {
        return Err(KeyShapeError::Whitespace);
    }
    if !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(KeyShapeError::BadCharacters);
    }
    if key.len() > MAX_KEY_LEN {
        return Err(KeyShapeError::TooLong);
    }
    let prefix = provider.key_prefix();
    if provider != Provider::Custom {
        match Provider::guess_from_key(key) {
            Some(found) if found != provider => {
                return Err(KeyShapeError::WrongProvider {
                    expected: provider,
                    found,
                });
            }
            None => return Err(KeyShapeError::WrongPrefix { provider, prefix }),
            Some(_) => {}
        }
    }
    if key.len() < provider.min_key_len() {
        return Err(KeyShapeError::TooShort(provider));
    }
    Ok(SecretString::from(key))
}

/// Checks a label: trimmed, non-empty, at most [`MAX_LABEL_CHARS`], no control characters.
///
/// # Errors
///
/// A message saying what is wrong.
pub fn validate_label(label: &str) -> Result<String, String> {
    let label = label.trim();
    if label.is_empty() {
        return Err("the label is empty".into());
    }
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(format!(
            "the label is longer than {MAX_LABEL_CHARS} characters"
        ));
    }
    if label.chars().any(char::is_control) {
        return Err("the label contains control characters".into());
    }
    Ok(label.to_owned())
}

/// What shows of a key: its last four characters, and only when the key is long enough that
/// four characters reveal little.
#[must_use]
pub fn preview(key: &SecretString) -> String {
    let key = key.expose_secret();
    if key.len() < 16 {
        return "••••".into();
    }
    // Keys are ASCII (validated), so byte slicing is on character boundaries.
    format!("…{}", &key[key.len() - 4..])
}

/// The outcome of the last key test.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestStatus {
    /// Never tested.
    #[default]
    Untested,
    /// The provider accepted the key.
    Valid,
    /// The provider rejected the key.
    Invalid,
}

/// Everything about a key except the key itself. Stored encrypted with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryMeta {
    /// The provider.
    pub provider: Provider,
    /// The user's name for the key.
    pub label: String,
    /// Whether requests to this provider use this key.
    pub is_default: bool,
    /// When it was saved (milliseconds since the Unix epoch).
    pub created_ms: u64,
    /// When the label or default flag last changed.
    pub updated_ms: u64,
    /// When a request last used it.
    pub last_used_ms: Option<u64>,
    /// When it was last tested.
    pub last_tested_ms: Option<u64>,
    /// The last test's result.
    pub test_status: TestStatus,
    /// The most this key may spend in a UTC day, in micro-dollars; sent with each request as
    /// `X-BYOK-Daily-Cap` so the proxy refuses once the day's spend reaches it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_cap_micro_usd: Option<u64>,
}

/// A key in memory while the vault is unlocked.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The key itself.
    pub key: SecretString,
    /// Its metadata.
    pub meta: EntryMeta,
}

/// What the vault shows of a key: metadata and a preview, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    /// The record id.
    pub id: String,
    /// The provider.
    pub provider: Provider,
    /// The label.
    pub label: String,
    /// `…` and the last four characters, or `••••` for short keys.
    pub preview: String,
    /// Whether it is the provider's default key.
    pub is_default: bool,
    /// Milliseconds since the epoch.
    pub created_ms: u64,
    /// Milliseconds since the epoch.
    pub updated_ms: u64,
    /// Milliseconds since the epoch.
    pub last_used_ms: Option<u64>,
    /// Milliseconds since the epoch.
    pub last_tested_ms: Option<u64>,
    /// The last test's result.
    pub test_status: TestStatus,
    /// The daily spend cap in US dollars, as a decimal (`"5"`, `"0.5"`), or none.
    pub daily_cap_usd: Option<String>,
}

impl KeyInfo {
    pub(crate) fn new(id: &str, entry: &Entry) -> Self {
        let m = &entry.meta;
        Self {
            id: id.to_owned(),
            provider: m.provider,
            label: m.label.clone(),
            preview: preview(&entry.key),
            is_default: m.is_default,
            created_ms: m.created_ms,
            updated_ms: m.updated_ms,
            last_used_ms: m.last_used_ms,
            last_tested_ms: m.last_tested_ms,
            test_status: m.test_status,
            daily_cap_usd: m.daily_cap_micro_usd.map(crate::format_usd),
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn key_shapes_per_provider() {
        use KeyShapeError::*;
        use Provider::*;
        let cases: &[(Provider, &str, Result<(), KeyShapeError>)] = &[
            (Openai, "sk-proj-abcdefghijklmnopqrstuvwx", Ok(())),
            (Openai, "  sk-abcdefghijklmnopqrstuvwx\n", Ok(())),
            (Anthropic, "sk-ant-api03-abcdefghijklmnop", Ok(())),
            (Gemini, "AIzaSyA-abcdefghijklmnopqrstuvwxyz012", Ok(())),
            (Openrouter, "sk-or-v1-abcdefghijklmnopqrstuv", Ok(())),
            (Custom, "anything-goes_123", Ok(())),
            (Openai, "", Err(Empty)),
            (Openai, " \t\n ", Err(Empty)),
            (Openai, "sk-abc defghijklmnopqrstuvwxyz", Err(Whitespace)),
            (Custom, "tok\u{e9}n", Err(BadCharacters)),
            (Openai, "sk-short", Err(TooShort(Openai))),
            (
                Openai,
                "sk-ant-api03-abcdefghijklmnop",
                Err(WrongProvider {
                    expected: Openai,
                    found: Anthropic,
                }),
            ),
            (
                Anthropic,
                "sk-proj-abcdefghijklmnopqrstuvwx",
                Err(WrongProvider {
                    expected: Anthropic,
                    found: Openai,
                }),
            ),
            (
                Gemini,
                "xyz-abcdefghijklmnopqrstuvwxyz0123456",
                Err(WrongPrefix {
                    provider: Gemini,
                    prefix: "AIza",
                }),
            ),
        ];
        for (provider, key, want) in cases {
            let got = validate_key(*provider, key).map(|_| ());
            assert_eq!(&got, want, "{provider:?} {key:?}");
        }
        let long = format!("sk-{}", "a".repeat(MAX_KEY_LEN));
        assert_eq!(validate_key(Openai, &long).map(|_| ()), Err(TooLong));
    }

    #[test]
    fn errors_never_quote_the_key() {
        let key = "sk-ant-api03-SECRETSECRETSECRET";
        let err = validate_key(Provider::Openai, key).unwrap_err().to_string();
        assert!(!err.contains("SECRET"), "{err}");
        assert_eq!(
            err,
            "this looks like a key for Anthropic, not for OpenAI; choose Anthropic as the provider"
        );
    }

    #[test]
    fn records_written_before_caps_existed_still_open() {
        let old = r#"{"provider":"openai","label":"work","is_default":true,"created_ms":1,
            "updated_ms":1,"last_used_ms":null,"last_tested_ms":null,"test_status":"untested"}"#;
        let meta: EntryMeta = serde_json::from_str(old).unwrap();
        assert_eq!(meta.daily_cap_micro_usd, None);
        let written = serde_json::to_string(&meta).unwrap();
        assert!(
            !written.contains("daily_cap"),
            "no field until a cap is set"
        );
    }

    #[test]
    fn preview_shows_last_four_of_long_keys_only() {
        assert_eq!(preview(&"sk-abcdefghijklmnopWXYZ".into()), "…WXYZ");
        assert_eq!(preview(&"short-key".into()), "••••");
    }
}
