//! The in-process store: grants in a map under one lock, forgotten when they expire.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{NewGrant, StoredGrant, Take};
use crate::grants::GrantId;
use crate::limits::KeyFingerprint;
use crate::lock;

/// Expired grants are swept from the map once it holds this many.
const SWEEP_AT: usize = 4096;

#[derive(Debug)]
struct Entry {
    owner: KeyFingerprint,
    record: String,
    left: Option<u64>,
    expires_at_ms: u64,
}

/// Grants held by this process alone.
#[derive(Debug, Default)]
pub struct MemoryStore {
    grants: Mutex<HashMap<GrantId, Entry>>,
}

impl MemoryStore {
    pub(super) fn put_grant(&self, grant: &NewGrant<'_>, now: u64) -> bool {
        let mut grants = lock(&self.grants);
        if grants.len() >= SWEEP_AT {
            grants.retain(|_, e| e.expires_at_ms > now);
        }
        let live = grants
            .values()
            .filter(|e| e.owner == grant.owner && e.expires_at_ms > now)
            .count();
        if live >= grant.live_cap as usize {
            return false;
        }
        grants.insert(
            grant.id,
            Entry {
                owner: grant.owner,
                record: grant.record.to_owned(),
                left: grant.max_requests.map(u64::from),
                expires_at_ms: grant.expires_at_ms,
            },
        );
        true
    }

    pub(super) fn grant(&self, id: GrantId, now: u64) -> Option<StoredGrant> {
        let grants = lock(&self.grants);
        grants
            .get(&id)
            .filter(|e| e.expires_at_ms > now)
            .map(|e| StoredGrant {
                record: e.record.clone(),
                left: e.left,
            })
    }

    pub(super) fn take(&self, id: GrantId, now: u64) -> Take {
        let mut grants = lock(&self.grants);
        match grants.get_mut(&id).filter(|e| e.expires_at_ms > now) {
            None => Take::Gone,
            Some(Entry { left: None, .. }) => Take::Taken(u64::MAX),
            Some(Entry { left: Some(0), .. }) => Take::Exhausted,
            Some(Entry {
                left: Some(left), ..
            }) => {
                *left -= 1;
                Take::Taken(*left)
            }
        }
    }

    pub(super) fn revoke(&self, id: GrantId, owner: KeyFingerprint) -> bool {
        let mut grants = lock(&self.grants);
        if grants.get(&id).is_some_and(|e| e.owner == owner) {
            grants.remove(&id);
            return true;
        }
        false
    }

    pub(super) fn revoke_all(&self, owner: KeyFingerprint) -> u64 {
        let mut grants = lock(&self.grants);
        let before = grants.len();
        grants.retain(|_, e| e.owner != owner);
        (before - grants.len()) as u64
    }
}
