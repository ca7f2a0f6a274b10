//! The apps the user connected (the record is [`crate::apps`]): approving one, revoking one,
//! listing them, and the check every request from an app goes through.
//!
//! Approvals and revocations may happen in another window of the vault's origin (the consent
//! popup, the settings page) while this vault serves an app, so [`Vault::app_connected`] asks
//! the store each time: one read of the app's own record once its id is known.

use super::state::Vault;
use crate::apps::{ConnectedApp, USE_RESOLUTION_MS, normalize_origin};
use crate::autolock::Clock;
use crate::envelope::{APP_PREFIX, Envelope, RecordKind, new_record_id};
use crate::error::{Result, VaultError};
use crate::kdf::Kdf;
use crate::secret::SymmetricKey;
use crate::store::{Batch, Store};

impl<S: Store, K: Kdf, C: Clock> Vault<S, K, C> {
    /// Connects the app at `origin`: its pages may send requests through the vault from now
    /// on. Approving an app already connected changes nothing.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidInput`] for something that is not an origin;
    /// [`VaultError::Locked`]; storage.
    pub async fn approve_app(&self, origin: &str) -> Result<ConnectedApp> {
        let origin = normalize_origin(origin)?;
        let (epoch, vault_key) = self.active()?;
        if let Some((id, app)) = self.find_app(&vault_key, &origin).await? {
            self.update_session(epoch, |s| {
                s.app_ids.insert(origin, id);
            });
            return Ok(app);
        }
        let app = ConnectedApp {
            origin: origin.clone(),
            approved_ms: self.now_ms(),
            last_used_ms: None,
        };
        let id = new_record_id(APP_PREFIX)?;
        self.store
            .write(Batch::put(id.clone(), seal_app(&vault_key, &id, &app)?))
            .await?;
        self.update_session(epoch, |s| {
            s.app_ids.insert(origin, id);
        });
        Ok(app)
    }

    /// Disconnects the app at `origin`: its next request is refused.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`] when it is not connected; [`VaultError::InvalidInput`];
    /// [`VaultError::Locked`]; storage.
    pub async fn revoke_app(&self, origin: &str) -> Result<()> {
        let origin = normalize_origin(origin)?;
        let (epoch, vault_key) = self.active()?;
        let ids: Vec<String> = self
            .read_apps(&vault_key)
            .await?
            .into_iter()
            .filter(|(_, app)| app.origin == origin)
            .map(|(id, _)| id)
            .collect();
        if ids.is_empty() {
            return Err(VaultError::NotFound(origin));
        }
        self.store
            .write(Batch {
                put: Vec::new(),
                delete: ids,
            })
            .await?;
        self.update_session(epoch, |s| {
            s.app_ids.remove(&origin);
        });
        Ok(())
    }

    /// Every connected app, the most recently approved first. Records that do not open
    /// (damaged) are left out.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; storage.
    pub async fn connected_apps(&self) -> Result<Vec<ConnectedApp>> {
        let (_, vault_key) = self.active()?;
        let mut apps: Vec<ConnectedApp> = self
            .read_apps(&vault_key)
            .await?
            .into_iter()
            .map(|(_, app)| app)
            .collect();
        apps.sort_by(|a, b| (b.approved_ms, &a.origin).cmp(&(a.approved_ms, &b.origin)));
        Ok(apps)
    }

    /// Whether the app at `origin` is connected now, as the store has it (an approval or a
    /// revocation in another window counts at once). A connected app's use is recorded, at
    /// most every [`USE_RESOLUTION_MS`]. Counts as activity: an app's request keeps the vault
    /// open as the user's own would.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidInput`] for something that is not an origin;
    /// [`VaultError::Locked`]; storage.
    pub async fn app_connected(&self, origin: &str) -> Result<bool> {
        let origin = normalize_origin(origin)?;
        let (epoch, vault_key) = self.active()?;
        let known = self.peek_session(|s| Ok(s.app_ids.get(&origin).cloned()))?;
        let found = match known {
            Some(id) => match self.store.get(&id).await? {
                Some(raw) => open_app(&vault_key, &id, &raw).ok().map(|app| (id, app)),
                None => None,
            },
            None => None,
        };
        // Unknown here, or revoked (and perhaps approved again under a new id): look again.
        let found = match found {
            Some(found) => Some(found),
            None => self.find_app(&vault_key, &origin).await?,
        };
        let Some((id, mut app)) = found else {
            self.update_session(epoch, |s| {
                s.app_ids.remove(&origin);
            });
            return Ok(false);
        };
        let now = self.now_ms();
        if app
            .last_used_ms
            .is_none_or(|t| now.saturating_sub(t) >= USE_RESOLUTION_MS)
        {
            app.last_used_ms = Some(now);
            self.store
                .write(Batch::put(id.clone(), seal_app(&vault_key, &id, &app)?))
                .await?;
        }
        self.update_session(epoch, |s| {
            s.app_ids.insert(origin, id);
        });
        Ok(true)
    }

    /// The connected-app record of `origin`, if there is one.
    async fn find_app(
        &self,
        vault_key: &SymmetricKey,
        origin: &str,
    ) -> Result<Option<(String, ConnectedApp)>> {
        Ok(self
            .read_apps(vault_key)
            .await?
            .into_iter()
            .find(|(_, app)| app.origin == origin))
    }

    /// Every connected-app record that opens, with its id.
    async fn read_apps(&self, vault_key: &SymmetricKey) -> Result<Vec<(String, ConnectedApp)>> {
        Ok(self
            .store
            .get_all()
            .await?
            .into_iter()
            .filter(|(id, _)| id.starts_with(APP_PREFIX))
            .filter_map(|(id, raw)| open_app(vault_key, &id, &raw).ok().map(|app| (id, app)))
            .collect())
    }
}

fn seal_app(vault_key: &SymmetricKey, id: &str, app: &ConnectedApp) -> Result<String> {
    let plaintext = serde_json::to_vec(app)
        .map_err(|_| VaultError::InvalidInput("the app could not be encoded".into()))?;
    Ok(Envelope::seal(vault_key, RecordKind::App, id, None, &plaintext)?.to_json())
}

fn open_app(vault_key: &SymmetricKey, id: &str, raw: &str) -> Result<ConnectedApp> {
    let plaintext = Envelope::parse(raw)?.open(vault_key, RecordKind::App, id)?;
    serde_json::from_slice(&plaintext).map_err(|_| VaultError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ManualClock, MemoryStore, RustKdf};

    async fn vault() -> Vault<MemoryStore, RustKdf, ManualClock> {
        let vault = Vault::new(MemoryStore::new(), RustKdf, ManualClock::new(1_000));
        vault.create(&"correct horse battery".into()).await.unwrap();
        vault
    }

    #[test]
    fn an_approved_app_is_connected_until_revoked() {
        futures::executor::block_on(async {
            let vault = vault().await;
            let app = "https://app.example.com";
            assert!(!vault.app_connected(app).await.unwrap());
            let approved = vault
                .approve_app("https://App.Example.com:443")
                .await
                .unwrap();
            assert_eq!(approved.origin, app);
            assert_eq!(approved.approved_ms, 1_000);
            assert!(vault.app_connected(app).await.unwrap());
            assert!(
                !vault
                    .app_connected("https://other.example.com")
                    .await
                    .unwrap(),
                "only the origin approved"
            );
            let again = vault.approve_app(app).await.unwrap();
            assert_eq!(
                (again.origin, again.approved_ms),
                (approved.origin, approved.approved_ms),
                "approving twice changes nothing"
            );
            assert_eq!(vault.connected_apps().await.unwrap().len(), 1);
            vault.revoke_app(app).await.unwrap();
            assert!(!vault.app_connected(app).await.unwrap());
            assert!(matches!(
                vault.revoke_app(app).await,
                Err(VaultError::NotFound(_))
            ));
            assert!(vault.connected_apps().await.unwrap().is_empty());
        });
    }

    #[test]
    fn storage_shows_no_origin_and_a_moved_record_opens_nowhere() {
        futures::executor::block_on(async {
            let vault = vault().await;
            vault.approve_app("https://app.example.com").await.unwrap();
            let (id, raw) = vault
                .store()
                .snapshot()
                .into_iter()
                .find(|(id, _)| id.starts_with(APP_PREFIX))
                .unwrap();
            assert!(
                !raw.contains("example") && !id.contains("example"),
                "{id} {raw}"
            );
            let moved = format!("{APP_PREFIX}{}", "0".repeat(32));
            vault
                .store()
                .write(Batch {
                    put: vec![(moved, raw)],
                    delete: vec![id],
                })
                .await
                .unwrap();
            assert!(
                !vault
                    .app_connected("https://app.example.com")
                    .await
                    .unwrap()
            );
            assert!(vault.connected_apps().await.unwrap().is_empty());
        });
    }

    #[test]
    fn a_revocation_elsewhere_counts_at_once_and_use_is_recorded_sparingly() {
        futures::executor::block_on(async {
            let clock = std::rc::Rc::new(ManualClock::new(1_000));
            let vault = Vault::new(MemoryStore::new(), RustKdf, std::rc::Rc::clone(&clock));
            vault.create(&"correct horse battery".into()).await.unwrap();
            let app = "http://app.byok.localhost:5173";
            vault.approve_app(app).await.unwrap();
            let used = || async { vault.connected_apps().await.unwrap()[0].last_used_ms };
            assert_eq!(used().await, None);
            assert!(vault.app_connected(app).await.unwrap());
            assert_eq!(used().await, Some(1_000));
            clock.advance(USE_RESOLUTION_MS - 1);
            assert!(vault.app_connected(app).await.unwrap());
            assert_eq!(used().await, Some(1_000), "not written again so soon");
            clock.advance(1);
            assert!(vault.app_connected(app).await.unwrap());
            assert_eq!(used().await, Some(1_000 + USE_RESOLUTION_MS));
            // Another window of the vault's origin revokes it: its record goes from the store.
            let ids: Vec<String> = vault
                .store()
                .snapshot()
                .into_keys()
                .filter(|id| id.starts_with(APP_PREFIX))
                .collect();
            vault
                .store()
                .write(Batch {
                    put: Vec::new(),
                    delete: ids,
                })
                .await
                .unwrap();
            assert!(!vault.app_connected(app).await.unwrap());
            // Approved again (elsewhere too): found under its new id.
            vault.approve_app(app).await.unwrap();
            assert!(vault.app_connected(app).await.unwrap());
            vault.lock();
            assert!(matches!(
                vault.app_connected(app).await,
                Err(VaultError::Locked)
            ));
            assert!(matches!(
                vault.approve_app("not an origin").await,
                Err(VaultError::Locked | VaultError::InvalidInput(_))
            ));
        });
    }
}
