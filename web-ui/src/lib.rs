//! The byok settings page: create, unlock and lock the vault; add, test, rename, set default
//! and delete provider keys; auto-lock and password settings; a "Try it" page that streams an
//! answer through the proxy with the vault's key; what each key spends, daily caps, and a
//! Usage page.
//!
//! The page (`ui`, browser only) is Leptos over [`byok_vault::wasm::BrowserVault`]. The parts
//! that need no browser are plain modules tested natively:
//!
//! - [`words`]: errors in words a person understands.
//! - [`opened`]: why a window of the vault's origin was opened (settings, or an app's consent).
//! - [`timefmt`]: times in words (the auto-lock countdown, "tested 5 minutes ago").
//! - [`throttle`]: slowing down repeated unlock attempts.
//! - [`strength`]: the password strength hint.
//! - [`sse`]: reading a streamed chat answer as it arrives.
//! - [`spend`]: dollar amounts and token counts as the page writes them.
//! - `ui`: the Leptos components, one file per screen (above all of these).

pub mod opened;
pub mod spend;
pub mod sse;
pub mod strength;
pub mod throttle;
pub mod timefmt;
pub mod words;

#[cfg(target_arch = "wasm32")]
mod ui;

#[cfg(target_arch = "wasm32")]
pub use ui::App;
