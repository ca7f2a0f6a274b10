//! Spending from JavaScript: the app's user token, what each key (or the user) spent, the
//! models the user's plan allows, and each key's daily cap.
//!
//! ```js
//! vault.setUserToken(jwtFromYourBackend);          // sent as X-BYOK-User from now on
//! const mine = await vault.usage(keyId);           // that key: today, 30 days, per day/model
//! const all = await vault.usage();                 // the user, with the token
//! const { models } = await vault.models();         // allowed? served by the app's key?
//! await vault.setDailyCap(keyId, "5");             // sent as X-BYOK-Daily-Cap with the key
//! ```

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::Vault;
use super::js::{invalid, js_error, to_js};
use crate::wasm::grants::Amount;

#[wasm_bindgen(typescript_custom_section)]
const TS_USAGE_TYPES: &'static str = r#"
/** Usage counts, as `GET /byok/usage` gives them. */
export interface UsageTotals {
  requests: number; input_tokens: number; cached_input_tokens: number; output_tokens: number;
  cost_usd: number | null; unpriced_requests: number; incomplete_requests: number;
}
/** `GET /byok/usage?by=source`: today, the last 30 days, each day (split by provider and key source), each model. */
export interface UsageReport {
  currency: "USD"; today: UsageTotals; last_30_days: UsageTotals;
  /** A saved key's usage only, when it has a daily cap: today's spend against it. */
  cap?: { capUsd: number; spentTodayUsd: number; usedPercent: number; nearCap: boolean; reached: boolean };
  days: (UsageTotals & { date: string; sources: (UsageTotals & { provider: ProviderId; key_source: "user" | "server" | "grant" })[] })[];
  models: (UsageTotals & { provider: ProviderId; model: string; key_source: "user" | "server" | "grant" })[];
}
/** `GET /byok/models`. */
export interface ModelList { models: { provider: ProviderId; model: string; allowed: boolean; server_key: boolean }[]; }
"#;

#[wasm_bindgen]
impl Vault {
    /// Hands over the app's signed token for its user (`null` forgets it). Kept in memory
    /// only, across locks; `fetch`, `usage()` and `models()` send it as `X-BYOK-User`.
    #[wasm_bindgen(js_name = setUserToken)]
    pub fn set_user_token(&self, token: Option<String>) {
        self.vault.set_user_token(token);
    }

    /// Usage today and over 30 days: of saved key `keyId`, or without it of the app's user
    /// (needs `setUserToken`).
    #[wasm_bindgen(unchecked_return_type = "Promise<UsageReport>")]
    pub fn usage(&self, key_id: Option<String>) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move {
            let answer = match key_id {
                Some(id) => vault.key_usage(&id).await,
                None => vault.user_usage().await,
            };
            Ok(answer.map_err(js_error)?.1)
        })
    }

    /// The priced models, whether the user's plan allows each and whether the app's key would
    /// serve it.
    #[wasm_bindgen(unchecked_return_type = "Promise<ModelList>")]
    pub fn models(&self) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move { Ok(vault.models().await.map_err(js_error)?.1) })
    }

    /// Sets key `id`'s daily spend cap in US dollars (`5`, `"0.50"`), or removes it (`null`).
    /// `fetch` sends it with the key; the proxy refuses once the UTC day's spend reaches it.
    #[wasm_bindgen(js_name = setDailyCap, unchecked_return_type = "Promise<KeyInfo>")]
    pub fn set_daily_cap(
        &self,
        id: String,
        #[wasm_bindgen(unchecked_param_type = "number | string | null")] usd: JsValue,
    ) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move {
            let cap = if usd.is_null() || usd.is_undefined() {
                None
            } else {
                let amount: Amount = serde_wasm_bindgen::from_value(usd)
                    .map_err(|_| js_error(invalid("the daily cap must be a number of dollars")))?;
                Some(amount.micro_usd().map_err(js_error)?)
            };
            to_js(
                &vault
                    .core()
                    .set_daily_cap(&id, cap)
                    .await
                    .map_err(js_error)?,
            )
        })
    }
}
