//! Encrypted backups: every key of a vault in one file, sealed under a backup password.
//!
//! A backup file (version 1) is one JSON object:
//!
//! ```text
//! { "format":  "byok-backup",
//!   "version": 1,
//!   "kdf":     { "alg": "argon2id", "iterations": 3, "memory_kib": 65536, "parallelism": 1,
//!                "salt": "<base64, fresh per file>" },  // or PBKDF2: see `envelope.rs`
//!   "sealed":  { "nonce": "<base64, 12 bytes>", "ciphertext": "<base64, ciphertext || tag>" } }
//! ```
//!
//! The ciphertext is AES-256-GCM under the key the KDF derives from the backup password, with
//! the associated data `byok-backup/v1/{binding}` (the KDF parameters, written as for the vault
//! key in `envelope.rs`), so the format name, the
//! version and every KDF parameter are authenticated: editing any byte of the file makes it
//! fail to open. The KDF parameters obey the vault's floor ([`KdfParams::check_floor`]), so a
//! doctored file cannot make restoring cheap to brute-force. Nothing else is in the clear:
//! how many keys, their providers and labels are all inside the ciphertext, whose plaintext is
//!
//! ```text
//! { "created_ms": 1764590000000,
//!   "entries": [ { "id": "entry:<32 hex>", "key": "<the provider key>", "meta": { ...EntryMeta } } ] }
//! ```
//!
//! Restoring ([`merge`]) adds what the vault lacks and never overwrites: a key the vault
//! already holds (same provider, same secret) is reported as skipped, and an id already taken
//! gets a fresh one.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{self, Sealed};
use crate::entry::{
    Entry, EntryMeta, KeyInfo, Provider, validate_key, validate_label, validate_resource,
};
use crate::envelope::ENTRY_PREFIX;
use crate::error::{Result, VaultError};
use crate::kdf::KdfParams;
use crate::secret::{SecretString, SymmetricKey};

/// The `format` of every backup file.
pub const BACKUP_FORMAT: &str = "byok-backup";
/// The version this code writes, and the newest it reads.
pub const BACKUP_VERSION: u32 = 1;
/// Largest file read: room for thousands of keys, and a bound on what a stray file can cost.
pub const MAX_BACKUP_BYTES: usize = 4 * 1024 * 1024;
/// Most keys one backup may hold.
pub const MAX_BACKUP_ENTRIES: usize = 2_000;

/// The file as stored; every field is authenticated by the seal.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupFile {
    format: String,
    version: u32,
    kdf: KdfParams,
    sealed: Sealed,
}

/// Read first and leniently, to tell a newer file from a broken one.
#[derive(Deserialize)]
struct Probe {
    format: String,
    version: u32,
}

#[derive(Serialize)]
struct ContentsOut<'a> {
    created_ms: u64,
    entries: Vec<EntryOut<'a>>,
}

#[derive(Serialize)]
struct EntryOut<'a> {
    id: &'a str,
    key: &'a str,
    meta: &'a EntryMeta,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContentsIn {
    created_ms: u64,
    entries: Vec<EntryIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryIn {
    id: String,
    key: SecretString,
    meta: EntryMeta,
}

/// A parsed backup file, not yet opened. Only its KDF parameters are readable.
#[derive(Debug)]
pub struct Backup {
    file: BackupFile,
}

/// What an opened backup holds: keys in memory, zeroized when dropped.
pub struct BackupContents {
    /// When the backup was made (milliseconds since the Unix epoch).
    pub created_ms: u64,
    entries: Vec<(String, Entry)>,
}

impl std::fmt::Debug for BackupContents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupContents")
            .field("created_ms", &self.created_ms)
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl BackupContents {
    /// How many keys the backup holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no key.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What the vault would show of each key (never the key).
    #[must_use]
    pub fn keys(&self) -> Vec<KeyInfo> {
        self.entries
            .iter()
            .map(|(id, entry)| KeyInfo::new(id, entry))
            .collect()
    }

    pub(crate) fn into_entries(self) -> Vec<(String, Entry)> {
        self.entries
    }
}

/// What restoring a backup did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Keys added to the vault, as it now shows them.
    pub added: Vec<KeyInfo>,
    /// Keys the vault already held (same provider and key), as the vault shows them; left as
    /// they were.
    pub skipped: Vec<KeyInfo>,
}

fn associated_data(kdf: &KdfParams) -> Vec<u8> {
    format!("{BACKUP_FORMAT}/v{BACKUP_VERSION}/{}", kdf.binding()).into_bytes()
}

/// Seals `entries` into a backup file under `key`, which the caller derived from the backup
/// password with `kdf`.
///
/// # Errors
///
/// [`VaultError::Random`] if no nonce can be drawn; [`VaultError::InvalidInput`] if the
/// contents cannot be encoded.
pub fn seal<'a>(
    key: &SymmetricKey,
    kdf: KdfParams,
    created_ms: u64,
    entries: impl IntoIterator<Item = (&'a str, &'a Entry)>,
) -> Result<String> {
    let contents = ContentsOut {
        created_ms,
        entries: entries
            .into_iter()
            .map(|(id, entry)| EntryOut {
                id,
                key: entry.key.expose_secret(), // sealed below; the buffer is zeroized
                meta: &entry.meta,
            })
            .collect(),
    };
    // Sized up front for every entry, so the buffer never reallocates and leaves copies.
    let mut plaintext = Zeroizing::new(Vec::with_capacity(256 + contents.entries.len() * 2048));
    serde_json::to_writer(&mut *plaintext, &contents)
        .map_err(|_| VaultError::InvalidInput("the backup could not be encoded".into()))?;
    let sealed = crypto::seal(key, &associated_data(&kdf), &plaintext)?;
    let file = BackupFile {
        format: BACKUP_FORMAT.into(),
        version: BACKUP_VERSION,
        kdf,
        sealed,
    };
    // Plain structs of strings and integers always serialize.
    let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
    text.push('\n');
    Ok(text)
}

impl Backup {
    /// Parses a backup file.
    ///
    /// # Errors
    ///
    /// [`VaultError::UnsupportedFormat`] for a file from a newer byok;
    /// [`VaultError::BackupUnreadable`] for anything else that is not a whole version-1 backup
    /// (truncated, edited, another kind of file); [`VaultError::WeakKdf`] for KDF parameters
    /// below the floor.
    pub fn parse(text: &str) -> Result<Self> {
        if text.len() > MAX_BACKUP_BYTES {
            return Err(VaultError::BackupUnreadable);
        }
        let probe: Probe = serde_json::from_str(text).map_err(|_| VaultError::BackupUnreadable)?;
        if probe.format != BACKUP_FORMAT {
            return Err(VaultError::BackupUnreadable);
        }
        if probe.version > BACKUP_VERSION {
            return Err(VaultError::UnsupportedFormat(probe.version));
        }
        let file: BackupFile =
            serde_json::from_str(text).map_err(|_| VaultError::BackupUnreadable)?;
        if file.version != BACKUP_VERSION {
            return Err(VaultError::BackupUnreadable);
        }
        file.kdf.check_floor()?;
        Ok(Self { file })
    }

    /// The KDF parameters to derive the opening key with (already checked against the floor).
    #[must_use]
    pub fn kdf(&self) -> &KdfParams {
        &self.file.kdf
    }

    /// Opens the backup with the key derived from its password, and checks every key in it.
    ///
    /// # Errors
    ///
    /// [`VaultError::BackupUnreadable`] for a wrong password or any change to the file (the
    /// same answer for both), or contents this version cannot take.
    pub fn open(&self, key: &SymmetricKey) -> Result<BackupContents> {
        let plaintext = crypto::open(key, &associated_data(&self.file.kdf), &self.file.sealed)
            .map_err(|_| VaultError::BackupUnreadable)?;
        let contents: ContentsIn =
            serde_json::from_slice(&plaintext).map_err(|_| VaultError::BackupUnreadable)?;
        if contents.entries.len() > MAX_BACKUP_ENTRIES {
            return Err(VaultError::BackupUnreadable);
        }
        let mut entries = Vec::with_capacity(contents.entries.len());
        for e in contents.entries {
            // Sealed by byok, so these hold unless a newer version wrote looser ones.
            let key = validate_key(e.meta.provider, e.key.expose_secret())
                .map_err(|_| VaultError::BackupUnreadable)?;
            let label = validate_label(&e.meta.label).map_err(|_| VaultError::BackupUnreadable)?;
            let resource = validate_resource(e.meta.provider, e.meta.resource.as_deref())
                .map_err(|_| VaultError::BackupUnreadable)?;
            if key != e.key || label != e.meta.label || resource != e.meta.resource {
                return Err(VaultError::BackupUnreadable);
            }
            entries.push((e.id, Entry { key, meta: e.meta }));
        }
        Ok(BackupContents {
            created_ms: contents.created_ms,
            entries,
        })
    }
}

/// What to write when restoring: the entries to add, and the ids of those already present.
#[derive(Debug)]
pub(crate) struct Merge {
    /// New records, with their final ids and default marks.
    pub add: Vec<(String, Entry)>,
    /// Ids of vault entries that already held a key of the backup.
    pub skipped: Vec<String>,
}

/// Decides how `incoming` joins `existing` without changing any existing entry.
///
/// - A key the vault holds (same provider and secret), or that appears earlier in the backup,
///   is skipped and reported by the id of the entry holding it.
/// - Every other key is added, keeping its id unless that is taken (by an entry or by a
///   damaged record in `taken`) or malformed, in which case `new_id` gives one.
/// - Each provider keeps one default: the vault's if it has one, else the backup's mark, else
///   the oldest key added.
///
/// # Errors
///
/// Whatever `new_id` returns.
pub(crate) fn merge(
    existing: &BTreeMap<String, Entry>,
    taken: &BTreeSet<String>,
    incoming: Vec<(String, Entry)>,
    mut new_id: impl FnMut() -> Result<String>,
) -> Result<Merge> {
    let mut add: Vec<(String, Entry)> = Vec::new();
    let mut skipped = Vec::new();
    let mut has_default: BTreeSet<Provider> = existing
        .values()
        .filter(|e| e.meta.is_default)
        .map(|e| e.meta.provider)
        .collect();
    for (id, mut entry) in incoming {
        let same = |e: &Entry| e.meta.provider == entry.meta.provider && e.key == entry.key;
        if let Some((held, _)) = existing.iter().find(|(_, e)| same(e)) {
            skipped.push(held.clone());
            continue;
        }
        if let Some((held, _)) = add.iter().find(|(_, e)| same(e)) {
            skipped.push(held.clone());
            continue;
        }
        let free = |id: &str| {
            is_entry_id(id)
                && !existing.contains_key(id)
                && !taken.contains(id)
                && add.iter().all(|(other, _)| other != id)
        };
        let id = if free(&id) { id } else { new_id()? };
        entry.meta.is_default = entry.meta.is_default && has_default.insert(entry.meta.provider);
        add.push((id, entry));
    }
    // A provider whose backup default was skipped (or never marked) still gets one.
    let orphans: BTreeSet<Provider> = add
        .iter()
        .map(|(_, e)| e.meta.provider)
        .filter(|p| !has_default.contains(p))
        .collect();
    for provider in orphans {
        if let Some((_, entry)) = add
            .iter_mut()
            .filter(|(_, e)| e.meta.provider == provider)
            .min_by_key(|(_, e)| e.meta.created_ms)
        {
            entry.meta.is_default = true;
        }
    }
    Ok(Merge { add, skipped })
}

fn is_entry_id(id: &str) -> bool {
    id.strip_prefix(ENTRY_PREFIX).is_some_and(|hex| {
        hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn entry(provider: Provider, key: &str, default: bool, created_ms: u64) -> Entry {
        Entry {
            key: key.into(),
            meta: EntryMeta::new(
                provider,
                format!("{provider} {created_ms}"),
                default,
                created_ms,
            ),
        }
    }

    fn id(n: u8) -> String {
        format!("{ENTRY_PREFIX}{}", format!("{n:02x}").repeat(16))
    }

    const A: &str = "sk-proj-AAAAAAAAAAAAAAAAAAAAAAAA";
    const B: &str = "sk-proj-BBBBBBBBBBBBBBBBBBBBBBBB";
    const C: &str = "sk-ant-api03-CCCCCCCCCCCCCCCCCC";

    fn counter() -> impl FnMut() -> Result<String> {
        let mut n = 100;
        move || {
            n += 1;
            Ok(id(n))
        }
    }

    #[test]
    fn keys_already_held_are_skipped_and_nothing_is_overwritten() {
        let existing = BTreeMap::from([(id(1), entry(Provider::Openai, A, true, 1))]);
        let incoming = vec![
            // Same key under another id and label: the vault's entry stays, reported.
            (id(7), entry(Provider::Openai, A, true, 5)),
            // Same id as the vault's entry, another key: added under a fresh id.
            (id(1), entry(Provider::Openai, B, false, 6)),
            // Twice in the backup: once.
            (id(8), entry(Provider::Anthropic, C, false, 7)),
            (id(9), entry(Provider::Anthropic, C, true, 8)),
        ];
        let m = merge(&existing, &BTreeSet::new(), incoming, counter()).unwrap();
        assert_eq!(m.skipped, vec![id(1), id(8)]);
        let added: Vec<(&str, &str, bool)> = m
            .add
            .iter()
            .map(|(id, e)| (id.as_str(), e.key.expose_secret(), e.meta.is_default))
            .collect();
        assert_eq!(
            added,
            vec![
                // The vault keeps its OpenAI default.
                (id(101).as_str(), B, false),
                // Anthropic had none: the added key becomes it.
                (id(8).as_str(), C, true),
            ]
        );
    }

    #[test]
    fn ids_of_damaged_records_and_malformed_ids_are_not_reused() {
        let taken = BTreeSet::from([id(3)]);
        let incoming = vec![
            (id(3), entry(Provider::Openai, A, true, 1)),
            ("entry:../../x".into(), entry(Provider::Openai, B, false, 2)),
            (id(4).to_uppercase(), entry(Provider::Anthropic, C, true, 3)),
        ];
        let m = merge(&BTreeMap::new(), &taken, incoming, counter()).unwrap();
        let ids: Vec<&str> = m.add.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, vec![id(101), id(102), id(103)]);
        // The backup's default marks hold where the vault had none.
        let defaults: Vec<bool> = m.add.iter().map(|(_, e)| e.meta.is_default).collect();
        assert_eq!(defaults, vec![true, false, true]);
    }

    #[test]
    fn a_provider_without_a_marked_default_gets_its_oldest_key() {
        let incoming = vec![
            (id(1), entry(Provider::Openai, A, false, 9)),
            (id(2), entry(Provider::Openai, B, false, 4)),
        ];
        let m = merge(&BTreeMap::new(), &BTreeSet::new(), incoming, counter()).unwrap();
        let defaults: Vec<bool> = m.add.iter().map(|(_, e)| e.meta.is_default).collect();
        assert_eq!(defaults, vec![false, true]);
    }

    #[test]
    fn what_is_not_a_version_1_backup_is_refused_before_any_derivation() {
        for text in [
            "",
            "{",
            "[]",
            r#"{"format":"byok-vault","version":1}"#,
            r#"{"format":"byok-backup","version":0,"kdf":{},"sealed":{}}"#,
            r#"{"format":"byok-backup","version":1}"#,
        ] {
            assert_eq!(
                Backup::parse(text).map(|_| ()),
                Err(VaultError::BackupUnreadable),
                "{text}"
            );
        }
        assert_eq!(
            Backup::parse(r#"{"format":"byok-backup","version":2,"whatever":"else"}"#).map(|_| ()),
            Err(VaultError::UnsupportedFormat(2))
        );
        let huge = " ".repeat(MAX_BACKUP_BYTES + 1);
        assert_eq!(
            Backup::parse(&huge).map(|_| ()),
            Err(VaultError::BackupUnreadable)
        );
    }
}
