//! The in-process store: grants in a map under one lock, forgotten when they expire; usage
//! counters in another, by subject and day, forgotten after [`KEEP_DAYS`].

use std::collections::HashMap;
use std::sync::Mutex;

use super::{DayCounts, NewGrant, StoredGrant, Take};
use crate::grants::GrantId;
use crate::limits::KeyFingerprint;
use crate::lock;
use crate::usage::KEEP_DAYS;

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
    /// Counters by subject and day.
    usage: Mutex<HashMap<(String, u64), HashMap<String, i64>>>,
    /// Requests per name and hour.
    hours: Mutex<HashMap<(String, u64), u32>>,
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

    pub(super) fn add_usage(&self, subject: &str, day: u64, fields: &DayCounts) {
        let mut usage = lock(&self.usage);
        if !usage.contains_key(&(subject.to_owned(), day)) {
            usage.retain(|(_, d), _| d + KEEP_DAYS > day);
        }
        let counters = usage.entry((subject.to_owned(), day)).or_default();
        for (field, n) in fields {
            let value = counters.entry(field.clone()).or_default();
            *value = value.saturating_add(*n);
        }
    }

    pub(super) fn usage(
        &self,
        subject: &str,
        days: std::ops::RangeInclusive<u64>,
    ) -> Vec<(u64, DayCounts)> {
        let usage = lock(&self.usage);
        days.filter_map(|day| {
            let counters = usage.get(&(subject.to_owned(), day))?;
            Some((day, counters.iter().map(|(f, n)| (f.clone(), *n)).collect()))
        })
        .collect()
    }

    pub(super) fn spend(&self, subject: &str, day: u64, field: &str) -> i64 {
        lock(&self.usage)
            .get(&(subject.to_owned(), day))
            .and_then(|c| c.get(field).copied())
            .unwrap_or(0)
    }

    pub(super) fn count_hour(&self, name: &str, hour: u64, limit: u32) -> bool {
        let mut hours = lock(&self.hours);
        if !hours.contains_key(&(name.to_owned(), hour)) {
            hours.retain(|(_, h), _| *h >= hour);
        }
        let count = hours.entry((name.to_owned(), hour)).or_default();
        if *count >= limit {
            return false;
        }
        *count += 1;
        true
    }
}
