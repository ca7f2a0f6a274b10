//! Plans: who a request acts for, and what their tier allows whichever key serves it.
//!
//! - [`token`]: user tokens (`X-BYOK-User`, a JWT the app signs).
//!
//! [`Plans`] holds what this needs of the settings: the app's tokens, how user tokens are
//! verified, and the tiers. `GET /byok/models` is `api::models`.
//!
//! A request acts for the user its token names (with their tier); for the user who made the
//! grant it uses; for the app alone (an app token and no user token: no tier applies); or for
//! an anonymous user counted by client address, on the default tier. With no tiers configured
//! nothing is limited by tier. A tier limits the models (`provider/model` patterns), the
//! requests per hour per user and provider (fixed UTC hours, counted in the store when the
//! request is forwarded), and the daily spend of the app's own key per user.

pub mod token;

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::http::{HeaderMap, header};
use secrecy::{ExposeSecret, SecretString};

use crate::core::clock::{now_ms, today, until_midnight};
use crate::core::grant_id::GrantId;
use crate::core::headers::USER_NAME;
use crate::core::ledger::{SPEND_SERVER, Subject};
use crate::core::model::matches;
use crate::core::money::usd;
use crate::core::{Provider, ProxyError};
use crate::store::Store;

pub use token::{User, Verifier};

/// Seconds in an hour.
const HOUR: u64 = 3600;

/// One `models` entry of a tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// `*`: every model of every provider.
    Any,
    /// `provider/model`, the model exact or a prefix ending in `*`.
    Model(Provider, String),
}

impl Pattern {
    /// Reads `provider/model` or `*`.
    ///
    /// # Errors
    ///
    /// What is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "*" {
            return Ok(Self::Any);
        }
        let (provider, model) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not provider/model or *"))?;
        let provider = provider
            .parse()
            .map_err(|_| format!("{text:?} names no known provider"))?;
        let name = model.strip_suffix('*').unwrap_or(model);
        if model.is_empty() || name.contains('*') {
            return Err(format!("{text:?}: `*` may only end a pattern"));
        }
        Ok(Self::Model(provider, model.to_owned()))
    }

    fn allows(&self, provider: Provider, model: Option<&str>) -> bool {
        match self {
            Self::Any => true,
            Self::Model(p, _) if *p != provider => false,
            Self::Model(_, pattern) => model.is_none_or(|m| matches(pattern, m)),
        }
    }
}

/// A plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    /// Its name.
    pub name: String,
    /// The models it allows; `None` allows every model.
    pub models: Option<Vec<Pattern>>,
    /// Requests per hour per user and provider.
    pub requests_per_hour: Option<u32>,
    /// The most one user may spend on the app's key per UTC day, nano-USD.
    pub server_key_daily_budget_nano: Option<i64>,
}

impl Tier {
    /// Whether the tier allows `model` of `provider` (with no model named: whether it allows
    /// the provider at all).
    #[must_use]
    pub fn allows(&self, provider: Provider, model: Option<&str>) -> bool {
        self.models
            .as_ref()
            .is_none_or(|list| list.iter().any(|p| p.allows(provider, model)))
    }

    /// Whether a request must name its model before it is sent (some models are not allowed).
    #[must_use]
    pub fn limits_models(&self) -> bool {
        self.models
            .as_ref()
            .is_some_and(|list| !list.contains(&Pattern::Any))
    }
}

/// The configured tiers.
#[derive(Debug, Clone, PartialEq)]
pub struct Tiers {
    /// For requests without a user token.
    pub default: String,
    /// By name.
    pub by_name: BTreeMap<String, Tier>,
}

/// Who may act as whom: the app's tokens, how user tokens are checked, and the tiers.
#[derive(Debug, Default)]
pub struct Plans {
    /// Tokens that authenticate the app (`Authorization: Bearer <token>`).
    pub app_tokens: Vec<SecretString>,
    /// How user tokens are checked; `None` refuses them.
    pub user_tokens: Option<Verifier>,
    /// Plans; `None` limits nothing by tier.
    pub tiers: Option<Tiers>,
}

impl Plans {
    /// Whether the request authenticates as the app (`Authorization: Bearer <app token>`).
    #[must_use]
    pub fn is_app(&self, headers: &HeaderMap) -> bool {
        let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        self.app_tokens
            .iter()
            .any(|t| constant_time_eq(t.expose_secret().as_bytes(), token.trim().as_bytes()))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Who a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The app itself (an app token, no user token): no tier applies.
    App,
    /// A user the app vouched for, with a user token or through their grant.
    User(User),
    /// Someone without a user token, counted by address.
    Anonymous(IpAddr),
    /// A grant made without a user token: its requests count as one user.
    AnonymousGrant(GrantId),
}

/// The caller of one request: who, and whether it may use the app's keys.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who it acts for.
    pub actor: Actor,
    /// Whether it authenticates as the app or its user (app token or user token), so the
    /// app's key may serve it under the fallback policy.
    pub trusted: bool,
}

impl Caller {
    /// The counters the request's usage adds to besides its key's and grant's.
    #[must_use]
    pub fn subject(&self) -> Option<Subject> {
        match &self.actor {
            Actor::User(user) => Some(Subject::User(user.sub.clone())),
            _ => None,
        }
    }

    /// The tier of `plans` that limits this caller, if any.
    #[must_use]
    pub fn tier<'a>(&self, plans: &'a Plans) -> Option<&'a Tier> {
        let tiers = plans.tiers.as_ref()?;
        let name = match &self.actor {
            Actor::App => return None,
            Actor::User(User {
                tier: Some(tier), ..
            }) => tier,
            _ => &tiers.default,
        };
        tiers.by_name.get(name)
    }

    /// The name hourly counts go under.
    fn who(&self) -> String {
        match &self.actor {
            Actor::App => "app".into(),
            Actor::User(user) => format!("user:{}", user.sub),
            Actor::Anonymous(ip) => format!("ip:{ip}"),
            Actor::AnonymousGrant(id) => format!("grant:{id}"),
        }
    }
}

/// Who `headers` say the request acts for (before any grant is looked at).
///
/// # Errors
///
/// [`ProxyError::InvalidUserToken`] for an `X-BYOK-User` that is not a valid token naming a
/// configured tier, or any `X-BYOK-User` when no user tokens are configured.
pub fn identify(plans: &Plans, headers: &HeaderMap, ip: IpAddr) -> Result<Caller, ProxyError> {
    let app = plans.is_app(headers);
    let Some(value) = headers.get(USER_NAME) else {
        let actor = if app {
            Actor::App
        } else {
            Actor::Anonymous(ip)
        };
        return Ok(Caller {
            actor,
            trusted: app,
        });
    };
    let verifier = plans
        .user_tokens
        .as_ref()
        .ok_or_else(|| ProxyError::InvalidUserToken("this proxy accepts no user tokens".into()))?;
    let token = value
        .to_str()
        .map_err(|_| ProxyError::InvalidUserToken("malformed: not a JWT".into()))?;
    let user = verifier
        .verify(token)
        .map_err(ProxyError::InvalidUserToken)?;
    check_tier(plans, user.tier.as_deref())?;
    Ok(Caller {
        actor: Actor::User(user),
        trusted: true,
    })
}

/// With tiers configured, a user's tier must be one of them.
fn check_tier(plans: &Plans, tier: Option<&str>) -> Result<(), ProxyError> {
    let Some(tiers) = &plans.tiers else {
        return Ok(());
    };
    match tier {
        None => Err(ProxyError::InvalidUserToken(
            "the `tier` claim is missing".into(),
        )),
        Some(name) if !tiers.by_name.contains_key(name) => {
            let shown: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
            Err(ProxyError::InvalidUserToken(format!(
                "the tier {shown:?} is not configured"
            )))
        }
        Some(_) => Ok(()),
    }
}

/// Refuses `model` of `provider` when the caller's tier does not allow it.
///
/// # Errors
///
/// [`ProxyError::ModelNotAllowed`] naming the tier and the model.
pub fn check_model(tier: &Tier, provider: Provider, model: Option<&str>) -> Result<(), ProxyError> {
    if tier.allows(provider, model) {
        return Ok(());
    }
    let named = match model {
        Some(model) => format!("{provider}/{}", model.chars().take(128).collect::<String>()),
        None => format!("{provider} models"),
    };
    Err(ProxyError::ModelNotAllowed(format!(
        "the {} plan does not include {named}",
        tier.name
    )))
}

/// Refuses a request the app's key would serve once the caller's spend on it today, as
/// `store` has it, has reached the tier's budget.
///
/// # Errors
///
/// [`ProxyError::BudgetExceeded`] naming the tier and the budget;
/// [`ProxyError::StoreUnavailable`] when the store cannot say (budgets fail closed).
pub async fn check_server_budget(
    store: &Store,
    caller: &Caller,
    tier: &Tier,
) -> Result<(), ProxyError> {
    // Only a user may spend the app's key under a tier: the app alone has no tier, anonymous
    // callers may not use the app's key, and grants never fall back to it.
    let (Some(budget), Actor::User(user)) = (tier.server_key_daily_budget_nano, &caller.actor)
    else {
        return Ok(());
    };
    let spent = store
        .spend(&Subject::User(user.sub.clone()), today(), SPEND_SERVER)
        .await
        .map_err(|e| store.failed("server budget", &e))?;
    if spent >= budget {
        return Err(ProxyError::BudgetExceeded {
            message: format!(
                "the {} plan's daily budget of ${:.2} on the app's key is used up (UTC day)",
                tier.name,
                usd(budget)
            ),
            retry_after: until_midnight(),
        });
    }
    Ok(())
}

/// Counts one request of the caller to `provider` in this UTC hour in `store`, unless the
/// tier's hourly limit is reached (then nothing is counted). The last check before a request is sent, so
/// only forwarded requests count.
///
/// # Errors
///
/// [`ProxyError::TierRateLimited`] naming the tier and the limit, with the seconds until the
/// next hour. A store that cannot be reached lets the request through (logged and counted):
/// an hour's count is not worth refusing every user of a tier while Redis is down.
pub async fn count_request(
    store: &Store,
    caller: &Caller,
    tier: &Tier,
    provider: Provider,
) -> Result<(), ProxyError> {
    let Some(limit) = tier.requests_per_hour else {
        return Ok(());
    };
    let now = now_ms() / 1000;
    let hour = now / HOUR;
    let name = format!("{}|{provider}", caller.who());
    match store.count_hour(&name, hour, limit).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ProxyError::TierRateLimited {
            message: format!(
                "the {} plan allows {limit} requests an hour to {provider}; the next hour (UTC) \
                 starts in {} s",
                tier.name,
                HOUR - now % HOUR
            ),
            retry_after: (HOUR - now % HOUR).max(1),
        }),
        Err(e) => {
            store.fell_back(&e, "tier request count; letting the request through");
            Ok(())
        }
    }
}

/// The identity a grant made by `caller` carries: the user and tier of its creator.
#[must_use]
pub fn grant_identity(caller: &Caller) -> Option<User> {
    match &caller.actor {
        Actor::User(user) => Some(user.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(models: Option<&[&str]>) -> Tier {
        Tier {
            name: "free".into(),
            models: models.map(|m| m.iter().map(|p| Pattern::parse(p).unwrap()).collect()),
            requests_per_hour: None,
            server_key_daily_budget_nano: None,
        }
    }

    #[test]
    fn patterns_allow_what_they_name_and_nothing_else() {
        let free = tier(Some(&["openai/gpt-4o-mini", "gemini/gemini-2.0-flash*"]));
        assert!(free.allows(Provider::Openai, Some("gpt-4o-mini")));
        assert!(!free.allows(Provider::Openai, Some("gpt-4o-mini-2024-07-18")));
        assert!(!free.allows(Provider::Openai, Some("gpt-4o")));
        assert!(free.allows(Provider::Gemini, Some("gemini-2.0-flash-lite")));
        assert!(!free.allows(Provider::Anthropic, Some("claude-haiku-4-5")));
        assert!(
            !free.allows(Provider::Anthropic, None),
            "a provider no pattern names"
        );
        assert!(
            free.allows(Provider::Openai, None),
            "a request naming no model"
        );
        assert!(free.limits_models());
        let pro = tier(Some(&["*"]));
        assert!(pro.allows(Provider::Anthropic, Some("anything")) && !pro.limits_models());
        assert!(tier(None).allows(Provider::Custom, Some("x")));
        let all_openai = tier(Some(&["openai/*"]));
        assert!(all_openai.allows(Provider::Openai, Some("o3")));
        assert!(!all_openai.allows(Provider::Gemini, Some("o3")));
        for bad in ["gpt-4o", "nobody/x", "openai/", "openai/a*b"] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_refusal_names_the_tier_and_the_model() {
        let free = tier(Some(&["openai/gpt-4o-mini"]));
        let err = check_model(&free, Provider::Openai, Some("gpt-4o")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the free plan does not include openai/gpt-4o"
        );
        assert!(check_model(&free, Provider::Openai, Some("gpt-4o-mini")).is_ok());
    }
}
