//! Grant records: what the vault remembers of each grant it asked the proxy for, so the user
//! can see and revoke them later. Each is a record of kind `grant` (id `grant:<grant id>`),
//! sealed under the vault key like an entry: storage shows only the id. The token itself is
//! never kept: it goes to the app once, and revoking takes the key, not the token.

use serde::{Deserialize, Serialize};

use crate::entry::Provider;
use crate::envelope::GRANT_PREFIX;
use crate::error::{Result, VaultError};

/// The longest grant label, in characters.
pub const MAX_GRANT_LABEL_CHARS: usize = 64;

/// A grant the vault asked for: its id, what it is for, and its scope. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantRecord {
    /// The proxy's id for the grant (32 hex digits).
    pub id: String,
    /// What the user or app called it.
    pub label: String,
    /// The provider it reaches.
    pub provider: Provider,
    /// The vault entry whose key it seals.
    pub key_id: String,
    /// Allowed models; empty for all.
    #[serde(default)]
    pub models: Vec<String>,
    /// Requests allowed in all; `None` for no limit.
    pub max_requests: Option<u32>,
    /// When it expires.
    pub expires_at: u64,
    /// When it was made.
    pub created_at: u64,
}

impl GrantRecord {
    /// Whether it has expired at `now_secs`.
    #[must_use]
    pub fn expired(&self, now_secs: u64) -> bool {
        self.expires_at <= now_secs
    }
}

/// Checks a grant label: at most [`MAX_GRANT_LABEL_CHARS`] characters, no control characters.
///
/// # Errors
///
/// [`VaultError::InvalidInput`] saying what is wrong.
pub fn validate_grant_label(label: &str) -> Result<String> {
    let label = label.trim();
    if label.chars().count() > MAX_GRANT_LABEL_CHARS {
        return Err(VaultError::InvalidInput(format!(
            "a grant label has at most {MAX_GRANT_LABEL_CHARS} characters"
        )));
    }
    if label.chars().any(char::is_control) {
        return Err(VaultError::InvalidInput(
            "a grant label cannot contain control characters".into(),
        ));
    }
    Ok(label.to_owned())
}

/// The record id of grant `grant_id`, if that is a grant id (32 hex digits).
pub(crate) fn record_id(grant_id: &str) -> Result<String> {
    let valid = grant_id.len() == 32
        && grant_id
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !valid {
        return Err(VaultError::InvalidInput("not a grant id".into()));
    }
    Ok(format!("{GRANT_PREFIX}{grant_id}"))
}
