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
pub mod resource;

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
    /// Mistral AI (no fixed prefix).
    Mistral,
    /// Groq (`gsk_...`).
    Groq,
    /// DeepSeek (`sk-...`, like OpenAI's).
    Deepseek,
    /// xAI (`xai-...`).
    Xai,
    /// Together AI (no fixed prefix).
    Together,
    /// Fireworks AI (no fixed prefix).
    Fireworks,
    /// Cerebras (`csk-...`).
    Cerebras,
    /// Perplexity (`pplx-...`).
    Perplexity,
    /// Azure OpenAI: keys have no fixed shape, and each belongs to a resource the user names
    /// (`<resource>.openai.azure.com`, see [`resource`]).
    Azure,
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

/// The shape of a provider's answers, as far as reading usage goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAI's: chat completions (`usage.prompt_tokens`, streams ending with `[DONE]`) and
    /// Responses (`usage.input_tokens`, streams ending with `response.completed`).
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
    /// Gemini's `generateContent` (`usageMetadata`).
    Gemini,
}

/// The cheapest authenticated request that tells whether a provider accepts a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    /// A `GET` of this path: 2xx means accepted.
    Get(&'static str),
    /// A `POST` of `{}` to this path, for a provider whose `GET`s need no key: it checks the
    /// key before the body, so an accepted key gets 400 (the empty request) and nothing runs
    /// or is billed.
    PostEmpty(&'static str),
}

impl KeyCheck {
    /// The path requested.
    #[must_use]
    pub const fn path(self) -> &'static str {
        match self {
            Self::Get(path) | Self::PostEmpty(path) => path,
        }
    }

    /// Whether `status` says the provider accepted the key (a 429 says so too: the key is
    /// known, only limited).
    #[must_use]
    pub const fn accepted(self, status: u16) -> bool {
        matches!(status, 200..=299 | 429) || matches!((self, status), (Self::PostEmpty(_), 400))
    }
}

/// Value sent as `anthropic-version` when the client sent none.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Everything byok knows about one provider: one row of [`SPECS`].
#[derive(Debug)]
struct Spec {
    id: &'static str,
    name: &'static str,
    /// What every key starts with; empty when keys have no fixed shape.
    key_prefix: &'static str,
    min_key_len: usize,
    /// `None` for `custom`, which the operator must set. Holds [`resource::SLOT`] once for a
    /// provider whose host is the user's resource.
    base_url: Option<&'static str>,
    auth: Auth,
    key_check: KeyCheck,
    chat: Option<&'static str>,
    embeddings: Option<&'static str>,
    dialect: Dialect,
    /// Whether answers carry their own cost, so the price table is not used for them.
    reports_cost: bool,
}

/// An OpenAI-compatible provider's row: Bearer auth, `/v1/models` to check a key, the
/// OpenAI dialect, priced from the table.
const fn openai_like(
    id: &'static str,
    name: &'static str,
    key_prefix: &'static str,
    min_key_len: usize,
    base_url: &'static str,
    embeddings: bool,
) -> Spec {
    Spec {
        id,
        name,
        key_prefix,
        min_key_len,
        base_url: Some(base_url),
        auth: Auth::Bearer,
        key_check: KeyCheck::Get("/v1/models"),
        chat: Some("/v1/chat/completions"),
        embeddings: if embeddings {
            Some("/v1/embeddings")
        } else {
            None
        },
        dialect: Dialect::Openai,
        reports_cost: false,
    }
}

/// One row per provider, in [`Provider::ALL`]'s order (a test checks it). Base URLs, paths
/// and key shapes as each provider documents them.
static SPECS: [Spec; 14] = [
    openai_like(
        "openai",
        "OpenAI",
        "sk-",
        20,
        "https://api.openai.com",
        true,
    ),
    Spec {
        id: "anthropic",
        name: "Anthropic",
        key_prefix: "sk-ant-",
        min_key_len: 20,
        base_url: Some("https://api.anthropic.com"),
        auth: Auth::Header("x-api-key"),
        key_check: KeyCheck::Get("/v1/models"),
        // Anthropic's OpenAI SDK compatibility layer; it has no embeddings.
        chat: Some("/v1/chat/completions"),
        embeddings: None,
        dialect: Dialect::Anthropic,
        reports_cost: false,
    },
    Spec {
        id: "gemini",
        name: "Google Gemini",
        key_prefix: "AIza",
        min_key_len: 30,
        base_url: Some("https://generativelanguage.googleapis.com"),
        auth: Auth::Header("x-goog-api-key"),
        key_check: KeyCheck::Get("/v1beta/models?pageSize=1"),
        chat: Some("/v1beta/openai/chat/completions"),
        embeddings: Some("/v1beta/openai/embeddings"),
        dialect: Dialect::Gemini,
        reports_cost: false,
    },
    Spec {
        // OpenRouter's model list is public; `/v1/key` needs the key. Its answers carry
        // their cost (`usage.cost`).
        key_check: KeyCheck::Get("/v1/key"),
        reports_cost: true,
        ..openai_like(
            "openrouter",
            "OpenRouter",
            "sk-or-",
            20,
            "https://openrouter.ai/api",
            true,
        )
    },
    openai_like("mistral", "Mistral", "", 32, "https://api.mistral.ai", true),
    // Groq serves the OpenAI API below `/openai`.
    openai_like(
        "groq",
        "Groq",
        "gsk_",
        40,
        "https://api.groq.com/openai",
        false,
    ),
    Spec {
        // DeepSeek documents its paths without `/v1`.
        key_check: KeyCheck::Get("/models"),
        chat: Some("/chat/completions"),
        ..openai_like(
            "deepseek",
            "DeepSeek",
            "sk-",
            30,
            "https://api.deepseek.com",
            false,
        )
    },
    openai_like("xai", "xAI", "xai-", 40, "https://api.x.ai", false),
    openai_like(
        "together",
        "Together AI",
        "",
        40,
        "https://api.together.xyz",
        true,
    ),
    openai_like(
        "fireworks",
        "Fireworks AI",
        "",
        20,
        "https://api.fireworks.ai/inference",
        true,
    ),
    openai_like(
        "cerebras",
        "Cerebras",
        "csk-",
        40,
        "https://api.cerebras.ai",
        false,
    ),
    Spec {
        // Perplexity retired its chat-completions (Sonar) endpoint on 2026-09-27; its Agent
        // API speaks OpenAI's Responses format at `/v1/responses`, through the pass-through
        // route. Its model list needs no key, so a key is checked with an empty request.
        key_check: KeyCheck::PostEmpty("/v1/responses"),
        chat: None,
        ..openai_like(
            "perplexity",
            "Perplexity",
            "pplx-",
            40,
            "https://api.perplexity.ai",
            false,
        )
    },
    Spec {
        // Azure OpenAI's v1 API: OpenAI's paths below `/openai/v1`, deployments as models, the
        // key alone in `api-key`. Keys are 32 hex digits (older) or 84 characters (newer).
        auth: Auth::Header("api-key"),
        key_check: KeyCheck::Get("/openai/v1/models"),
        chat: Some("/openai/v1/chat/completions"),
        embeddings: Some("/openai/v1/embeddings"),
        ..openai_like(
            "azure",
            "Azure OpenAI",
            "",
            32,
            "https://{resource}.openai.azure.com",
            true,
        )
    },
    Spec {
        base_url: None,
        ..openai_like("custom", "Custom (OpenAI-compatible)", "", 1, "", true)
    },
];

impl Provider {
    /// Every provider, in display order.
    pub const ALL: [Provider; 14] = [
        Self::Openai,
        Self::Anthropic,
        Self::Gemini,
        Self::Openrouter,
        Self::Mistral,
        Self::Groq,
        Self::Deepseek,
        Self::Xai,
        Self::Together,
        Self::Fireworks,
        Self::Cerebras,
        Self::Perplexity,
        Self::Azure,
        Self::Custom,
    ];

    /// The providers the settings page shows even without a saved key; the others are one
    /// choice away.
    pub const FEATURED: [Provider; 4] = [
        Self::Openai,
        Self::Anthropic,
        Self::Gemini,
        Self::Openrouter,
    ];

    /// The provider's position in [`Provider::ALL`], for per-provider arrays.
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }

    const fn spec(self) -> &'static Spec {
        &SPECS[self.index()]
    }

    /// The identifier used in APIs, routes, model prefixes and settings (`openai`, ...).
    #[must_use]
    pub const fn id(self) -> &'static str {
        self.spec().id
    }

    /// The name shown to people.
    #[must_use]
    pub const fn display_name(self) -> &'static str {
        self.spec().name
    }

    // ---- keys ------------------------------------------------------------------------------

    /// What every key of this provider starts with (empty when its keys have no fixed shape).
    #[must_use]
    pub const fn key_prefix(self) -> &'static str {
        self.spec().key_prefix
    }

    /// The shortest plausible key, in bytes.
    #[must_use]
    pub const fn min_key_len(self) -> usize {
        self.spec().min_key_len
    }

    /// Which provider a key's prefix says it belongs to, if any: the provider with the longest
    /// prefix the key starts with. Keys of providers without a fixed prefix are never guessed,
    /// and an `sk-` key is taken for OpenAI's (DeepSeek's look the same).
    #[must_use]
    pub fn guess_from_key(key: &str) -> Option<Provider> {
        Self::ALL
            .into_iter()
            .filter(|p| !p.key_prefix().is_empty() && key.starts_with(p.key_prefix()))
            // Among equal prefixes the first in display order wins (OpenAI before DeepSeek).
            .min_by_key(|p| (std::cmp::Reverse(p.key_prefix().len()), p.index()))
    }

    /// Whether `key` has this provider's shape as far as its prefix goes: the provider's own
    /// prefix and no longer one of another provider (`sk-ant-` is not an OpenAI key); for a
    /// provider without a prefix, no other provider's prefix at all. `custom` takes anything.
    ///
    /// # Errors
    ///
    /// The provider the key looks like instead, or `None` when it looks like nobody's.
    pub fn check_prefix(self, key: &str) -> Result<(), Option<Provider>> {
        if self == Self::Custom {
            return Ok(());
        }
        let own = self.key_prefix();
        match Self::guess_from_key(key) {
            Some(found) if found.key_prefix().len() > own.len() || !key.starts_with(own) => {
                Err(Some(found))
            }
            _ if !key.starts_with(own) => Err(None),
            _ => Ok(()),
        }
    }

    // ---- upstream --------------------------------------------------------------------------

    /// The default upstream base URL, or `None` for `custom` (which the operator must set).
    #[must_use]
    pub const fn default_base_url(self) -> Option<&'static str> {
        self.spec().base_url
    }

    /// Whether each key belongs to a resource the user names (Azure's), which requests carry
    /// as the first segment below the provider (`/azure/<resource>/...`) and which becomes
    /// part of the upstream host: see [`resource`].
    #[must_use]
    pub const fn needs_resource(self) -> bool {
        matches!(self, Self::Azure)
    }

    /// How the provider expects its key.
    #[must_use]
    pub const fn auth(self) -> Auth {
        self.spec().auth
    }

    /// The cheapest authenticated request for checking a key.
    #[must_use]
    pub const fn key_check(self) -> KeyCheck {
        self.spec().key_check
    }

    /// The path of the provider's OpenAI-compatible endpoint for `kind`, if it has one.
    #[must_use]
    pub const fn openai_compatible_path(self, kind: UnifiedKind) -> Option<&'static str> {
        match kind {
            UnifiedKind::Chat => self.spec().chat,
            UnifiedKind::Embeddings => self.spec().embeddings,
        }
    }

    // ---- usage -----------------------------------------------------------------------------

    /// The shape of the provider's answers, for reading usage.
    #[must_use]
    pub const fn dialect(self) -> Dialect {
        self.spec().dialect
    }

    /// Whether the provider's answers carry their own cost (OpenRouter's `usage.cost`), so the
    /// price table is not used for them.
    #[must_use]
    pub const fn reports_cost(self) -> bool {
        self.spec().reports_cost
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
#[error("unknown provider {given:?}; expected one of {}", Provider::ALL.map(Provider::id).join(", "), given = .0)]
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
        let err = "azure-ai".parse::<Provider>().unwrap_err();
        assert!(err.to_string().contains("\"azure-ai\""), "{err}");
        let long = "x".repeat(100).parse::<Provider>().unwrap_err();
        assert_eq!(long.0.len(), 32, "an unknown id is cut before it is quoted");
    }

    #[test]
    fn every_row_is_its_providers_own() {
        for p in Provider::ALL {
            // `spec` indexes SPECS by position: a row out of place would answer for another.
            assert_eq!(p.id(), format!("{p:?}").to_lowercase(), "{p:?}");
        }
        let mut ids = Provider::ALL.map(Provider::id);
        ids.sort_unstable();
        ids.windows(2).for_each(|w| assert_ne!(w[0], w[1]));
    }

    #[test]
    fn keys_are_told_apart_by_their_longest_prefix() {
        let cases = [
            ("sk-ant-api03-abc", Some(Provider::Anthropic)),
            ("sk-or-v1-abc", Some(Provider::Openrouter)),
            ("sk-proj-abc", Some(Provider::Openai)),
            ("sk-abc", Some(Provider::Openai)),
            ("AIzaSyA", Some(Provider::Gemini)),
            ("gsk_abc", Some(Provider::Groq)),
            ("csk-abc", Some(Provider::Cerebras)),
            ("xai-abc", Some(Provider::Xai)),
            ("pplx-abc", Some(Provider::Perplexity)),
            ("fw_abc", None),
            ("xoxb-123", None),
            ("", None),
        ];
        for (key, want) in cases {
            assert_eq!(Provider::guess_from_key(key), want, "{key}");
        }
        for p in Provider::ALL {
            if !p.key_prefix().is_empty() && p != Provider::Deepseek {
                let key = format!("{}{}", p.key_prefix(), "a".repeat(40));
                assert_eq!(Provider::guess_from_key(&key), Some(p));
            }
        }
    }

    #[test]
    fn a_key_is_checked_against_its_own_prefix_and_longer_ones() {
        use Provider::*;
        let cases = [
            (Openai, "sk-proj-abc", Ok(())),
            (Openai, "sk-ant-abc", Err(Some(Anthropic))),
            (Anthropic, "sk-proj-abc", Err(Some(Openai))),
            (Anthropic, "xoxb-abc", Err(None)),
            // DeepSeek's keys look like OpenAI's: taken as they are.
            (Deepseek, "sk-0123456789abcdef", Ok(())),
            (Deepseek, "sk-or-v1-abc", Err(Some(Openrouter))),
            (Groq, "gsk_abc", Ok(())),
            (Groq, "csk-abc", Err(Some(Cerebras))),
            // Without a prefix of its own: anything but another provider's.
            (Mistral, "0123456789abcdefABCDEF", Ok(())),
            (Together, "tgp_v1_abc", Ok(())),
            (Mistral, "sk-proj-abc", Err(Some(Openai))),
            (Custom, "sk-ant-abc", Ok(())),
            (Azure, "0123456789abcdef0123456789abcdef", Ok(())),
            (Azure, "sk-proj-abc", Err(Some(Openai))),
        ];
        for (provider, key, want) in cases {
            assert_eq!(provider.check_prefix(key), want, "{provider:?} {key}");
        }
    }

    #[test]
    fn a_key_check_reads_its_status_as_its_kind_says() {
        let get = Provider::Openai.key_check();
        assert!(get.accepted(200) && get.accepted(429));
        assert!(!get.accepted(400) && !get.accepted(401) && !get.accepted(500));
        let post = Provider::Perplexity.key_check();
        assert_eq!(post, KeyCheck::PostEmpty("/v1/responses"));
        assert!(post.accepted(400) && post.accepted(200));
        assert!(!post.accepted(401) && !post.accepted(403));
    }

    #[test]
    fn every_provider_but_custom_has_a_default_upstream() {
        for p in Provider::ALL {
            let url = p.default_base_url();
            assert_eq!(url.is_none(), p == Provider::Custom, "{p:?}");
            if let Some(url) = url {
                assert!(url.starts_with("https://") && !url.ends_with('/'), "{url}");
                assert_eq!(
                    url.matches(resource::SLOT).count(),
                    usize::from(p.needs_resource()),
                    "{url}"
                );
            }
            assert!(p.key_check().path().starts_with('/'));
            assert!(p.min_key_len() > p.key_prefix().len() || p == Provider::Custom);
            // Every provider but Perplexity (whose chat-completions endpoint is retired) has
            // the unified chat route.
            let chat = p.openai_compatible_path(UnifiedKind::Chat);
            assert_eq!(chat.is_none(), p == Provider::Perplexity, "{p:?}");
            for path in [chat, p.openai_compatible_path(UnifiedKind::Embeddings)]
                .into_iter()
                .flatten()
            {
                assert!(
                    path.starts_with('/') && !path::disguised(path.as_bytes()),
                    "{path}"
                );
            }
        }
        assert_eq!(
            Provider::Anthropic.openai_compatible_path(UnifiedKind::Embeddings),
            None
        );
    }
}
