//! A grant as the store keeps it: public metadata, and the provider key sealed so that only
//! the token's secret together with the server secret opens it.
//!
//! # Construction
//!
//! - Record key: HKDF-SHA256 with the server's grant-seal key as salt, the token's 256-bit
//!   secret as input key material, and `byok-proxy grant v1` followed by the grant id as info.
//!   Neither half alone determines it: a dump of the store plus the server secret lacks the
//!   token's secret; the token lacks the server secret.
//! - Cipher: AES-256-GCM, a fresh random 96-bit nonce, the provider key as plaintext.
//! - Associated data: the metadata exactly as stored (JSON: version, id, key fingerprint,
//!   provider, scope, expiry), so a changed scope, a moved id or a later expiry fails to open.
//!
//! Stored text: `{"meta":"<metadata JSON>","nonce":"<base64>","ct":"<base64>"}`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hkdf::Hkdf;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::token::Token;
use crate::core::Provider;
use crate::core::grant_id::GrantId;

/// The record format's version.
const VERSION: u8 = 1;

/// What a grant allows: one provider, optionally some models and a number of requests, until
/// an expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// The only provider the grant reaches.
    pub provider: Provider,
    /// The only resource it reaches, for a provider whose host is the resource's (Azure): a
    /// grant's holder never chooses where the key goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Allowed models (exact names, or prefixes ending in `*`); empty allows every model.
    #[serde(default)]
    pub models: Vec<String>,
    /// Requests allowed in all; `None` for no limit.
    pub max_requests: Option<u32>,
    /// Unix time (seconds) after which the grant is void.
    pub expires_at: u64,
    /// A daily spend cap on the key, nano-USD: requests through the grant are refused once the
    /// key's spend for the UTC day reaches it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_cap_nano_usd: Option<i64>,
}

/// A grant's public part: stored in the clear, bound to the sealed key as associated data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Format version.
    pub v: u8,
    /// The grant's id (hex).
    pub id: String,
    /// Fingerprint of the provider key (`kf_...`): who owns the grant.
    pub kf: String,
    /// What it allows.
    #[serde(flatten)]
    pub scope: Scope,
    /// Unix time (seconds) of creation.
    pub created_at: u64,
    /// The user (`sub`) who made it with a user token; their tier limits its requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// That user's tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    meta: String,
    nonce: String,
    ct: String,
}

/// Why a record did not open. Deliberately one case: a wrong token, a tampered record and a
/// record of another grant look the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unopenable;

fn record_key(seal_key: &[u8; 32], token: &Token) -> Zeroizing<[u8; 32]> {
    let hkdf = Hkdf::<Sha256>::new(Some(seal_key), token.secret());
    let mut info = Vec::with_capacity(32);
    info.extend_from_slice(b"byok-proxy grant v1");
    info.extend_from_slice(token.id().as_bytes());
    let mut key = Zeroizing::new([0u8; 32]);
    hkdf.expand(&info, key.as_mut())
        .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF output length"));
    key
}

/// Seals `provider_key` for the grant `token` names, with its metadata.
///
/// # Panics
///
/// If the operating system has no random source.
#[must_use]
pub fn seal(
    seal_key: &[u8; 32],
    token: &Token,
    meta: &Meta,
    provider_key: &SecretString,
) -> String {
    let meta = serde_json::to_string(&Meta {
        v: VERSION,
        id: token.id().to_string(),
        ..meta.clone()
    })
    .unwrap_or_else(|_| unreachable!("metadata is plain data"));
    let key = record_key(seal_key, token);
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).expect("the OS random source is available");
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key));
    let ct = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: provider_key.expose_secret().as_bytes(), // encrypted, never stored plain
                aad: meta.as_bytes(),
            },
        )
        .unwrap_or_else(|_| unreachable!("a key is far below AES-GCM's size limit"));
    serde_json::to_string(&Stored {
        meta,
        nonce: B64.encode(nonce),
        ct: B64.encode(ct),
    })
    .unwrap_or_else(|_| unreachable!("strings serialize"))
}

/// The metadata of a stored record, without opening it (for the key's owner, who has no
/// token).
///
/// # Errors
///
/// [`Unopenable`] for a record that is not one.
pub fn meta(record: &str) -> Result<Meta, Unopenable> {
    let stored: Stored = serde_json::from_str(record).map_err(|_| Unopenable)?;
    serde_json::from_str(&stored.meta).map_err(|_| Unopenable)
}

/// Opens `record` with `token`: its metadata and the provider key.
///
/// # Errors
///
/// [`Unopenable`] for a wrong token, another grant's record, or any changed byte.
pub fn open(
    seal_key: &[u8; 32],
    token: &Token,
    record: &str,
) -> Result<(Meta, SecretString), Unopenable> {
    let stored: Stored = serde_json::from_str(record).map_err(|_| Unopenable)?;
    let nonce: [u8; 12] = B64
        .decode(&stored.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or(Unopenable)?;
    let ct = B64.decode(&stored.ct).map_err(|_| Unopenable)?;
    let key = record_key(seal_key, token);
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key));
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &ct,
                    aad: stored.meta.as_bytes(),
                },
            )
            .map_err(|_| Unopenable)?,
    );
    let meta: Meta = serde_json::from_str(&stored.meta).map_err(|_| Unopenable)?;
    if meta.v != VERSION || meta.id != token.id().to_string() {
        return Err(Unopenable);
    }
    let key = std::str::from_utf8(&plain).map_err(|_| Unopenable)?;
    Ok((meta, SecretString::from(key.to_owned())))
}

impl Meta {
    /// When the grant expires, Unix milliseconds.
    #[must_use]
    pub fn expires_at_ms(&self) -> u64 {
        self.scope.expires_at.saturating_mul(1000)
    }

    /// Whether the grant is still live at `now_ms`.
    #[must_use]
    pub fn is_live(&self, now_ms: u64) -> bool {
        self.expires_at_ms() > now_ms
    }

    /// The grant's id, parsed.
    #[must_use]
    pub fn grant_id(&self) -> Option<GrantId> {
        self.id.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            v: 0,
            id: String::new(),
            kf: "kf_0011223344556677".into(),
            scope: Scope {
                provider: Provider::Openai,
                resource: None,
                models: vec!["gpt-4o-mini".into()],
                max_requests: Some(3),
                expires_at: 2_000_000_000,
                daily_cap_nano_usd: None,
            },
            created_at: 1_900_000_000,
            user: None,
            tier: None,
        }
    }

    const ROOT: [u8; 32] = [9; 32];

    #[test]
    fn the_token_opens_its_record_and_the_record_holds_no_key() {
        let token = Token::generate();
        let key = SecretString::from("sk-proj-abcdefghijklmnop");
        let record = seal(&ROOT, &token, &meta(), &key);
        for piece in "sk-proj-abcdefghijklmnop".as_bytes().windows(8) {
            assert!(!record.contains(std::str::from_utf8(piece).unwrap()));
        }
        let (opened, back) = open(&ROOT, &token, &record).unwrap();
        assert_eq!(back.expose_secret(), "sk-proj-abcdefghijklmnop");
        assert_eq!(opened.id, token.id().to_string());
        assert_eq!(opened.v, VERSION);
        assert_eq!(opened.scope, meta().scope);
        assert_eq!(super::meta(&record).unwrap(), opened);
    }

    #[test]
    fn wrong_token_wrong_server_secret_or_any_changed_byte_fails_alike() {
        let token = Token::generate();
        let record = seal(
            &ROOT,
            &token,
            &meta(),
            &SecretString::from("sk-test-1234567890"),
        );
        assert_eq!(
            open(&ROOT, &Token::generate(), &record).map(|_| ()),
            Err(Unopenable)
        );
        assert_eq!(open(&[8; 32], &token, &record).map(|_| ()), Err(Unopenable));
        // Every byte of the stored text, changed: never opens to anything.
        for i in 0..record.len() {
            let mut bytes = record.clone().into_bytes();
            bytes[i] ^= 0x01;
            let Ok(changed) = String::from_utf8(bytes) else {
                continue;
            };
            assert!(open(&ROOT, &token, &changed).is_err(), "byte {i}");
        }
        // A wider scope written over the metadata (valid JSON, still escaped) fails too.
        let widened = record.replace("\\\"max_requests\\\":3", "\\\"max_requests\\\":9");
        assert_ne!(widened, record);
        assert!(open(&ROOT, &token, &widened).is_err());
        let later = record.replace("2000000000", "2000000001");
        assert!(open(&ROOT, &token, &later).is_err());
    }

    #[test]
    fn a_record_moved_to_another_id_does_not_open() {
        let (a, b) = (Token::generate(), Token::generate());
        let record = seal(
            &ROOT,
            &a,
            &meta(),
            &SecretString::from("sk-test-1234567890"),
        );
        let moved = record.replace(&a.id().to_string(), &b.id().to_string());
        assert!(open(&ROOT, &b, &moved).is_err());
        assert!(open(&ROOT, &a, &moved).is_err());
    }
}
