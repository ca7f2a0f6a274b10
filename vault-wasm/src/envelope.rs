//! The stored record format (version 1).
//!
//! Every record in storage is a JSON object:
//!
//! ```text
//! { "format": 1,
//!   "kind":   "vault-key" | "entry" | "settings" | "grant" | "passkey" | "passkey-info",
//!   "kdf":    { "alg": "argon2id", "iterations": 3, "memory_kib": 65536, "parallelism": 1,
//!               "salt": "<base64>" },                                    // vault-key only
//!          // (vaults made before Argon2id: { "alg": "pbkdf2-sha256", "iterations": 600000, "salt": … })
//!   "passkey": { "credential": "<base64 credential id>", "salt": "<base64, 32 bytes>" },  // passkey only
//!   "sealed": { "nonce": "<base64, 12 bytes>", "ciphertext": "<base64, ciphertext || 16-byte tag>" } }
//! ```
//!
//! - `vault-key` (record id `vault`): the random 256-bit vault key, sealed with AES-256-GCM under
//!   the key the stored `kdf` (Argon2id, or PBKDF2 in older vaults) derives from the password.
//! - `entry` (record id `entry:<32 hex>`): one provider key and all its metadata, JSON, sealed
//!   under the vault key. Only the id is visible in storage.
//! - `settings` (record id `settings`): vault settings (the auto-lock period), sealed under the
//!   vault key so they cannot be altered from outside.
//! - `grant` (record id `grant:<32 hex>`, the proxy's grant id): what the vault remembers of a
//!   key grant it asked for (label, provider, which key, scope, expiry; never the token), JSON,
//!   sealed under the vault key. See `grant.rs`.
//! - `passkey` (record id `passkey:<32 hex>`): the vault key again, sealed under the key HKDF
//!   derives from a passkey's WebAuthn PRF output for `salt`. The credential id and salt are in
//!   the clear because unlocking needs them before anything is open. See `passkey.rs`.
//! - `passkey-info` (record id `passkey-info:<same 32 hex>`): that passkey's label and dates,
//!   sealed under the vault key.
//!
//! The associated data of each seal is `byok-vault/v{format}/{kind}/{id}`, with the KDF
//! parameters appended for the vault key (`/pbkdf2-sha256:{iterations}:{salt}` or
//! `/argon2id:m={memory_kib},t={iterations},p={parallelism}:{salt}`), and the passkey parameters
//! for a passkey (`/passkey:{credential}:{salt}`, base64). A record therefore only
//! opens in its own slot, as its own kind, in its own format version, and the KDF parameters
//! cannot be edited, nor a passkey's wrapped key moved to another credential.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{self, Sealed};
use crate::error::{Result, VaultError};
use crate::kdf::KdfParams;
use crate::passkey::PasskeyParams;
use crate::secret::SymmetricKey;

/// The format version this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Record id of the wrapped vault key.
pub const HEADER_ID: &str = "vault";
/// Record id of the settings.
pub const SETTINGS_ID: &str = "settings";
/// Prefix of entry record ids.
pub const ENTRY_PREFIX: &str = "entry:";

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordKind {
    /// The wrapped vault key and KDF parameters.
    VaultKey,
    /// A provider key and its metadata.
    Entry,
    /// Vault settings.
    Settings,
    /// A key grant's record.
    Grant,
    /// The vault key wrapped under a passkey's PRF output.
    Passkey,
    /// A passkey's label and dates.
    PasskeyInfo,
}

impl RecordKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::VaultKey => "vault-key",
            Self::Entry => "entry",
            Self::Settings => "settings",
            Self::Grant => "grant",
            Self::Passkey => "passkey",
            Self::PasskeyInfo => "passkey-info",
        }
    }
}

/// One stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Format version; see [`FORMAT_VERSION`].
    pub format: u32,
    /// What the record holds.
    pub kind: RecordKind,
    /// KDF parameters; present only on the vault key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kdf: Option<KdfParams>,
    /// Passkey parameters; present only on a passkey record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<PasskeyParams>,
    /// The encrypted payload.
    pub sealed: Sealed,
}

#[derive(Deserialize)]
struct FormatProbe {
    format: u32,
}

/// The associated data binding a record to its slot, kind and format (and KDF parameters).
#[must_use]
pub fn associated_data(kind: RecordKind, id: &str, kdf: Option<&KdfParams>) -> Vec<u8> {
    record_ad(kind, id, kdf, None)
}

fn record_ad(
    kind: RecordKind,
    id: &str,
    kdf: Option<&KdfParams>,
    passkey: Option<&PasskeyParams>,
) -> Vec<u8> {
    let mut ad = format!("byok-vault/v{FORMAT_VERSION}/{}/{id}", kind.as_str());
    if let Some(kdf) = kdf {
        ad.push('/');
        ad.push_str(&kdf.binding());
    }
    if let Some(passkey) = passkey {
        ad.push('/');
        ad.push_str(&passkey.binding());
    }
    ad.into_bytes()
}

impl Envelope {
    /// Seals `plaintext` into a new record of `kind` stored under `id`.
    ///
    /// # Errors
    ///
    /// [`VaultError::Random`] if no nonce can be drawn.
    pub fn seal(
        key: &SymmetricKey,
        kind: RecordKind,
        id: &str,
        kdf: Option<KdfParams>,
        plaintext: &[u8],
    ) -> Result<Self> {
        let ad = associated_data(kind, id, kdf.as_ref());
        Ok(Self {
            format: FORMAT_VERSION,
            kind,
            sealed: crypto::seal(key, &ad, plaintext)?,
            kdf,
            passkey: None,
        })
    }

    /// Seals `plaintext` (the vault key) into a passkey record stored under `id`, binding the
    /// passkey's parameters.
    ///
    /// # Errors
    ///
    /// [`VaultError::Random`] if no nonce can be drawn.
    pub fn seal_passkey(
        key: &SymmetricKey,
        id: &str,
        passkey: PasskeyParams,
        plaintext: &[u8],
    ) -> Result<Self> {
        let ad = record_ad(RecordKind::Passkey, id, None, Some(&passkey));
        Ok(Self {
            format: FORMAT_VERSION,
            kind: RecordKind::Passkey,
            sealed: crypto::seal(key, &ad, plaintext)?,
            kdf: None,
            passkey: Some(passkey),
        })
    }

    /// Parses a stored record.
    ///
    /// # Errors
    ///
    /// [`VaultError::UnsupportedFormat`] for a newer format; [`VaultError::Decrypt`] for
    /// anything unparseable (damaged data gets the same answer as a wrong password).
    pub fn parse(raw: &str) -> Result<Self> {
        let probe: FormatProbe = serde_json::from_str(raw).map_err(|_| VaultError::Decrypt)?;
        if probe.format != FORMAT_VERSION {
            return Err(VaultError::UnsupportedFormat(probe.format));
        }
        serde_json::from_str(raw).map_err(|_| VaultError::Decrypt)
    }

    /// Serializes for storage.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Serializing plain structs of strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Opens the record, which MUST be of `kind` and stored under `id`.
    ///
    /// # Errors
    ///
    /// [`VaultError::Decrypt`] for a wrong key, a record of another kind or slot, or any
    /// modification.
    pub fn open(
        &self,
        key: &SymmetricKey,
        kind: RecordKind,
        id: &str,
    ) -> Result<Zeroizing<Vec<u8>>> {
        if self.kind != kind
            || (kind == RecordKind::VaultKey) != self.kdf.is_some()
            || (kind == RecordKind::Passkey) != self.passkey.is_some()
        {
            return Err(VaultError::Decrypt);
        }
        let ad = record_ad(kind, id, self.kdf.as_ref(), self.passkey.as_ref());
        crypto::open(key, &ad, &self.sealed)
    }
}
