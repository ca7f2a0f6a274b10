//! Sealed keys at the door: a request with `X-BYOK-Sealed` has its body read (within the
//! limit) and its key opened for it (see [`crate::seal`]); it then goes on exactly as if it
//! had come with `X-BYOK-Key`. With `BYOK_REQUIRE_SEALED=on`, a plain key is refused here.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use hyper::body::Incoming;
use secrecy::ExposeSecret;

use crate::core::ProxyError;
use crate::core::clock::now_ms;
use crate::core::grant_id::TOKEN_PREFIX;
use crate::core::headers::{KEY_NAME, SEALED_NAME};
use crate::pipeline::read_whole;
use crate::seal;
use crate::state::AppState;

/// What the door does with a request's key headers.
pub(super) enum Door {
    /// Nothing to open: on to the routes.
    Pass,
    /// A sealed key: open it first ([`unseal`]).
    Unseal,
    /// Refused before anything is read.
    Refuse(ProxyError),
}

/// Sorts a request by its key headers (one header lookup for a plain request).
pub(super) fn door(state: &AppState, headers: &HeaderMap) -> Door {
    if headers.contains_key(SEALED_NAME) {
        return if headers.contains_key(KEY_NAME) {
            Door::Refuse(ProxyError::AmbiguousKey)
        } else {
            Door::Unseal
        };
    }
    if state.settings.seal.require {
        // A grant token is not a provider key: it is scoped, expires and can be revoked.
        let plain = headers.get(KEY_NAME).is_some_and(|key| {
            !key.as_bytes()
                .trim_ascii()
                .starts_with(TOKEN_PREFIX.as_bytes())
        });
        if plain {
            return Door::Refuse(ProxyError::SealRequired);
        }
    }
    Door::Pass
}

/// Reads `request`'s body and opens its sealed key for it: the request's head with the key in
/// `X-BYOK-Key` (marked sensitive) in place of `X-BYOK-Sealed`, and its body.
///
/// # Errors
///
/// [`ProxyError::BodyTooLarge`] and [`ProxyError::MalformedBody`] as for any read body; the
/// errors of [`seal::open`].
pub(super) async fn unseal(
    state: &AppState,
    request: Request<Incoming>,
) -> Result<(Parts, Bytes), ProxyError> {
    let (mut parts, body) = request.into_parts();
    let body = read_whole(Body::new(body), &parts.headers, state.settings.body_limit).await?;
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let request = byok_seal::Request::new(parts.method.as_str(), target, &body);
    let sealed = parts
        .headers
        .remove(SEALED_NAME)
        .ok_or(ProxyError::SealInvalid)?;
    let key = seal::open(
        &state.seal_keys,
        &state.store,
        sealed.as_bytes(),
        &request,
        now_ms() / 1000,
    )
    .await?;
    // The opened key, where every route reads a key (which checks its shape, as for any key).
    let mut value =
        HeaderValue::from_str(key.expose_secret()).map_err(|_| ProxyError::MalformedKey)?;
    value.set_sensitive(true);
    parts.headers.insert(KEY_NAME, value);
    Ok((parts, body))
}
