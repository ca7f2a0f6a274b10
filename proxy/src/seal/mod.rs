//! Sealed keys at the proxy: the seal keys it publishes, and opening a request's
//! `X-BYOK-Sealed` into the key it carries, once, for that request only.
//!
//! The format is [`byok_seal`]'s (the vault seals with the same crate). Before anything goes
//! upstream the proxy checks, in this order: the header's shape and version, that it names one
//! of the two keys published now (`seal_key_unknown`), that its time is within
//! [`MAX_SKEW_SECS`] of the proxy's clock (`seal_stale`), that it opens for this request's
//! method, target and body (`seal_invalid`, whatever the cause), and that its nonce was never
//! seen (`seal_replayed`; remembered in the store, so instances sharing Redis share it, until
//! the seal would be stale anyway). Neither a seal key nor an opened key is logged or stored.

mod keys;

use std::time::Duration;

use secrecy::SecretString;

pub use keys::{SealConfig, SealKeys};

use crate::core::ProxyError;
use crate::store::Store;

/// How far a seal's time may be from the proxy's clock, either way.
pub const MAX_SKEW_SECS: u64 = 60;

/// Sealed-key settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealSettings {
    /// How long one seal key is current (`BYOK_SEAL_ROTATION`); it is accepted one period more.
    pub rotation: Duration,
    /// Refuse plain `X-BYOK-Key`s (`BYOK_REQUIRE_SEALED=on`).
    pub require: bool,
}

impl Default for SealSettings {
    fn default() -> Self {
        Self {
            rotation: Duration::from_secs(24 * 3600),
            require: false,
        }
    }
}

/// Opens `header` (an `X-BYOK-Sealed` value) for `request`, at `now` (Unix seconds), and
/// marks its nonce used in `store`.
///
/// # Errors
///
/// [`ProxyError::SealKeyUnknown`], [`ProxyError::SealStale`], [`ProxyError::SealInvalid`],
/// [`ProxyError::SealReplayed`] (see the module docs), [`ProxyError::MalformedKey`] when what
/// it holds is not text, [`ProxyError::StoreUnavailable`] when the nonce cannot be checked
/// (fails closed).
pub async fn open(
    keys: &SealKeys,
    store: &Store,
    header: &[u8],
    request: &byok_seal::Request<'_>,
    now: u64,
) -> Result<SecretString, ProxyError> {
    let header = std::str::from_utf8(header).map_err(|_| ProxyError::SealInvalid)?;
    let sealed = byok_seal::Sealed::parse(header).map_err(|_| ProxyError::SealInvalid)?;
    let period = keys.at(now);
    let pair = period
        .pair(sealed.key_id)
        .ok_or(ProxyError::SealKeyUnknown)?;
    if sealed.time.abs_diff(now) > MAX_SKEW_SECS {
        return Err(ProxyError::SealStale);
    }
    let key = pair
        .open(&sealed, request)
        .map_err(|_| ProxyError::SealInvalid)?;
    // Only a seal that opened is remembered: garbage cannot fill the cache.
    let ttl = Duration::from_secs((sealed.time + MAX_SKEW_SECS + 1).saturating_sub(now));
    match store.first_use(sealed.nonce, ttl).await {
        Ok(true) => {}
        Ok(false) => return Err(ProxyError::SealReplayed),
        Err(e) => return Err(store.failed("seal_nonce", &e)),
    }
    // Its shape is checked where every key's is (`http::forward::user_key`).
    let key = std::str::from_utf8(&key).map_err(|_| ProxyError::MalformedKey)?;
    Ok(SecretString::from(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use secrecy::ExposeSecret;

    use super::*;
    use crate::metrics::Metrics;
    use crate::store::StoreSettings;

    const NOW: u64 = 1_800_000_000;

    fn setup() -> (SealKeys, Store) {
        let store = Store::new(&StoreSettings::default(), Arc::new(Metrics::default())).unwrap();
        (SealKeys::new(&[4; 32], 3600), store)
    }

    fn seal_at(
        keys: &SealKeys,
        request: &byok_seal::Request<'_>,
        time: u64,
        which: usize,
    ) -> String {
        let config = serde_json::to_value(keys.config(NOW, MAX_SKEW_SECS)).unwrap();
        let key = &config["keys"][which];
        let public =
            byok_seal::PublicKey::from_base64(key["public_key"].as_str().unwrap()).unwrap();
        byok_seal::seal(
            &public,
            key["id"].as_str().unwrap(),
            request,
            time,
            b"sk-test-12345678",
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_sealed_key_opens_once_with_either_published_key() {
        let (keys, store) = setup();
        let request = byok_seal::Request::new("POST", "/openai/v1/chat/completions", b"{}");
        for which in [0, 1] {
            let header = seal_at(&keys, &request, NOW, which);
            let key = open(&keys, &store, header.as_bytes(), &request, NOW)
                .await
                .unwrap();
            assert_eq!(key.expose_secret(), "sk-test-12345678");
            let again = open(&keys, &store, header.as_bytes(), &request, NOW + 1).await;
            assert!(matches!(again, Err(ProxyError::SealReplayed)), "{again:?}");
        }
    }

    #[tokio::test]
    async fn each_check_answers_its_own_code() {
        let (keys, store) = setup();
        let request = byok_seal::Request::new("GET", "/openai/v1/models", b"");
        let stale = seal_at(&keys, &request, NOW - MAX_SKEW_SECS - 1, 0);
        let future = seal_at(&keys, &request, NOW + MAX_SKEW_SECS + 1, 0);
        let edge = seal_at(&keys, &request, NOW - MAX_SKEW_SECS, 0);
        let other = SealKeys::new(&[9; 32], 3600);
        let foreign = seal_at(&other, &request, NOW, 0);
        let elsewhere = byok_seal::Request::new("GET", "/openai/v1/models?x=1", b"");
        let moved = seal_at(&keys, &elsewhere, NOW, 0);
        let cases: [(&[u8], &str); 7] = [
            (stale.as_bytes(), "SealStale"),
            (future.as_bytes(), "SealStale"),
            (foreign.as_bytes(), "SealKeyUnknown"),
            (moved.as_bytes(), "SealInvalid"),
            (b"v1.x", "SealInvalid"),
            (b"\xff\xfe", "SealInvalid"),
            (edge.as_bytes(), "ok"),
        ];
        for (header, want) in cases {
            let got = open(&keys, &store, header, &request, NOW).await;
            let got = match got {
                Ok(_) => "ok".to_owned(),
                Err(e) => format!("{e:?}"),
            };
            assert_eq!(got, want, "{}", String::from_utf8_lossy(header));
        }
        // Two periods on, the key sealed to is no longer held.
        let old = seal_at(&keys, &request, NOW + 7200, 0);
        let late = open(&keys, &store, old.as_bytes(), &request, NOW + 7200).await;
        assert!(matches!(late, Err(ProxyError::SealKeyUnknown)), "{late:?}");
    }
}
