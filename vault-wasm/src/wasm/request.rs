//! Requests to the proxy: the one place a key, a daily cap and the app's user token become
//! request headers.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Response};

use super::invalid;
use super::seal::{Sealable, Sealer, is_unknown_seal_key};
use crate::{SecretString, VaultError, format_usd};

/// The header carrying the provider key to the proxy.
pub const KEY_HEADER: &str = "X-BYOK-Key";
/// The header carrying the provider key sealed to the proxy for one request.
pub const SEALED_HEADER: &str = "X-BYOK-Sealed";
/// The header carrying the key's daily spend cap (US dollars, decimal).
pub const CAP_HEADER: &str = "X-BYOK-Daily-Cap";
/// The header carrying the app's token for its user.
pub const USER_HEADER: &str = "X-BYOK-User";

/// What a request carries besides the caller's own options.
#[derive(Default)]
pub(super) struct Credentials<'a> {
    /// The provider key.
    pub key: Option<&'a SecretString>,
    /// The key's daily cap, micro-dollars.
    pub cap_micro_usd: Option<u64>,
    /// The app's token for its user.
    pub user: Option<&'a SecretString>,
}

impl<'a> Credentials<'a> {
    /// A key alone.
    pub fn key(key: &'a SecretString) -> Self {
        Self {
            key: Some(key),
            ..Self::default()
        }
    }
}

/// Calls the global `fetch` with `init` plus the credential headers and `redirect: "error"`.
/// The key goes sealed for this one request when `sealer` says so (see [`super::seal`]), and
/// is sealed again, once, for a proxy that rotated past the seal key this vault knew.
///
/// Every failure is [`VaultError::Unreachable`]: fetch rejects with a bare `TypeError` for a
/// network failure, a CORS refusal and a refused redirect alike.
pub(super) async fn send(
    sealer: &Sealer,
    url: &str,
    init: &JsValue,
    credentials: &Credentials<'_>,
) -> Result<Response, VaultError> {
    let request_init = Object::new();
    if let Some(given) = init.dyn_ref::<Object>() {
        Object::assign(&request_init, given);
    }
    let unusable = |_| invalid("the request options are not usable by fetch");
    let given_headers = Reflect::get(&request_init, &"headers".into()).map_err(unusable)?;
    let headers = if given_headers.is_undefined() || given_headers.is_null() {
        Headers::new()
    } else {
        // `new Headers(init.headers)`: accepts a Headers object, a record or pairs.
        Headers::new_with_str_sequence_sequence(&given_headers)
    }
    .map_err(unusable)?;
    if let Some(cap) = credentials.cap_micro_usd {
        headers
            .set(CAP_HEADER, &format_usd(cap))
            .map_err(|_| invalid("the daily cap cannot be sent"))?;
    }
    if let Some(user) = credentials.user {
        headers
            .set(USER_HEADER, user.expose_secret())
            .map_err(|_| invalid("the user token cannot be sent in an HTTP header"))?;
    }
    Reflect::set(&request_init, &"headers".into(), &headers).map_err(unusable)?;
    // A redirect would carry the header to wherever the redirect points.
    Reflect::set(&request_init, &"redirect".into(), &"error".into()).map_err(unusable)?;
    let Some(key) = credentials.key else {
        return fetch(url, &request_init).await;
    };
    // The vault's key replaces any key header of the caller's, sealed or not.
    let _ = headers.delete(KEY_HEADER);
    let _ = headers.delete(SEALED_HEADER);
    // Read only when sealing: a plain key goes with any body fetch takes (FormData, streams).
    let mut sealable: Option<Sealable> = None;
    let mut fresh = false;
    loop {
        let sealed = match sealer.key(fresh).await? {
            Some(published) => {
                let request = match sealable.take() {
                    Some(read) => read,
                    None => Sealable::of(url, &request_init, &headers).await?,
                };
                let header = published.seal(&request, key.expose_secret().as_bytes())?;
                sealable = Some(request);
                Some(header)
            }
            None => None,
        };
        match &sealed {
            Some(header) => headers.set(SEALED_HEADER, header),
            // The one place a key leaves the vault unsealed.
            None => headers.set(KEY_HEADER, key.expose_secret()),
        }
        .map_err(|_| invalid("the key cannot be sent in an HTTP header"))?;
        let response = fetch(url, &request_init).await?;
        if sealed.is_some() && !fresh && is_unknown_seal_key(&response).await {
            fresh = true;
            continue;
        }
        return Ok(response);
    }
}

/// The global `fetch(url, init)`; see [`send`] for its errors.
async fn fetch(url: &str, init: &Object) -> Result<Response, VaultError> {
    let unusable = |_| invalid("the request options are not usable by fetch");
    let fetch: Function = Reflect::get(&js_sys::global(), &"fetch".into())
        .and_then(JsCast::dyn_into)
        .map_err(|_| VaultError::Unreachable("this environment has no fetch".into()))?;
    let pending: Promise = fetch
        .call2(&js_sys::global(), &url.into(), init)
        .and_then(JsCast::dyn_into)
        .map_err(unusable)?;
    let response = JsFuture::from(pending).await.map_err(|err| {
        let aborted = Reflect::get(&err, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .is_some_and(|n| n == "AbortError");
        if aborted {
            VaultError::Aborted
        } else {
            VaultError::Unreachable("the byok proxy could not be reached".into())
        }
    })?;
    response
        .dyn_into()
        .map_err(|_| VaultError::Unreachable("fetch did not return a response".into()))
}

/// Sends `method url` to the proxy with `credentials` and an optional JSON `body`; the status
/// and the parsed JSON answer, if any.
pub(super) async fn call(
    sealer: &Sealer,
    method: &str,
    url: &str,
    credentials: &Credentials<'_>,
    body: Option<String>,
) -> Result<(u16, Option<JsValue>), VaultError> {
    let init = Object::new();
    // Setting properties on a fresh plain object cannot fail.
    let _ = Reflect::set(&init, &"method".into(), &method.into());
    if let Some(body) = body {
        let headers = Object::new();
        let _ = Reflect::set(&headers, &"content-type".into(), &"application/json".into());
        let _ = Reflect::set(&init, &"headers".into(), &headers);
        let _ = Reflect::set(&init, &"body".into(), &body.into());
    }
    let response = send(sealer, url, &init.into(), credentials).await?;
    let json = match response.json() {
        Ok(pending) => JsFuture::from(pending).await.ok(),
        Err(_) => None,
    };
    Ok((response.status(), json))
}

/// The proxy's own error message, or a plain one naming the status.
pub(super) fn proxy_error(status: u16, body: Option<&JsValue>) -> VaultError {
    let message = body
        .and_then(|b| Reflect::get(b, &"error".into()).ok())
        .and_then(|e| Reflect::get(&e, &"message".into()).ok())
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("the proxy answered with status {status}"));
    VaultError::Proxy(message)
}
