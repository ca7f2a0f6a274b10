//! Sealing a key to the proxy for its one request before it leaves the vault (the format is
//! `byok_seal`'s; the README's "Sealed keys" says what it protects against).
//!
//! The proxy's seal key comes from `GET /byok/seal-key`, once per vault, and again when the
//! proxy answers `seal_key_unknown` (it rotated past the key this vault had).

use std::cell::RefCell;

use byok_seal::PublicKey;
use js_sys::{ArrayBuffer, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, Headers, Response};

use super::invalid;
use crate::VaultError;

/// When keys go sealed (`Vault.open({ seal })`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SealMode {
    /// Sealed when the proxy publishes a seal key; plain when it answers that it has none
    /// (404: a proxy from before sealed keys).
    #[default]
    Auto,
    /// Always sealed: a proxy without a seal key gets no request.
    Always,
    /// Never sealed: the key goes in `X-BYOK-Key`.
    Never,
}

impl SealMode {
    /// `"auto"`, `"always"` or `"never"`; absent is `"auto"`.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidInput`] for another word.
    pub fn parse(mode: Option<&str>) -> Result<Self, VaultError> {
        match mode {
            None | Some("auto") => Ok(Self::Auto),
            Some("always") => Ok(Self::Always),
            Some("never") => Ok(Self::Never),
            Some(_) => Err(invalid("seal must be \"auto\", \"always\" or \"never\"")),
        }
    }
}

/// The proxy's key to seal to, as `GET /byok/seal-key` lists it first.
#[derive(Debug, Clone)]
pub(super) struct Published {
    id: String,
    public: PublicKey,
}

impl Published {
    /// The `X-BYOK-Sealed` value for `key` on `request`, now.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidInput`] for a key that cannot be sealed (empty, over 1,024 bytes).
    pub fn seal(&self, request: &Sealable, key: &[u8]) -> Result<String, VaultError> {
        let bound = byok_seal::Request::with_body_hash(
            &request.method,
            &request.target,
            request.body_sha256,
        );
        // Whole seconds since 1970, well inside u64.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let now = (js_sys::Date::now() / 1000.0).floor() as u64;
        byok_seal::seal(&self.public, &self.id, &bound, now, key)
            .map_err(|e| invalid(e.to_string()))
    }
}

/// Seals keys for one proxy: its mode and what the proxy last published.
#[derive(Debug)]
pub(super) struct Sealer {
    mode: SealMode,
    config_url: String,
    /// `None`: not asked yet; `Some(None)`: the proxy publishes no seal key.
    published: RefCell<Option<Option<Published>>>,
}

/// A request's parts a seal binds: its method as fetch sends it, its target, its body.
pub(super) struct Sealable {
    method: String,
    target: String,
    body_sha256: [u8; 32],
}

impl Sealer {
    /// A sealer for the proxy at `proxy_base` (absolute, ending in `/`).
    pub fn new(mode: SealMode, proxy_base: &str) -> Self {
        Self {
            mode,
            config_url: format!("{proxy_base}byok/seal-key"),
            published: RefCell::new(None),
        }
    }

    /// The proxy's key to seal to, or `None` to send keys plain (only in [`SealMode::Never`],
    /// or in [`SealMode::Auto`] with a proxy that publishes none). `fresh` asks the proxy
    /// again rather than using what it said before.
    ///
    /// # Errors
    ///
    /// [`VaultError::Unreachable`] when the proxy's seal key cannot be had (in
    /// [`SealMode::Always`], also when it has none).
    pub async fn key(&self, fresh: bool) -> Result<Option<Published>, VaultError> {
        if self.mode == SealMode::Never {
            return Ok(None);
        }
        let cached = self.published.borrow().clone();
        let published = match cached {
            Some(known) if !fresh => known,
            _ => {
                let known = self.fetch_published().await?;
                *self.published.borrow_mut() = Some(known.clone());
                known
            }
        };
        if published.is_none() && self.mode == SealMode::Always {
            return Err(VaultError::Unreachable(
                "the proxy publishes no seal key, and this vault sends keys only sealed".into(),
            ));
        }
        Ok(published)
    }

    async fn fetch_published(&self) -> Result<Option<Published>, VaultError> {
        let unreachable =
            || VaultError::Unreachable("the proxy's seal key could not be read".into());
        let window = web_sys::window().ok_or_else(unreachable)?;
        let init = web_sys::RequestInit::new();
        init.set_redirect(web_sys::RequestRedirect::Error);
        let response: Response =
            JsFuture::from(window.fetch_with_str_and_init(&self.config_url, &init))
                .await
                .map_err(|_| unreachable())?
                .dyn_into()
                .map_err(|_| unreachable())?;
        if response.status() == 404 {
            return Ok(None);
        }
        if !response.ok() {
            return Err(unreachable());
        }
        let json = JsFuture::from(response.json().map_err(|_| unreachable())?)
            .await
            .map_err(|_| unreachable())?;
        let first = Reflect::get(&json, &"keys".into())
            .ok()
            .and_then(|keys| Reflect::get(&keys, &0.into()).ok())
            .filter(JsValue::is_object)
            .ok_or_else(unreachable)?;
        let text = |name: &str| Reflect::get(&first, &name.into()).ok()?.as_string();
        let (Some(id), Some(public)) = (text("id"), text("public_key")) else {
            return Err(unreachable());
        };
        let public = PublicKey::from_base64(&public).map_err(|_| unreachable())?;
        Ok(Some(Published { id, public }))
    }
}

impl Sealable {
    /// The parts of `fetch(url, init)` a seal binds. A body that is a Blob is read, and
    /// `init.body` replaced by its bytes so exactly what was sealed is sent.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidInput`] for a body whose bytes are not known before sending
    /// (`FormData`, `URLSearchParams`, a stream).
    pub async fn of(url: &str, init: &Object, headers: &Headers) -> Result<Self, VaultError> {
        let target = web_sys::Url::new(url)
            .map(|u| format!("{}{}", u.pathname(), u.search()))
            .map_err(|_| invalid("the request URL is not a valid URL"))?;
        let method = Reflect::get(init, &"method".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| "GET".into());
        let body = Reflect::get(init, &"body".into()).unwrap_or(JsValue::UNDEFINED);
        let body = if body.is_undefined() || body.is_null() {
            Vec::new()
        } else if let Some(text) = body.as_string() {
            text.into_bytes()
        } else if let Some(buffer) = body.dyn_ref::<ArrayBuffer>() {
            Uint8Array::new(buffer).to_vec()
        } else if ArrayBuffer::is_view(&body) {
            let view: &js_sys::Object = body.unchecked_ref();
            let field = |name: &str| {
                Reflect::get(view, &name.into())
                    .ok()
                    .and_then(|v| v.as_f64())
                    .unwrap_or(0.0)
            };
            let buffer: ArrayBuffer = Reflect::get(view, &"buffer".into())
                .map_err(|_| invalid("the request body is not readable"))?
                .unchecked_into();
            // Offsets and lengths of a view are whole numbers within 2^53.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let bytes = Uint8Array::new_with_byte_offset_and_length(
                &buffer,
                field("byteOffset") as u32,
                field("byteLength") as u32,
            );
            bytes.to_vec()
        } else if let Some(blob) = body.dyn_ref::<Blob>() {
            if !blob.type_().is_empty() && !headers.has("content-type").unwrap_or(true) {
                let _ = headers.set("content-type", &blob.type_());
            }
            let buffer = JsFuture::from(blob.array_buffer())
                .await
                .map_err(|_| invalid("the request body (a Blob) could not be read"))?;
            let bytes = Uint8Array::new(&buffer).to_vec();
            let _ = Reflect::set(init, &"body".into(), &Uint8Array::from(&bytes[..]));
            bytes
        } else {
            return Err(invalid(
                "a sealed request's body must be a string, an ArrayBuffer, a typed array or a \
                 Blob (its bytes are sealed with the key)",
            ));
        };
        Ok(Self {
            method: normalize_method(&method),
            target,
            body_sha256: byok_seal::body_hash(&body),
        })
    }
}

/// The method as fetch sends it: the six standard ones upper-cased, any other as given.
fn normalize_method(method: &str) -> String {
    const STANDARD: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
    STANDARD
        .iter()
        .find(|m| m.eq_ignore_ascii_case(method))
        .map_or_else(|| method.to_owned(), |m| (*m).to_owned())
}

/// Whether `response` is the proxy saying it no longer holds the key a seal was made to.
pub(super) async fn is_unknown_seal_key(response: &Response) -> bool {
    if response.status() != 401 {
        return false;
    }
    let Ok(copy) = response.clone() else {
        return false;
    };
    let Ok(pending) = copy.json() else {
        return false;
    };
    JsFuture::from(pending)
        .await
        .ok()
        .and_then(|json| Reflect::get(&json, &"error".into()).ok())
        .and_then(|error| Reflect::get(&error, &"code".into()).ok())
        .and_then(|code| code.as_string())
        .is_some_and(|code| code == "seal_key_unknown")
}
