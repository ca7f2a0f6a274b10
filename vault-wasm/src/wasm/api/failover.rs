//! One provider's keys in turn, from JavaScript: whether requests spread over them. The
//! failover itself is the browser vault's ([`crate::wasm::BrowserVault`]).

use wasm_bindgen::prelude::*;

use super::Vault;
use super::js::{js_error, parse_provider};

#[wasm_bindgen]
impl Vault {
    /// Whether requests to `provider` rotate over its usable keys ("spread") rather than
    /// always starting with the default.
    pub fn spreads(&self, provider: String) -> Result<bool, JsValue> {
        let provider = parse_provider(&provider)?;
        self.vault.core().spreads(provider).map_err(js_error)
    }

    /// Turns spread on or off for `provider` (off by default), stored with the vault.
    #[wasm_bindgen(js_name = setSpread, unchecked_return_type = "Promise<void>")]
    pub fn set_spread(&self, provider: String, on: bool) -> js_sys::Promise {
        let vault = self.vault.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let provider = parse_provider(&provider)?;
            vault
                .core()
                .set_spread(provider, on)
                .await
                .map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }
}
