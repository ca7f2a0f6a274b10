//! The raw settings: command-line flags with environment fallbacks, and the same keys in an
//! optional TOML file (flags win). Nothing here is checked; [`Args::validate`] does that.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Parser;
use serde::Deserialize;

use super::parse::{ConfigError, bad};

/// Raw command-line flags (each with an environment fallback).
#[derive(Debug, Default, Parser, Deserialize)]
#[command(
    name = "byok-proxy",
    version,
    about = "Forwards LLM requests to allowlisted providers with the caller's own key \
             (X-BYOK-Key header), streaming responses back; never logs or stores keys.",
    after_help = "Server keys for the optional fallback are read only from the environment: \
                  BYOK_SERVER_KEY_<PROVIDER>, e.g. BYOK_SERVER_KEY_OPENAI or \
                  BYOK_SERVER_KEY_MISTRAL.\n\
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
    /// Base URLs of any providers, as comma-separated `provider=url` pairs, e.g.
    /// `mistral=https://eu.api.mistral.ai,custom=http://127.0.0.1:8000` (the five flags above
    /// are shorthands; a provider named in both takes the flag's URL).
    #[arg(long = "upstream", env = "BYOK_UPSTREAMS", value_delimiter = ',')]
    #[serde(default)]
    pub upstreams: Vec<String>,
    /// PEM file of root certificates to trust for providers besides the system's (e.g. the
    /// private CA of a self-hosted server).
    #[arg(long, env = "BYOK_UPSTREAM_CA")]
    pub upstream_ca: Option<PathBuf>,
    /// Origins allowed to call the API cross-origin, comma-separated (none by default).
    #[arg(long, env = "BYOK_CORS_ORIGINS", value_delimiter = ',')]
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// App origins that may embed the vault (the isolated mode: `/embed.html` in an iframe),
    /// comma-separated, e.g. `https://app.example.com` (none by default).
    #[arg(long, env = "BYOK_EMBED_ORIGINS", value_delimiter = ',')]
    #[serde(default)]
    pub embed_origins: Vec<String>,
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
    /// redis:// or rediss:// URL (a server, or any one node of a Redis Cluster: it is asked),
    /// or the comma-separated node URLs of a cluster [default: none; state stays in this
    /// process].
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
    /// How long one seal key is current; sealers fetch it from `GET /byok/seal-key`, and each
    /// is accepted one period more [default: 24h].
    #[arg(long, env = "BYOK_SEAL_ROTATION")]
    pub seal_rotation: Option<String>,
    /// on: refuse plain keys in `X-BYOK-Key` (grant tokens still pass); keys must come sealed
    /// in `X-BYOK-Sealed` [default: off].
    #[arg(long, env = "BYOK_REQUIRE_SEALED")]
    pub require_sealed: Option<String>,
    /// URL that receives alert events (JSON, signed with BYOK_ALERT_SECRET, which is read only
    /// from the environment): spend passing a share of a budget, a user's key refused. Off
    /// when unset.
    #[arg(long, env = "BYOK_ALERT_WEBHOOK")]
    pub alert_webhook: Option<String>,
    /// Shares of a daily budget or cap that raise `budget.threshold`, comma-separated
    /// [default: 0.5,0.8,1.0].
    #[arg(long, env = "BYOK_ALERT_THRESHOLDS")]
    pub alert_thresholds: Option<String>,
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

impl Args {
    /// Fills every unset field from `file` (a TOML config).
    #[must_use]
    pub fn or(self, file: Args) -> Args {
        macro_rules! pick {
            ($($f:ident),*) => { Args { config: self.config, $($f: self.$f.or(file.$f),)*
                cors_origins: if self.cors_origins.is_empty() { file.cors_origins } else { self.cors_origins },
                embed_origins: if self.embed_origins.is_empty() { file.embed_origins } else { self.embed_origins },
                upstreams: if self.upstreams.is_empty() { file.upstreams } else { self.upstreams },
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
            stream_usage,
            seal_rotation,
            require_sealed,
            alert_webhook,
            alert_thresholds
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
}
