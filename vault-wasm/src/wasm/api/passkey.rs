//! Passkeys for JavaScript: the WebAuthn ceremonies around [`crate::passkey`].
//!
//! ```js
//! const { available, reason } = await vault.passkeySupport();
//! const info = await vault.addPasskey("Laptop"); // unlocked; the browser asks for the passkey
//! vault.lock();
//! if (await vault.hasPasskeys()) await vault.unlockWithPasskey();
//! await vault.removePasskey(info.id);            // its wrapped copy of the vault key is deleted
//! ```

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::Vault;
use super::js::{js_error, to_js};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Whether this browser can unlock the vault with a passkey. */
export interface PasskeySupport {
  available: boolean;
  /** Why not, in words, when `available` is false. */
  reason: string | null;
}
/** A registered passkey. */
export interface PasskeyInfo {
  id: string;
  label: string;
  createdMs: number;
}
"#;

#[wasm_bindgen]
impl Vault {
    /// Whether passkeys can unlock the vault in this browser: `{ available, reason }`.
    #[wasm_bindgen(js_name = passkeySupport, unchecked_return_type = "Promise<PasskeySupport>")]
    pub fn passkey_support(&self) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move { to_js(&vault.passkey_support().await) })
    }

    /// Registers a passkey named `label` (the vault must be unlocked); resolves to its info.
    #[wasm_bindgen(js_name = addPasskey, unchecked_return_type = "Promise<PasskeyInfo>")]
    pub fn add_passkey(&self, label: String) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move { to_js(&vault.add_passkey(&label).await.map_err(js_error)?) })
    }

    /// Whether any passkey is registered (readable while locked).
    #[wasm_bindgen(js_name = hasPasskeys, unchecked_return_type = "Promise<boolean>")]
    pub fn has_passkeys(&self) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move {
            let requests = vault.core().passkey_requests().await.map_err(js_error)?;
            Ok((!requests.is_empty()).into())
        })
    }

    /// Unlocks with a registered passkey (the browser asks which).
    #[wasm_bindgen(js_name = unlockWithPasskey, unchecked_return_type = "Promise<void>")]
    pub fn unlock_with_passkey(&self) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move {
            vault.unlock_with_passkey().await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The registered passkeys (the vault must be unlocked).
    #[wasm_bindgen(unchecked_return_type = "Promise<PasskeyInfo[]>")]
    pub fn passkeys(&self) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move { to_js(&vault.core().passkeys().await.map_err(js_error)?) })
    }

    /// Removes passkey `id`: it can no longer unlock the vault.
    #[wasm_bindgen(js_name = removePasskey, unchecked_return_type = "Promise<void>")]
    pub fn remove_passkey(&self, id: String) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move {
            vault.core().remove_passkey(&id).await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }
}
