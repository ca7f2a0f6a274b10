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
//!
//! One file per part, each adding its methods to [`Vault`]:
//!
//! - `state`: what a vault holds, the session an unlock opens, who hears of locking.
//! - `records`: the plaintexts of an entry and of the settings, sealed and opened.
//! - `session`: lock state and the idle deadline; reading and updating the session.
//! - `password`: creating, unlocking, changing the password, wiping.
//! - `settings`: the auto-lock period and the daily key re-test.
//! - `entries`: the keys: add, list, choose the one that serves, change one.
//! - `failover`: several keys of a provider standing in for each other, cooldowns, spread.
//! - `backup`, `passkeys`, `grants`: backups out and in, passkey unlock, remembered grants.
//! - `apps`: the apps the user connected (the isolated mode).

mod apps;
mod backup;
mod entries;
mod failover;
mod grants;
mod passkeys;
mod password;
mod records;
mod session;
mod settings;
mod state;

pub use failover::{Candidate, DEFAULT_COOLDOWN_MS, MAX_COOLDOWN_MS, Refusal, retry_after_ms};
pub use password::MIN_PASSWORD_CHARS;
pub use settings::RETEST_INTERVAL_MS;
pub use state::{LockReason, Vault};
