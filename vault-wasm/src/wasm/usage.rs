//! Spending, read from the proxy: what each key (or the app's user) spent, the models the
//! user's plan allows, and each key's daily cap.

use js_sys::Reflect;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

use super::browser::BrowserVault;
use super::invalid;
use super::request::{Credentials, call, proxy_error};
use super::seal::Sealer;
use crate::{CapStatus, ModelList, SecretString, UsageReport, VaultError};

/// The answer to `GET path` with `credentials`, read as `T` and as the JavaScript value.
async fn get<T: DeserializeOwned>(
    sealer: &Sealer,
    url: &str,
    credentials: &Credentials<'_>,
) -> Result<(T, JsValue), VaultError> {
    let (status, body) = call(sealer, "GET", url, credentials, None).await?;
    if !(200..300).contains(&status) {
        return Err(proxy_error(status, body.as_ref()));
    }
    let body =
        body.ok_or_else(|| VaultError::Proxy("the proxy gave an unreadable answer".into()))?;
    let read = serde_wasm_bindgen::from_value(body.clone())
        .map_err(|_| VaultError::Proxy("the proxy gave an unreadable answer".into()))?;
    Ok((read, body))
}

impl BrowserVault {
    /// Hands over (or with `None` forgets) the app's token for its user. It is kept in memory
    /// only, across locks, and sent as `X-BYOK-User` by [`BrowserVault::fetch`],
    /// [`BrowserVault::models`] and [`BrowserVault::user_usage`].
    pub fn set_user_token(&self, token: Option<String>) {
        *self.inner.user_token.borrow_mut() = token
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .map(SecretString::new);
    }

    /// Whether the app has handed over a user token.
    #[must_use]
    pub fn has_user_token(&self) -> bool {
        self.inner.user_token.borrow().is_some()
    }

    /// What saved key `id` spent today and in the last 30 days (asked with that key alone).
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`], [`VaultError::NotFound`], [`VaultError::Unreachable`],
    /// [`VaultError::Proxy`] with the proxy's reason.
    ///
    /// With a daily cap on the key, the JavaScript value also says where today stands against
    /// it (`cap`: `nearCap` from 80%, `reached` at 100%; see [`CapStatus`]).
    pub async fn key_usage(&self, id: &str) -> Result<(UsageReport, JsValue), VaultError> {
        let (_, key) = self.core().key_by_id(id)?;
        let url = format!("{}byok/usage?by=source", self.proxy_base());
        let (report, value): (UsageReport, JsValue) =
            get(&self.inner.sealer, &url, &Credentials::key(&key)).await?;
        if let Some(cap) = CapStatus::of(self.core().daily_cap(id)?, &report.today) {
            let standing = js_sys::Object::new();
            for (name, field) in [
                ("capUsd", JsValue::from(cap.cap_usd)),
                ("spentTodayUsd", cap.spent_usd.into()),
                ("usedPercent", cap.used_percent.into()),
                ("nearCap", cap.near.into()),
                ("reached", cap.reached.into()),
            ] {
                let _ = Reflect::set(&standing, &name.into(), &field); // a fresh plain object
            }
            let _ = Reflect::set(&value, &"cap".into(), &standing);
        }
        Ok((report, value))
    }

    /// What the app's user spent, whichever key served (asked with the user token).
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidInput`] without a user token; [`VaultError::Unreachable`];
    /// [`VaultError::Proxy`] (an expired token, say).
    pub async fn user_usage(&self) -> Result<(UsageReport, JsValue), VaultError> {
        let user = self.inner.user_token.borrow().clone().ok_or_else(|| {
            invalid("the app has not handed over a user token (setUserToken); ask per key")
        })?;
        let url = format!("{}byok/usage?by=source", self.proxy_base());
        let credentials = Credentials {
            user: Some(&user),
            ..Credentials::default()
        };
        get(&self.inner.sealer, &url, &credentials).await
    }

    /// The priced models, whether the user's plan allows each and whether the app's key would
    /// serve it (with the user token when there is one).
    ///
    /// # Errors
    ///
    /// [`VaultError::Unreachable`]; [`VaultError::Proxy`].
    pub async fn models(&self) -> Result<(ModelList, JsValue), VaultError> {
        let user = self.inner.user_token.borrow().clone();
        let url = format!("{}byok/models", self.proxy_base());
        let credentials = Credentials {
            user: user.as_ref(),
            ..Credentials::default()
        };
        get(&self.inner.sealer, &url, &credentials).await
    }
}
