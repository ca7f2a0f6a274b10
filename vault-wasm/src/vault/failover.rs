//! Several keys of one provider standing in for each other: the order a request tries them
//! in, what a provider's refusal does to a key, and "spread".
//!
//! A request goes first to the provider's default key (or, with spread on for the provider,
//! to the next key in rotation), then, each time the provider refuses it before processing
//! it (401, 403 or 429), to the next usable key. Keys the provider asked to wait (a 429, for
//! its `Retry-After`) or rejected (a 401, as a failed test does) go after every other usable
//! key, soonest-ready first; off and expired keys are never sent.

use std::collections::BTreeMap;

use super::state::Vault;
use crate::autolock::Clock;
use crate::entry::{Entry, KeyInfo, Provider, TestStatus};
use crate::error::{Result, VaultError};
use crate::kdf::Kdf;
use crate::secret::SecretString;
use crate::store::Store;

/// How long a key rests after a 429 that gave no `Retry-After`.
pub const DEFAULT_COOLDOWN_MS: u64 = 60_000;
/// The longest rest a `Retry-After` can ask for: a day.
pub const MAX_COOLDOWN_MS: u64 = 24 * 60 * 60 * 1000;

/// One key a request may go to, in the order to try them.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The key's record id.
    pub id: String,
    /// The key.
    pub key: SecretString,
    /// Its daily cap, micro-dollars.
    pub cap_micro_usd: Option<u64>,
    /// The resource it belongs to (Azure), which its requests name.
    pub resource: Option<String>,
}

/// How a provider refused a key, before doing any of the request's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 401: the provider does not know the key.
    Rejected,
    /// 403: the key may not do this (a model, a region); nothing is marked.
    Forbidden,
    /// 429: rate limited or out of quota, for this long (`Retry-After`, or a minute).
    Limited {
        /// How long the key should rest.
        retry_after_ms: Option<u64>,
    },
}

impl Refusal {
    /// The refusal a status means, if it is one (401, 403, 429).
    #[must_use]
    pub fn of(status: u16, retry_after_ms: Option<u64>) -> Option<Self> {
        match status {
            401 => Some(Self::Rejected),
            403 => Some(Self::Forbidden),
            429 => Some(Self::Limited { retry_after_ms }),
            _ => None,
        }
    }
}

/// Reads a `Retry-After` value given in seconds (the form providers send; a date is taken
/// as absent).
#[must_use]
pub fn retry_after_ms(value: &str) -> Option<u64> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| s.saturating_mul(1000))
}

impl<S: Store, K: Kdf, C: Clock> Vault<S, K, C> {
    /// The keys a request to `provider` tries, in order (see the module docs); with spread on,
    /// each call starts one key further along.
    ///
    /// # Security
    ///
    /// As for [`Vault::key_for`]: each secret is for this one request.
    ///
    /// # Errors
    ///
    /// [`crate::VaultError::Locked`].
    pub fn keys_in_order(&self, provider: Provider) -> Result<Vec<Candidate>> {
        let now = self.clock.now_ms();
        let (epoch, _) = self.active()?;
        let (order, spread) = self.peek_session(|s| {
            let spread = s.settings.spread.contains(&provider);
            let turn = spread.then(|| s.turns.get(&provider).copied().unwrap_or(0));
            let order = order(&s.entries, provider, now, turn)
                .into_iter()
                .map(|(id, e)| Candidate {
                    id: id.clone(),
                    key: e.key.clone(),
                    cap_micro_usd: e.meta.daily_cap_micro_usd,
                    resource: e.meta.resource.clone(),
                })
                .collect::<Vec<_>>();
            Ok((order, spread))
        })?;
        if spread {
            self.update_session(epoch, |s| {
                *s.turns.entry(provider).or_default() += 1;
            });
        }
        Ok(order)
    }

    /// Records that the provider refused key `id` as `refusal` says: a 401 marks it rejected
    /// (as a failed test), a 429 rests it until its `Retry-After` (a minute without one, a day
    /// at most); a 403 changes nothing.
    ///
    /// # Errors
    ///
    /// [`crate::VaultError::NotFound`]; [`crate::VaultError::Locked`]; storage.
    pub async fn record_refusal(&self, id: &str, refusal: Refusal) -> Result<KeyInfo> {
        let now = self.clock.now_ms();
        match refusal {
            Refusal::Rejected => self.record_test(id, TestStatus::Invalid).await,
            Refusal::Forbidden => self.with_session(|s| {
                s.entries
                    .get(id)
                    .map(|e| KeyInfo::new(id, e))
                    .ok_or_else(|| VaultError::NotFound(id.to_owned()))
            }),
            Refusal::Limited { retry_after_ms } => {
                let rest = retry_after_ms
                    .unwrap_or(DEFAULT_COOLDOWN_MS)
                    .min(MAX_COOLDOWN_MS);
                self.modify(id, |e| e.meta.cooldown_until_ms = Some(now + rest))
                    .await
            }
        }
    }

    /// Whether requests to `provider` rotate over its usable keys.
    ///
    /// # Errors
    ///
    /// [`crate::VaultError::Locked`].
    pub fn spreads(&self, provider: Provider) -> Result<bool> {
        self.with_session(|s| Ok(s.settings.spread.contains(&provider)))
    }

    /// Turns spread on or off for `provider`, stored with the vault.
    ///
    /// # Errors
    ///
    /// [`crate::VaultError::Locked`]; storage.
    pub async fn set_spread(&self, provider: Provider, on: bool) -> Result<()> {
        self.write_settings(|s| {
            s.spread.retain(|p| *p != provider);
            if on {
                s.spread.push(provider);
                s.spread.sort_unstable();
            }
        })
        .await
    }
}

/// `provider`'s usable keys at `now` in the order a request tries them: ready keys (not
/// resting, not rejected) first, by default then age, or by age rotated `turn` places with
/// spread on; then resting keys, soonest ready first; then rejected ones by age.
pub(super) fn order(
    entries: &BTreeMap<String, Entry>,
    provider: Provider,
    now: u64,
    turn: Option<u64>,
) -> Vec<(&String, &Entry)> {
    let resting = |e: &Entry| e.meta.cooldown_until_ms.is_some_and(|until| until > now);
    let rejected = |e: &Entry| e.meta.test_status == TestStatus::Invalid;
    let mut usable: Vec<_> = entries
        .iter()
        .filter(|(_, e)| e.meta.provider == provider && e.meta.is_usable(now))
        .collect();
    usable.sort_by_key(|(id, e)| (e.meta.created_ms, *id));
    let (mut ready, mut waiting): (Vec<_>, Vec<_>) = usable
        .into_iter()
        .partition(|(_, e)| !resting(e) && !rejected(e));
    match turn {
        Some(turn) if !ready.is_empty() => {
            let len = ready.len();
            ready.rotate_left(usize::try_from(turn % len as u64).unwrap_or(0));
        }
        _ => ready.sort_by_key(|(_, e)| !e.meta.is_default),
    }
    waiting.sort_by_key(|(_, e)| {
        (
            rejected(e),
            e.meta.cooldown_until_ms.unwrap_or(0),
            e.meta.created_ms,
        )
    });
    ready.extend(waiting);
    ready
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use futures::executor::block_on;

    use super::*;
    use crate::{ManualClock, MemoryStore, RustKdf};

    const PASSWORD: &str = "correct horse battery staple";

    type TestVault = Vault<MemoryStore, RustKdf, Rc<ManualClock>>;

    fn vault() -> (TestVault, Rc<ManualClock>) {
        let clock = Rc::new(ManualClock::new(1_000_000));
        let vault = Vault::new(MemoryStore::new(), RustKdf, Rc::clone(&clock));
        block_on(vault.create(&PASSWORD.into())).unwrap();
        (vault, clock)
    }

    fn ids(vault: &TestVault, provider: Provider) -> Vec<String> {
        vault
            .keys_in_order(provider)
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect()
    }

    #[test]
    fn the_default_goes_first_then_the_others_by_age_and_refused_keys_last() {
        let (vault, clock) = vault();
        let add = |key: &str, label: &str| {
            clock.advance(10);
            block_on(vault.add(Provider::Openai, key, label))
                .unwrap()
                .id
        };
        let a = add("sk-proj-AAAAaaaaAAAAaaaaAAAA", "a");
        let b = add("sk-proj-BBBBbbbbBBBBbbbbBBBB", "b");
        let c = add("sk-proj-CCCCccccCCCCccccCCCC", "c");
        let other = block_on(vault.add(Provider::Groq, &format!("gsk_{}", "x".repeat(40)), "g"))
            .unwrap()
            .id;
        assert_eq!(
            ids(&vault, Provider::Openai),
            [a.clone(), b.clone(), c.clone()]
        );
        block_on(vault.set_default(&c)).unwrap();
        assert_eq!(
            ids(&vault, Provider::Openai),
            [c.clone(), a.clone(), b.clone()]
        );
        assert_eq!(ids(&vault, Provider::Groq), std::slice::from_ref(&other));

        // c is rate limited for 30 s: it goes last until then.
        let limited = Refusal::of(429, retry_after_ms("30")).unwrap();
        let info = block_on(vault.record_refusal(&c, limited)).unwrap();
        assert_eq!(info.cooldown_until_ms, Some(clock.now_ms() + 30_000));
        assert_eq!(
            ids(&vault, Provider::Openai),
            [a.clone(), b.clone(), c.clone()]
        );
        // a is rejected (401): after the resting key; b serves.
        block_on(vault.record_refusal(&a, Refusal::of(401, None).unwrap())).unwrap();
        assert_eq!(
            ids(&vault, Provider::Openai),
            [b.clone(), c.clone(), a.clone()]
        );
        // A 403 marks nothing.
        block_on(vault.record_refusal(&b, Refusal::of(403, None).unwrap())).unwrap();
        assert_eq!(
            ids(&vault, Provider::Openai),
            [b.clone(), c.clone(), a.clone()]
        );
        // Once its rest is over, the default leads again.
        clock.advance(30_000);
        assert_eq!(
            ids(&vault, Provider::Openai),
            [c.clone(), b.clone(), a.clone()]
        );
        // Off keys are never tried; a 429 without Retry-After rests a minute.
        block_on(vault.set_enabled(&b, false)).unwrap();
        assert_eq!(ids(&vault, Provider::Openai), [c.clone(), a.clone()]);
        block_on(vault.record_refusal(
            &c,
            Refusal::Limited {
                retry_after_ms: None,
            },
        ))
        .unwrap();
        let keys = vault.list().unwrap();
        let c_info = keys.iter().find(|k| k.id == c).unwrap();
        assert_eq!(
            c_info.cooldown_until_ms,
            Some(clock.now_ms() + DEFAULT_COOLDOWN_MS)
        );
        assert_eq!(Refusal::of(500, None), None, "a 500 is not a refusal");
        assert_eq!(Refusal::of(200, None), None);
    }

    #[test]
    fn spread_rotates_over_the_ready_keys_and_is_kept_with_the_vault() {
        let (vault, clock) = vault();
        let mut keys = Vec::new();
        for key in [
            "sk-proj-AAAAaaaaAAAAaaaaAAAA",
            "sk-proj-BBBBbbbbBBBBbbbbBBBB",
            "sk-proj-CCCCccccCCCCccccCCCC",
        ] {
            clock.advance(10);
            keys.push(block_on(vault.add(Provider::Openai, key, "k")).unwrap().id);
        }
        let firsts = |n: usize| -> Vec<String> {
            (0..n)
                .map(|_| ids(&vault, Provider::Openai)[0].clone())
                .collect()
        };
        assert_eq!(
            firsts(2),
            [keys[0].clone(), keys[0].clone()],
            "off: the default"
        );
        block_on(vault.set_spread(Provider::Openai, true)).unwrap();
        assert!(vault.spreads(Provider::Openai).unwrap());
        assert!(!vault.spreads(Provider::Anthropic).unwrap());
        assert_eq!(
            firsts(4),
            [&keys[0], &keys[1], &keys[2], &keys[0]].map(String::clone)
        );
        // A resting key leaves the rotation; the others share it.
        block_on(vault.record_refusal(
            &keys[1],
            Refusal::Limited {
                retry_after_ms: Some(5_000),
            },
        ))
        .unwrap();
        let order = ids(&vault, Provider::Openai);
        assert_eq!(order.last(), Some(&keys[1]));
        // Kept across a lock.
        vault.lock();
        block_on(vault.unlock(&PASSWORD.into())).unwrap();
        assert!(vault.spreads(Provider::Openai).unwrap());
        block_on(vault.set_spread(Provider::Openai, false)).unwrap();
        assert!(!vault.spreads(Provider::Openai).unwrap());
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        assert_eq!(retry_after_ms("30"), Some(30_000));
        assert_eq!(retry_after_ms(" 0 "), Some(0));
        assert_eq!(retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after_ms("-1"), None);
    }
}
