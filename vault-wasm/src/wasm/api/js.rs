//! What every JavaScript method shares: errors as JavaScript `Error`s with a `code`, results
//! as plain JSON-compatible values, futures as promises, and the arguments several take (a
//! provider id, a password-hashing algorithm).

use js_sys::{Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::kdf::KdfAlgorithm;
use crate::{Provider, VaultError};

/// A JavaScript `Error` with `name` "VaultError" and a machine-readable `code`.
pub(super) fn js_error(err: VaultError) -> JsValue {
    let error = js_sys::Error::new(&err.to_string());
    error.set_name("VaultError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&error, &"code".into(), &err.code().into());
    error.into()
}

pub(super) use crate::wasm::invalid;

pub(super) fn parse_provider(provider: &str) -> Result<Provider, JsValue> {
    provider
        .parse()
        .map_err(|e: crate::UnknownProvider| js_error(invalid(e.to_string())))
}

pub(super) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error(invalid(e.to_string())))
}

/// Runs `fut` as a JavaScript promise, turning a [`VaultError`] into a JavaScript error.
pub(super) fn promise<F>(fut: F) -> Promise
where
    F: Future<Output = Result<JsValue, VaultError>> + 'static,
{
    future_to_promise(async move { fut.await.map_err(js_error) })
}

/// The algorithm JavaScript named, or the default when it named none.
pub(super) fn kdf_algorithm(name: Option<&str>) -> Result<KdfAlgorithm, VaultError> {
    name.map_or(Ok(KdfAlgorithm::default()), KdfAlgorithm::parse)
}
