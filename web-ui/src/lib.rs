//! The byok settings page (first cut): vault status, create, unlock and lock.
//!
//! Keys are managed through the vault's JavaScript API for now; the full settings page
//! (provider cards, key tests, auto-lock settings) builds on this.

#[cfg(target_arch = "wasm32")]
mod app;

#[cfg(target_arch = "wasm32")]
pub use app::App;
