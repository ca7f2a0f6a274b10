//! The page: Leptos components over the browser vault.
//!
//! - `app`: opens the vault, provides [`state::Ctx`], the top bar (lock now, countdown) and
//!   the tabs.
//! - `add_key`: the form that adds a key to a provider's card.
//! - `app_example`: the client library's snippet on the Try it tab.
//! - `apps`: the connected apps (isolated mode), on the Security tab.
//! - `backup`: download an encrypted backup of every key, restore from one.
//! - `consent`: the window an app opens to be connected or to get a grant (isolated mode).
//! - `gate`: first run (create) and unlock.
//! - `grants`: key grants for background jobs: make one, list the live ones, revoke.
//! - `keys`: a card per provider with its keys: add, test, rename, set default, delete, what
//!   each spent and its daily cap.
//! - `key_life`: on a key's row, a new secret in its place, off and on, an expiry date; which
//!   key serves while the default cannot.
//! - `key_parts`: what the key row and its forms share (the row's mode, the key input).
//! - `security`: auto-lock period, storage, backups, change password, reset.
//! - `try_it`: a streamed chat request through the proxy with the vault's key, its model picker
//!   and what each answer cost.
//! - `usage`: 30 days of spending, your keys against the app's, as a chart and tables.
//! - `widgets`: what several pages share: the strength meter, a new password, focus.

mod add_key;
mod app;
mod app_example;
mod apps;
mod backup;
mod consent;
mod gate;
mod grants;
mod key_life;
mod key_parts;
mod keys;
mod passkeys;
mod security;
mod several_keys;
mod state;
mod try_it;
mod usage;
mod widgets;

pub use app::App;
