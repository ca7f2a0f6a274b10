//! Errors in words a person understands.
//!
//! Every message here is built from an error code, a provider name or a message the proxy
//! already scrubbed; none can contain a key or a password.

use byok_vault::{Expiry, VaultError};

/// What to tell the user about a vault error.
#[must_use]
pub fn vault_error(err: &VaultError) -> String {
    match err {
        VaultError::Decrypt => {
            "That password did not unlock the vault. Nothing was changed; try again.".into()
        }
        VaultError::Locked => "The vault is locked. Unlock it to continue.".into(),
        VaultError::NotCreated => "There is no vault in this browser yet. Create one first.".into(),
        VaultError::NoKey(provider) => {
            format!(
                "No key of yours can serve {}. Add one on the Keys page, or turn one on.",
                provider.display_name()
            )
        }
        VaultError::Unreachable(_) => {
            "The byok proxy could not be reached. Check that it is running and try again.".into()
        }
        VaultError::Aborted => "Stopped.".into(),
        VaultError::BackupUnreadable => {
            "That password did not open the backup, or the file is damaged or not a byok \
             backup. Nothing was changed."
                .into()
        }
        VaultError::Proxy(message) => format!("The key could not be tested: {message}."),
        VaultError::Storage(_) => {
            "The browser's storage failed, so nothing was saved. Try again; if it keeps \
             failing, check that this site may store data."
                .into()
        }
        other => sentence(&other.to_string()),
    }
}

/// What to tell the user when the proxy or the provider answered a request with `status`.
/// `code` is the body's `error.code` and `message` its `error.message` (scrubbed by the
/// proxy), `retry_after_s` the `Retry-After` header. The proxy's own refusals (a cap, a plan)
/// are told apart from the provider's by their code.
#[must_use]
pub fn http_error(
    status: u16,
    code: Option<&str>,
    message: Option<&str>,
    retry_after_s: Option<u64>,
) -> String {
    let detail = message
        .map(|m| format!(" ({})", m.trim_end_matches('.')))
        .unwrap_or_default();
    // The proxy's own refusals say what happened in a sentence; nothing was sent on.
    let refused = |fallback: &str| {
        let said = message.map_or(fallback, |m| m.trim_end_matches('.'));
        format!("Not sent: {said}.")
    };
    match (status, code) {
        (429, Some("budget_exceeded")) => refused("the daily spending limit is reached"),
        (403, Some("model_not_allowed")) => refused("your plan does not include this model"),
        (401, Some("invalid_user_token")) => refused("the app's word on who you are was refused"),
        _ => plain_http_error(status, &detail, retry_after_s),
    }
}

fn plain_http_error(status: u16, detail: &str, retry_after_s: Option<u64>) -> String {
    match status {
        401 | 403 => format!(
            "The provider rejected the key{detail}. Test it on the Keys page, or replace it."
        ),
        404 => format!("This proxy does not serve that provider or path{detail}."),
        413 => "The prompt is too large for this proxy.".into(),
        429 => match retry_after_s {
            Some(s) => format!("Too many requests. Wait {s} seconds and try again."),
            None => "Too many requests. Wait a moment and try again.".into(),
        },
        502 | 503 => format!("The provider could not be reached{detail}. Try again shortly."),
        504 => "The provider took too long to start answering. Try again.".into(),
        _ => format!("The request failed with status {status}{detail}."),
    }
}

/// A failed key test in one sentence: `who` (a provider's name, or "The provider") did not take
/// `what` ("this key", a key's label in quotes), with the status. The proxy's own message says
/// no more than the status does, so it is not repeated.
#[must_use]
pub fn key_refused(who: &str, what: &str, status: u16) -> String {
    match status {
        401 | 403 => format!("{who} rejected {what} (status {status})."),
        _ => format!("{who} did not accept {what} (status {status})."),
    }
}

/// The badge for a key's expiry, when there is one to show: `("soon" | "expired", text)`.
#[must_use]
pub fn expiry_badge(expiry: Expiry) -> Option<(&'static str, String)> {
    match expiry {
        Expiry::Fine => None,
        Expiry::Soon { days_left: 1 } => Some(("soon", "Expires within a day".into())),
        Expiry::Soon { days_left } => Some(("soon", format!("Expires in {days_left} days"))),
        Expiry::Expired => Some(("expired", "Expired: not sent".into())),
    }
}

/// `name` with its indefinite article: "an OpenAI", "a Google Gemini".
#[must_use]
pub fn with_article(name: &str) -> String {
    let vowel = name
        .chars()
        .next()
        .is_some_and(|c| "AEIOUaeiou".contains(c));
    format!("{} {name}", if vowel { "an" } else { "a" })
}

/// What restoring a backup did, from the labels of the keys added and of those the vault
/// already held.
#[must_use]
pub fn restored(added: &[&str], skipped: &[&str]) -> String {
    let list = |labels: &[&str]| {
        labels
            .iter()
            .map(|l| format!("“{l}”"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let keys = |n: usize| {
        if n == 1 {
            "1 key".to_owned()
        } else {
            format!("{n} keys")
        }
    };
    let mut out = match added.len() {
        0 => "No key was added".to_owned(),
        n => format!("Added {}: {}", keys(n), list(added)),
    };
    if !skipped.is_empty() {
        let (were, as_they_were) = if skipped.len() == 1 {
            ("was", "it was")
        } else {
            ("were", "they were")
        };
        out.push_str(&format!(
            ". {} {were} already in the vault and left as {as_they_were}: {}",
            keys(skipped.len()),
            list(skipped)
        ));
    }
    out.push('.');
    out
}

/// `text` with a capital first letter and a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use byok_vault::Provider;

    use super::*;

    #[test]
    fn a_refused_key_is_said_once_in_a_sentence() {
        assert_eq!(
            key_refused("OpenAI", "this key", 401),
            "OpenAI rejected this key (status 401)."
        );
        assert_eq!(
            key_refused("The provider", "“Old key”", 500),
            "The provider did not accept “Old key” (status 500)."
        );
    }

    #[test]
    fn a_restore_says_what_it_added_and_what_it_left() {
        assert_eq!(
            restored(&["work", "home"], &[]),
            "Added 2 keys: “work”, “home”."
        );
        assert_eq!(
            restored(&["work"], &["home"]),
            "Added 1 key: “work”. 1 key was already in the vault and left as it was: “home”."
        );
        assert_eq!(
            restored(&[], &["work", "home"]),
            "No key was added. 2 keys were already in the vault and left as they were: “work”, “home”."
        );
        assert_eq!(restored(&[], &[]), "No key was added.");
    }

    #[test]
    fn names_take_the_article_they_are_spoken_with() {
        assert_eq!(with_article("OpenAI"), "an OpenAI");
        assert_eq!(with_article("Anthropic"), "an Anthropic");
        assert_eq!(with_article("OpenRouter"), "an OpenRouter");
        assert_eq!(with_article("Google Gemini"), "a Google Gemini");
    }

    #[test]
    fn vault_errors_read_as_sentences() {
        assert!(vault_error(&VaultError::Decrypt).contains("Nothing was changed"));
        assert_eq!(
            vault_error(&VaultError::NoKey(Provider::Anthropic)),
            "No key of yours can serve Anthropic. Add one on the Keys page, or turn one on."
        );
        assert_eq!(
            vault_error(&VaultError::InvalidInput("the label is empty".into())),
            "The label is empty."
        );
        assert!(vault_error(&VaultError::Unreachable("x".into())).contains("proxy"));
    }

    #[test]
    fn http_errors_say_what_to_do() {
        assert_eq!(
            http_error(
                401,
                None,
                Some("Incorrect API key provided: [redacted]."),
                None
            ),
            "The provider rejected the key (Incorrect API key provided: [redacted]). \
             Test it on the Keys page, or replace it."
        );
        assert_eq!(
            http_error(429, Some("rate_limited"), None, Some(12)),
            "Too many requests. Wait 12 seconds and try again."
        );
        assert!(http_error(504, None, None, None).contains("too long"));
        assert!(
            http_error(502, None, Some("connection refused"), None)
                .contains("could not be reached")
        );
        let cap = "this key's daily cap of $1.00 is reached (spent $1.8000 today, UTC); it resets at midnight UTC";
        assert_eq!(
            http_error(429, Some("budget_exceeded"), Some(cap), Some(3600)),
            format!("Not sent: {cap}.")
        );
        assert_eq!(
            http_error(403, Some("model_not_allowed"), None, None),
            "Not sent: your plan does not include this model."
        );
        assert_eq!(
            http_error(403, None, None, None),
            "The provider rejected the key. Test it on the Keys page, or replace it.",
            "a 403 without our code is the provider's"
        );
        assert_eq!(
            http_error(418, None, None, None),
            "The request failed with status 418."
        );
    }

    #[test]
    fn expiry_and_key_state_read_as_sentences() {
        assert_eq!(expiry_badge(Expiry::Fine), None);
        assert_eq!(
            expiry_badge(Expiry::Soon { days_left: 1 }),
            Some(("soon", "Expires within a day".into()))
        );
        assert_eq!(
            expiry_badge(Expiry::Soon { days_left: 6 }),
            Some(("soon", "Expires in 6 days".into()))
        );
        assert_eq!(
            expiry_badge(Expiry::Expired),
            Some(("expired", "Expired: not sent".into()))
        );
        assert_eq!(
            vault_error(&VaultError::KeyOff { expired: false }),
            "That key is turned off; turn it on to use it."
        );
        assert_eq!(
            vault_error(&VaultError::KeyRejected(401)),
            "The provider rejected the new key (status 401); nothing was changed."
        );
    }
}
