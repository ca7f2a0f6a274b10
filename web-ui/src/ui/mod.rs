//! The page: Leptos components over the browser vault.
//!
//! - `app`: opens the vault, provides [`state::Ctx`], the top bar (lock now, countdown) and
//!   the tabs.
//! - `backup`: download an encrypted backup of every key, restore from one.
//! - `gate`: first run (create) and unlock.
//! - `grants`: key grants for background jobs: make one, list the live ones, revoke.
//! - `keys`: a card per provider with its keys: add, test, rename, set default, delete, what
//!   each spent and its daily cap.
//! - `key_life`: on a key's row, a new secret in its place, off and on, an expiry date; which
//!   key serves while the default cannot.
//! - `security`: auto-lock period, storage, backups, change password, reset.
//! - `try_it`: a streamed chat request through the proxy with the vault's key, its model picker
//!   and what each answer cost.
//! - `usage`: 30 days of spending, your keys against the app's, as a chart and tables.

mod app;
mod backup;
mod gate;
mod grants;
mod key_life;
mod keys;
mod passkeys;
mod security;
mod state;
mod try_it;
mod usage;

pub use app::App;
