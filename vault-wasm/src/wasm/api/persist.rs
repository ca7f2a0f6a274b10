//! Storage that stays, from JavaScript: `persistStorage` asks the browser to keep the vault's
//! database under storage pressure.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::Vault;

#[wasm_bindgen]
impl Vault {
    /// Asks the browser to keep the vault's storage (`create` does this too). Resolves to
    /// `true` when it will, `false` when it declined, `undefined` when it cannot say.
    #[wasm_bindgen(js_name = persistStorage, unchecked_return_type = "Promise<boolean | undefined>")]
    pub fn persist_storage(&self) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move { Ok(vault.persist_storage().await.into()) })
    }
}
