//! Grant scopes: reading one from a creation request, and checking a request against one. Pure
//! functions, no I/O.

use serde_json::{Map, Value};

use super::record::Scope;
use crate::core::model::matches;
use crate::core::money;
use crate::core::{Provider, Resource};

/// The most model patterns a grant may list.
const MAX_MODELS: usize = 64;
/// The longest model pattern accepted.
const MAX_MODEL_LEN: usize = 128;
/// The TTL when the request names none.
pub const DEFAULT_TTL_SECS: u64 = 300;

/// A refused creation request: the field at fault and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadScope {
    /// The request field (`provider`, `ttl_seconds`, ...).
    pub field: &'static str,
    /// What is wrong, without echoing the value.
    pub problem: String,
}

fn bad(field: &'static str, problem: impl Into<String>) -> BadScope {
    BadScope {
        field,
        problem: problem.into(),
    }
}

/// Reads a creation request (`{"provider", "resource", "ttl_seconds", "max_requests",
/// "models", "daily_cap_usd"}`; `resource` for Azure only, and required there) into a scope expiring `ttl` after `now` (Unix seconds). `served` says which providers this proxy
/// serves; `max_ttl` is the operator's ceiling.
///
/// # Errors
///
/// [`BadScope`] naming the first field that is missing, unknown, of the wrong type or out of
/// range. Values are never echoed: a misplaced key would otherwise come back in the message.
pub fn parse_request(
    body: &[u8],
    served: impl Fn(Provider) -> bool,
    max_ttl: u64,
    now: u64,
) -> Result<Scope, BadScope> {
    let value: Value = serde_json::from_slice(body).map_err(|_| bad("body", "not valid JSON"))?;
    let Value::Object(fields) = value else {
        return Err(bad("body", "expected a JSON object"));
    };
    // The unknown name is not echoed either: it could be anything.
    if fields.keys().any(|k| {
        !matches!(
            k.as_str(),
            "provider" | "resource" | "ttl_seconds" | "max_requests" | "models" | "daily_cap_usd"
        )
    }) {
        return Err(bad(
            "body",
            "unknown field; expected provider, resource, ttl_seconds, max_requests, models, \
             daily_cap_usd",
        ));
    }
    let provider = match fields.get("provider") {
        Some(Value::String(id)) => id
            .parse::<Provider>()
            .ok()
            .filter(|p| served(*p))
            .ok_or_else(|| bad("provider", "not a provider this proxy serves"))?,
        Some(_) => return Err(bad("provider", "expected a string")),
        None => return Err(bad("provider", "required")),
    };
    let resource = match (fields.get("resource"), provider.needs_resource()) {
        (None | Some(Value::Null), false) => None,
        (Some(Value::String(name)), true) => Some(
            Resource::new(name)
                .map_err(|e| bad("resource", e.to_string()))?
                .to_string(),
        ),
        (None | Some(Value::Null), true) => {
            return Err(bad("resource", format!("required for {provider}")));
        }
        (Some(_), true) => return Err(bad("resource", "expected a string")),
        (Some(_), false) => {
            return Err(bad("resource", format!("{provider} takes no resource")));
        }
    };
    let ttl = match optional_u64(&fields, "ttl_seconds")? {
        None => DEFAULT_TTL_SECS.min(max_ttl),
        Some(ttl) if (1..=max_ttl).contains(&ttl) => ttl,
        Some(_) => {
            return Err(bad(
                "ttl_seconds",
                format!("must be between 1 and {max_ttl}"),
            ));
        }
    };
    let max_requests = match optional_u64(&fields, "max_requests")? {
        None => None,
        Some(n) => Some(
            u32::try_from(n)
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| bad("max_requests", "must be between 1 and 4294967295"))?,
        ),
    };
    let models = match fields.get("models") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => {
            if list.len() > MAX_MODELS {
                return Err(bad("models", format!("at most {MAX_MODELS} patterns")));
            }
            list.iter()
                .map(|m| match m {
                    Value::String(m) if valid_pattern(m) => Ok(m.clone()),
                    _ => Err(bad(
                        "models",
                        format!(
                            "each entry must be a model name of 1 to {MAX_MODEL_LEN} visible \
                             characters, with `*` only at the end"
                        ),
                    )),
                })
                .collect::<Result<_, _>>()?
        }
        Some(_) => return Err(bad("models", "expected an array of strings")),
    };
    let daily_cap_nano_usd = match fields.get("daily_cap_usd") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => {
            let nano = n
                .as_f64()
                .filter(|usd| (0.0..=1e6).contains(usd))
                .map(money::nano)
                .ok_or_else(|| bad("daily_cap_usd", "must be between 0 and 1000000"))?;
            Some(nano)
        }
        Some(_) => return Err(bad("daily_cap_usd", "expected a number of USD")),
    };
    Ok(Scope {
        provider,
        resource,
        models,
        max_requests,
        expires_at: now.saturating_add(ttl),
        daily_cap_nano_usd,
    })
}

fn optional_u64(fields: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, BadScope> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad(name, "expected a whole number")),
        Some(_) => Err(bad(name, "expected a whole number")),
    }
}

fn valid_pattern(pattern: &str) -> bool {
    let name = pattern.strip_suffix('*').unwrap_or(pattern);
    !pattern.is_empty()
        && pattern.len() <= MAX_MODEL_LEN
        && !name.contains('*')
        && name.bytes().all(|b| b.is_ascii_graphic())
}

/// Whether `model` matches one of `patterns` (see [`matches`]); an empty list allows every
/// model.
#[must_use]
pub fn allows_model(patterns: &[String], model: Option<&str>) -> bool {
    if patterns.is_empty() {
        return true;
    }
    let Some(model) = model else { return false };
    patterns.iter().any(|p| matches(p, model))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Scope, BadScope> {
        parse_request(body.as_bytes(), |p| p != Provider::Custom, 86_400, 1_000)
    }

    #[test]
    fn a_full_request_and_the_defaults() {
        let s = parse(r#"{"provider":"openai","ttl_seconds":60,"max_requests":5,"models":["gpt-4o-mini","gpt-4.1*"]}"#).unwrap();
        assert_eq!(s.provider, Provider::Openai);
        assert_eq!(s.expires_at, 1_060);
        assert_eq!(s.max_requests, Some(5));
        assert_eq!(s.models, ["gpt-4o-mini", "gpt-4.1*"]);
        let azure = parse(r#"{"provider":"azure","resource":"contoso"}"#).unwrap();
        assert_eq!(azure.resource.as_deref(), Some("contoso"));
        let d = parse(r#"{"provider":"anthropic"}"#).unwrap();
        assert_eq!(d.resource, None);
        assert_eq!(
            (d.expires_at, d.max_requests, d.models.len()),
            (1_300, None, 0)
        );
    }

    #[test]
    fn each_bad_field_is_named_and_its_value_never_echoed() {
        let cases = [
            ("[]", "body"),
            ("{", "body"),
            (
                r#"{"provider":"openai","key":"sk-secret-value-123"}"#,
                "body",
            ),
            (r#"{}"#, "provider"),
            (r#"{"provider":"sk-secret-value-123"}"#, "provider"),
            (r#"{"provider":"custom"}"#, "provider"),
            (r#"{"provider":7}"#, "provider"),
            (r#"{"provider":"openai","ttl_seconds":0}"#, "ttl_seconds"),
            (
                r#"{"provider":"openai","ttl_seconds":86401}"#,
                "ttl_seconds",
            ),
            (r#"{"provider":"openai","ttl_seconds":-1}"#, "ttl_seconds"),
            (r#"{"provider":"openai","ttl_seconds":"60"}"#, "ttl_seconds"),
            (r#"{"provider":"openai","ttl_seconds":1.5}"#, "ttl_seconds"),
            (r#"{"provider":"openai","max_requests":0}"#, "max_requests"),
            (
                r#"{"provider":"openai","max_requests":4294967296}"#,
                "max_requests",
            ),
            (r#"{"provider":"openai","models":"gpt-4o"}"#, "models"),
            (r#"{"provider":"openai","models":[""]}"#, "models"),
            (r#"{"provider":"openai","models":["gpt*4o"]}"#, "models"),
            (r#"{"provider":"openai","models":["gpt 4o"]}"#, "models"),
            (r#"{"provider":"openai","models":[1]}"#, "models"),
            (r#"{"provider":"azure"}"#, "resource"),
            (
                r#"{"provider":"azure","resource":"secret.evil"}"#,
                "resource",
            ),
            (r#"{"provider":"azure","resource":7}"#, "resource"),
            (r#"{"provider":"openai","resource":"secret"}"#, "resource"),
        ];
        for (body, field) in cases {
            let err = parse(body).unwrap_err();
            assert_eq!(err.field, field, "{body}");
            assert!(!err.problem.contains("secret"), "{body}: {}", err.problem);
        }
        let many = format!(
            r#"{{"provider":"openai","models":[{}]}}"#,
            vec!["\"m\""; 65].join(",")
        );
        assert_eq!(parse(&many).unwrap_err().field, "models");
    }

    #[test]
    fn model_patterns() {
        let list = ["gpt-4o-mini".to_owned(), "o3*".to_owned()];
        assert!(allows_model(&list, Some("gpt-4o-mini")));
        assert!(allows_model(&list, Some("o3-mini")));
        assert!(allows_model(&list, Some("o3")));
        assert!(!allows_model(&list, Some("gpt-4o")));
        assert!(!allows_model(&list, Some("gpt-4o-mini-2")));
        assert!(
            !allows_model(&list, None),
            "a request naming no model is outside a list"
        );
        assert!(allows_model(&[], None));
        assert!(allows_model(&["*".to_owned()], Some("anything")));
    }
}
