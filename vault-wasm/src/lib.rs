//! byok-vault: a browser key vault for LLM provider API keys.
//!
//! Keys are encrypted client-side with AES-256-GCM under a random vault key, which is itself
//! wrapped by a key derived from the user's password (Argon2id, 64 MiB, 3 passes; vaults made
//! before it, PBKDF2-HMAC-SHA256 at 600,000 iterations), and optionally by keys that registered
//! passkeys give through WebAuthn's PRF extension ([`passkey`]).
//! Only ciphertext reaches storage (IndexedDB in the browser). The vault locks itself after a
//! period of inactivity and drops (zeroizes) all key material when it does.
//!
//! The core ([`Vault`]) is plain Rust and tested natively; the `wasm` module (wasm32 only) is
//! the browser vault over it with IndexedDB, WebCrypto and a browser timer, and (with the `js`
//! feature, on by default) a thin JavaScript API over that.
//!
//! See [`envelope`] for the stored format and `README.md` for the threat model.
//!
//! The modules, from the bottom up (each uses only those listed before it):
//!
//! - `error`: the one error type, and why a key was refused.
//! - `usd`, `autolock`, `usage`: dollar amounts, auto-lock over an injected clock, the proxy's
//!   usage answers.
//! - `store`: where encrypted records live (a small async key-value interface).
//! - `secret`: secrets that never print, zeroized on drop, and random bytes.
//! - [`crypto`]: AES-256-GCM with associated data.
//! - [`kdf`]: Argon2id or PBKDF2 from the password, parameters stored and floored.
//! - `entry`: a provider key and what the vault knows of it.
//! - [`envelope`]: the stored record format, its record ids and passkey parameters.
//! - [`backup`], [`passkey`], `grant`, [`apps`]: formats built on it (a backup file, a
//!   passkey's wrapped vault key, a grant's record, a connected app's record).
//! - [`embed`]: what an app's page may ask of the vault in the isolated mode (paths, headers).
//! - `vault`: the [`Vault`] itself, one file per part (session and lock, password, settings,
//!   keys, backups, passkeys, grants).
//! - `wasm` (wasm32 only): the browser vault, and with the `js` feature its JavaScript API
//!   (`wasm::api`) and the embed document's side of the isolated mode.

mod autolock;
mod entry;
mod error;
mod grant;
mod secret;
mod store;
mod usage;
mod usd;
mod vault;

pub mod apps;
pub mod backup;
pub mod crypto;
pub mod embed;
pub mod envelope;
pub mod kdf;
pub mod passkey;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use apps::ConnectedApp;
pub use autolock::{AutoLock, Clock, DEFAULT_TIMEOUT_MS, ManualClock, SystemClock};
pub use backup::{Backup, BackupContents, ImportReport};
pub use entry::{
    EXPIRY_WARNING_MS, Entry, EntryMeta, Expiry, KeyInfo, Provider, TestStatus, UnknownProvider,
    expiry, preview, validate_key, validate_label, validate_resource,
};
pub use envelope::{GRANT_PREFIX, PasskeyParams};
pub use error::{KeyShapeError, Result, VaultError};
pub use grant::{GrantRecord, MAX_GRANT_LABEL_CHARS, validate_grant_label};
pub use kdf::{Kdf, KdfAlgorithm, KdfParams, RustKdf};
pub use passkey::{PasskeyInfo, PasskeyRequest};
pub use secret::{SecretString, SymmetricKey};
pub use store::{Batch, MemoryStore, Store};
pub use usage::{
    CapStatus, KeySource, ModelChoice, ModelList, ModelUsage, Serves, SourceUsage, Totals,
    UsageDay, UsageReport,
};
pub use usd::{MAX_CAP_USD, format_usd, group_thousands, parse_usd};
pub use vault::{
    Candidate, DEFAULT_COOLDOWN_MS, LockReason, MAX_COOLDOWN_MS, MIN_PASSWORD_CHARS,
    RETEST_INTERVAL_MS, Refusal, Vault, retry_after_ms,
};
