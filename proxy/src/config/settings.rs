//! The validated settings, assembled from each area's own settings type, and how raw
//! [`Args`] become them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::args::Args;
use super::parse::{
    ConfigError, bad, parse_base_url, parse_duration, parse_origin, parse_size, read_roots,
};
use super::{plans, shared};
use crate::alerts::AlertSettings;
use crate::core::secret::ServerSecret;
use crate::core::{Provider, UnknownProvider};
use crate::grants::GrantSettings;
use crate::http::UpstreamSettings;
use crate::limits::LimitSettings;
use crate::seal::SealSettings;
use crate::server_keys::{FallbackPolicy, ServerKeys};
use crate::store::StoreSettings;
use crate::tiers::Plans;
use crate::usage::PriceTable;

/// Validated settings: each area's own settings type, and the few that belong to serving as a
/// whole.
#[derive(Debug)]
pub struct Settings {
    /// Listen address.
    pub listen: SocketAddr,
    /// Where the providers live and how to reach them.
    pub upstream: UpstreamSettings,
    /// Origins allowed cross-origin.
    pub cors_origins: Vec<String>,
    /// App origins that may embed the vault (`/embed.html`), as browsers write them.
    pub embed_origins: Vec<String>,
    /// Largest request body, bytes.
    pub body_limit: u64,
    /// Time to response headers.
    pub first_byte_timeout: Duration,
    /// Longest gap inside a streamed body.
    pub idle_timeout: Duration,
    /// Static files to serve.
    pub static_dir: Option<PathBuf>,
    /// Log format.
    pub log_format: LogFormat,
    /// The app's keys and when they stand in for a user's.
    pub server_keys: ServerKeys,
    /// Rate limits and the concurrency cap.
    pub limits: LimitSettings,
    /// Open client connections at once.
    pub max_connections: usize,
    /// Time to a request's head, and idle time between requests on a client connection.
    pub header_read_timeout: Duration,
    /// Shutdown grace period.
    pub shutdown_grace: Duration,
    /// Worker threads (each a single-threaded event loop).
    pub workers: usize,
    /// The server secret and the keys derived from it.
    pub secret: ServerSecret,
    /// Where shared state lives.
    pub store: StoreSettings,
    /// Limits on grants.
    pub grants: GrantSettings,
    /// Sealed keys.
    pub seal: SealSettings,
    /// Model prices.
    pub prices: Arc<PriceTable>,
    /// App tokens, user tokens and tiers.
    pub plans: Plans,
    /// Ask for usage on unified streams whose client did not.
    pub stream_usage: bool,
    /// Webhook alerts.
    pub alerts: AlertSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            upstream: UpstreamSettings::default(),
            cors_origins: Vec::new(),
            embed_origins: Vec::new(),
            body_limit: 10 * 1024 * 1024,
            first_byte_timeout: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(300),
            static_dir: None,
            log_format: LogFormat::Pretty,
            server_keys: ServerKeys::default(),
            limits: LimitSettings::default(),
            max_connections: 8192,
            header_read_timeout: Duration::from_secs(20),
            shutdown_grace: Duration::from_secs(30),
            workers: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            secret: ServerSecret::random(),
            store: StoreSettings::default(),
            grants: GrantSettings::default(),
            seal: SealSettings::default(),
            prices: Arc::new(
                PriceTable::load(None)
                    .unwrap_or_else(|e| unreachable!("the bundled price table is tested: {e}")),
            ),
            plans: Plans::default(),
            stream_usage: false,
            alerts: AlertSettings::default(),
        }
    }
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

/// More worker threads than this is a typo, not a machine.
const MAX_WORKERS: usize = 1024;

impl Args {
    /// Validates into [`Settings`], reading server keys through `env`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first bad setting.
    pub fn validate(self, env: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();
        (s.store, s.secret) = shared::store(&self, &env)?;
        s.grants = shared::grants(&self)?;
        s.seal = shared::seal(&self)?;
        s.plans = plans::plans(&self)?;
        s.alerts = shared::alerts(&self, &env)?;
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
        for pair in self
            .upstreams
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
        {
            let name = "BYOK_UPSTREAMS / --upstream";
            let (id, url) = pair.split_once('=').ok_or_else(|| {
                bad(
                    name,
                    "expected provider=url pairs, like mistral=https://api.mistral.ai",
                )
            })?;
            let provider: Provider = id
                .trim()
                .parse()
                .map_err(|e: UnknownProvider| bad(name, e.to_string()))?;
            s.upstream.base_urls.insert(
                provider,
                parse_base_url(provider, url.trim()).map_err(|p| bad(name, p))?,
            );
        }
        for (provider, value, name) in given {
            if let Some(url) = value {
                s.upstream.base_urls.insert(
                    provider,
                    parse_base_url(provider, url).map_err(|p| bad(name, p))?,
                );
            }
        }
        if let Some(path) = &self.upstream_ca {
            s.upstream.extra_roots = read_roots(path).map_err(|p| bad("BYOK_UPSTREAM_CA", p))?;
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
        s.embed_origins = self
            .embed_origins
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
            .map(|o| parse_origin(o).map_err(|p| bad("BYOK_EMBED_ORIGINS", p)))
            .collect::<Result<_, _>>()?;
        if let Some(v) = &self.body_limit {
            s.body_limit = parse_size(v)
                .ok_or_else(|| bad("BYOK_BODY_LIMIT", "expected bytes, e.g. 10MiB"))?;
        }
        let durations = [
            (
                &self.connect_timeout,
                &mut s.upstream.connect_timeout,
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
                &mut s.upstream.idle_timeout,
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
            s.server_keys.policies.insert(provider, policy);
        }
        for provider in Provider::ALL {
            let name = format!("BYOK_SERVER_KEY_{}", provider.id().to_ascii_uppercase());
            if let Some(key) = env(&name).filter(|k| !k.is_empty()) {
                if provider.needs_resource() {
                    // The client names the resource, so the app's key would go wherever a
                    // client pointed it.
                    return Err(bad(
                        &name,
                        format!(
                            "{provider} keys belong to the user's resource; the app's key cannot serve it"
                        ),
                    ));
                }
                s.server_keys.keys.insert(provider, SecretString::from(key));
            }
        }
        for (provider, policy) in &s.server_keys.policies {
            if *policy == FallbackPolicy::Off {
                continue;
            }
            // Only the app may spend its key: through its tokens, or the user tokens it signs.
            if s.plans.app_tokens.is_empty() && s.plans.user_tokens.is_none() {
                return Err(bad(
                    "BYOK_FALLBACK",
                    "server-key fallback needs BYOK_APP_TOKENS or user tokens (BYOK_USER_TOKEN_ALG), \
                     so only your app can spend the server key",
                ));
            }
            if !s.server_keys.keys.contains_key(provider) {
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
            s.prices = Arc::new(PriceTable::load(Some(&text)).map_err(|p| bad("BYOK_PRICES", p))?);
        }
        if let Some(v) = self.rate_limit_per_ip {
            s.limits.per_ip = v;
        }
        if let Some(v) = self.rate_limit_per_key {
            s.limits.per_key = v;
        }
        if let Some(v) = self.grant_rate_limit {
            s.limits.grant_create = v;
        }
        if let Some(v) = self.max_concurrent {
            if v == 0 {
                return Err(bad("BYOK_MAX_CONCURRENT", "must be at least 1"));
            }
            s.limits.max_concurrent = v;
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
    use clap::Parser;
    use secrecy::ExposeSecret;

    use super::*;

    fn args(list: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("byok-proxy").chain(list.iter().copied())).unwrap()
    }

    #[test]
    fn defaults_are_the_public_providers_on_loopback() {
        let s = args(&[]).validate(|_| None).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8787");
        assert_eq!(
            s.upstream.base_urls[&Provider::Openrouter],
            "https://openrouter.ai/api"
        );
        assert!(!s.upstream.serves(Provider::Custom));
        assert_eq!(
            s.upstream.base_urls[&Provider::Groq],
            "https://api.groq.com/openai"
        );
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
    fn alerts_need_a_webhook_and_its_secret_from_the_environment() {
        let s = args(&[]).validate(|_| None).unwrap();
        assert!(s.alerts.webhook.is_none());
        assert_eq!(s.alerts.thresholds, [0.5, 0.8, 1.0]);
        let env = |name: &str| {
            (name == "BYOK_ALERT_SECRET").then(|| "  whsec_0123456789abcdef ".to_owned())
        };
        let s = args(&[
            "--alert-webhook",
            "https://hooks.example/byok?team=1",
            "--alert-thresholds",
            "1, 0.25,0.9,1",
        ])
        .validate(env)
        .unwrap();
        assert_eq!(
            s.alerts.webhook.unwrap().as_str(),
            "https://hooks.example/byok?team=1"
        );
        assert_eq!(
            s.alerts.secret.unwrap().expose_secret(),
            "whsec_0123456789abcdef"
        );
        assert_eq!(s.alerts.thresholds, [0.25, 0.9, 1.0], "sorted, once each");
        let short = |name: &str| (name == "BYOK_ALERT_SECRET").then(|| "short".to_owned());
        let err = args(&["--alert-webhook", "https://hooks.example"])
            .validate(short)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("BYOK_ALERT_SECRET") && !err.contains("short"),
            "{err}"
        );
    }

    #[test]
    fn any_provider_can_be_pointed_elsewhere_and_the_flag_wins() {
        let s = args(&[
            "--upstream",
            " mistral=http://127.0.0.1:9001/ , custom=http://127.0.0.1:9002,openai=http://a",
            "--upstream-openai",
            "http://b",
        ])
        .validate(|_| None)
        .unwrap();
        assert_eq!(
            s.upstream.base_urls[&Provider::Mistral],
            "http://127.0.0.1:9001"
        );
        assert_eq!(
            s.upstream.base_urls[&Provider::Custom],
            "http://127.0.0.1:9002"
        );
        assert_eq!(s.upstream.base_urls[&Provider::Openai], "http://b");
        assert_eq!(
            s.upstream.base_urls[&Provider::Cerebras],
            "https://api.cerebras.ai"
        );
    }

    #[test]
    fn azure_is_a_template_with_the_resource_once_in_the_host_or_path() {
        let s = args(&[]).validate(|_| None).unwrap();
        assert_eq!(
            s.upstream.base_urls[&Provider::Azure],
            "https://{resource}.openai.azure.com"
        );
        let at = |url: &str| {
            args(&["--upstream", &format!("azure={url}")])
                .validate(|_| None)
                .map(|s| s.upstream.base_urls[&Provider::Azure].clone())
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            at("http://127.0.0.1:9/r/{resource}/").unwrap(),
            "http://127.0.0.1:9/r/{resource}"
        );
        assert_eq!(
            at("https://{resource}.services.ai.azure.com").unwrap(),
            "https://{resource}.services.ai.azure.com"
        );
        for bad in [
            "https://openai.azure.com",
            "https://{resource}.{resource}.azure.com",
            "https://x{resource}.openai.azure.com",
            "https://a.openai.azure.com:{resource}",
            "https://a.openai.azure.com/r?{resource}",
        ] {
            let err = at(bad).unwrap_err();
            assert!(err.contains("BYOK_UPSTREAMS"), "{bad}: {err}");
        }
        let err = args(&["--upstream", "openai=https://{resource}.example"])
            .validate(|_| None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("only azure"), "{err}");
        // The app's key cannot serve a provider whose host the client names.
        let env = |name: &str| (name == "BYOK_SERVER_KEY_AZURE").then(|| "k".repeat(32));
        let err = args(&[]).validate(env).unwrap_err().to_string();
        assert!(
            err.contains("BYOK_SERVER_KEY_AZURE") && !err.contains("kkkk"),
            "{err}"
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
            (&["--upstream", "mistral"], "BYOK_UPSTREAMS"),
            (
                &["--alert-webhook", "ftp://hooks.example"],
                "BYOK_ALERT_WEBHOOK",
            ),
            (
                &["--alert-webhook", "https://u:p@hooks.example"],
                "BYOK_ALERT_WEBHOOK",
            ),
            (
                &["--alert-webhook", "https://hooks.example/x"],
                "BYOK_ALERT_SECRET",
            ),
            (&["--alert-thresholds", "0.5,lots"], "BYOK_ALERT_THRESHOLDS"),
            (&["--alert-thresholds", "0"], "BYOK_ALERT_THRESHOLDS"),
            (&["--alert-thresholds", ""], "BYOK_ALERT_THRESHOLDS"),
            (&["--upstream", "azure=https://x"], "BYOK_UPSTREAMS"),
            (&["--upstream", "groq=ftp://x"], "BYOK_UPSTREAMS"),
            (&["--idle-timeout", "soon"], "BYOK_IDLE_TIMEOUT"),
            (&["--header-read-timeout", "0s"], "BYOK_HEADER_READ_TIMEOUT"),
            (&["--max-connections", "0"], "BYOK_MAX_CONNECTIONS"),
            (&["--body-limit", "lots"], "BYOK_BODY_LIMIT"),
            (&["--log-format", "xml"], "BYOK_LOG_FORMAT"),
            (
                &["--cors-origins", "https://a.example/"],
                "BYOK_CORS_ORIGINS",
            ),
            (
                &["--embed-origins", "https://a.example/path"],
                "BYOK_EMBED_ORIGINS",
            ),
            (
                &["--embed-origins", "https://A.example"],
                "BYOK_EMBED_ORIGINS",
            ),
            (
                &["--embed-origins", "http://app.example"],
                "BYOK_EMBED_ORIGINS",
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
    fn embed_origins_are_origins_as_browsers_write_them() {
        let s = args(&[
            "--embed-origins",
            "https://app.example.com, http://app.byok.localhost:5173,http://127.0.0.1:3000",
        ])
        .validate(|_| None)
        .unwrap();
        assert_eq!(
            s.embed_origins,
            [
                "https://app.example.com",
                "http://app.byok.localhost:5173",
                "http://127.0.0.1:3000"
            ]
        );
        assert!(
            args(&[])
                .validate(|_| None)
                .unwrap()
                .embed_origins
                .is_empty()
        );
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
            ok.server_keys.policies[&Provider::Openai],
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
        assert!(signed.plans.app_tokens.is_empty() && signed.plans.user_tokens.is_some());
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
        assert_eq!(ok.store.redis_urls.len(), 2);
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
