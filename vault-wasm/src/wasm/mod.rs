//! The vault in a browser ([`BrowserVault`], which the settings page calls from Rust) and the
//! JavaScript API over it (`api`: a `Vault` class, with the `js` feature).
//!
//! The behaviour lives in the core [`crate::Vault`]; each JavaScript method converts
//! arguments, calls the browser vault and converts the result. Browser specifics are here:
//! IndexedDB ([`IdbStore`]), WebCrypto ([`BrowserKdf`]), the auto-lock timer, lock propagation
//! between tabs (`BroadcastChannel`), and `fetch` with the provider key attached.
//!
//! ```js
//! import init, { Vault } from "./pkg/byok_vault.js";
//! await init();
//! const vault = await Vault.open();               // proxy on this page's origin
//! if (!(await vault.exists())) await vault.create(password); else await vault.unlock(password);
//! await vault.add("openai", apiKey, "work");
//! const res = await vault.fetch("openai", "/openai/v1/chat/completions", { method: "POST", body });
//! ```
//!
//! # Security
//!
//! JavaScript gets ids, metadata and previews, never a stored key. `fetch` only sends keys to
//! URLs under the configured proxy (default: this page's origin), never follows redirects, and
//! puts the key in a header only: sealed to the proxy for that one request (`X-BYOK-Sealed`)
//! when the proxy publishes a seal key, in `X-BYOK-Key` otherwise (see [`seal`]).

#[cfg(feature = "js")]
mod api;
mod backup;
mod browser;
#[cfg(feature = "embed")]
mod embed;
mod failover;
mod grants;
mod idb;
mod kdf;
mod life;
mod passkey;
mod persist;
mod request;
mod seal;
mod usage;

#[cfg(feature = "js")]
pub use self::api::Vault;
pub use self::browser::{BrowserVault, KeyTestResult, Options};
#[cfg(feature = "embed")]
pub use self::embed::serve_embed;
pub use self::failover::{ATTEMPTS_HEADER, KEY_ID_HEADER};
pub use self::grants::{Amount, GrantInfo, GrantIssued, GrantOptions, GrantStatus};
pub use self::idb::IdbStore;
pub use self::kdf::{BrowserKdf, subtle_crypto, webcrypto_pbkdf2_sha256};
pub use self::passkey::PasskeySupport;
pub use self::request::{CAP_HEADER, KEY_HEADER, USER_HEADER};

/// The error for input the caller got wrong.
fn invalid(message: impl Into<String>) -> crate::VaultError {
    crate::VaultError::InvalidInput(message.into())
}
