//! The keys: adding, listing, choosing the one that serves, and every change to one.

use std::collections::BTreeMap;

use super::records::{new_entry_id, seal_entry};
use super::state::Vault;
use crate::autolock::Clock;
use crate::entry::{
    Entry, EntryMeta, KeyInfo, Provider, TestStatus, validate_key, validate_label,
    validate_resource,
};
use crate::error::{Result, VaultError};
use crate::kdf::Kdf;
use crate::secret::SecretString;
use crate::store::{Batch, Store};
use crate::usd::MAX_CAP_USD;

impl<S: Store, K: Kdf, C: Clock> Vault<S, K, C> {
    /// Metadata of every readable key, ordered by provider then creation time.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`].
    pub fn list(&self) -> Result<Vec<KeyInfo>> {
        self.with_session(|s| {
            let mut keys: Vec<KeyInfo> = s
                .entries
                .iter()
                .map(|(id, entry)| KeyInfo::new(id, entry))
                .collect();
            keys.sort_by(|a, b| {
                (a.provider, a.created_ms, &a.id).cmp(&(b.provider, b.created_ms, &b.id))
            });
            Ok(keys)
        })
    }

    /// Ids of records that could not be decrypted (damaged); they can be removed.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`].
    pub fn unreadable(&self) -> Result<Vec<String>> {
        self.with_session(|s| Ok(s.unreadable.iter().cloned().collect()))
    }

    /// Checks and saves a key of a provider without resources (all but Azure). The first key
    /// of a provider becomes its default.
    ///
    /// # Errors
    ///
    /// As [`Vault::add_at`].
    pub async fn add(&self, provider: Provider, api_key: &str, label: &str) -> Result<KeyInfo> {
        self.add_at(provider, None, api_key, label).await
    }

    /// Checks and saves a key, with the resource it belongs to for a provider that has them
    /// (Azure). The first key of a provider becomes its default.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidKey`] saying what is wrong with its shape;
    /// [`VaultError::InvalidInput`] for a bad label or resource (missing for Azure, given for
    /// another provider); [`VaultError::Locked`]; storage.
    pub async fn add_at(
        &self,
        provider: Provider,
        resource: Option<&str>,
        api_key: &str,
        label: &str,
    ) -> Result<KeyInfo> {
        let key = validate_key(provider, api_key)?;
        let label = validate_label(label).map_err(VaultError::InvalidInput)?;
        let resource = validate_resource(provider, resource).map_err(VaultError::InvalidInput)?;
        let (epoch, vault_key) = self.active()?;
        let has_default = self.with_session(|s| {
            Ok(s.entries
                .values()
                .any(|e| e.meta.provider == provider && e.meta.is_default))
        })?;
        let now = self.clock.now_ms();
        let entry = Entry {
            key,
            meta: EntryMeta {
                resource,
                ..EntryMeta::new(provider, label, !has_default, now)
            },
        };
        let id = new_entry_id()?;
        let record = seal_entry(&vault_key, &id, &entry)?;
        self.store.write(Batch::put(id.clone(), record)).await?;
        let info = KeyInfo::new(&id, &entry);
        self.update_session(epoch, |s| {
            s.entries.insert(id, entry);
        });
        Ok(info)
    }

    /// Deletes a key (or an unreadable record). If it was the default, the provider's oldest
    /// remaining key becomes the default.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`]; [`VaultError::Locked`]; storage.
    pub async fn remove(&self, id: &str) -> Result<()> {
        let (epoch, vault_key) = self.active()?;
        let (known, promote) = self.with_session(|s| {
            let known = s.entries.contains_key(id) || s.unreadable.contains(id);
            let promote = s
                .entries
                .get(id)
                .filter(|e| e.meta.is_default)
                .and_then(|gone| {
                    s.entries
                        .iter()
                        .filter(|(other, e)| *other != id && e.meta.provider == gone.meta.provider)
                        .min_by_key(|(_, e)| e.meta.created_ms)
                        .map(|(other, e)| (other.clone(), e.clone()))
                });
            Ok((known, promote))
        })?;
        if !known {
            return Err(VaultError::NotFound(id.to_owned()));
        }
        let mut batch = Batch::delete(id);
        let promoted = match promote {
            Some((other, mut entry)) => {
                entry.meta.is_default = true;
                entry.meta.updated_ms = self.clock.now_ms();
                batch
                    .put
                    .push((other.clone(), seal_entry(&vault_key, &other, &entry)?));
                Some((other, entry))
            }
            None => None,
        };
        self.store.write(batch).await?;
        self.update_session(epoch, |s| {
            s.entries.remove(id);
            s.unreadable.remove(id);
            if let Some((other, entry)) = promoted {
                s.entries.insert(other, entry);
            }
        });
        Ok(())
    }

    /// Changes a key's label.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`]; [`VaultError::InvalidInput`]; [`VaultError::Locked`]; storage.
    pub async fn rename(&self, id: &str, label: &str) -> Result<KeyInfo> {
        let label = validate_label(label).map_err(VaultError::InvalidInput)?;
        let now = self.clock.now_ms();
        self.modify(id, |e| {
            e.meta.label = label;
            e.meta.updated_ms = now;
        })
        .await
    }

    /// Makes `id` its provider's default key (and no other).
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`]; [`VaultError::Locked`]; storage.
    pub async fn set_default(&self, id: &str) -> Result<()> {
        let (epoch, vault_key) = self.active()?;
        let now = self.clock.now_ms();
        let changed = self.with_session(|s| {
            let provider = s
                .entries
                .get(id)
                .ok_or_else(|| VaultError::NotFound(id.to_owned()))?
                .meta
                .provider;
            Ok(s.entries
                .iter()
                .filter(|(_, e)| e.meta.provider == provider)
                .filter(|(other, e)| e.meta.is_default != (*other == id))
                .map(|(other, e)| {
                    let mut e = e.clone();
                    e.meta.is_default = other == id;
                    e.meta.updated_ms = now;
                    (other.clone(), e)
                })
                .collect::<Vec<_>>())
        })?;
        let mut batch = Batch::default();
        for (other, entry) in &changed {
            batch
                .put
                .push((other.clone(), seal_entry(&vault_key, other, entry)?));
        }
        self.store.write(batch).await?;
        self.update_session(epoch, |s| s.entries.extend(changed));
        Ok(())
    }

    /// The key that serves `provider` now, with its id: the default if it is on and not
    /// expired, else the oldest such key. Off and expired keys are never chosen.
    ///
    /// # Security
    ///
    /// The returned secret is for building one request header; callers MUST NOT keep it.
    ///
    /// # Errors
    ///
    /// [`VaultError::NoKey`] when no key of `provider` is usable; [`VaultError::Locked`].
    pub fn key_for(&self, provider: Provider) -> Result<(String, SecretString)> {
        let now = self.clock.now_ms();
        self.with_session(|s| {
            serving(&s.entries, provider, now)
                .map(|(id, e)| (id.clone(), e.key.clone()))
                .ok_or(VaultError::NoKey(provider))
        })
    }

    /// The id of the key that serves `provider` now (see [`Vault::key_for`]), if any.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`].
    pub fn serving_id(&self, provider: Provider) -> Result<Option<String>> {
        let now = self.clock.now_ms();
        self.with_session(|s| Ok(serving(&s.entries, provider, now).map(|(id, _)| id.clone())))
    }

    /// The key stored under `id`, with its provider, whether it is on or off: for talking to
    /// the proxy about it (its usage, its grants), never to a provider.
    ///
    /// # Security
    ///
    /// As for [`Vault::key_for`].
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`]; [`VaultError::Locked`].
    pub fn key_by_id(&self, id: &str) -> Result<(Provider, SecretString)> {
        self.with_session(|s| {
            s.entries
                .get(id)
                .map(|e| (e.meta.provider, e.key.clone()))
                .ok_or_else(|| VaultError::NotFound(id.to_owned()))
        })
    }

    /// The resource key `id` belongs to (Azure), if its provider has them.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`]; [`VaultError::Locked`].
    pub fn resource_of(&self, id: &str) -> Result<Option<String>> {
        self.with_session(|s| {
            s.entries
                .get(id)
                .map(|e| e.meta.resource.clone())
                .ok_or_else(|| VaultError::NotFound(id.to_owned()))
        })
    }

    /// The key stored under `id`, with its provider, to send to that provider (a test, a
    /// grant): refused when it is off or expired.
    ///
    /// # Security
    ///
    /// As for [`Vault::key_for`].
    ///
    /// # Errors
    ///
    /// [`VaultError::KeyOff`]; [`VaultError::NotFound`]; [`VaultError::Locked`].
    pub fn usable_key_by_id(&self, id: &str) -> Result<(Provider, SecretString)> {
        let now = self.clock.now_ms();
        self.with_session(|s| {
            let entry = s
                .entries
                .get(id)
                .ok_or_else(|| VaultError::NotFound(id.to_owned()))?;
            if !entry.meta.is_usable(now) {
                return Err(VaultError::KeyOff {
                    expired: !entry.meta.off,
                });
            }
            Ok((entry.meta.provider, entry.key.clone()))
        })
    }

    /// Puts a new secret in key `id`'s place: same id, label, default mark, cap, on/off state
    /// and history; the expiry date (the old secret's) and the last test's result go.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidKey`] for a new key of the wrong shape;
    /// [`VaultError::InvalidInput`] if it is the key already saved; [`VaultError::NotFound`];
    /// [`VaultError::Locked`]; storage.
    pub async fn replace(&self, id: &str, api_key: &str) -> Result<KeyInfo> {
        let (provider, old) = self.key_by_id(id)?;
        let key = validate_key(provider, api_key)?;
        if key == old {
            return Err(VaultError::InvalidInput(
                "that is the key already saved; paste the new one".into(),
            ));
        }
        let now = self.clock.now_ms();
        self.modify(id, |e| {
            e.key = key;
            e.meta.replaced_ms = Some(now);
            e.meta.updated_ms = now;
            e.meta.expires_ms = None;
            e.meta.last_tested_ms = None;
            e.meta.test_status = TestStatus::Untested;
        })
        .await
    }

    /// Turns key `id` on or off. An off key stays saved but is never sent; while the default
    /// is off, the provider's next usable key serves.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`]; [`VaultError::Locked`]; storage.
    pub async fn set_enabled(&self, id: &str, enabled: bool) -> Result<KeyInfo> {
        let now = self.clock.now_ms();
        self.modify(id, |e| {
            e.meta.off = !enabled;
            e.meta.updated_ms = now;
        })
        .await
    }

    /// Sets (or with `None` removes) key `id`'s expiry date, in milliseconds since the epoch.
    /// From that moment the key is not sent; [`expiry`](crate::expiry) says how it stands.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`]; [`VaultError::Locked`]; storage.
    pub async fn set_expiry(&self, id: &str, expires_ms: Option<u64>) -> Result<KeyInfo> {
        let now = self.clock.now_ms();
        self.modify(id, |e| {
            e.meta.expires_ms = expires_ms;
            e.meta.updated_ms = now;
        })
        .await
    }

    /// Sets (or with `None` removes) key `id`'s daily spend cap, in micro-dollars.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidInput`] above [`MAX_CAP_USD`]; [`VaultError::NotFound`];
    /// [`VaultError::Locked`]; storage.
    pub async fn set_daily_cap(&self, id: &str, micro_usd: Option<u64>) -> Result<KeyInfo> {
        if micro_usd.is_some_and(|m| m > MAX_CAP_USD * 1_000_000) {
            return Err(VaultError::InvalidInput(format!(
                "the most a cap can be is ${}",
                MAX_CAP_USD
            )));
        }
        let now = self.clock.now_ms();
        self.modify(id, |e| {
            e.meta.daily_cap_micro_usd = micro_usd;
            e.meta.updated_ms = now;
        })
        .await
    }

    /// Key `id`'s daily spend cap in micro-dollars, if it has one.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`]; [`VaultError::Locked`].
    pub fn daily_cap(&self, id: &str) -> Result<Option<u64>> {
        self.with_session(|s| {
            s.entries
                .get(id)
                .map(|e| e.meta.daily_cap_micro_usd)
                .ok_or_else(|| VaultError::NotFound(id.to_owned()))
        })
    }

    /// Records that a request used key `id` now.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`]; [`VaultError::Locked`]; storage.
    pub async fn record_use(&self, id: &str) -> Result<KeyInfo> {
        let now = self.clock.now_ms();
        self.modify(id, |e| e.meta.last_used_ms = Some(now)).await
    }

    /// Records the outcome of testing key `id` now.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`]; [`VaultError::Locked`]; storage.
    pub async fn record_test(&self, id: &str, status: TestStatus) -> Result<KeyInfo> {
        let now = self.clock.now_ms();
        self.modify(id, |e| {
            e.meta.last_tested_ms = Some(now);
            e.meta.test_status = status;
        })
        .await
    }

    /// Re-seals one entry after `change`, writing before updating memory.
    pub(super) async fn modify(
        &self,
        id: &str,
        change: impl FnOnce(&mut Entry),
    ) -> Result<KeyInfo> {
        self.modify_with(id, true, change).await
    }

    /// As [`Vault::modify`]; `activity: false` for background work.
    pub(super) async fn modify_with(
        &self,
        id: &str,
        activity: bool,
        change: impl FnOnce(&mut Entry),
    ) -> Result<KeyInfo> {
        let (epoch, vault_key) = self.session_key(activity)?;
        let mut entry = self.peek_session(|s| {
            s.entries
                .get(id)
                .cloned()
                .ok_or_else(|| VaultError::NotFound(id.to_owned()))
        })?;
        change(&mut entry);
        let record = seal_entry(&vault_key, id, &entry)?;
        self.store.write(Batch::put(id, record)).await?;
        let info = KeyInfo::new(id, &entry);
        self.update_session(epoch, |s| {
            s.entries.insert(id.to_owned(), entry);
        });
        Ok(info)
    }
}

/// The key serving `provider` at `now`: the usable default, else the oldest usable key.
fn serving(
    entries: &BTreeMap<String, Entry>,
    provider: Provider,
    now: u64,
) -> Option<(&String, &Entry)> {
    let usable = entries
        .iter()
        .filter(|(_, e)| e.meta.provider == provider && e.meta.is_usable(now));
    usable
        .clone()
        .find(|(_, e)| e.meta.is_default)
        .or_else(|| usable.min_by_key(|(_, e)| e.meta.created_ms))
}
