//! Configuration: flags with environment fallbacks and an optional TOML file, parsed raw first
//! and then validated into typed [`Settings`]. Precedence: flag, environment, file, default.
//!
//! Server keys are the exception: they come only from the environment
//! (`BYOK_SERVER_KEY_<PROVIDER>`), never from flags (visible in `ps`) or files.

mod parse;
mod plans;
mod shared;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use rustls::pki_types::CertificateDer;
use secrecy::SecretString;
use serde::Deserialize;

pub use shared::GrantSettings;

use crate::provider::Provider;
use crate::server_secret::ServerSecret;
use crate::tiers::{Tiers, Verifier};
use crate::usage::PriceTable;
use parse::{parse_base_url, parse_duration, parse_size, read_roots};

/// Raw command-line flags (each with an environment fallback).
#[derive(Debug, Default, Parser, Deserialize)]
#[command(
    name = "byok-proxy",
    version,
    about = "Forwards LLM requests to allowlisted providers with the caller's own key \
             (X-BYOK-Key header), streaming responses back; never logs or stores keys.",
    after_help = "Server keys for the optional fallback are read only from the environment: \
                  BYOK_SERVER_KEY_OPENAI, BYOK_SERVER_KEY_ANTHROPIC, BYOK_SERVER_KEY_GEMINI, \
                  BYOK_SERVER_KEY_OPENROUTER, BYOK_SERVER_KEY_CUSTOM.\n\
                  The server secret, BYOK_SECRET (64 hex digits or base64 of at least 32 random \
                  bytes), is read only from the environment too. It seals grants and keys key \
                  fingerprints; instances sharing a store must share it. Required with \
                  BYOK_REDIS_URL; made up at start otherwise (grants then end with the process).\n\
                  Durations accept 500ms, 30s, 5m or a plain number of seconds; sizes accept \
                  bytes or KiB/MiB suffixes.\nLog level: RUST_LOG (default info)."
)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Args {
    /// TOML file with any of the settings below (keys in snake_case, e.g. `listen`).
    #[arg(long, env = "BYOK_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8787].
    #[arg(long, env = "BYOK_LISTEN")]
    pub listen: Option<String>,
    /// OpenAI base URL [default: https://api.openai.com].
    #[arg(long, env = "BYOK_UPSTREAM_OPENAI")]
    pub upstream_openai: Option<String>,
    /// Anthropic base URL [default: https://api.anthropic.com].
    #[arg(long, env = "BYOK_UPSTREAM_ANTHROPIC")]
    pub upstream_anthropic: Option<String>,
    /// Gemini base URL [default: https://generativelanguage.googleapis.com].
    #[arg(long, env = "BYOK_UPSTREAM_GEMINI")]
    pub upstream_gemini: Option<String>,
    /// OpenRouter base URL [default: https://openrouter.ai/api].
    #[arg(long, env = "BYOK_UPSTREAM_OPENROUTER")]
    pub upstream_openrouter: Option<String>,
    /// Base URL of a self-hosted OpenAI-compatible server (provider `custom`; off when unset).
    #[arg(long, env = "BYOK_UPSTREAM_CUSTOM")]
    pub upstream_custom: Option<String>,
    /// PEM file of root certificates to trust for providers besides the system's (e.g. the
    /// private CA of a self-hosted server).
    #[arg(long, env = "BYOK_UPSTREAM_CA")]
    pub upstream_ca: Option<PathBuf>,
    /// Origins allowed to call the API cross-origin, comma-separated (none by default).
    #[arg(long, env = "BYOK_CORS_ORIGINS", value_delimiter = ',')]
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Largest request body accepted [default: 10MiB].
    #[arg(long, env = "BYOK_BODY_LIMIT")]
    pub body_limit: Option<String>,
    /// Time to connect to a provider [default: 10s].
    #[arg(long, env = "BYOK_CONNECT_TIMEOUT")]
    pub connect_timeout: Option<String>,
    /// Time from sending a request to the provider's response headers [default: 120s].
    #[arg(long, env = "BYOK_FIRST_BYTE_TIMEOUT")]
    pub first_byte_timeout: Option<String>,
    /// Longest silence allowed inside a streamed response; no cap on total time [default: 300s].
    #[arg(long, env = "BYOK_IDLE_TIMEOUT")]
    pub idle_timeout: Option<String>,
    /// Directory of static files to serve at / (the built settings page).
    #[arg(long, env = "BYOK_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// Log format: json or pretty [default: pretty].
    #[arg(long, env = "BYOK_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// App tokens (comma-separated) that let requests use server keys, sent as
    /// `Authorization: Bearer <token>`.
    #[arg(
        long,
        env = "BYOK_APP_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    #[serde(default)]
    pub app_tokens: Vec<String>,
    /// Server-key fallback per provider: `provider=off|when-missing|when-missing-or-rejected`,
    /// comma-separated [default: off for all].
    #[arg(long, env = "BYOK_FALLBACK", value_delimiter = ',')]
    #[serde(default)]
    pub fallback: Vec<String>,
    /// Requests per minute per client address; 0 turns the limit off [default: 600].
    #[arg(long, env = "BYOK_RATE_LIMIT_PER_IP")]
    pub rate_limit_per_ip: Option<u32>,
    /// Requests per minute per key; 0 turns the limit off [default: 600].
    #[arg(long, env = "BYOK_RATE_LIMIT_PER_KEY")]
    pub rate_limit_per_key: Option<u32>,
    /// Upstream requests in flight at once [default: 2048].
    #[arg(long, env = "BYOK_MAX_CONCURRENT")]
    pub max_concurrent: Option<usize>,
    /// Open client connections at once; more are answered 503 and closed [default: 8192].
    /// Each streaming request holds two file descriptors: keep `ulimit -n` above twice this.
    #[arg(long, env = "BYOK_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Time a client gets to send a request's head, and longest wait for the next request on
    /// an idle HTTP/1.1 connection [default: 20s].
    #[arg(long, env = "BYOK_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Option<String>,
    /// How long an idle HTTP/1.1 connection to a provider is kept for reuse [default: 4s, below
    /// the 5 s after which uvicorn and Node servers close theirs].
    #[arg(long, env = "BYOK_UPSTREAM_IDLE_TIMEOUT")]
    pub upstream_idle_timeout: Option<String>,
    /// Time running streams get to finish on shutdown [default: 30s].
    #[arg(long, env = "BYOK_SHUTDOWN_GRACE")]
    pub shutdown_grace: Option<String>,
    /// Worker threads, each with its own event loop and provider connections
    /// [default: one per CPU].
    #[arg(long, env = "BYOK_WORKERS")]
    pub workers: Option<usize>,
    /// Redis for state shared by several instances (grants, their counters, rate limits): one
    /// redis:// or rediss:// URL, or the comma-separated node URLs of a Redis Cluster
    /// [default: none; state stays in this process].
    #[arg(long, env = "BYOK_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Longest wait for the shared store on one operation [default: 250ms].
    #[arg(long, env = "BYOK_STORE_TIMEOUT")]
    pub store_timeout: Option<String>,
    /// Longest lifetime a grant may ask for [default: 24h].
    #[arg(long, env = "BYOK_GRANT_MAX_TTL")]
    pub grant_max_ttl: Option<String>,
    /// Live grants allowed per key [default: 100].
    #[arg(long, env = "BYOK_GRANTS_PER_KEY")]
    pub grants_per_key: Option<u32>,
    /// Grants created per minute, per client address and per key; 0 turns the limit off
    /// [default: 60].
    #[arg(long, env = "BYOK_GRANT_RATE_LIMIT")]
    pub grant_rate_limit: Option<u32>,
    /// Algorithm of user tokens (`X-BYOK-User`): EdDSA or HS256 [default: none; user tokens are
    /// refused].
    #[arg(long, env = "BYOK_USER_TOKEN_ALG")]
    pub user_token_alg: Option<String>,
    /// EdDSA: PEM file of the Ed25519 public key that verifies user tokens.
    #[arg(long, env = "BYOK_USER_TOKEN_KEY")]
    pub user_token_key: Option<PathBuf>,
    /// HS256: the secret (its UTF-8 bytes, at least 32) that verifies user tokens.
    #[arg(long, env = "BYOK_USER_TOKEN_SECRET", hide_env_values = true)]
    pub user_token_secret: Option<String>,
    /// The `iss` user tokens must have (checked and required when set).
    #[arg(long, env = "BYOK_USER_TOKEN_ISSUER")]
    pub user_token_issuer: Option<String>,
    /// The `aud` user tokens must have (checked and required when set; ignored when not).
    #[arg(long, env = "BYOK_USER_TOKEN_AUDIENCE")]
    pub user_token_audience: Option<String>,
    /// The tier of requests without a user token (configuration file only; required with
    /// `[tiers.*]`).
    #[arg(skip)]
    #[serde(default)]
    pub default_tier: Option<String>,
    /// Plans: `[tiers.<name>]` with `models`, `requests_per_hour`,
    /// `server_key_daily_budget_usd` (configuration file only).
    #[arg(skip)]
    #[serde(default)]
    pub tiers: BTreeMap<String, TierArgs>,
    /// on: the unified route asks for usage on streams whose client did not
    /// (`stream_options.include_usage`), and removes the usage chunk this adds from the answer,
    /// so every stream is counted [default: off].
    #[arg(long, env = "BYOK_STREAM_USAGE")]
    pub stream_usage: Option<String>,
    /// TOML file of model prices merged over the bundled table, per provider and model (see
    /// `proxy/prices.toml` for the format).
    #[arg(long, env = "BYOK_PRICES")]
    pub prices: Option<PathBuf>,
}

/// One `[tiers.<name>]` table of the configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierArgs {
    /// `provider/model` patterns (`*` at the end), or `*`; absent allows every model.
    pub models: Option<Vec<String>>,
    /// Requests per hour per user and provider.
    pub requests_per_hour: Option<u32>,
    /// What one user may spend on the app's key per UTC day, USD.
    pub server_key_daily_budget_usd: Option<f64>,
}

/// More worker threads than this is a typo, not a machine.
const MAX_WORKERS: usize = 1024;

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

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Validated settings.
#[derive(Debug)]
pub struct Settings {
    /// Listen address.
    pub listen: SocketAddr,
    /// Base URL per served provider, without a trailing slash.
    pub upstreams: BTreeMap<Provider, String>,
    /// Root certificates trusted for providers besides the system's.
    pub upstream_roots: Vec<CertificateDer<'static>>,
    /// Origins allowed cross-origin.
    pub cors_origins: Vec<String>,
    /// Largest request body, bytes.
    pub body_limit: u64,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Time to response headers.
    pub first_byte_timeout: Duration,
    /// Longest gap inside a streamed body.
    pub idle_timeout: Duration,
    /// Static files to serve.
    pub static_dir: Option<PathBuf>,
    /// Log format.
    pub log_format: LogFormat,
    /// Tokens that authenticate the app.
    pub app_tokens: Vec<SecretString>,
    /// Fallback policy per provider (absent = off).
    pub fallback: BTreeMap<Provider, FallbackPolicy>,
    /// Server keys per provider, from the environment.
    pub server_keys: BTreeMap<Provider, SecretString>,
    /// Requests per minute per address (0 = off).
    pub rate_limit_per_ip: u32,
    /// Requests per minute per key (0 = off).
    pub rate_limit_per_key: u32,
    /// Upstream requests in flight at once.
    pub max_concurrent: usize,
    /// Open client connections at once.
    pub max_connections: usize,
    /// Time to a request's head, and idle time between requests on a client connection.
    pub header_read_timeout: Duration,
    /// Longest idle time of a pooled HTTP/1.1 connection to a provider.
    pub upstream_idle_timeout: Duration,
    /// Shutdown grace period.
    pub shutdown_grace: Duration,
    /// Worker threads (each a single-threaded event loop).
    pub workers: usize,
    /// The server secret and the keys derived from it.
    pub secret: ServerSecret,
    /// Redis URLs (one, or a cluster's nodes); empty for the in-process store.
    pub redis_urls: Vec<SecretString>,
    /// Longest wait for the shared store on one operation.
    pub store_timeout: Duration,
    /// Limits on grants.
    pub grants: GrantSettings,
    /// Model prices.
    pub prices: PriceTable,
    /// How user tokens are checked; `None` refuses them.
    pub user_tokens: Option<Verifier>,
    /// Plans; `None` limits nothing by tier.
    pub tiers: Option<Tiers>,
    /// Ask for usage on unified streams whose client did not.
    pub stream_usage: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            upstreams: Provider::ALL
                .into_iter()
                .filter_map(|p| Some((p, p.default_base_url()?.to_owned())))
                .collect(),
            upstream_roots: Vec::new(),
            cors_origins: Vec::new(),
            body_limit: 10 * 1024 * 1024,
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(300),
            static_dir: None,
            log_format: LogFormat::Pretty,
            app_tokens: Vec::new(),
            fallback: BTreeMap::new(),
            server_keys: BTreeMap::new(),
            rate_limit_per_ip: 600,
            rate_limit_per_key: 600,
            max_concurrent: 2048,
            max_connections: 8192,
            header_read_timeout: Duration::from_secs(20),
            upstream_idle_timeout: Duration::from_secs(4),
            shutdown_grace: Duration::from_secs(30),
            workers: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            secret: ServerSecret::random(),
            redis_urls: Vec::new(),
            store_timeout: Duration::from_millis(250),
            grants: GrantSettings::default(),
            prices: PriceTable::load(None)
                .unwrap_or_else(|e| unreachable!("the bundled price table is tested: {e}")),
            user_tokens: None,
            tiers: None,
            stream_usage: false,
        }
    }
}

/// A configuration error, naming the setting.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting}: {problem}")]
pub struct ConfigError {
    setting: String,
    problem: String,
}

pub(crate) fn bad(setting: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.to_owned(),
        problem: problem.into(),
    }
}

impl Args {
    /// Fills every unset field from `file` (a TOML config).
    #[must_use]
    pub fn or(self, file: Args) -> Args {
        macro_rules! pick {
            ($($f:ident),*) => { Args { config: self.config, $($f: self.$f.or(file.$f),)*
                cors_origins: if self.cors_origins.is_empty() { file.cors_origins } else { self.cors_origins },
                app_tokens: if self.app_tokens.is_empty() { file.app_tokens } else { self.app_tokens },
                fallback: if self.fallback.is_empty() { file.fallback } else { self.fallback },
                tiers: if self.tiers.is_empty() { file.tiers } else { self.tiers },
            } };
        }
        pick!(
            listen,
            upstream_openai,
            upstream_anthropic,
            upstream_gemini,
            upstream_openrouter,
            upstream_custom,
            upstream_ca,
            body_limit,
            connect_timeout,
            first_byte_timeout,
            idle_timeout,
            static_dir,
            log_format,
            rate_limit_per_ip,
            rate_limit_per_key,
            max_concurrent,
            max_connections,
            header_read_timeout,
            upstream_idle_timeout,
            shutdown_grace,
            workers,
            redis_url,
            store_timeout,
            grant_max_ttl,
            grants_per_key,
            grant_rate_limit,
            prices,
            user_token_alg,
            user_token_key,
            user_token_secret,
            user_token_issuer,
            user_token_audience,
            default_tier,
            stream_usage
        )
    }

    /// Reads the `--config` file, if any, and merges it under the flags.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or parsed.
    pub fn with_file(self) -> Result<Args, ConfigError> {
        let Some(path) = self.config.clone() else {
            return Ok(self);
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| bad("--config", format!("cannot read {}: {e}", path.display())))?;
        let file: Args = toml::from_str(&text)
            .map_err(|e| bad("--config", format!("{}: {}", path.display(), e.message())))?;
        Ok(self.or(file))
    }

    /// Validates into [`Settings`], reading server keys through `env`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first bad setting.
    pub fn validate(self, env: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();
        shared::validate(&self, &env, &mut s)?;
        plans::validate(&self, &mut s)?;
        if let Some(listen) = &self.listen {
            s.listen = listen.parse().map_err(|_| {
                bad(
                    "BYOK_LISTEN / --listen",
                    "expected an address like 127.0.0.1:8787",
                )
            })?;
        }
        let given = [
            (
                Provider::Openai,
                &self.upstream_openai,
                "BYOK_UPSTREAM_OPENAI",
            ),
            (
                Provider::Anthropic,
                &self.upstream_anthropic,
                "BYOK_UPSTREAM_ANTHROPIC",
            ),
            (
                Provider::Gemini,
                &self.upstream_gemini,
                "BYOK_UPSTREAM_GEMINI",
            ),
            (
                Provider::Openrouter,
                &self.upstream_openrouter,
                "BYOK_UPSTREAM_OPENROUTER",
            ),
            (
                Provider::Custom,
                &self.upstream_custom,
                "BYOK_UPSTREAM_CUSTOM",
            ),
        ];
        for (provider, value, name) in given {
            if let Some(url) = value {
                s.upstreams
                    .insert(provider, parse_base_url(url).map_err(|p| bad(name, p))?);
            }
        }
        if let Some(path) = &self.upstream_ca {
            s.upstream_roots = read_roots(path).map_err(|p| bad("BYOK_UPSTREAM_CA", p))?;
        }
        s.cors_origins = self
            .cors_origins
            .into_iter()
            .filter(|o| !o.is_empty())
            .collect();
        for origin in &s.cors_origins {
            let ok = url::Url::parse(origin)
                .is_ok_and(|u| u.path() == "/" && !origin.ends_with('/') && u.host().is_some());
            if !ok {
                return Err(bad(
                    "BYOK_CORS_ORIGINS",
                    format!("{origin:?} is not an origin like https://app.example"),
                ));
            }
        }
        if let Some(v) = &self.body_limit {
            s.body_limit = parse_size(v)
                .ok_or_else(|| bad("BYOK_BODY_LIMIT", "expected bytes, e.g. 10MiB"))?;
        }
        let durations = [
            (
                &self.connect_timeout,
                &mut s.connect_timeout,
                "BYOK_CONNECT_TIMEOUT",
            ),
            (
                &self.first_byte_timeout,
                &mut s.first_byte_timeout,
                "BYOK_FIRST_BYTE_TIMEOUT",
            ),
            (&self.idle_timeout, &mut s.idle_timeout, "BYOK_IDLE_TIMEOUT"),
            (
                &self.header_read_timeout,
                &mut s.header_read_timeout,
                "BYOK_HEADER_READ_TIMEOUT",
            ),
            (
                &self.upstream_idle_timeout,
                &mut s.upstream_idle_timeout,
                "BYOK_UPSTREAM_IDLE_TIMEOUT",
            ),
            (
                &self.shutdown_grace,
                &mut s.shutdown_grace,
                "BYOK_SHUTDOWN_GRACE",
            ),
        ];
        for (value, slot, name) in durations {
            if let Some(v) = value {
                *slot = parse_duration(v)
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| bad(name, "expected a duration such as 500ms, 30s or 5m"))?;
            }
        }
        if let Some(dir) = self.static_dir {
            if !dir.join("index.html").is_file() {
                return Err(bad(
                    "BYOK_STATIC_DIR",
                    format!(
                        "{} has no index.html (build the UI with `make ui`)",
                        dir.display()
                    ),
                ));
            }
            s.static_dir = Some(dir);
        }
        s.log_format = match self.log_format.as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(bad("BYOK_LOG_FORMAT", "expected json or pretty")),
        };
        s.app_tokens = self
            .app_tokens
            .into_iter()
            .filter(|t| !t.is_empty())
            .map(SecretString::from)
            .collect();
        for item in &self.fallback {
            let (provider, policy) = item
                .split_once('=')
                .ok_or_else(|| bad("BYOK_FALLBACK", "expected provider=policy"))?;
            let provider: Provider = provider
                .trim()
                .parse()
                .map_err(|_| bad("BYOK_FALLBACK", format!("unknown provider {provider:?}")))?;
            let policy = match policy.trim() {
                "off" => FallbackPolicy::Off,
                "when-missing" => FallbackPolicy::WhenMissing,
                "when-missing-or-rejected" => FallbackPolicy::WhenMissingOrRejected,
                other => {
                    return Err(bad(
                        "BYOK_FALLBACK",
                        format!(
                            "unknown policy {other:?}; expected off, when-missing or when-missing-or-rejected"
                        ),
                    ));
                }
            };
            s.fallback.insert(provider, policy);
        }
        for provider in Provider::ALL {
            let name = format!("BYOK_SERVER_KEY_{}", provider.id().to_ascii_uppercase());
            if let Some(key) = env(&name).filter(|k| !k.is_empty()) {
                s.server_keys.insert(provider, SecretString::from(key));
            }
        }
        for (provider, policy) in &s.fallback {
            if *policy == FallbackPolicy::Off {
                continue;
            }
            // Only the app may spend its key: through its tokens, or the user tokens it signs.
            if s.app_tokens.is_empty() && s.user_tokens.is_none() {
                return Err(bad(
                    "BYOK_FALLBACK",
                    "server-key fallback needs BYOK_APP_TOKENS or user tokens (BYOK_USER_TOKEN_ALG), \
                     so only your app can spend the server key",
                ));
            }
            if !s.server_keys.contains_key(provider) {
                return Err(bad(
                    "BYOK_FALLBACK",
                    format!(
                        "fallback for {provider} needs BYOK_SERVER_KEY_{}",
                        provider.id().to_ascii_uppercase()
                    ),
                ));
            }
        }
        s.stream_usage = match self.stream_usage.as_deref() {
            None | Some("off") => false,
            Some("on") => true,
            Some(_) => return Err(bad("BYOK_STREAM_USAGE", "expected on or off")),
        };
        if let Some(path) = &self.prices {
            let text = std::fs::read_to_string(path).map_err(|e| {
                bad(
                    "BYOK_PRICES",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            s.prices = PriceTable::load(Some(&text)).map_err(|p| bad("BYOK_PRICES", p))?;
        }
        if let Some(v) = self.rate_limit_per_ip {
            s.rate_limit_per_ip = v;
        }
        if let Some(v) = self.rate_limit_per_key {
            s.rate_limit_per_key = v;
        }
        if let Some(v) = self.max_concurrent {
            if v == 0 {
                return Err(bad("BYOK_MAX_CONCURRENT", "must be at least 1"));
            }
            s.max_concurrent = v;
        }
        if let Some(v) = self.max_connections {
            if v == 0 {
                return Err(bad("BYOK_MAX_CONNECTIONS", "must be at least 1"));
            }
            s.max_connections = v;
        }
        if let Some(v) = self.workers {
            if !(1..=MAX_WORKERS).contains(&v) {
                return Err(bad(
                    "BYOK_WORKERS",
                    format!("must be between 1 and {MAX_WORKERS}"),
                ));
            }
            s.workers = v;
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("byok-proxy").chain(list.iter().copied())).unwrap()
    }

    #[test]
    fn defaults_are_the_public_providers_on_loopback() {
        let s = args(&[]).validate(|_| None).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8787");
        assert_eq!(
            s.upstreams[&Provider::Openrouter],
            "https://openrouter.ai/api"
        );
        assert!(!s.upstreams.contains_key(&Provider::Custom));
        assert_eq!(s.body_limit, 10 * 1024 * 1024);
        assert!(s.workers >= 1);
        assert_eq!(
            args(&["--workers", "3"])
                .validate(|_| None)
                .unwrap()
                .workers,
            3
        );
    }

    #[test]
    fn bad_values_name_the_setting() {
        let cases: &[(&[&str], &str)] = &[
            (&["--listen", "nowhere"], "BYOK_LISTEN"),
            (&["--upstream-openai", "ftp://x"], "BYOK_UPSTREAM_OPENAI"),
            (
                &["--upstream-gemini", "https://x/?key=1"],
                "BYOK_UPSTREAM_GEMINI",
            ),
            (
                &["--upstream-custom", "https://u:p@x"],
                "BYOK_UPSTREAM_CUSTOM",
            ),
            (&["--idle-timeout", "soon"], "BYOK_IDLE_TIMEOUT"),
            (&["--header-read-timeout", "0s"], "BYOK_HEADER_READ_TIMEOUT"),
            (&["--max-connections", "0"], "BYOK_MAX_CONNECTIONS"),
            (&["--body-limit", "lots"], "BYOK_BODY_LIMIT"),
            (&["--log-format", "xml"], "BYOK_LOG_FORMAT"),
            (
                &["--cors-origins", "https://a.example/"],
                "BYOK_CORS_ORIGINS",
            ),
            (&["--fallback", "openai=always"], "BYOK_FALLBACK"),
            (&["--static-dir", "/nonexistent"], "BYOK_STATIC_DIR"),
            (&["--workers", "0"], "BYOK_WORKERS"),
            (&["--workers", "5000"], "BYOK_WORKERS"),
            (
                &["--upstream-ca", "/nonexistent/ca.pem"],
                "BYOK_UPSTREAM_CA",
            ),
            // Tests run in the crate's directory; its manifest holds no certificate.
            (&["--upstream-ca", "Cargo.toml"], "BYOK_UPSTREAM_CA"),
        ];
        for (list, setting) in cases {
            let err = args(list).validate(|_| None).unwrap_err().to_string();
            assert!(err.contains(setting), "{list:?}: {err}");
        }
    }

    #[test]
    fn fallback_requires_app_tokens_and_a_server_key() {
        let env = |name: &str| (name == "BYOK_SERVER_KEY_OPENAI").then(|| "sk-server".to_owned());
        let no_tokens = args(&["--fallback", "openai=when-missing"]).validate(env);
        assert!(
            no_tokens
                .unwrap_err()
                .to_string()
                .contains("BYOK_APP_TOKENS")
        );
        let no_key =
            args(&["--fallback", "anthropic=when-missing", "--app-tokens", "t"]).validate(env);
        assert!(
            no_key
                .unwrap_err()
                .to_string()
                .contains("BYOK_SERVER_KEY_ANTHROPIC")
        );
        let ok = args(&[
            "--fallback",
            "openai=when-missing-or-rejected",
            "--app-tokens",
            "t",
        ])
        .validate(env)
        .unwrap();
        assert_eq!(
            ok.fallback[&Provider::Openai],
            FallbackPolicy::WhenMissingOrRejected
        );
        // User tokens are the app's word too: they may stand in for app tokens.
        let signed = args(&[
            "--fallback",
            "openai=when-missing",
            "--user-token-alg",
            "HS256",
            "--user-token-secret",
            "a-secret-of-at-least-32-bytes-for-hs256",
        ])
        .validate(env)
        .unwrap();
        assert!(signed.app_tokens.is_empty() && signed.user_tokens.is_some());
    }

    #[test]
    fn file_settings_sit_under_flags() {
        let file: Args =
            toml::from_str("listen = \"127.0.0.1:9000\"\nidle_timeout = \"5s\"").unwrap();
        let merged = args(&["--idle-timeout", "7s"]).or(file);
        let s = merged.validate(|_| None).unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.idle_timeout, Duration::from_secs(7));
        assert!(
            toml::from_str::<Args>("lisen = 1").is_err(),
            "typos are errors"
        );
    }

    #[test]
    fn shared_state_settings_name_themselves_when_wrong() {
        let secret = "ab".repeat(32);
        let env = |name: &str| (name == "BYOK_SECRET").then(|| secret.clone());
        let cases: [(&[&str], &str); 5] = [
            (&["--redis-url", "http://127.0.0.1:6379"], "BYOK_REDIS_URL"),
            (&["--redis-url", "redis://"], "BYOK_REDIS_URL"),
            (&["--store-timeout", "0"], "BYOK_STORE_TIMEOUT"),
            (&["--grant-max-ttl", "soon"], "BYOK_GRANT_MAX_TTL"),
            (&["--grants-per-key", "0"], "BYOK_GRANTS_PER_KEY"),
        ];
        for (list, setting) in cases {
            let err = args(list).validate(env).unwrap_err().to_string();
            assert!(err.contains(setting), "{list:?}: {err}");
        }
        let no_secret = args(&["--redis-url", "redis://127.0.0.1:6379"]).validate(|_| None);
        assert!(no_secret.unwrap_err().to_string().contains("BYOK_SECRET"));
        let short = args(&[]).validate(|n| (n == "BYOK_SECRET").then(|| "abcd".to_owned()));
        let short = short.unwrap_err().to_string();
        assert!(
            short.contains("BYOK_SECRET") && !short.contains("abcd"),
            "{short}"
        );
        let ok = args(&[
            "--redis-url",
            "redis://127.0.0.1:7001, redis://127.0.0.1:7002",
            "--grant-max-ttl",
            "2h",
        ])
        .validate(env)
        .unwrap();
        assert_eq!(ok.redis_urls.len(), 2);
        assert!(!ok.secret.is_ephemeral());
        assert_eq!(ok.grants.max_ttl, Duration::from_secs(7200));
        assert!(args(&[]).validate(|_| None).unwrap().secret.is_ephemeral());
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("2d"), None);
        assert_eq!(parse_size("10MiB"), Some(10 << 20));
        assert_eq!(parse_size("0"), None);
    }
}
