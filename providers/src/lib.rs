//! byok-providers: what byok knows about each LLM provider, written once.
//!
//! The browser vault needs a provider's name and the shape of its keys; the proxy needs its
//! upstream URL, how it authenticates, where to test a key and where its OpenAI-compatible
//! endpoints are. Both read them here, so adding a provider is one change in one place.
//!
//! This crate is plain data: no I/O, no HTTP types, small enough for the wasm build. It also
//! holds the other things both sides must agree on to the letter: how a UTC day is written in
//! usage answers ([`day`]), and which paths could become another path on the way ([`path`]).

pub mod day;
pub mod path;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An LLM provider byok can hold keys for and forward requests to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// OpenAI (`sk-...`, `sk-proj-...`).
    Openai,
    /// Anthropic (`sk-ant-...`).
    Anthropic,
    /// Google Gemini (`AIza...`).
    Gemini,
    /// OpenRouter (`sk-or-...`).
    Openrouter,
    /// Any OpenAI-compatible server the operator configures; its keys have no fixed shape.
    Custom,
}

/// How a provider expects its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// The key alone in the named header (lowercase).
    Header(&'static str),
}

/// The unified (OpenAI-compatible) endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnifiedKind {
    /// `/v1/chat/completions`.
    Chat,
    /// `/v1/embeddings`.
    Embeddings,
}

/// Value sent as `anthropic-version` when the client sent none.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

impl Provider {
    /// Every provider, in display order.
    pub const ALL: [Provider; 5] = [
        Self::Openai,
        Self::Anthropic,
        Self::Gemini,
        Self::Openrouter,
        Self::Custom,
    ];

    /// The provider's position in [`Provider::ALL`], for per-provider arrays.
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The identifier used in APIs, routes, model prefixes and settings (`openai`, ...).
    #[must_use]
    pub const fn id(self) -> &'static str {
        match self {
            Self::Openai => "openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
            Self::Openrouter => "openrouter",
            Self::Custom => "custom",
        }
    }

    /// The name shown to people.
    #[must_use]
    pub const fn display_name(self) -> &'static str {
        match self {
            Self::Openai => "OpenAI",
            Self::Anthropic => "Anthropic",
            Self::Gemini => "Google Gemini",
            Self::Openrouter => "OpenRouter",
            Self::Custom => "Custom (OpenAI-compatible)",
        }
    }

    // ---- keys ------------------------------------------------------------------------------

    /// What every key of this provider starts with (empty for `custom`).
    #[must_use]
    pub const fn key_prefix(self) -> &'static str {
        match self {
            Self::Openai => "sk-",
            Self::Anthropic => "sk-ant-",
            Self::Gemini => "AIza",
            Self::Openrouter => "sk-or-",
            Self::Custom => "",
        }
    }

    /// The shortest plausible key, in bytes.
    #[must_use]
    pub const fn min_key_len(self) -> usize {
        match self {
            Self::Gemini => 30,
            Self::Custom => 1,
            Self::Openai | Self::Anthropic | Self::Openrouter => 20,
        }
    }

    /// Which provider a key's prefix says it belongs to, if any (`custom` keys have no prefix).
    #[must_use]
    pub fn guess_from_key(key: &str) -> Option<Provider> {
        // Longest prefixes first: `sk-ant-` and `sk-or-` are also `sk-`.
        [
            Self::Anthropic,
            Self::Openrouter,
            Self::Gemini,
            Self::Openai,
        ]
        .into_iter()
        .find(|p| key.starts_with(p.key_prefix()))
    }

    // ---- upstream --------------------------------------------------------------------------

    /// The default upstream base URL, or `None` for `custom` (which the operator must set).
    #[must_use]
    pub const fn default_base_url(self) -> Option<&'static str> {
        match self {
            Self::Openai => Some("https://api.openai.com"),
            Self::Anthropic => Some("https://api.anthropic.com"),
            Self::Gemini => Some("https://generativelanguage.googleapis.com"),
            Self::Openrouter => Some("https://openrouter.ai/api"),
            Self::Custom => None,
        }
    }

    /// How the provider expects its key.
    #[must_use]
    pub const fn auth(self) -> Auth {
        match self {
            Self::Openai | Self::Openrouter | Self::Custom => Auth::Bearer,
            Self::Anthropic => Auth::Header("x-api-key"),
            Self::Gemini => Auth::Header("x-goog-api-key"),
        }
    }

    /// The cheapest authenticated request for checking a key (a `GET`).
    #[must_use]
    pub const fn key_check_path(self) -> &'static str {
        match self {
            Self::Openai | Self::Anthropic | Self::Custom => "/v1/models",
            Self::Gemini => "/v1beta/models?pageSize=1",
            // OpenRouter's model list is public; this one needs the key.
            Self::Openrouter => "/v1/key",
        }
    }

    /// The path of the provider's OpenAI-compatible endpoint for `kind`, if it has one.
    #[must_use]
    pub const fn openai_compatible_path(self, kind: UnifiedKind) -> Option<&'static str> {
        match (self, kind) {
            (Self::Openai | Self::Openrouter | Self::Custom, UnifiedKind::Chat) => {
                Some("/v1/chat/completions")
            }
            (Self::Openai | Self::Openrouter | Self::Custom, UnifiedKind::Embeddings) => {
                Some("/v1/embeddings")
            }
            (Self::Anthropic, UnifiedKind::Chat) => Some("/v1/chat/completions"),
            (Self::Anthropic, UnifiedKind::Embeddings) => None,
            (Self::Gemini, UnifiedKind::Chat) => Some("/v1beta/openai/chat/completions"),
            (Self::Gemini, UnifiedKind::Embeddings) => Some("/v1beta/openai/embeddings"),
        }
    }

    // ---- usage -----------------------------------------------------------------------------

    /// Whether the provider's answers carry their own cost (OpenRouter's `usage.cost`), so the
    /// price table is not used for them.
    #[must_use]
    pub const fn reports_cost(self) -> bool {
        matches!(self, Self::Openrouter)
    }
}

/// Writes the id (`openai`): the form logs, routes and settings use. People read
/// [`Provider::display_name`].
impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The error for an unknown provider id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider {0:?}; expected one of openai, anthropic, gemini, openrouter, custom")]
pub struct UnknownProvider(pub String);

impl FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.id() == s)
            .ok_or_else(|| UnknownProvider(s.chars().take(32).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_json() {
        for p in Provider::ALL {
            assert_eq!(p.id().parse::<Provider>(), Ok(p));
            assert_eq!(
                serde_json::to_string(&p).unwrap(),
                format!("\"{}\"", p.id())
            );
            assert_eq!(Provider::ALL[p.index()], p);
        }
        let err = "azure".parse::<Provider>().unwrap_err();
        assert!(err.to_string().contains("\"azure\""), "{err}");
        let long = "x".repeat(100).parse::<Provider>().unwrap_err();
        assert_eq!(long.0.len(), 32, "an unknown id is cut before it is quoted");
    }

    #[test]
    fn keys_are_told_apart_by_their_longest_prefix() {
        let cases = [
            ("sk-ant-api03-abc", Some(Provider::Anthropic)),
            ("sk-or-v1-abc", Some(Provider::Openrouter)),
            ("sk-proj-abc", Some(Provider::Openai)),
            ("sk-abc", Some(Provider::Openai)),
            ("AIzaSyA", Some(Provider::Gemini)),
            ("xoxb-123", None),
            ("", None),
        ];
        for (key, want) in cases {
            assert_eq!(Provider::guess_from_key(key), want, "{key}");
        }
        for p in Provider::ALL {
            if p != Provider::Custom {
                let key = format!("{}{}", p.key_prefix(), "a".repeat(40));
                assert_eq!(Provider::guess_from_key(&key), Some(p));
            }
        }
    }

    #[test]
    fn every_provider_but_custom_has_a_default_upstream_and_a_chat_endpoint() {
        for p in Provider::ALL {
            let url = p.default_base_url();
            assert_eq!(url.is_none(), p == Provider::Custom, "{p:?}");
            if let Some(url) = url {
                assert!(url.starts_with("https://") && !url.ends_with('/'), "{url}");
            }
            assert!(p.openai_compatible_path(UnifiedKind::Chat).is_some());
            assert!(p.key_check_path().starts_with('/'));
        }
        assert_eq!(
            Provider::Anthropic.openai_compatible_path(UnifiedKind::Embeddings),
            None
        );
    }
}
