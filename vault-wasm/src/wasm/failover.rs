//! A request tried with each of a provider's keys in turn (see [`crate::Vault::keys_in_order`]):
//! when the provider refuses it before doing any of its work (401, 403 or 429 from the
//! provider, not from the proxy), the same request goes to the next usable key. A 500, or any
//! answer the provider began, is the app's; a request whose body is a stream is sent once
//! (there is nothing to send again). The app's `Response` says which key served
//! (`X-BYOK-Key-Id`, a record id, never the key) and how many were tried
//! (`X-BYOK-Attempts`).

use js_sys::Reflect;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{Headers, ReadableStream, Response, ResponseInit};

use super::browser::BrowserVault;
use super::invalid;
use super::request::{Credentials, send};
use crate::{Candidate, Refusal, SecretString, VaultError, retry_after_ms};

/// The header naming the key that served, by id.
pub const KEY_ID_HEADER: &str = "x-byok-key-id";
/// The header counting the keys tried.
pub const ATTEMPTS_HEADER: &str = "x-byok-attempts";
/// The proxy's header saying whose key the provider answered (`user` for the vault's).
const KEY_SOURCE_HEADER: &str = "x-byok-key-source";

impl BrowserVault {
    /// Sends the request to `url` with each of `candidates` in turn, as the module docs say.
    pub(super) async fn send_with_failover(
        &self,
        url: &str,
        init: &JsValue,
        candidates: Vec<Candidate>,
        user: Option<&SecretString>,
    ) -> Result<Response, VaultError> {
        let once = body_is_stream(init);
        let count = if once { 1 } else { candidates.len() };
        for (tried, candidate) in candidates.into_iter().take(count).enumerate() {
            let attempts = tried + 1;
            let credentials = Credentials {
                key: Some(&candidate.key),
                cap_micro_usd: candidate.cap_micro_usd,
                user,
            };
            // Keys of one provider may belong to different resources (Azure): each attempt
            // goes to its own key's.
            let url = self.at_resource(url, candidate.resource.as_deref())?;
            let response = send(&self.inner.sealer, &url, init, &credentials).await?;
            let refusal = refusal(&response);
            let id = candidate.id.clone();
            let inner = self.clone();
            spawn_local(async move {
                // Bookkeeping only: a failure to record must not fail the request.
                let _ = match refusal {
                    Some(refusal) => inner.core().record_refusal(&id, refusal).await,
                    None => inner.core().record_use(&id).await,
                };
            });
            if refusal.is_some() && attempts < count {
                // Refused before any work: the small error body is not the app's.
                if let Some(body) = response.body() {
                    let _ = body.cancel();
                }
                continue;
            }
            return labelled(&response, &candidate.id, attempts);
        }
        // Only with no candidate at all, which the caller has ruled out.
        Err(VaultError::Unreachable(
            "no key to send the request with".into(),
        ))
    }
}

/// The provider's refusal in `response`, if it is one: a 401, 403 or 429 the provider gave
/// the vault's key (the proxy says so in `X-BYOK-Key-Source`; its own refusals do not).
fn refusal(response: &Response) -> Option<Refusal> {
    let headers = response.headers();
    let from_provider = headers
        .get(KEY_SOURCE_HEADER)
        .ok()
        .flatten()
        .is_some_and(|s| s == "user");
    let retry_after = headers
        .get("retry-after")
        .ok()
        .flatten()
        .and_then(|v| retry_after_ms(&v));
    from_provider
        .then(|| Refusal::of(response.status(), retry_after))
        .flatten()
}

/// Whether `init.body` is a stream, which fetch reads as it sends and cannot send again.
fn body_is_stream(init: &JsValue) -> bool {
    Reflect::get(init, &"body".into()).is_ok_and(|b| b.is_instance_of::<ReadableStream>())
}

/// `response` with the key that served and the attempts made in its headers; the body is
/// the same stream, untouched.
fn labelled(response: &Response, id: &str, attempts: usize) -> Result<Response, VaultError> {
    let broken = |_| invalid("the answer could not be handed over");
    let headers = Headers::new_with_headers(&response.headers()).map_err(broken)?;
    headers.set(KEY_ID_HEADER, id).map_err(broken)?;
    headers
        .set(ATTEMPTS_HEADER, &attempts.to_string())
        .map_err(broken)?;
    let init = ResponseInit::new();
    init.set_status(response.status());
    init.set_status_text(&response.status_text());
    init.set_headers(&headers);
    Response::new_with_opt_readable_stream_and_init(response.body().as_ref(), &init).map_err(broken)
}
