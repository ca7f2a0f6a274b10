//! The app's own provider keys (`BYOK_SERVER_KEY_*`) and when each may stand in for a user's
//! (`BYOK_FALLBACK`).

use std::collections::BTreeMap;

use secrecy::SecretString;

use crate::core::Provider;

/// When a server key may stand in for the user's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FallbackPolicy {
    /// Never.
    #[default]
    Off,
    /// When the request carries no `X-BYOK-Key`.
    WhenMissing,
    /// Also when the provider rejects the user's key (401/403), before any byte was sent.
    WhenMissingOrRejected,
}

/// The server keys and the fallback policy of each provider.
#[derive(Debug, Default)]
pub struct ServerKeys {
    /// Fallback policy per provider (absent = off).
    pub policies: BTreeMap<Provider, FallbackPolicy>,
    /// Server keys per provider, from the environment.
    pub keys: BTreeMap<Provider, SecretString>,
}

impl ServerKeys {
    /// `provider`'s fallback policy.
    #[must_use]
    pub fn policy(&self, provider: Provider) -> FallbackPolicy {
        self.policies.get(&provider).copied().unwrap_or_default()
    }

    /// `provider`'s server key, if its policy lets one stand in at all.
    #[must_use]
    pub fn key(&self, provider: Provider) -> Option<&SecretString> {
        (self.policy(provider) != FallbackPolicy::Off)
            .then(|| self.keys.get(&provider))
            .flatten()
    }

    /// Whether a server key may serve `provider` (for a caller the app vouches for).
    #[must_use]
    pub fn offers(&self, provider: Provider) -> bool {
        self.key(provider).is_some()
    }
}
