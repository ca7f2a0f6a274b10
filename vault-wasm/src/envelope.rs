//! The stored record format (version 1).
//!
//! Every record in storage is a JSON object:
//!
//! ```text
//! { "format": 1,
//!   "kind":   "vault-key" | "entry" | "settings" | "grant" | "passkey" | "passkey-info" | "app",
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
//! - `app` (record id `app:<32 hex>`, random): an app origin the user approved to send
//!   requests through the vault from its own page, and when; sealed under the vault key. See
//!   `apps.rs`.
//!
//! The associated data of each seal is `byok-vault/v{format}/{kind}/{id}`, with the KDF
//! parameters appended for the vault key (`/pbkdf2-sha256:{iterations}:{salt}` or
//! `/argon2id:m={memory_kib},t={iterations},p={parallelism}:{salt}`), and the passkey parameters
//! for a passkey (`/passkey:{credential}:{salt}`, base64). A record therefore only
//! opens in its own slot, as its own kind, in its own format version, and the KDF parameters
//! cannot be edited, nor a passkey's wrapped key moved to another credential.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{self, Sealed, b64_vec};
use crate::error::{Result, VaultError};
use crate::kdf::KdfParams;
use crate::secret::{SymmetricKey, fill_random};

/// The format version this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Record id of the wrapped vault key.
pub const HEADER_ID: &str = "vault";
/// Record id of the settings.
pub const SETTINGS_ID: &str = "settings";
/// Prefix of entry record ids.
pub const ENTRY_PREFIX: &str = "entry:";
/// Prefix of grant record ids.
pub const GRANT_PREFIX: &str = "grant:";
/// Prefix of connected-app record ids.
pub const APP_PREFIX: &str = "app:";
/// Prefix of passkey record ids (`passkey:<32 hex>`).
pub const PASSKEY_PREFIX: &str = "passkey:";
/// Prefix of the record holding a passkey's label and dates (`passkey-info:<same 32 hex>`).
pub const PASSKEY_INFO_PREFIX: &str = "passkey-info:";
/// Length of the PRF input drawn for each passkey.
pub const PRF_SALT_LEN: usize = 32;
/// Longest credential id WebAuthn allows.
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// A new record id: `prefix` and 32 random hex digits.
///
/// # Errors
///
/// [`VaultError::Random`] if the generator is unavailable.
pub fn new_record_id(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 16];
    fill_random(&mut bytes)?;
    let mut id = String::with_capacity(prefix.len() + 32);
    id.push_str(prefix);
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    Ok(id)
}

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
    /// An app the user connected.
    App,
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
            Self::App => "app",
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

/// What a passkey record keeps in the clear: which credential, and the PRF input to ask it for.
/// (The key it leads to is derived in [`crate::passkey`].)
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasskeyParams {
    /// The WebAuthn credential id (raw bytes; base64 in storage).
    #[serde(with = "b64_vec")]
    pub credential: Vec<u8>,
    /// The PRF input ([`PRF_SALT_LEN`] random bytes).
    #[serde(with = "b64_vec")]
    pub salt: Vec<u8>,
}

impl std::fmt::Debug for PasskeyParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyParams")
            .field("credential_len", &self.credential.len())
            .finish_non_exhaustive()
    }
}

impl PasskeyParams {
    /// Checks the shapes: a credential id WebAuthn could have made and a full-length salt.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidInput`] saying which is wrong.
    pub fn check(&self) -> Result<()> {
        if self.credential.is_empty() || self.credential.len() > MAX_CREDENTIAL_ID_LEN {
            return Err(VaultError::InvalidInput(
                "the passkey's credential id has an impossible length".into(),
            ));
        }
        if self.salt.len() != PRF_SALT_LEN {
            return Err(VaultError::InvalidInput(
                "the passkey's PRF input must be 32 bytes".into(),
            ));
        }
        Ok(())
    }

    /// The canonical string bound into the record's associated data.
    #[must_use]
    pub fn binding(&self) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        format!(
            "passkey:{}:{}",
            b64.encode(&self.credential),
            b64.encode(&self.salt)
        )
    }
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
