//! The vault: create, unlock, lock, and manage provider keys, over any [`Store`], [`Kdf`] and
//! [`Clock`].
//!
//! This is plain Rust with no browser in it; the JavaScript API wraps it with IndexedDB,
//! WebCrypto and `Date.now()`. Native tests drive it with [`crate::MemoryStore`],
//! [`crate::RustKdf`] and [`crate::ManualClock`].
//!
//! ```
//! # futures::executor::block_on(async {
//! use byok_vault::{MemoryStore, Provider, RustKdf, SystemClock, Vault};
//!
//! let vault = Vault::new(MemoryStore::new(), RustKdf, SystemClock);
//! vault.create(&"correct horse battery".into()).await?;
//! let info = vault.add(Provider::Openai, "sk-proj-0123456789abcdefWXYZ", "work").await?;
//! assert_eq!(info.preview, "…WXYZ");
//! vault.lock();
//! assert!(vault.list().is_err());
//! # Ok::<(), byok_vault::VaultError>(())
//! # }).unwrap();
//! ```

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::autolock::{AutoLock, Clock, DEFAULT_TIMEOUT_MS};
use crate::backup::{self, Backup, BackupContents, ImportReport};
use crate::crypto::fill_random;
use crate::entry::{Entry, EntryMeta, KeyInfo, Provider, TestStatus, validate_key, validate_label};
use crate::envelope::{ENTRY_PREFIX, Envelope, HEADER_ID, RecordKind, SETTINGS_ID};
use crate::error::{Result, VaultError};
use crate::kdf::{Kdf, KdfAlgorithm, KdfParams};
use crate::secret::{SecretString, SymmetricKey};
use crate::store::{Batch, Store};

/// Shortest vault password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Shortest auto-lock period accepted (tests use short ones; people get minutes).
pub const MIN_AUTO_LOCK_MS: u64 = 100;
/// Longest auto-lock period accepted: one day.
pub const MAX_AUTO_LOCK_MS: u64 = 24 * 60 * 60 * 1000;

/// Why the lock state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockReason {
    /// The vault was unlocked (or created).
    Unlocked,
    /// `lock()` was called.
    Explicit,
    /// The idle period passed.
    Idle,
    /// Another tab locked (reported by the browser layer).
    Remote,
    /// The vault was wiped.
    Reset,
}

impl LockReason {
    /// Whether the vault is locked after this event.
    #[must_use]
    pub fn is_locked(self) -> bool {
        self != Self::Unlocked
    }
}

/// The vault's settings record: sealed like an entry.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Settings {
    auto_lock_ms: u64,
    /// Test each usable key with its provider once a day while unlocked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    daily_retest: bool,
}

/// How long a key test stays fresh when daily re-testing is on.
pub const RETEST_INTERVAL_MS: u64 = 24 * 60 * 60 * 1000;

/// Plaintext of an entry record, for writing. Holds borrowed data only.
#[derive(Serialize)]
struct EntryOut<'a> {
    key: &'a str,
    meta: &'a EntryMeta,
}

/// Plaintext of an entry record, as read back.
#[derive(Deserialize)]
struct EntryIn {
    key: SecretString,
    meta: EntryMeta,
}

/// Key material and decrypted entries of an unlocked vault. Dropping it zeroizes them all.
struct Session {
    epoch: u64,
    key: SymmetricKey,
    entries: BTreeMap<String, Entry>,
    unreadable: BTreeSet<String>,
    settings: Settings,
}

struct State {
    session: Option<Session>,
    autolock: AutoLock,
}

type Observer = Rc<dyn Fn(LockReason)>;

/// A key vault. See the module docs.
pub struct Vault<S, K, C> {
    store: S,
    kdf: K,
    clock: C,
    state: RefCell<State>,
    epochs: Cell<u64>,
    observers: RefCell<Vec<Observer>>,
}

impl<S, K, C> std::fmt::Debug for Vault<S, K, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Vault")
            .field("locked", &state.session.is_none())
            .field("entries", &state.session.as_ref().map(|s| s.entries.len()))
            .finish_non_exhaustive()
    }
}

impl<S: Store, K: Kdf, C: Clock> Vault<S, K, C> {
    /// A vault over `store`, deriving keys with `kdf` and telling time with `clock`. It starts
    /// locked; nothing is read until [`Vault::unlock`] or [`Vault::create`].
    pub fn new(store: S, kdf: K, clock: C) -> Self {
        Self {
            store,
            kdf,
            clock,
            state: RefCell::new(State {
                session: None,
                autolock: AutoLock::new(DEFAULT_TIMEOUT_MS),
            }),
            epochs: Cell::new(0),
            observers: RefCell::new(Vec::new()),
        }
    }

    /// Uses `ms` as the auto-lock period until the vault's own setting is read on unlock.
    /// (`create` stores it as the new vault's setting.)
    #[must_use]
    pub fn with_auto_lock_ms(self, ms: u64) -> Self {
        self.state.borrow_mut().autolock = AutoLock::new(ms.max(MIN_AUTO_LOCK_MS));
        self
    }

    /// The store, for inspection in tests.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The key-derivation function, for inspection in tests.
    pub fn kdf(&self) -> &K {
        &self.kdf
    }

    /// Calls `observer` on every lock and unlock.
    pub fn subscribe(&self, observer: impl Fn(LockReason) + 'static) {
        self.observers.borrow_mut().push(Rc::new(observer));
    }

    fn notify(&self, reason: LockReason) {
        // Clone the list first: an observer may call back into the vault.
        let observers = self.observers.borrow().clone();
        for observer in observers {
            observer(reason);
        }
    }

    // ---- lock state ------------------------------------------------------------------------

    /// Whether a vault has been created in this store.
    ///
    /// # Errors
    ///
    /// [`VaultError::Storage`] if the store cannot be read.
    pub async fn exists(&self) -> Result<bool> {
        Ok(self.store.get(HEADER_ID).await?.is_some())
    }

    /// Whether the vault is locked. Locks it first if the idle deadline has passed.
    pub fn is_locked(&self) -> bool {
        self.check_idle();
        self.state.borrow().session.is_none()
    }

    /// Locks the vault if the idle deadline has passed. The browser timer calls this; so does
    /// every other method. Returns whether it locked now.
    pub fn check_idle(&self) -> bool {
        let expired = {
            let state = self.state.borrow();
            state.session.is_some() && state.autolock.should_lock(self.clock.now_ms())
        };
        if expired {
            self.lock_with(LockReason::Idle);
        }
        expired
    }

    /// Records user activity, pushing the auto-lock deadline out (unless it already passed).
    pub fn touch(&self) {
        if !self.check_idle() {
            let now = self.clock.now_ms();
            self.state.borrow_mut().autolock.touch(now);
        }
    }

    /// Locks now, dropping (and so zeroizing) every key held in memory.
    pub fn lock(&self) {
        self.lock_with(LockReason::Explicit);
    }

    /// Locks for `reason`. Observers hear of it only if the vault was unlocked.
    pub fn lock_with(&self, reason: LockReason) {
        let session = {
            let mut state = self.state.borrow_mut();
            state.autolock.stop();
            state.session.take()
        };
        if session.is_some() {
            drop(session);
            self.notify(reason);
        }
    }

    /// Milliseconds until auto-lock, or `None` when locked.
    pub fn remaining_ms(&self) -> Option<u64> {
        self.check_idle();
        let state = self.state.borrow();
        state.session.as_ref()?;
        state.autolock.remaining_ms(self.clock.now_ms())
    }

    /// The auto-lock period in milliseconds.
    pub fn auto_lock_ms(&self) -> u64 {
        self.state.borrow().autolock.timeout_ms()
    }

    /// The current time on the vault's clock.
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The epoch and vault key of the unlocked session, recording activity.
    pub(crate) fn active(&self) -> Result<(u64, SymmetricKey)> {
        self.session_key(true)
    }

    /// As [`Vault::active`]; `activity: false` for the vault's own background work, which
    /// must not keep an idle vault open.
    fn session_key(&self, activity: bool) -> Result<(u64, SymmetricKey)> {
        self.check_idle();
        let now = self.clock.now_ms();
        let mut state = self.state.borrow_mut();
        let (epoch, key) = match &state.session {
            Some(s) => (s.epoch, s.key.clone()),
            None => return Err(VaultError::Locked),
        };
        if activity {
            state.autolock.touch(now);
        }
        Ok((epoch, key))
    }

    fn with_session<T>(&self, f: impl FnOnce(&Session) -> Result<T>) -> Result<T> {
        self.active()?;
        self.peek_session(f)
    }

    /// Reads the session without counting as activity (background work).
    fn peek_session<T>(&self, f: impl FnOnce(&Session) -> Result<T>) -> Result<T> {
        self.check_idle();
        let state = self.state.borrow();
        state.session.as_ref().map_or(Err(VaultError::Locked), f)
    }

    /// Applies `f` to the session if it is still the one of `epoch` (the vault was not locked
    /// and reopened while a write was in flight).
    fn update_session(&self, epoch: u64, f: impl FnOnce(&mut Session)) {
        if let Some(session) = self.state.borrow_mut().session.as_mut()
            && session.epoch == epoch
        {
            f(session);
        }
    }

    // ---- password operations ---------------------------------------------------------------

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
            daily_retest: false,
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
    async fn read_header(&self) -> Result<(Envelope, KdfParams)> {
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
    async fn unwrap_vault_key(&self, password: &SecretString) -> Result<SymmetricKey> {
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
        let settings = settings.unwrap_or(Settings {
            auto_lock_ms: self.auto_lock_ms(),
            daily_retest: false,
        });
        self.start_session(vault_key, entries, unreadable, settings);
        Ok(())
    }

    fn start_session(
        &self,
        key: SymmetricKey,
        entries: BTreeMap<String, Entry>,
        unreadable: BTreeSet<String>,
        settings: Settings,
    ) {
        let epoch = self.epochs.get() + 1;
        self.epochs.set(epoch);
        {
            let mut state = self.state.borrow_mut();
            state.session = Some(Session {
                epoch,
                key,
                entries,
                unreadable,
                settings,
            });
            let timeout_ms = settings.auto_lock_ms;
            state.autolock = AutoLock::new(timeout_ms.clamp(MIN_AUTO_LOCK_MS, MAX_AUTO_LOCK_MS));
            state.autolock.start(self.clock.now_ms());
        }
        self.notify(LockReason::Unlocked);
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

    /// Changes the auto-lock period and stores it with the vault.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; [`VaultError::InvalidInput`] outside 100 ms to 24 h; storage.
    pub async fn set_auto_lock_ms(&self, ms: u64) -> Result<()> {
        if !(MIN_AUTO_LOCK_MS..=MAX_AUTO_LOCK_MS).contains(&ms) {
            return Err(VaultError::InvalidInput(
                "the auto-lock period must be between 100 ms and 24 hours".into(),
            ));
        }
        self.write_settings(|s| s.auto_lock_ms = ms).await?;
        let now = self.clock.now_ms();
        self.state.borrow_mut().autolock.set_timeout(ms, now);
        Ok(())
    }

    /// Whether each usable key is tested with its provider once a day while the vault is
    /// unlocked (off unless the user turns it on).
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`].
    pub fn daily_retest(&self) -> Result<bool> {
        // Asked by the vault's ticker: not activity.
        self.peek_session(|s| Ok(s.settings.daily_retest))
    }

    /// Turns daily re-testing on or off, stored with the vault.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; storage.
    pub async fn set_daily_retest(&self, on: bool) -> Result<()> {
        self.write_settings(|s| s.daily_retest = on).await
    }

    /// The keys a daily re-test should test now, with their ids and providers: none while it
    /// is off; else every key that is on, not expired, and not tested in the last
    /// [`RETEST_INTERVAL_MS`]. Background work: not activity, so it never keeps an idle vault
    /// open.
    ///
    /// # Security
    ///
    /// As for [`Vault::key_for`]: each secret is for one test request.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`].
    pub fn due_for_retest(&self) -> Result<Vec<(String, Provider, SecretString)>> {
        let now = self.clock.now_ms();
        self.peek_session(|s| {
            if !s.settings.daily_retest {
                return Ok(Vec::new());
            }
            Ok(s.entries
                .iter()
                .filter(|(_, e)| e.meta.is_usable(now))
                .filter(|(_, e)| {
                    e.meta
                        .last_tested_ms
                        .is_none_or(|t| now.saturating_sub(t) >= RETEST_INTERVAL_MS)
                })
                .map(|(id, e)| (id.clone(), e.meta.provider, e.key.clone()))
                .collect())
        })
    }

    /// Records a daily re-test's outcome for key `id`, without counting as activity.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`]; [`VaultError::Locked`]; storage.
    pub async fn record_retest(&self, id: &str, status: TestStatus) -> Result<KeyInfo> {
        let now = self.clock.now_ms();
        self.modify_with(id, false, |e| {
            e.meta.last_tested_ms = Some(now);
            e.meta.test_status = status;
        })
        .await
    }

    /// Seals the settings after `change`, writing before updating memory.
    async fn write_settings(&self, change: impl FnOnce(&mut Settings)) -> Result<()> {
        let (epoch, key) = self.active()?;
        let mut settings = self.with_session(|s| Ok(s.settings))?;
        change(&mut settings);
        let record = seal_settings(&key, &settings)?;
        self.store.write(Batch::put(SETTINGS_ID, record)).await?;
        self.update_session(epoch, |s| s.settings = settings);
        Ok(())
    }

    // ---- backups ---------------------------------------------------------------------------

    /// Every readable key, with its metadata, in one file sealed under `backup_password` (see
    /// [`crate::backup`]; it may be the vault password). The vault password is asked again, as
    /// password managers do before an export, so a page left unlocked is not enough to take
    /// the keys out.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; [`VaultError::Decrypt`] for a wrong vault password;
    /// [`VaultError::InvalidInput`] for a backup password shorter than
    /// [`MIN_PASSWORD_CHARS`]; RNG failures.
    pub async fn export_backup(
        &self,
        vault_password: &SecretString,
        backup_password: &SecretString,
    ) -> Result<String> {
        self.active()?;
        check_new_password(backup_password)?;
        self.unwrap_vault_key(vault_password).await?;
        let params = KdfParams::generate()?;
        let key = self.kdf.derive(backup_password, &params).await?;
        let now = self.clock.now_ms();
        self.with_session(|s| {
            let entries = s.entries.iter().map(|(id, e)| (id.as_str(), e));
            backup::seal(&key, params, now, entries)
        })
    }

    /// Opens a backup file with its password and checks it, changing nothing. Needs no
    /// unlocked vault (nor any vault), so a page can check a file before creating a vault to
    /// restore it into.
    ///
    /// # Errors
    ///
    /// [`VaultError::BackupUnreadable`] for a wrong password or a damaged, truncated or foreign
    /// file; [`VaultError::UnsupportedFormat`] for one from a newer byok;
    /// [`VaultError::WeakKdf`].
    pub async fn read_backup(&self, text: &str, password: &SecretString) -> Result<BackupContents> {
        let backup = Backup::parse(text)?;
        let key = self.kdf.derive(password, backup.kdf()).await?;
        backup.open(&key)
    }

    /// Adds the keys of an opened backup that the vault does not hold, in one write; keys it
    /// holds are reported, never overwritten (the rules: [`crate::backup`]).
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; storage (then nothing was added).
    pub async fn restore(&self, contents: BackupContents) -> Result<ImportReport> {
        let (epoch, vault_key) = self.active()?;
        let (merge, skipped) = self.with_session(|s| {
            let merge = backup::merge(
                &s.entries,
                &s.unreadable,
                contents.into_entries(),
                new_entry_id,
            )?;
            let skipped = merge
                .skipped
                .iter()
                .filter_map(|id| {
                    let added = merge.add.iter().find(|(other, _)| other == id);
                    s.entries
                        .get_key_value(id)
                        .or(added.map(|(id, e)| (id, e)))
                        .map(|(id, e)| KeyInfo::new(id, e))
                })
                .collect();
            Ok((merge, skipped))
        })?;
        let mut batch = Batch::default();
        for (id, entry) in &merge.add {
            batch
                .put
                .push((id.clone(), seal_entry(&vault_key, id, entry)?));
        }
        if !batch.put.is_empty() {
            self.store.write(batch).await?;
        }
        let added = merge
            .add
            .iter()
            .map(|(id, e)| KeyInfo::new(id, e))
            .collect();
        self.update_session(epoch, |s| s.entries.extend(merge.add));
        Ok(ImportReport { added, skipped })
    }

    /// [`Vault::read_backup`] then [`Vault::restore`]: a file that does not open changes
    /// nothing.
    ///
    /// # Errors
    ///
    /// As those two.
    pub async fn import_backup(&self, text: &str, password: &SecretString) -> Result<ImportReport> {
        self.active()?;
        let contents = self.read_backup(text, password).await?;
        self.restore(contents).await
    }

    // ---- entries ---------------------------------------------------------------------------

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

    /// Checks and saves a key. The first key of a provider becomes its default.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidKey`] saying what is wrong with its shape;
    /// [`VaultError::InvalidInput`] for a bad label; [`VaultError::Locked`]; storage.
    pub async fn add(&self, provider: Provider, api_key: &str, label: &str) -> Result<KeyInfo> {
        let key = validate_key(provider, api_key)?;
        let label = validate_label(label).map_err(VaultError::InvalidInput)?;
        let (epoch, vault_key) = self.active()?;
        let has_default = self.with_session(|s| {
            Ok(s.entries
                .values()
                .any(|e| e.meta.provider == provider && e.meta.is_default))
        })?;
        let now = self.clock.now_ms();
        let entry = Entry {
            key,
            meta: EntryMeta::new(provider, label, !has_default, now),
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
    /// [`VaultError::InvalidInput`] above [`crate::MAX_CAP_USD`]; [`VaultError::NotFound`];
    /// [`VaultError::Locked`]; storage.
    pub async fn set_daily_cap(&self, id: &str, micro_usd: Option<u64>) -> Result<KeyInfo> {
        if micro_usd.is_some_and(|m| m > crate::MAX_CAP_USD * 1_000_000) {
            return Err(VaultError::InvalidInput(format!(
                "the most a cap can be is ${}",
                crate::MAX_CAP_USD
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
    async fn modify(&self, id: &str, change: impl FnOnce(&mut Entry)) -> Result<KeyInfo> {
        self.modify_with(id, true, change).await
    }

    /// As [`Vault::modify`]; `activity: false` for background work.
    async fn modify_with(
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

fn check_new_password(password: &SecretString) -> Result<()> {
    if password.expose_secret().chars().count() < MIN_PASSWORD_CHARS {
        return Err(VaultError::InvalidInput(format!(
            "the vault password must be at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

fn wrap_vault_key(
    wrapping: &SymmetricKey,
    vault_key: &SymmetricKey,
    params: KdfParams,
) -> Result<String> {
    let envelope = Envelope::seal(
        wrapping,
        RecordKind::VaultKey,
        HEADER_ID,
        Some(params),
        vault_key.expose_secret(),
    )?;
    Ok(envelope.to_json())
}

fn new_entry_id() -> Result<String> {
    new_record_id(ENTRY_PREFIX)
}

/// `prefix` and 32 random hex digits.
pub(crate) fn new_record_id(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 16];
    fill_random(&mut bytes)?;
    let mut id = String::with_capacity(prefix.len() + 32);
    id.push_str(prefix);
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    Ok(id)
}

fn seal_entry(vault_key: &SymmetricKey, id: &str, entry: &Entry) -> Result<String> {
    // Room for the largest key and label, so the buffer never reallocates and leaves copies.
    let mut plaintext = Zeroizing::new(Vec::with_capacity(2048));
    let out = EntryOut {
        key: entry.key.expose_secret(), // sealed immediately below, buffer zeroized on drop
        meta: &entry.meta,
    };
    serde_json::to_writer(&mut *plaintext, &out)
        .map_err(|_| VaultError::InvalidInput("entry could not be encoded".into()))?;
    Ok(Envelope::seal(vault_key, RecordKind::Entry, id, None, &plaintext)?.to_json())
}

fn open_entry(vault_key: &SymmetricKey, id: &str, raw: &str) -> Result<Entry> {
    let plaintext = Envelope::parse(raw)?.open(vault_key, RecordKind::Entry, id)?;
    let entry: EntryIn = serde_json::from_slice(&plaintext).map_err(|_| VaultError::Decrypt)?;
    Ok(Entry {
        key: entry.key,
        meta: entry.meta,
    })
}

fn seal_settings(vault_key: &SymmetricKey, settings: &Settings) -> Result<String> {
    let plaintext = serde_json::to_vec(settings)
        .map_err(|_| VaultError::InvalidInput("settings could not be encoded".into()))?;
    Ok(Envelope::seal(
        vault_key,
        RecordKind::Settings,
        SETTINGS_ID,
        None,
        &plaintext,
    )?
    .to_json())
}

fn open_settings(vault_key: &SymmetricKey, raw: &str) -> Result<Settings> {
    let plaintext = Envelope::parse(raw)?.open(vault_key, RecordKind::Settings, SETTINGS_ID)?;
    serde_json::from_slice(&plaintext).map_err(|_| VaultError::Decrypt)
}
