//! The providers the proxy serves and how each one authenticates.

use std::fmt;
use std::str::FromStr;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::ProxyError;

/// An upstream LLM provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// OpenAI.
    Openai,
    /// Anthropic.
    Anthropic,
    /// Google Gemini.
    Gemini,
    /// OpenRouter.
    Openrouter,
    /// An operator-configured OpenAI-compatible server.
    Custom,
}

/// Value sent as `anthropic-version` when the client sent none.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

impl Provider {
    /// Every provider.
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

    /// The id used in routes, model prefixes and settings.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::Openai => "openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
            Self::Openrouter => "openrouter",
            Self::Custom => "custom",
        }
    }

    /// The default upstream base URL, or `None` for `custom` (which the operator must set).
    #[must_use]
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            Self::Openai => Some("https://api.openai.com"),
            Self::Anthropic => Some("https://api.anthropic.com"),
            Self::Gemini => Some("https://generativelanguage.googleapis.com"),
            Self::Openrouter => Some("https://openrouter.ai/api"),
            Self::Custom => None,
        }
    }

    /// Sets this provider's auth header from `key` on `headers`.
    ///
    /// # Security
    ///
    /// The value is marked sensitive so hyper and our logging never print it. This is the one
    /// place the key is exposed.
    ///
    /// # Errors
    ///
    /// [`ProxyError::MalformedKey`] when the key cannot be a header value.
    pub fn authorize(self, headers: &mut HeaderMap, key: &SecretString) -> Result<(), ProxyError> {
        let secret = key.expose_secret(); // copied into a sensitive header value, nowhere else
        let (name, value) = match self {
            Self::Openai | Self::Openrouter | Self::Custom => {
                let mut bearer = String::with_capacity("Bearer ".len() + secret.len());
                bearer.push_str("Bearer ");
                bearer.push_str(secret);
                (header::AUTHORIZATION, bearer)
            }
            Self::Anthropic => (HeaderName::from_static("x-api-key"), secret.to_owned()),
            Self::Gemini => (HeaderName::from_static("x-goog-api-key"), secret.to_owned()),
        };
        let mut value = HeaderValue::try_from(value).map_err(|_| ProxyError::MalformedKey)?;
        value.set_sensitive(true);
        headers.insert(name, value);
        if self == Self::Anthropic && !headers.contains_key("anthropic-version") {
            headers.insert(
                HeaderName::from_static("anthropic-version"),
                HeaderValue::from_static(ANTHROPIC_VERSION),
            );
        }
        Ok(())
    }

    /// The cheapest authenticated request for checking a key: `(path, method)`.
    #[must_use]
    pub fn key_check_path(self) -> &'static str {
        match self {
            Self::Openai | Self::Anthropic | Self::Custom => "/v1/models",
            Self::Gemini => "/v1beta/models?pageSize=1",
            // OpenRouter's model list is public; this one needs the key.
            Self::Openrouter => "/v1/key",
        }
    }

    /// The path of the provider's OpenAI-compatible endpoint for `kind`, if it has one.
    #[must_use]
    pub fn openai_compatible_path(self, kind: UnifiedKind) -> Option<&'static str> {
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
}

/// The unified (OpenAI-compatible) endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnifiedKind {
    /// `/v1/chat/completions`.
    Chat,
    /// `/v1/embeddings`.
    Embeddings,
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Provider {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|p| p.id() == s).ok_or(())
    }
}
