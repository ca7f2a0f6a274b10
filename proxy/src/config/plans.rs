//! Settings for plans: user tokens (`BYOK_USER_TOKEN_*`) and tiers (`default_tier`,
//! `[tiers.<name>]` in the configuration file).

use std::collections::BTreeMap;

use secrecy::SecretString;

use super::args::Args;
use super::parse::{ConfigError, bad};
use crate::core::money;
use crate::tiers::{Pattern, Plans, Tier, Tiers, Verifier};

/// The plans `args` set: app tokens, how user tokens are verified, and the tiers.
pub(super) fn plans(args: &Args) -> Result<Plans, ConfigError> {
    const ALG: &str = "BYOK_USER_TOKEN_ALG";
    let app_tokens = args
        .app_tokens
        .iter()
        .filter(|t| !t.is_empty())
        .map(|t| SecretString::from(t.clone()))
        .collect();
    let user_tokens = match args.user_token_alg.as_deref() {
        None => {
            if args.user_token_key.is_some() || args.user_token_secret.is_some() {
                return Err(bad(ALG, "required with a user-token key or secret"));
            }
            None
        }
        Some("EdDSA") => {
            let path = args
                .user_token_key
                .as_ref()
                .ok_or_else(|| bad("BYOK_USER_TOKEN_KEY", "EdDSA needs a public key file"))?;
            let pem = std::fs::read(path).map_err(|e| {
                bad(
                    "BYOK_USER_TOKEN_KEY",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            Some(verifier("EdDSA", &pem, args).map_err(|p| bad("BYOK_USER_TOKEN_KEY", p))?)
        }
        Some("HS256") => {
            let secret = args
                .user_token_secret
                .as_deref()
                .ok_or_else(|| bad("BYOK_USER_TOKEN_SECRET", "HS256 needs a secret"))?;
            // The problem never quotes the secret.
            Some(
                verifier("HS256", secret.as_bytes(), args)
                    .map_err(|p| bad("BYOK_USER_TOKEN_SECRET", p))?,
            )
        }
        Some(_) => return Err(bad(ALG, "expected EdDSA or HS256")),
    };
    let plans = Plans {
        app_tokens,
        user_tokens,
        tiers: None,
    };
    if args.tiers.is_empty() {
        if args.default_tier.is_some() {
            return Err(bad(
                "default_tier",
                "names a tier, but no [tiers.*] are configured",
            ));
        }
        return Ok(plans);
    }
    let mut by_name = BTreeMap::new();
    for (name, t) in &args.tiers {
        let setting = format!("tiers.{name}");
        let models = t
            .models
            .as_ref()
            .map(|list| {
                list.iter()
                    .map(|p| Pattern::parse(p))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()
            .map_err(|p| bad(&setting, p))?;
        let budget = t
            .server_key_daily_budget_usd
            .map(|usd| {
                (0.0..=1e6)
                    .contains(&usd)
                    .then(|| money::nano(usd))
                    .ok_or_else(|| {
                        bad(&setting, "server_key_daily_budget_usd must be 0 to 1000000")
                    })
            })
            .transpose()?;
        by_name.insert(
            name.clone(),
            Tier {
                name: name.clone(),
                models,
                requests_per_hour: t.requests_per_hour,
                server_key_daily_budget_nano: budget,
            },
        );
    }
    let default = args
        .default_tier
        .clone()
        .ok_or_else(|| bad("default_tier", "required when tiers are configured"))?;
    if !by_name.contains_key(&default) {
        return Err(bad(
            "default_tier",
            format!("{default:?} is not one of the [tiers.*]"),
        ));
    }
    Ok(Plans {
        tiers: Some(Tiers { default, by_name }),
        ..plans
    })
}

fn verifier(alg: &str, key: &[u8], args: &Args) -> Result<Verifier, String> {
    Verifier::new(
        alg,
        key,
        args.user_token_issuer.as_deref(),
        args.user_token_audience.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::super::{Args, Settings};

    fn file(text: &str) -> Result<Settings, String> {
        let args: Args = toml::from_str(text).map_err(|e| e.to_string())?;
        args.validate(|_| None).map_err(|e| e.to_string())
    }

    #[test]
    fn tiers_come_from_the_file_and_say_what_is_wrong() {
        let s = file(
            r#"
default_tier = "free"
[tiers.free]
models = ["openai/gpt-4o-mini", "gemini/gemini-2.0-flash*"]
requests_per_hour = 100
server_key_daily_budget_usd = 0.50
[tiers.pro]
models = ["*"]
"#,
        )
        .unwrap();
        let tiers = s.plans.tiers.unwrap();
        assert_eq!(tiers.default, "free");
        assert_eq!(tiers.by_name["free"].requests_per_hour, Some(100));
        assert_eq!(
            tiers.by_name["free"].server_key_daily_budget_nano,
            Some(500_000_000)
        );
        assert!(file("").unwrap().plans.tiers.is_none());
        for (text, says) in [
            ("[tiers.free]\nrequests_per_hour = 1", "default_tier"),
            ("default_tier = \"gold\"\n[tiers.free]", "not one of"),
            ("default_tier = \"free\"", "no [tiers.*]"),
            (
                "default_tier = \"free\"\n[tiers.free]\nmodels = [\"gpt-4o\"]",
                "tiers.free",
            ),
            (
                "default_tier = \"free\"\n[tiers.free]\nmodelz = []",
                "unknown field",
            ),
            (
                "user_token_alg = \"HS256\"\nuser_token_secret = \"short\"",
                "BYOK_USER_TOKEN_SECRET",
            ),
            ("user_token_alg = \"RS256\"", "BYOK_USER_TOKEN_ALG"),
            ("user_token_alg = \"EdDSA\"", "BYOK_USER_TOKEN_KEY"),
        ] {
            let err = file(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
            assert!(!err.contains("short\""), "{err}");
        }
    }
}
