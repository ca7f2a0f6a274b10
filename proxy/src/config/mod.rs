//! Configuration: flags with environment fallbacks and an optional TOML file, parsed raw first
//! and then validated into typed [`Settings`]. Precedence: flag, environment, file, default.
//!
//! Server keys are the exception: they come only from the environment
//! (`BYOK_SERVER_KEY_<PROVIDER>`), never from flags (visible in `ps`) or files.
//!
//! - [`args`]: the raw flags and file keys.
//! - [`settings`]: the validated settings, a struct of each area's own settings type.
//! - `shared`, `plans`: validating the store, secret and grant settings, and the plans.
//! - `parse`: reading values (URLs, durations, sizes, certificates), and [`ConfigError`].

pub mod args;
mod parse;
mod plans;
pub mod settings;
mod shared;

pub use args::{Args, TierArgs};
pub use parse::ConfigError;
pub use settings::{LogFormat, Settings};
