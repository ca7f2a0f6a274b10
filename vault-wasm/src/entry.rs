//! Provider keys and what the vault knows about them.

use serde::{Deserialize, Serialize};

pub use byok_providers::{Provider, UnknownProvider};

use crate::error::KeyShapeError;
use crate::secret::SecretString;
use crate::usd::format_usd;

/// Longest label accepted, in characters.
pub const MAX_LABEL_CHARS: usize = 64;
/// Longest key accepted, in bytes. Real keys are under 200; this only stops abuse.
pub const MAX_KEY_LEN: usize = 512;

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
    match provider.check_prefix(key) {
        Ok(()) => {}
        Err(Some(found)) => {
            return Err(KeyShapeError::WrongProvider {
                expected: provider,
                found,
            });
        }
        Err(None) => {
            return Err(KeyShapeError::WrongPrefix {
                provider,
                prefix: provider.key_prefix(),
            });
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

/// Checks the resource a `provider` key belongs to: for a provider that
/// [needs one](Provider::needs_resource) (Azure), one DNS label, given in any case (returned in
/// lowercase, as hosts are compared); for any other, none.
///
/// # Errors
///
/// A message saying what is wrong.
pub fn validate_resource(
    provider: Provider,
    resource: Option<&str>,
) -> Result<Option<String>, String> {
    let resource = resource.map(str::trim).filter(|r| !r.is_empty());
    match (resource, provider.needs_resource()) {
        (None, false) => Ok(None),
        (Some(_), false) => Err(format!(
            "{} keys have no resource name",
            provider.display_name()
        )),
        (None, true) => Err(format!(
            "{} keys need the name of their resource (the first part of its endpoint's host)",
            provider.display_name()
        )),
        (Some(name), true) => {
            let name = name.to_ascii_lowercase();
            byok_providers::resource::check(&name).map_err(|e| e.to_string())?;
            Ok(Some(name))
        }
    }
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
    /// Turned off by the user: kept, but never sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub off: bool,
    /// When the key stops working (milliseconds since the epoch), if the user said so; from
    /// then on it is not sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
    /// When the secret was last replaced in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_ms: Option<u64>,
    /// Until when the provider asked for no more requests with this key (it answered 429,
    /// with its `Retry-After` or a minute): other keys of the provider go first meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown_until_ms: Option<u64>,
    /// The resource the key belongs to, for a provider whose host is the user's resource
    /// (Azure's `<resource>.openai.azure.com`); sealed with the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

impl EntryMeta {
    /// Metadata of a key saved at `now`: on, untested, no cap and no expiry.
    #[must_use]
    pub fn new(provider: Provider, label: String, is_default: bool, now: u64) -> Self {
        Self {
            provider,
            label,
            is_default,
            created_ms: now,
            updated_ms: now,
            last_used_ms: None,
            last_tested_ms: None,
            test_status: TestStatus::Untested,
            daily_cap_micro_usd: None,
            off: false,
            expires_ms: None,
            replaced_ms: None,
            cooldown_until_ms: None,
            resource: None,
        }
    }

    /// Whether the key may be sent at `now`: on, and not expired.
    #[must_use]
    pub fn is_usable(&self, now_ms: u64) -> bool {
        !self.off && expiry(self.expires_ms, now_ms) != Expiry::Expired
    }
}

/// How long before its expiry date a key is flagged.
pub const EXPIRY_WARNING_MS: u64 = 7 * DAY_MS;
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Where a key stands against its expiry date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// No date set, or more than [`EXPIRY_WARNING_MS`] away.
    Fine,
    /// Expires within [`EXPIRY_WARNING_MS`], in `days_left` days.
    Soon {
        /// Days left, rounded up: 1 means within a day.
        days_left: u64,
    },
    /// The date has passed: the key is not sent.
    Expired,
}

/// Where a key expiring at `expires_ms` stands at `now_ms`.
#[must_use]
pub fn expiry(expires_ms: Option<u64>, now_ms: u64) -> Expiry {
    match expires_ms {
        Some(at) if now_ms >= at => Expiry::Expired,
        Some(at) if at - now_ms <= EXPIRY_WARNING_MS => Expiry::Soon {
            days_left: (at - now_ms).div_ceil(DAY_MS),
        },
        _ => Expiry::Fine,
    }
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
    /// Whether the user left it on (an off key is never sent).
    pub enabled: bool,
    /// When it expires (milliseconds since the epoch), if set; an expired key is not sent.
    pub expires_ms: Option<u64>,
    /// When its secret was last replaced, if ever.
    pub replaced_ms: Option<u64>,
    /// Until when the provider asked for no more requests with it (a 429), if that is later
    /// than the last time it was read; other keys of the provider go first meanwhile.
    pub cooldown_until_ms: Option<u64>,
    /// The resource the key belongs to (Azure), if its provider has them.
    pub resource: Option<String>,
}

impl KeyInfo {
    /// Whether the key may be sent at `now`: on, and not expired (as [`EntryMeta::is_usable`]).
    #[must_use]
    pub fn is_usable(&self, now_ms: u64) -> bool {
        self.enabled && expiry(self.expires_ms, now_ms) != Expiry::Expired
    }

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
            daily_cap_usd: m.daily_cap_micro_usd.map(format_usd),
            enabled: !m.off,
            expires_ms: m.expires_ms,
            replaced_ms: m.replaced_ms,
            cooldown_until_ms: m.cooldown_until_ms,
            resource: m.resource.clone(),
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
            (Groq, "gsk_abcdefghijklmnopqrstuvwxyz0123456789AB", Ok(())),
            (Deepseek, "sk-0123456789abcdef0123456789abcdef", Ok(())),
            (Mistral, "0123456789abcdefABCDEF0123456789", Ok(())),
            (Mistral, "0123456789abcdef", Err(TooShort(Mistral))),
            (
                Mistral,
                "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
                Err(WrongProvider {
                    expected: Mistral,
                    found: Openai,
                }),
            ),
            (Perplexity, "pplx-short", Err(TooShort(Perplexity))),
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
        assert!(!meta.off && meta.expires_ms.is_none() && meta.replaced_ms.is_none());
        let written = serde_json::to_string(&meta).unwrap();
        for field in ["daily_cap", "off", "expires", "replaced"] {
            assert!(!written.contains(field), "no {field} until it is set");
        }
    }

    #[test]
    fn expiry_warns_a_week_ahead_and_then_stops_the_key() {
        let at = 100 * DAY_MS;
        assert_eq!(expiry(None, at), Expiry::Fine);
        assert_eq!(expiry(Some(at), at - 8 * DAY_MS), Expiry::Fine);
        assert_eq!(
            expiry(Some(at), at - 7 * DAY_MS),
            Expiry::Soon { days_left: 7 }
        );
        assert_eq!(
            expiry(Some(at), at - DAY_MS - 1),
            Expiry::Soon { days_left: 2 }
        );
        assert_eq!(expiry(Some(at), at - 1), Expiry::Soon { days_left: 1 });
        assert_eq!(expiry(Some(at), at), Expiry::Expired);
        assert_eq!(expiry(Some(at), at + DAY_MS), Expiry::Expired);

        let mut meta = EntryMeta::new(Provider::Openai, "work".into(), true, 0);
        assert!(meta.is_usable(at));
        meta.expires_ms = Some(at);
        assert!(meta.is_usable(at - 1));
        assert!(!meta.is_usable(at));
        meta.expires_ms = None;
        meta.off = true;
        assert!(!meta.is_usable(at));
    }

    #[test]
    fn preview_shows_last_four_of_long_keys_only() {
        assert_eq!(preview(&"sk-abcdefghijklmnopWXYZ".into()), "…WXYZ");
        assert_eq!(preview(&"short-key".into()), "••••");
    }
}
