//! The grants the vault remembers: saved when the proxy issues one, listed, forgotten (the
//! record is [`crate::grant`]; each is sealed under the vault key, the token never kept).

use super::state::Vault;
use crate::autolock::Clock;
use crate::envelope::{Envelope, GRANT_PREFIX, RecordKind};
use crate::error::{Result, VaultError};
use crate::grant::{GrantRecord, record_id, validate_grant_label};
use crate::kdf::Kdf;
use crate::store::{Batch, Store};

impl<S: Store, K: Kdf, C: Clock> Vault<S, K, C> {
    /// Remembers `grant`, sealed under the vault key.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; [`VaultError::NotFound`] when its key is not in the vault;
    /// [`VaultError::InvalidInput`] for a bad id or label; storage.
    pub async fn save_grant(&self, grant: &GrantRecord) -> Result<()> {
        let id = record_id(&grant.id)?;
        validate_grant_label(&grant.label)?;
        let (provider, _) = self.key_by_id(&grant.key_id)?;
        if provider != grant.provider {
            return Err(VaultError::InvalidInput(
                "the grant's provider is not its key's".into(),
            ));
        }
        let (_, vault_key) = self.active()?;
        let plaintext = serde_json::to_vec(grant)
            .map_err(|_| VaultError::InvalidInput("grant could not be encoded".into()))?;
        let sealed = Envelope::seal(&vault_key, RecordKind::Grant, &id, None, &plaintext)?;
        self.store().write(Batch::put(id, sealed.to_json())).await
    }

    /// Every grant the vault remembers, newest first. Records that do not open (damaged) are
    /// left out.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; storage.
    pub async fn grants(&self) -> Result<Vec<GrantRecord>> {
        let (_, vault_key) = self.active()?;
        let mut grants: Vec<GrantRecord> = self
            .store()
            .get_all()
            .await?
            .into_iter()
            .filter(|(id, _)| id.starts_with(GRANT_PREFIX))
            .filter_map(|(id, raw)| {
                let plaintext = Envelope::parse(&raw)
                    .ok()?
                    .open(&vault_key, RecordKind::Grant, &id)
                    .ok()?;
                let grant: GrantRecord = serde_json::from_slice(&plaintext).ok()?;
                (id[GRANT_PREFIX.len()..] == grant.id).then_some(grant)
            })
            .collect();
        grants.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        Ok(grants)
    }

    /// Forgets grants `ids` (after the proxy revoked them, or once they expired).
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; [`VaultError::InvalidInput`] for a bad id; storage.
    pub async fn forget_grants(&self, ids: &[String]) -> Result<()> {
        self.active()?;
        let delete = ids.iter().map(|id| record_id(id)).collect::<Result<_>>()?;
        self.store()
            .write(Batch {
                put: Vec::new(),
                delete,
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Provider;
    use crate::{ManualClock, MemoryStore, RustKdf};

    async fn vault() -> (Vault<MemoryStore, RustKdf, ManualClock>, String) {
        let vault = Vault::new(MemoryStore::new(), RustKdf, ManualClock::new(0));
        vault.create(&"correct horse battery".into()).await.unwrap();
        let info = vault
            .add(Provider::Openai, "sk-proj-0123456789abcdefWXYZ", "work")
            .await
            .unwrap();
        (vault, info.id)
    }

    fn record(key_id: &str, id: &str, created_at: u64) -> GrantRecord {
        GrantRecord {
            id: id.to_owned(),
            label: "Nightly summary".into(),
            provider: Provider::Openai,
            key_id: key_id.to_owned(),
            models: vec!["gpt-4o-mini".into()],
            max_requests: Some(10),
            expires_at: 2_000,
            created_at,
        }
    }

    #[test]
    fn grants_are_sealed_listed_newest_first_and_forgotten() {
        futures::executor::block_on(async {
            let (vault, key_id) = vault().await;
            let a = record(&key_id, &"a".repeat(32), 1);
            let b = record(&key_id, &"b".repeat(32), 2);
            vault.save_grant(&a).await.unwrap();
            vault.save_grant(&b).await.unwrap();
            assert_eq!(vault.grants().await.unwrap(), [b.clone(), a.clone()]);
            for raw in vault.store().snapshot().values() {
                for plain in ["Nightly", "openai", "gpt-4o-mini", &key_id[6..]] {
                    assert!(!raw.contains(plain), "{plain} in {raw}");
                }
            }
            vault
                .forget_grants(std::slice::from_ref(&a.id))
                .await
                .unwrap();
            assert_eq!(vault.grants().await.unwrap(), [b]);
            vault.lock();
            assert!(matches!(vault.grants().await, Err(VaultError::Locked)));
        });
    }

    #[test]
    fn a_grant_record_moved_to_another_slot_or_changed_is_left_out() {
        futures::executor::block_on(async {
            let (vault, key_id) = vault().await;
            let a = record(&key_id, &"a".repeat(32), 1);
            vault.save_grant(&a).await.unwrap();
            let raw = vault
                .store()
                .get(&format!("grant:{}", a.id))
                .await
                .unwrap()
                .unwrap();
            let moved = Batch::put(format!("grant:{}", "c".repeat(32)), raw.clone());
            vault.store().write(moved).await.unwrap();
            let tampered = raw.replacen("\"ciphertext\":\"", "\"ciphertext\":\"AA", 1);
            vault
                .store()
                .write(Batch::put(format!("grant:{}", a.id), tampered))
                .await
                .unwrap();
            assert_eq!(vault.grants().await.unwrap(), []);
        });
    }

    #[test]
    fn bad_grants_are_refused() {
        futures::executor::block_on(async {
            let (vault, key_id) = vault().await;
            let mut bad = record(&key_id, "not-an-id", 1);
            assert!(vault.save_grant(&bad).await.is_err());
            bad.id = "a".repeat(32);
            bad.label = "x".repeat(65);
            assert!(vault.save_grant(&bad).await.is_err());
            bad.label = "ok".into();
            bad.key_id = "entry:missing".into();
            assert!(matches!(
                vault.save_grant(&bad).await,
                Err(VaultError::NotFound(_))
            ));
            bad.key_id = key_id;
            bad.provider = Provider::Anthropic;
            assert!(vault.save_grant(&bad).await.is_err());
            assert!(record(&bad.key_id, &"a".repeat(32), 0).expired(2_000));
        });
    }
}
