//! The in-process store: grants in a map under one lock, forgotten when they expire; usage
//! counters in another, by subject and day, forgotten after [`KEEP_DAYS`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::types::{NewGrant, StoredGrant, Take};
use crate::core::Provider;
use crate::core::grant_id::GrantId;
use crate::core::key::{KeyFingerprint, KeySource};
use crate::core::ledger::{Counts, DayCounts, KEEP_DAYS, Row, SPEND, SPEND_SERVER, Subject};
use crate::core::sync::lock;

/// Expired grants are swept from the map once it holds this many.
const SWEEP_AT: usize = 4096;

#[derive(Debug)]
struct Entry {
    owner: KeyFingerprint,
    record: String,
    left: Option<u64>,
    expires_at_ms: u64,
}

/// One subject's counters for one day: per provider and key source, per model. (B-trees: a
/// few entries each, compared faster than they would be hashed.)
#[derive(Debug, Default)]
struct Day {
    rows: BTreeMap<(Provider, KeySource), BTreeMap<String, [i64; COUNTERS.len()]>>,
    spend: i64,
    spend_server: i64,
}

/// The counters of a row, in the order of [`Day::rows`]' arrays, named as in the Redis store.
const COUNTERS: [&str; 7] = ["req", "in", "cin", "out", "nusd", "unp", "inc"];

/// Grants held by this process alone.
#[derive(Debug, Default)]
pub struct MemoryStore {
    grants: Mutex<HashMap<GrantId, Entry>>,
    /// Counters by subject and day.
    usage: Mutex<BTreeMap<(Subject, u64), Day>>,
    /// Requests per name and hour.
    hours: Mutex<HashMap<(String, u64), u32>>,
    /// Names used once (see [`MemoryStore::first_use`]).
    seen: Mutex<Seen>,
}

/// Names used once, and when each may be forgotten (Unix ms).
#[derive(Debug, Default)]
struct Seen {
    names: HashMap<String, u64>,
    /// The size at which the expired are next swept out: twice what was left by the last
    /// sweep (at most [`MAX_SEEN`]), so sweeping costs a constant amount per insert.
    sweep_at: usize,
    /// When the last sweep ran (Unix ms).
    swept_ms: u64,
}

/// The most names [`MemoryStore::first_use`] remembers at once: about 100 MB at worst. Past it
/// (after forgetting the expired) a new name is refused, which fails closed.
const MAX_SEEN: usize = 1 << 20;

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

    /// Adds one answer's counts (no strings are made: this runs once per answer).
    pub(super) fn add_usage(&self, subject: &Subject, day: u64, row: &Row, counts: &Counts) {
        let mut usage = lock(&self.usage);
        let key = (subject.clone(), day);
        if !usage.contains_key(&key) {
            usage.retain(|(_, d), _| d + KEEP_DAYS > day);
        }
        let totals = usage.entry(key).or_default();
        let models = totals.rows.entry((row.provider, row.source)).or_default();
        let counters = match models.get_mut(row.model.as_str()) {
            Some(counters) => counters,
            None => models.entry(row.model.clone()).or_default(),
        };
        let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let (nusd, unpriced) = counts.cost_nano.map_or((0, 1), |nano| (nano, 0));
        let add = [
            1,
            as_i64(counts.input),
            as_i64(counts.cached_input),
            as_i64(counts.output),
            nusd,
            unpriced,
            i64::from(counts.incomplete),
        ];
        for (counter, n) in counters.iter_mut().zip(add) {
            *counter = counter.saturating_add(n);
        }
        totals.spend = totals.spend.saturating_add(nusd);
        if row.source == KeySource::Server {
            totals.spend_server = totals.spend_server.saturating_add(nusd);
        }
    }

    pub(super) fn usage(
        &self,
        subject: &Subject,
        days: std::ops::RangeInclusive<u64>,
    ) -> Vec<(u64, DayCounts)> {
        let usage = lock(&self.usage);
        days.filter_map(|day| {
            let totals = usage.get(&(subject.clone(), day))?;
            let mut fields = Vec::new();
            for ((provider, source), models) in &totals.rows {
                for (model, counters) in models {
                    for (name, n) in COUNTERS.iter().zip(counters) {
                        let field = format!("{provider}|{model}|{}|{name}", source.as_str());
                        fields.push((field, *n));
                    }
                }
            }
            Some((day, fields))
        })
        .collect()
    }

    pub(super) fn spend(&self, subject: &Subject, day: u64, field: &str) -> i64 {
        let usage = lock(&self.usage);
        let Some(totals) = usage.get(&(subject.clone(), day)) else {
            return 0;
        };
        match field {
            SPEND => totals.spend,
            SPEND_SERVER => totals.spend_server,
            _ => 0,
        }
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

    /// Whether `name` is new (then remembered until `until_ms`); `None` when the store is full
    /// of names not yet expired.
    pub(super) fn first_use(&self, name: &str, now_ms: u64, until_ms: u64) -> Option<bool> {
        let mut seen = lock(&self.seen);
        // Full of live names, it sweeps at most once a second.
        let full = seen.names.len() >= MAX_SEEN;
        if seen.names.len() >= seen.sweep_at.max(SWEEP_AT)
            && (!full || now_ms >= seen.swept_ms + 1000)
        {
            seen.names.retain(|_, until| *until > now_ms);
            seen.sweep_at = (seen.names.len() * 2).min(MAX_SEEN);
            seen.swept_ms = now_ms;
        }
        let seen = &mut *seen;
        let full = seen.names.len() >= MAX_SEEN;
        match seen.names.get_mut(name) {
            Some(until) if *until > now_ms => Some(false),
            Some(until) => {
                *until = until_ms;
                Some(true)
            }
            None if full => None,
            None => {
                seen.names.insert(name.to_owned(), until_ms);
                Some(true)
            }
        }
    }
}
