//! User tokens: the app's signed word on who a user is and what plan they are on, a JWT in
//! `X-BYOK-User` (`core::headers::USER_HEADER`), checked with `jsonwebtoken`.
//!
//! The algorithm is fixed by configuration (`EdDSA` with a public key file, or `HS256` with a
//! secret), never taken from the token: a token naming any other algorithm (`none`, or `HS256`
//! signed with the EdDSA public key as its secret) is refused before its signature is looked at.
//! `sub`, `exp` and (with tiers configured) `tier` are required; `iss` and `aud` are checked
//! when configured, and then required. Every refusal names its cause, never the token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// Seconds of clock skew allowed on `exp` and `nbf`.
const LEEWAY: u64 = 30;
/// The longest `sub` accepted (it names counters in the store).
const MAX_SUB: usize = 256;

/// How user tokens are checked (from the `BYOK_USER_TOKEN_*` settings).
#[derive(Clone)]
pub struct Verifier {
    algorithm: Algorithm,
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// A checked user token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Who (`sub`).
    pub sub: String,
    /// Their plan (`tier`), if the token names one.
    pub tier: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    tier: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Head {
    alg: String,
}

impl Verifier {
    /// A verifier for `algorithm` (`EdDSA` or `HS256`) with `key` (an EdDSA public key, PEM, or
    /// the HS256 secret's UTF-8 bytes), checking `issuer` and `audience` when given.
    ///
    /// # Errors
    ///
    /// What is wrong with the algorithm or the key.
    pub fn new(
        algorithm: &str,
        key: &[u8],
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> Result<Self, String> {
        let (algorithm, key) = match algorithm {
            "EdDSA" => (
                Algorithm::EdDSA,
                DecodingKey::from_ed_pem(key)
                    .map_err(|_| "expected an Ed25519 public key, PEM".to_owned())?,
            ),
            "HS256" if key.len() < 32 => {
                return Err("the HS256 secret must be at least 32 bytes".into());
            }
            "HS256" => (
                Algorithm::HS256,
                DecodingKey::from_secret(key).map_err(|e| e.to_string())?,
            ),
            _ => return Err("expected EdDSA or HS256".into()),
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY;
        let mut required = vec!["exp", "sub"];
        match audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        if let Some(iss) = issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        Ok(Self {
            algorithm,
            key,
            validation,
        })
    }

    /// The user `token` names.
    ///
    /// # Errors
    ///
    /// Why it is refused, in words for the 401 (never echoing the token).
    pub fn verify(&self, token: &str) -> Result<User, String> {
        let token = token.trim();
        let head = token
            .split('.')
            .next()
            .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
            .and_then(|h| serde_json::from_slice::<Head>(&h).ok())
            .ok_or("malformed: not a JWT")?;
        let expected = format!("{:?}", self.algorithm);
        if head.alg != expected {
            let named: String = head
                .alg
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(16)
                .collect();
            return Err(format!(
                "wrong algorithm: the token is signed with {named:?}, this proxy accepts only {expected}"
            ));
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| cause(e.kind()))?;
        let Claims { sub, tier } = data.claims;
        let sub = sub.ok_or("the `sub` claim is missing")?;
        if sub.is_empty() || sub.len() > MAX_SUB || sub.chars().any(char::is_control) {
            return Err(format!(
                "`sub` must be 1 to {MAX_SUB} characters without control characters"
            ));
        }
        Ok(User { sub, tier })
    }
}

fn cause(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::InvalidSignature => "bad signature".into(),
        ErrorKind::ExpiredSignature => "expired".into(),
        ErrorKind::ImmatureSignature => "not valid yet (nbf)".into(),
        ErrorKind::InvalidAudience => "wrong audience (aud)".into(),
        ErrorKind::InvalidIssuer => "wrong issuer (iss)".into(),
        ErrorKind::InvalidAlgorithm => "wrong algorithm".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the `{claim}` claim is missing"),
        ErrorKind::InvalidClaimFormat(claim) => format!("the `{claim}` claim is malformed"),
        ErrorKind::Json(_) => "malformed claims (`sub` and `tier` must be strings)".into(),
        _ => "malformed token".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-hs256";
    /// An Ed25519 key pair made for these tests with `openssl genpkey -algorithm ed25519`.
    const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEILJJHcQTFHZb8wWXM/nA0yToHAvkL50IInDf+jNIgcZW\n-----END PRIVATE KEY-----\n";
    const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJVFEaORNu1r0B/e+9EcImYj6S/BTO4jij9c1hI1R9aE=\n-----END PUBLIC KEY-----\n";

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    fn hs(claims: &serde_json::Value) -> String {
        encode(
            &Header::default(),
            claims,
            &EncodingKey::from_secret(SECRET).unwrap(),
        )
        .unwrap()
    }

    fn ed(claims: &serde_json::Value) -> String {
        let key = EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap();
        encode(&Header::new(Algorithm::EdDSA), claims, &key).unwrap()
    }

    #[test]
    fn a_good_token_names_its_user_and_tier() {
        let v = Verifier::new("HS256", SECRET, None, None).unwrap();
        let user = v
            .verify(&hs(
                &json!({"sub": "alice", "tier": "pro", "exp": now() + 60, "aud": "any"}),
            ))
            .unwrap();
        assert_eq!(
            user,
            User {
                sub: "alice".into(),
                tier: Some("pro".into())
            }
        );
        let v = Verifier::new("EdDSA", ED_PUBLIC.as_bytes(), Some("app"), Some("byok")).unwrap();
        let claims = json!({"sub": "bob", "exp": now() + 60, "iss": "app", "aud": "byok"});
        assert_eq!(v.verify(&ed(&claims)).unwrap().tier, None);
    }

    #[test]
    fn every_refusal_names_its_cause() {
        let hs256 = Verifier::new("HS256", SECRET, Some("app"), Some("byok")).unwrap();
        let eddsa = Verifier::new("EdDSA", ED_PUBLIC.as_bytes(), None, None).unwrap();
        let good = json!({"sub": "a", "exp": now() + 60, "iss": "app", "aud": "byok"});
        let with = |k: &str, v: serde_json::Value| {
            let mut c = good.clone();
            c[k] = v;
            c
        };
        let without = |k: &str| {
            let mut c = good.clone();
            c.as_object_mut().unwrap().remove(k);
            c
        };
        let forged = {
            let t = hs(&good);
            let (rest, _) = t.rsplit_once('.').unwrap();
            format!("{rest}.{}", URL_SAFE_NO_PAD.encode([7u8; 32]))
        };
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(good.to_string())
        );
        // HS256 signed with the EdDSA public key as its secret: the classic confusion.
        let confused = encode(
            &Header::default(),
            &good,
            &EncodingKey::from_secret(ED_PUBLIC.as_bytes()).unwrap(),
        )
        .unwrap();
        let cases: Vec<(&Verifier, String, &str)> = vec![
            (&hs256, forged, "bad signature"),
            (&hs256, hs(&with("exp", json!(now() - 3600))), "expired"),
            (&hs256, hs(&with("aud", json!("other"))), "wrong audience"),
            (&hs256, hs(&without("aud")), "`aud` claim is missing"),
            (&hs256, hs(&with("iss", json!("evil"))), "wrong issuer"),
            (&hs256, hs(&without("iss")), "`iss` claim is missing"),
            (&hs256, hs(&without("exp")), "`exp` claim is missing"),
            (&hs256, hs(&without("sub")), "`sub` claim is missing"),
            (&hs256, hs(&with("sub", json!(""))), "`sub` must be"),
            (&hs256, hs(&with("tier", json!(3))), "malformed claims"),
            (&hs256, unsigned.clone(), "wrong algorithm"),
            (&eddsa, unsigned, "\"none\""),
            (&eddsa, confused, "accepts only EdDSA"),
            (&hs256, ed(&good), "accepts only HS256"),
            (&hs256, "not a token".into(), "malformed"),
        ];
        for (verifier, token, says) in cases {
            let err = verifier.verify(&token).unwrap_err();
            assert!(err.contains(says), "{token}: {err}");
            assert!(
                !err.contains(&token[..token.len().min(20)]) || token.len() < 20,
                "{err}"
            );
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(Verifier::new("RS256", SECRET, None, None).is_err());
        assert!(Verifier::new("HS256", b"short", None, None).is_err());
        assert!(Verifier::new("EdDSA", b"not pem", None, None).is_err());
    }
}
