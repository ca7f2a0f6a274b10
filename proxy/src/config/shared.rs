//! Settings for state shared between instances: the server secret, the store, and grants.

use std::time::Duration;

use secrecy::SecretString;

use super::parse::parse_duration;
use super::{Args, ConfigError, Settings, bad};
use crate::server_secret::ServerSecret;
use crate::store::redis::RedisStore;

/// Limits on grants.
#[derive(Debug, Clone)]
pub struct GrantSettings {
    /// Longest lifetime a grant may ask for.
    pub max_ttl: Duration,
    /// Live grants allowed per key.
    pub max_live_per_key: u32,
    /// Grants created per minute, per client address and per key (0 = off).
    pub create_per_minute: u32,
}

impl Default for GrantSettings {
    fn default() -> Self {
        Self {
            max_ttl: Duration::from_secs(24 * 3600),
            max_live_per_key: 100,
            create_per_minute: 60,
        }
    }
}

/// Validates the shared-state settings of `args` (and `BYOK_SECRET` through `env`) into `s`.
pub(super) fn validate(
    args: &Args,
    env: &impl Fn(&str) -> Option<String>,
    s: &mut Settings,
) -> Result<(), ConfigError> {
    if let Some(v) = &args.store_timeout {
        s.store_timeout = parse_duration(v)
            .filter(|d| !d.is_zero())
            .ok_or_else(|| bad("BYOK_STORE_TIMEOUT", "expected a duration such as 250ms"))?;
    }
    if let Some(v) = &args.grant_max_ttl {
        s.grants.max_ttl = parse_duration(v)
            .filter(|d| d.as_secs() >= 1)
            .ok_or_else(|| {
                bad(
                    "BYOK_GRANT_MAX_TTL",
                    "expected a duration such as 30m or 24h",
                )
            })?;
    }
    if let Some(v) = args.grants_per_key {
        if v == 0 {
            return Err(bad("BYOK_GRANTS_PER_KEY", "must be at least 1"));
        }
        s.grants.max_live_per_key = v;
    }
    if let Some(v) = args.grant_rate_limit {
        s.grants.create_per_minute = v;
    }
    let urls: Vec<String> = args
        .redis_url
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect();
    if !urls.is_empty() {
        // Checked now, so a typo fails at start; connecting waits for the first use.
        RedisStore::new(&urls, s.store_timeout).map_err(|p| bad("BYOK_REDIS_URL", p))?;
    }
    match env("BYOK_SECRET").filter(|v| !v.trim().is_empty()) {
        Some(text) => s.secret = ServerSecret::parse(&text).map_err(|p| bad("BYOK_SECRET", p))?,
        None if !urls.is_empty() => {
            return Err(bad(
                "BYOK_SECRET",
                "required with BYOK_REDIS_URL: every instance sharing the store needs the same \
                 secret (64 hex digits, e.g. from `openssl rand -hex 32`)",
            ));
        }
        None => {}
    }
    s.redis_urls = urls.into_iter().map(SecretString::from).collect();
    Ok(())
}
