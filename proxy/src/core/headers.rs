//! The headers the proxy reads and writes of its own: one name each, written once.

use axum::http::HeaderName;

/// The header carrying the user's provider key.
pub const KEY_HEADER: &str = "x-byok-key";
/// [`KEY_HEADER`] as a name, checked once at compile time rather than per request.
pub const KEY_NAME: HeaderName = HeaderName::from_static(KEY_HEADER);

/// The header carrying a sealed key (see [`crate::seal`]), in place of [`KEY_HEADER`].
pub const SEALED_HEADER: &str = byok_seal::HEADER;
/// [`SEALED_HEADER`] as a name.
pub const SEALED_NAME: HeaderName = HeaderName::from_static(SEALED_HEADER);

/// The response header saying whose key served a request.
pub const KEY_SOURCE_HEADER: &str = "x-byok-key-source";
/// [`KEY_SOURCE_HEADER`] as a name, checked once at compile time rather than per request.
pub const KEY_SOURCE_NAME: HeaderName = HeaderName::from_static(KEY_SOURCE_HEADER);

/// The header a user token comes in (a JWT the app signs; see `tiers`).
pub const USER_HEADER: &str = "x-byok-user";
/// [`USER_HEADER`] as a name.
pub const USER_NAME: HeaderName = HeaderName::from_static(USER_HEADER);

/// The header a client sets a daily spend cap for its key in, USD.
pub const DAILY_CAP_HEADER: &str = "x-byok-daily-cap";
/// [`DAILY_CAP_HEADER`] as a name.
pub const DAILY_CAP_NAME: HeaderName = HeaderName::from_static(DAILY_CAP_HEADER);
