//! The vault password: creating a vault under one, unlocking with it, changing it, and
//! wiping the vault.

use std::collections::{BTreeMap, BTreeSet};

use super::records::{Settings, open_entry, open_settings, seal_settings, wrap_vault_key};
use super::state::{LockReason, Vault};
use crate::autolock::Clock;
use crate::envelope::{ENTRY_PREFIX, Envelope, HEADER_ID, RecordKind, SETTINGS_ID};
use crate::error::{Result, VaultError};
use crate::kdf::{Kdf, KdfAlgorithm, KdfParams};
use crate::secret::{SecretString, SymmetricKey};
use crate::store::{Batch, Store};

/// Shortest vault password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;

impl<S: Store, K: Kdf, C: Clock> Vault<S, K, C> {
    /// Creates a new vault protected by `password` and leaves it unlocked.
    ///
    /// # Errors
    ///
    /// [`VaultError::AlreadyExists`] if there is one; [`VaultError::InvalidInput`] for a
    /// password shorter than [`MIN_PASSWORD_CHARS`]; storage and RNG failures.
    pub async fn create(&self, password: &SecretString) -> Result<()> {
        self.create_with(password, KdfAlgorithm::default()).await
    }

    /// [`Vault::create`] with the password hashed by `alg` (at its default parameters).
    ///
    /// # Errors
    ///
    /// As [`Vault::create`].
    pub async fn create_with(&self, password: &SecretString, alg: KdfAlgorithm) -> Result<()> {
        check_new_password(password)?;
        if self.exists().await? {
            return Err(VaultError::AlreadyExists);
        }
        let params = KdfParams::generate_for(alg)?;
        let wrapping = self.kdf.derive(password, &params).await?;
        let vault_key = SymmetricKey::generate()?;
        let header = wrap_vault_key(&wrapping, &vault_key, params)?;
        let settings = Settings {
            auto_lock_ms: self.auto_lock_ms(),
            ..Settings::default()
        };
        let sealed = seal_settings(&vault_key, &settings)?;
        self.store
            .write(Batch {
                put: vec![(HEADER_ID.into(), header), (SETTINGS_ID.into(), sealed)],
                delete: Vec::new(),
            })
            .await?;
        self.start_session(vault_key, BTreeMap::new(), BTreeSet::new(), settings);
        Ok(())
    }

    /// How the vault password is hashed: the KDF parameters stored with the vault key. Needs no
    /// unlock; they are not secret.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotCreated`]; [`VaultError::Decrypt`] for a damaged header;
    /// [`VaultError::WeakKdf`] for parameters below the floor; storage failures.
    pub async fn password_hashing(&self) -> Result<KdfParams> {
        Ok(self.read_header().await?.1)
    }

    /// Reads the header and its KDF parameters, checked against the floor.
    pub(super) async fn read_header(&self) -> Result<(Envelope, KdfParams)> {
        let raw = self
            .store
            .get(HEADER_ID)
            .await?
            .ok_or(VaultError::NotCreated)?;
        let header = Envelope::parse(&raw)?;
        let params = header.kdf.clone().ok_or(VaultError::Decrypt)?;
        params.check_floor()?;
        Ok((header, params))
    }

    /// Reads the header, checks its KDF parameters and unwraps the vault key with `password`.
    pub(super) async fn unwrap_vault_key(&self, password: &SecretString) -> Result<SymmetricKey> {
        let (header, params) = self.read_header().await?;
        let wrapping = self.kdf.derive(password, &params).await?;
        let bytes = header.open(&wrapping, RecordKind::VaultKey, HEADER_ID)?;
        let bytes = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| VaultError::Decrypt)?;
        Ok(SymmetricKey::from_bytes(bytes))
    }

    /// Unlocks with `password`, decrypting every entry into memory. Entries that fail to
    /// decrypt are listed by [`Vault::unreadable`] while the rest work.
    ///
    /// # Errors
    ///
    /// [`VaultError::Decrypt`] for a wrong password or a damaged header (nothing is changed);
    /// [`VaultError::WeakKdf`], [`VaultError::NotCreated`], storage failures.
    pub async fn unlock(&self, password: &SecretString) -> Result<()> {
        let vault_key = self.unwrap_vault_key(password).await?;
        self.open_with(vault_key).await
    }

    /// Unlocks with the vault key another window of the vault's origin handed over (the
    /// isolated mode: the user unlocked in the vault's own window, and the frame serving an
    /// app takes the key from it). The key must open the vault's settings record (or, in a
    /// vault too old to have one, one of its entries).
    ///
    /// # Errors
    ///
    /// [`VaultError::Decrypt`] for a key that is not this vault's (nothing changes);
    /// [`VaultError::NotCreated`]; storage.
    // Used by the browser layer (`wasm`) alone; tested natively.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) async fn unlock_with_vault_key(&self, vault_key: SymmetricKey) -> Result<()> {
        let records = self.store.get_all().await?;
        if !records.iter().any(|(id, _)| id == HEADER_ID) {
            return Err(VaultError::NotCreated);
        }
        let opens = match records.iter().find(|(id, _)| id == SETTINGS_ID) {
            Some((_, raw)) => open_settings(&vault_key, raw).is_ok(),
            None => records.iter().any(|(id, raw)| {
                id.starts_with(ENTRY_PREFIX) && open_entry(&vault_key, id, raw).is_ok()
            }),
        };
        if !opens {
            return Err(VaultError::Decrypt);
        }
        self.open_with(vault_key).await
    }

    /// Reads every entry and the settings with the unwrapped `vault_key`, and starts the
    /// session: the second half of every unlock (password or passkey).
    pub(crate) async fn open_with(&self, vault_key: SymmetricKey) -> Result<()> {
        let mut entries = BTreeMap::new();
        let mut unreadable = BTreeSet::new();
        let mut settings = None;
        for (id, raw) in self.store.get_all().await? {
            if id.starts_with(ENTRY_PREFIX) {
                match open_entry(&vault_key, &id, &raw) {
                    Ok(entry) => {
                        entries.insert(id, entry);
                    }
                    Err(_) => {
                        unreadable.insert(id);
                    }
                }
            } else if id == SETTINGS_ID {
                settings = open_settings(&vault_key, &raw).ok();
            }
        }
        let settings = settings.unwrap_or_else(|| Settings {
            auto_lock_ms: self.auto_lock_ms(),
            ..Settings::default()
        });
        self.start_session(vault_key, entries, unreadable, settings);
        Ok(())
    }

    /// Re-wraps the vault key under `new_password`, hashed with the default algorithm
    /// (Argon2id; a PBKDF2 vault moves to it). Entries are not touched.
    ///
    /// # Errors
    ///
    /// [`VaultError::Decrypt`] when `old_password` is wrong (nothing changes);
    /// [`VaultError::InvalidInput`] for a too-short new password; storage failures.
    pub async fn change_password(
        &self,
        old_password: &SecretString,
        new_password: &SecretString,
    ) -> Result<()> {
        self.change_password_with(old_password, new_password, KdfAlgorithm::default())
            .await
    }

    /// [`Vault::change_password`] with the new password hashed by `alg`.
    ///
    /// # Errors
    ///
    /// As [`Vault::change_password`].
    pub async fn change_password_with(
        &self,
        old_password: &SecretString,
        new_password: &SecretString,
        alg: KdfAlgorithm,
    ) -> Result<()> {
        check_new_password(new_password)?;
        let vault_key = self.unwrap_vault_key(old_password).await?;
        let params = KdfParams::generate_for(alg)?;
        let wrapping = self.kdf.derive(new_password, &params).await?;
        let header = wrap_vault_key(&wrapping, &vault_key, params)?;
        self.store.write(Batch::put(HEADER_ID, header)).await?;
        self.touch();
        Ok(())
    }

    /// Wipes every record and locks. Only for an explicit request from the user.
    ///
    /// # Errors
    ///
    /// Storage failures (the vault is locked either way).
    pub async fn reset(&self) -> Result<()> {
        self.lock_with(LockReason::Reset);
        self.store.clear().await
    }
}

/// Refuses a new password shorter than [`MIN_PASSWORD_CHARS`].
pub(super) fn check_new_password(password: &SecretString) -> Result<()> {
    if password.expose_secret().chars().count() < MIN_PASSWORD_CHARS {
        return Err(VaultError::InvalidInput(format!(
            "the vault password must be at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{ManualClock, MemoryStore, RustKdf, SymmetricKey, Vault, VaultError};

    #[test]
    fn a_handed_over_key_unlocks_only_its_own_vault() {
        futures::executor::block_on(async {
            let store = std::rc::Rc::new(MemoryStore::new());
            let open = Vault::new(std::rc::Rc::clone(&store), RustKdf, ManualClock::new(0));
            open.create(&"correct horse battery".into()).await.unwrap();
            open.add(
                crate::Provider::Openai,
                "sk-proj-0123456789abcdefWXYZ",
                "work",
            )
            .await
            .unwrap();
            let key = open.vault_key_for_handoff().unwrap();
            // Another window over the same store, locked.
            let framed = Vault::new(store, RustKdf, ManualClock::new(0));
            assert!(matches!(
                framed
                    .unlock_with_vault_key(SymmetricKey::from_bytes([7; 32]))
                    .await,
                Err(VaultError::Decrypt)
            ));
            assert!(framed.is_locked(), "a wrong key changes nothing");
            framed.unlock_with_vault_key(key).await.unwrap();
            assert_eq!(framed.list().unwrap().len(), 1);
            open.lock();
            assert!(matches!(
                open.vault_key_for_handoff(),
                Err(VaultError::Locked)
            ));
            let empty = Vault::new(MemoryStore::new(), RustKdf, ManualClock::new(0));
            assert!(matches!(
                empty
                    .unlock_with_vault_key(SymmetricKey::from_bytes([7; 32]))
                    .await,
                Err(VaultError::NotCreated)
            ));
        });
    }
}
