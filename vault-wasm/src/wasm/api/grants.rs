//! Key grants from JavaScript: ask the proxy for one with a saved key, list the ones the vault
//! remembers, see what is left of one, revoke one or all.
//!
//! ```js
//! const { token, id, expiresAt } = await vault.grant("openai", {
//!   label: "Nightly summary", ttlSeconds: 3600, maxRequests: 50, models: ["gpt-4o-mini"] });
//! // Hand `token` to the backend job; it calls the proxy with it as its API key.
//! await vault.revokeGrant(id);
//! ```
//!
//! The key goes to the proxy once, in `X-BYOK-Key`; the vault keeps a sealed record of the
//! grant (never the token). Revoking takes the key, so it works without the token.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::Vault;
use super::js::{invalid, js_error, parse_provider, to_js};
use crate::wasm::grants::{GrantInfo, GrantOptions};

#[wasm_bindgen(typescript_custom_section)]
const TS_GRANT_TYPES: &'static str = r#"
/** Options for `vault.grant`. */
export interface GrantOptions {
  /** Lifetime in seconds; default 300, at most the proxy's maximum (24 hours unless set). */
  ttlSeconds?: number;
  /** Requests allowed in all; default unlimited. */
  maxRequests?: number;
  /** Model names the grant allows (exact, or a prefix ending in `*`); default all. */
  models?: string[];
  /** A name for the settings page. */
  label?: string;
  /** The saved key to grant; default the provider's default key. */
  keyId?: string;
  /** The most the grant may spend in a UTC day, in US dollars; default the key's daily cap. */
  dailyCapUsd?: number | string;
}
/** A new grant: `token` is for the job, once; the vault keeps only `id`. */
export interface GrantIssued { token: string; id: string; expiresAt: number; }
/** A grant the vault remembers. Times are milliseconds since the epoch. */
export interface GrantInfo {
  id: string; label: string; provider: ProviderId; keyId: string; models: string[];
  maxRequests: number | null; expiresAt: number; createdAt: number;
}
/** What the proxy says of a grant now. */
export interface GrantStatus { active: boolean; requestsLeft: number | null; expiresAt: number | null; }
"#;

#[wasm_bindgen]
impl Vault {
    /// Asks the proxy for a grant of the provider's key (see `GrantOptions`). Resolves to
    /// `{ token, id, expiresAt }`; the token is shown this once.
    #[wasm_bindgen(unchecked_return_type = "Promise<GrantIssued>")]
    pub fn grant(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ProviderId")] provider: String,
        #[wasm_bindgen(unchecked_param_type = "GrantOptions | undefined")] options: JsValue,
    ) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move {
            let provider = parse_provider(&provider)?;
            let options: GrantOptions = if options.is_undefined() || options.is_null() {
                GrantOptions::default()
            } else {
                serde_wasm_bindgen::from_value(options)
                    .map_err(|e| js_error(invalid(format!("grant options: {e}"))))?
            };
            to_js(&vault.grant(provider, options).await.map_err(js_error)?)
        })
    }

    /// Every grant the vault remembers, newest first (expired ones too, until forgotten).
    #[wasm_bindgen(unchecked_return_type = "Promise<GrantInfo[]>")]
    pub fn grants(&self) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move {
            let grants = vault.core().grants().await.map_err(js_error)?;
            to_js(&grants.into_iter().map(GrantInfo::from).collect::<Vec<_>>())
        })
    }

    /// What the proxy says of grant `id` now.
    #[wasm_bindgen(js_name = grantStatus, unchecked_return_type = "Promise<GrantStatus>")]
    pub fn grant_status(&self, id: String) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move { to_js(&vault.grant_status(&id).await.map_err(js_error)?) })
    }

    /// Revokes grant `id` on every proxy instance, and forgets it.
    #[wasm_bindgen(js_name = revokeGrant, unchecked_return_type = "Promise<void>")]
    pub fn revoke_grant(&self, id: String) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move {
            vault.revoke_grant(&id).await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Revokes every grant of the vault's keys, and forgets them; resolves to how many the
    /// proxy still had.
    #[wasm_bindgen(js_name = revokeAllGrants, unchecked_return_type = "Promise<number>")]
    pub fn revoke_all_grants(&self) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move {
            #[allow(clippy::cast_precision_loss)] // a count
            let n = vault.revoke_all_grants().await.map_err(js_error)? as f64;
            Ok(JsValue::from_f64(n))
        })
    }
}
