//! What goes in and out of the store besides usage counters: a grant to store, a grant as
//! stored, the outcome of taking one of its requests, and the error.

use crate::core::grant_id::GrantId;
use crate::core::key::KeyFingerprint;

/// The store could not be used (unreachable, timed out, answered an error). The reason is for
/// logs, never for clients.
#[derive(Debug, thiserror::Error)]
#[error("store unavailable: {0}")]
pub struct StoreError(pub String);

/// The outcome of taking one request from a limited grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Taken; this many are left.
    Taken(u64),
    /// None left.
    Exhausted,
    /// The grant is gone (revoked or expired).
    Gone,
}

/// A grant as stored: its sealed record, and the requests left when it is limited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGrant {
    /// The sealed record (see `grants::record`).
    pub record: String,
    /// Requests left; `None` when unlimited.
    pub left: Option<u64>,
}

/// A new grant to store.
#[derive(Debug, Clone)]
pub struct NewGrant<'a> {
    /// Its id.
    pub id: GrantId,
    /// Whose key it seals.
    pub owner: KeyFingerprint,
    /// The sealed record.
    pub record: &'a str,
    /// Requests allowed; `None` when unlimited.
    pub max_requests: Option<u32>,
    /// When it expires, Unix milliseconds: the store forgets it then.
    pub expires_at_ms: u64,
    /// The most live grants one key may have.
    pub live_cap: u32,
}
