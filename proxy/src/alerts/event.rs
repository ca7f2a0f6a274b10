//! The events and how they are signed.
//!
//! Each event is JSON posted to the webhook with `X-BYOK-Signature: t=<unix seconds>,v1=<hex>`,
//! where `v1` is HMAC-SHA256 under the alert secret of `<t>.<body>` (the scheme Stripe's
//! webhooks use, so receivers have code for it): a receiver recomputes it, compares in
//! constant time and refuses an old `t`. Each delivery attempt is signed at its own time.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::About;
use crate::core::Provider;
use crate::core::clock::date;

/// The budget event's type.
pub(super) const BUDGET: &str = "budget.threshold";
/// The refused-key event's type.
pub(super) const REJECTED: &str = "key.rejected";

/// One alert, ready to post.
#[derive(Debug, Clone)]
pub struct Event {
    /// Its type (`budget.threshold`, `key.rejected`).
    pub kind: &'static str,
    /// The JSON body.
    pub body: Vec<u8>,
}

impl Event {
    /// Spend passed `threshold` of a budget.
    #[allow(clippy::too_many_arguments)] // one field of the event each
    pub(super) fn budget(
        id: [u8; 16],
        about: &About,
        provider: Provider,
        model: &str,
        day: u64,
        spend_usd: f64,
        cap_usd: f64,
        threshold: f64,
    ) -> Self {
        let subject = match about {
            About::UserKey { user } => json!({ "kind": "user_key", "user": user }),
            About::Grant { grant, user } => {
                json!({ "kind": "grant", "grant": grant.to_string(), "user": user })
            }
            About::AppKey { user } => json!({ "kind": "app_key", "user": user }),
        };
        Self::new(
            BUDGET,
            id,
            day,
            json!({
                "subject": subject,
                "provider": provider,
                "model": model,
                "spend_usd": spend_usd,
                "cap_usd": cap_usd,
                "threshold": threshold,
            }),
        )
    }

    /// A provider refused a user's key.
    pub(super) fn rejected(
        id: [u8; 16],
        user: &str,
        provider: Provider,
        model: Option<&str>,
        day: u64,
        status: u16,
    ) -> Self {
        Self::new(
            REJECTED,
            id,
            day,
            json!({
                "subject": { "kind": "user", "user": user },
                "provider": provider,
                "model": model,
                "status": status,
            }),
        )
    }

    fn new(kind: &'static str, id: [u8; 16], day: u64, fields: Value) -> Self {
        let mut body = json!({
            "type": kind,
            "id": hex::encode(id),
            "created": crate::core::clock::now_ms() / 1000,
            "day": date(day),
        });
        if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
            body.extend(fields);
        }
        Self {
            kind,
            body: body.to_string().into_bytes(),
        }
    }
}

/// HMAC-SHA256 under `key`: the events' signatures, and their names in the store.
pub(super) fn hmac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"))
}

/// The `X-BYOK-Signature` value for `body` sent at `t` (unix seconds), under `secret`.
#[must_use]
pub fn sign(secret: &[u8], t: u64, body: &[u8]) -> String {
    let mut mac = hmac(secret);
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::grant_id::GrantId;

    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body() {
        // Computed apart: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
        assert_eq!(
            sign(b"whsec_test", 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }

    #[test]
    fn a_budget_event_names_its_subject_and_figures_only() {
        let grant: GrantId = "00112233445566778899aabbccddeeff".parse().unwrap();
        let event = Event::budget(
            [7; 16],
            &About::Grant {
                grant,
                user: Some("alice".into()),
            },
            Provider::Openai,
            "gpt-4o-mini",
            20_429,
            0.41,
            0.5,
            0.8,
        );
        let body: Value = serde_json::from_slice(&event.body).unwrap();
        assert_eq!(body["type"], "budget.threshold");
        assert_eq!(body["id"], "07".repeat(16));
        assert_eq!(body["day"], "2025-12-07");
        assert_eq!(body["subject"]["kind"], "grant");
        assert_eq!(body["subject"]["grant"], "00112233445566778899aabbccddeeff");
        assert_eq!(body["subject"]["user"], "alice");
        assert_eq!(
            (&body["provider"], &body["model"]),
            (&json!("openai"), &json!("gpt-4o-mini"))
        );
        assert_eq!(
            (&body["spend_usd"], &body["cap_usd"], &body["threshold"]),
            (&json!(0.41), &json!(0.5), &json!(0.8))
        );
        let rejected = Event::rejected([1; 16], "bob", Provider::Groq, None, 20_429, 401);
        let body: Value = serde_json::from_slice(&rejected.body).unwrap();
        assert_eq!(body["type"], "key.rejected");
        assert_eq!(body["subject"], json!({"kind": "user", "user": "bob"}));
        assert_eq!(
            (&body["status"], &body["model"]),
            (&json!(401), &Value::Null)
        );
    }
}
