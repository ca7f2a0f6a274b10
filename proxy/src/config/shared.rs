//! Settings for state shared between instances: the server secret, the store, grants and seals.

use secrecy::SecretString;

use super::args::Args;
use super::parse::{ConfigError, bad, parse_duration};
use crate::alerts::AlertSettings;
use crate::core::secret::ServerSecret;
use crate::grants::GrantSettings;
use crate::seal::SealSettings;
use crate::store::StoreSettings;
use crate::store::redis::RedisStore;

/// The store `args` name, and the server secret (`BYOK_SECRET`, read through `env`): required
/// with Redis, made up at start otherwise.
pub(super) fn store(
    args: &Args,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(StoreSettings, ServerSecret), ConfigError> {
    let mut store = StoreSettings::default();
    if let Some(v) = &args.store_timeout {
        store.timeout = parse_duration(v)
            .filter(|d| !d.is_zero())
            .ok_or_else(|| bad("BYOK_STORE_TIMEOUT", "expected a duration such as 250ms"))?;
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
        RedisStore::new(&urls, store.timeout).map_err(|p| bad("BYOK_REDIS_URL", p))?;
    }
    let secret = match env("BYOK_SECRET").filter(|v| !v.trim().is_empty()) {
        Some(text) => ServerSecret::parse(&text).map_err(|p| bad("BYOK_SECRET", p))?,
        None if !urls.is_empty() => {
            return Err(bad(
                "BYOK_SECRET",
                "required with BYOK_REDIS_URL: every instance sharing the store needs the same \
                 secret (64 hex digits, e.g. from `openssl rand -hex 32`)",
            ));
        }
        None => ServerSecret::random(),
    };
    store.redis_urls = urls.into_iter().map(SecretString::from).collect();
    Ok((store, secret))
}

/// The limits on grants `args` set.
pub(super) fn grants(args: &Args) -> Result<GrantSettings, ConfigError> {
    let mut grants = GrantSettings::default();
    if let Some(v) = &args.grant_max_ttl {
        grants.max_ttl = parse_duration(v)
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
        grants.max_live_per_key = v;
    }
    Ok(grants)
}

/// The sealed-key settings `args` set.
pub(super) fn seal(args: &Args) -> Result<SealSettings, ConfigError> {
    let mut seal = SealSettings::default();
    if let Some(v) = &args.seal_rotation {
        seal.rotation = parse_duration(v)
            .filter(|d| d.as_secs() >= 600)
            .ok_or_else(|| {
                bad(
                    "BYOK_SEAL_ROTATION",
                    "expected a duration of at least 10m, such as 24h",
                )
            })?;
    }
    seal.require = match args.require_sealed.as_deref() {
        None | Some("off") => false,
        Some("on") => true,
        Some(_) => return Err(bad("BYOK_REQUIRE_SEALED", "expected on or off")),
    };
    Ok(seal)
}

/// The alert settings `args` set; the signing secret (`BYOK_ALERT_SECRET`) only through `env`.
pub(super) fn alerts(
    args: &Args,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<AlertSettings, ConfigError> {
    let mut alerts = AlertSettings::default();
    if let Some(text) = &args.alert_thresholds {
        let mut thresholds = text
            .split(',')
            .map(|t| {
                t.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|t| t.is_finite() && *t > 0.0 && *t <= 10.0)
            })
            .collect::<Option<Vec<f64>>>()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                bad(
                    "BYOK_ALERT_THRESHOLDS",
                    "expected shares of a budget above 0 and at most 10, like 0.5,0.8,1.0",
                )
            })?;
        thresholds.sort_by(f64::total_cmp);
        thresholds.dedup();
        alerts.thresholds = thresholds;
    }
    let Some(webhook) = args
        .alert_webhook
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty())
    else {
        return Ok(alerts);
    };
    let url = url::Url::parse(webhook)
        .ok()
        .filter(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host().is_some()
                && u.username().is_empty()
                && u.password().is_none()
                && u.fragment().is_none()
        })
        .ok_or_else(|| {
            bad(
                "BYOK_ALERT_WEBHOOK",
                "expected an http(s) URL without credentials, like https://hooks.example/byok",
            )
        })?;
    let secret = env("BYOK_ALERT_SECRET")
        .filter(|s| s.trim().len() >= 16)
        .ok_or_else(|| {
            bad(
                "BYOK_ALERT_SECRET",
                "required with BYOK_ALERT_WEBHOOK: at least 16 characters the receiver also \
                 knows, to check each event's signature",
            )
        })?;
    alerts.webhook = Some(url);
    alerts.secret = Some(SecretString::from(secret.trim().to_owned()));
    Ok(alerts)
}
