//! The plaintexts of the vault's own records (an entry, the settings) and how each is sealed
//! into an [`Envelope`] and opened again; the vault key wrapped under a password.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::entry::{Entry, EntryMeta};
use crate::envelope::{ENTRY_PREFIX, Envelope, HEADER_ID, RecordKind, SETTINGS_ID, new_record_id};
use crate::error::{Result, VaultError};
use crate::kdf::KdfParams;
use crate::secret::{SecretString, SymmetricKey};

/// The vault's settings record: sealed like an entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Settings {
    /// The auto-lock period.
    pub auto_lock_ms: u64,
    /// Test each usable key with its provider once a day while unlocked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub daily_retest: bool,
    /// Providers whose requests rotate over their usable keys ("spread"), rather than always
    /// starting with the default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spread: Vec<crate::entry::Provider>,
}

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

/// The vault key sealed under `wrapping` (derived from the password with `params`), as the
/// header record.
pub(super) fn wrap_vault_key(
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

/// A new entry id.
pub(super) fn new_entry_id() -> Result<String> {
    new_record_id(ENTRY_PREFIX)
}

pub(super) fn seal_entry(vault_key: &SymmetricKey, id: &str, entry: &Entry) -> Result<String> {
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

pub(super) fn open_entry(vault_key: &SymmetricKey, id: &str, raw: &str) -> Result<Entry> {
    let plaintext = Envelope::parse(raw)?.open(vault_key, RecordKind::Entry, id)?;
    let entry: EntryIn = serde_json::from_slice(&plaintext).map_err(|_| VaultError::Decrypt)?;
    Ok(Entry {
        key: entry.key,
        meta: entry.meta,
    })
}

pub(super) fn seal_settings(vault_key: &SymmetricKey, settings: &Settings) -> Result<String> {
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

pub(super) fn open_settings(vault_key: &SymmetricKey, raw: &str) -> Result<Settings> {
    let plaintext = Envelope::parse(raw)?.open(vault_key, RecordKind::Settings, SETTINGS_ID)?;
    serde_json::from_slice(&plaintext).map_err(|_| VaultError::Decrypt)
}
