//! Storage that stays: asking the browser not to clear the vault's database under storage
//! pressure (`navigator.storage.persist()`), and whether it has agreed.
//!
//! Without it, a browser may evict the origin's IndexedDB when the disk fills, and the keys
//! with it. The vault asks on `create`; the answer is the browser's (Chromium grants it to
//! sites people use, bookmark or install; Firefox asks the user).

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::browser::BrowserVault;

/// Calls `navigator.storage.<method>()`: `Some(answer)`, or `None` where the browser has no
/// storage manager (an insecure origin, an old browser) or the call fails.
async fn storage_manager(method: &str) -> Option<bool> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let storage = Reflect::get(&navigator, &"storage".into()).ok()?;
    if storage.is_undefined() || storage.is_null() {
        return None;
    }
    let call: Function = Reflect::get(&storage, &method.into())
        .ok()?
        .dyn_into()
        .ok()?;
    let pending: Promise = call.call0(&storage).ok()?.dyn_into().ok()?;
    JsFuture::from(pending).await.ok()?.as_bool()
}

impl BrowserVault {
    /// Asks the browser to keep this origin's storage, the vault included: `Some(true)` when it
    /// will, `Some(false)` when it declined (it may still clear it under pressure), `None`
    /// when this browser cannot say.
    pub async fn persist_storage(&self) -> Option<bool> {
        storage_manager("persist").await
    }

    /// Whether the browser has agreed to keep this origin's storage, without asking.
    pub async fn storage_persisted(&self) -> Option<bool> {
        storage_manager("persisted").await
    }
}
