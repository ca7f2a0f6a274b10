//! Key grants in the browser: asking the proxy for one with a saved key, the vault's sealed
//! record of each, what is left of one, revoking one or all. The JavaScript methods are in
//! [`super::api`].

use js_sys::Reflect;
use serde::{Deserialize, Serialize};

use super::browser::BrowserVault;
use super::invalid;
use super::request::proxy_error;
use crate::{GrantRecord, Provider, VaultError, validate_grant_label};

/// Options for [`BrowserVault::grant`].
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantOptions {
    /// Lifetime, seconds.
    pub ttl_seconds: Option<u64>,
    /// Requests allowed in all.
    pub max_requests: Option<u32>,
    /// Allowed models.
    pub models: Option<Vec<String>>,
    /// A name for the settings page.
    pub label: Option<String>,
    /// The saved key to grant.
    pub key_id: Option<String>,
    /// The daily spend cap, US dollars (a number or a decimal string); default the key's.
    pub daily_cap_usd: Option<Amount>,
}

/// A number of dollars from JavaScript: `0.5` or `"0.50"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Amount {
    /// A JavaScript number.
    Number(f64),
    /// A decimal string.
    Text(String),
}

impl Amount {
    /// In micro-dollars.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidInput`] saying what an amount looks like.
    pub fn micro_usd(&self) -> Result<u64, VaultError> {
        let text = match self {
            // Rust writes the shortest decimal that reads back as the same number (0.1 -> "0.1").
            Self::Number(n) => n.to_string(),
            Self::Text(t) => t.clone(),
        };
        crate::parse_usd(&text).map_err(|e| invalid(format!("daily cap: {e}")))
    }
}

/// A new grant, for JavaScript. `Debug` hides the token.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantIssued {
    token: String,
    id: String,
    expires_at: f64,
}

impl std::fmt::Debug for GrantIssued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantIssued")
            .field("id", &self.id)
            .field("token", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl GrantIssued {
    /// The token, for the job (shown once).
    #[must_use]
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The grant's id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A remembered grant, for JavaScript (times in milliseconds).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantInfo {
    id: String,
    label: String,
    provider: Provider,
    key_id: String,
    models: Vec<String>,
    max_requests: Option<u32>,
    expires_at: f64,
    created_at: f64,
}

impl From<GrantRecord> for GrantInfo {
    fn from(g: GrantRecord) -> Self {
        #[allow(clippy::cast_precision_loss)] // seconds since 1970 stay far below 2^53 / 1000
        let ms = |secs: u64| secs as f64 * 1000.0;
        Self {
            expires_at: ms(g.expires_at),
            created_at: ms(g.created_at),
            id: g.id,
            label: g.label,
            provider: g.provider,
            key_id: g.key_id,
            models: g.models,
            max_requests: g.max_requests,
        }
    }
}

/// What the proxy says of a grant now.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GrantStatus {
    /// Whether it can still be used.
    pub active: bool,
    /// Requests left (`None`: unlimited, or inactive).
    pub requests_left: Option<u64>,
    /// Expiry, milliseconds.
    pub expires_at: Option<u64>,
}

/// The proxy's answer to `POST /byok/grants`.
#[derive(Deserialize)]
struct Created {
    token: String,
    id: String,
    expires_at: u64,
    created_at: u64,
}

impl BrowserVault {
    /// Asks the proxy for a grant of `provider`'s key (the default, or `options.key_id`) and
    /// remembers it.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`], [`VaultError::NoKey`], [`VaultError::NotFound`],
    /// [`VaultError::InvalidInput`] (a bad label, or a key of another provider),
    /// [`VaultError::Unreachable`], [`VaultError::Proxy`] with the proxy's reason (a bad
    /// scope, too many grants, the store down).
    pub async fn grant(
        &self,
        provider: Provider,
        options: GrantOptions,
    ) -> Result<GrantIssued, VaultError> {
        let core = self.core();
        let label = validate_grant_label(options.label.as_deref().unwrap_or_default())?;
        let (key_id, key) = match &options.key_id {
            Some(id) => {
                let (key_provider, key) = core.usable_key_by_id(id)?;
                if key_provider != provider {
                    return Err(invalid(format!(
                        "that key is not a {} key",
                        provider.display_name()
                    )));
                }
                (id.clone(), key)
            }
            None => core.key_for(provider)?,
        };
        // An Azure grant reaches the key's own resource and no other.
        let resource = core.resource_of(&key_id)?;
        let cap = match &options.daily_cap_usd {
            Some(amount) => Some(amount.micro_usd()?),
            None => core.daily_cap(&key_id)?,
        };
        // At most 10^12 micro-dollars: exact in f64, and the proxy rounds to nano-dollars.
        #[allow(clippy::cast_precision_loss)]
        let cap_usd = cap.map(|c| c as f64 / 1e6);
        let models = options.models.unwrap_or_default();
        let body = serde_json::json!({
            "provider": provider.id(),
            "resource": resource,
            "ttl_seconds": options.ttl_seconds,
            "max_requests": options.max_requests,
            "models": models,
            "daily_cap_usd": cap_usd,
        });
        let url = format!("{}byok/grants", self.proxy_base());
        let (status, answer) = self
            .call_with_key("POST", &url, &key, Some(body.to_string()))
            .await?;
        if status != 201 {
            return Err(proxy_error(status, answer.as_ref()));
        }
        let created: Created = answer
            .and_then(|a| serde_wasm_bindgen::from_value(a).ok())
            .ok_or_else(|| VaultError::Proxy("the proxy gave an unreadable answer".into()))?;
        let record = GrantRecord {
            id: created.id.clone(),
            label,
            provider,
            key_id,
            models,
            max_requests: options.max_requests,
            expires_at: created.expires_at,
            created_at: created.created_at,
        };
        core.save_grant(&record).await?;
        #[allow(clippy::cast_precision_loss)] // seconds since 1970 stay far below 2^53 / 1000
        let expires_at = created.expires_at as f64 * 1000.0;
        Ok(GrantIssued {
            token: created.token,
            id: created.id,
            expires_at,
        })
    }

    fn remembered(&self, records: &[GrantRecord], id: &str) -> Result<GrantRecord, VaultError> {
        records
            .iter()
            .find(|g| g.id == id)
            .cloned()
            .ok_or_else(|| VaultError::NotFound(id.to_owned()))
    }

    /// What the proxy says of grant `id` now (asked with its key).
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`] for a grant the vault does not remember, or whose key is gone;
    /// [`VaultError::Locked`]; [`VaultError::Unreachable`]; [`VaultError::Proxy`].
    pub async fn grant_status(&self, id: &str) -> Result<GrantStatus, VaultError> {
        let grant = self.remembered(&self.core().grants().await?, id)?;
        let (_, key) = self.core().key_by_id(&grant.key_id)?;
        let url = format!("{}byok/grants/{}", self.proxy_base(), grant.id);
        let (status, answer) = self.call_with_key("GET", &url, &key, None).await?;
        match status {
            200 => {
                let field = |name: &str| {
                    answer
                        .as_ref()
                        .and_then(|a| Reflect::get(a, &name.into()).ok())
                        .and_then(|v| v.as_f64())
                };
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                // counts and times
                Ok(GrantStatus {
                    active: true,
                    requests_left: field("requests_left").map(|n| n as u64),
                    expires_at: field("expires_at").map(|s| s as u64 * 1000),
                })
            }
            // Expired or revoked: the proxy says no more than that.
            401 => Ok(GrantStatus {
                active: false,
                requests_left: None,
                expires_at: None,
            }),
            _ => Err(proxy_error(status, answer.as_ref())),
        }
    }

    /// Revokes grant `id` at the proxy (with its key) and forgets it.
    ///
    /// # Errors
    ///
    /// As [`BrowserVault::grant_status`].
    pub async fn revoke_grant(&self, id: &str) -> Result<(), VaultError> {
        let grant = self.remembered(&self.core().grants().await?, id)?;
        if let Ok((_, key)) = self.core().key_by_id(&grant.key_id) {
            let url = format!("{}byok/grants/{}", self.proxy_base(), grant.id);
            let (status, answer) = self.call_with_key("DELETE", &url, &key, None).await?;
            // 401: already expired or revoked, which is what was asked.
            if !matches!(status, 204 | 401) {
                return Err(proxy_error(status, answer.as_ref()));
            }
        }
        self.core().forget_grants(&[grant.id]).await
    }

    /// Revokes every grant of key `key_id` at the proxy (those made elsewhere with the same
    /// key too) and forgets the ones the vault remembers; how many the proxy still had. Does
    /// nothing, without asking the proxy, when the vault remembers none for that key.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`], [`VaultError::NotFound`] for a key not in the vault,
    /// [`VaultError::Unreachable`], [`VaultError::Proxy`].
    pub async fn revoke_grants_of(&self, key_id: &str) -> Result<u64, VaultError> {
        let ids: Vec<String> = self
            .core()
            .grants()
            .await?
            .into_iter()
            .filter(|g| g.key_id == key_id)
            .map(|g| g.id)
            .collect();
        if ids.is_empty() {
            return Ok(0);
        }
        let (_, key) = self.core().key_by_id(key_id)?;
        let url = format!("{}byok/grants", self.proxy_base());
        let (status, answer) = self.call_with_key("DELETE", &url, &key, None).await?;
        if status != 200 {
            return Err(proxy_error(status, answer.as_ref()));
        }
        self.core().forget_grants(&ids).await?;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a count
        let revoked = answer
            .and_then(|a| Reflect::get(&a, &"revoked".into()).ok())
            .and_then(|n| n.as_f64())
            .map_or(0, |n| n as u64);
        Ok(revoked)
    }

    /// Revokes every grant of every key the vault holds grants for, and forgets them all; how
    /// many the proxy still had. Records of keys no longer in the vault are forgotten (nothing
    /// can revoke them without the key; they end when they expire).
    ///
    /// # Errors
    ///
    /// As [`BrowserVault::revoke_grants_of`]; grants revoked before a failure stay forgotten.
    pub async fn revoke_all_grants(&self) -> Result<u64, VaultError> {
        let grants = self.core().grants().await?;
        let mut keys: Vec<&str> = grants.iter().map(|g| g.key_id.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut revoked = 0;
        for key_id in keys {
            match self.revoke_grants_of(key_id).await {
                Ok(n) => revoked += n,
                Err(VaultError::NotFound(_)) => {
                    let orphans: Vec<String> = grants
                        .iter()
                        .filter(|g| g.key_id == key_id)
                        .map(|g| g.id.clone())
                        .collect();
                    self.core().forget_grants(&orphans).await?;
                }
                Err(err) => return Err(err),
            }
        }
        Ok(revoked)
    }
}
