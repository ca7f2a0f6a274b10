//! Sealed keys: a provider key encrypted to the proxy, bound to the one request it came with.
//!
//! A sealed key travels in `X-BYOK-Sealed` instead of a plain `X-BYOK-Key`. Only the proxy can
//! open it, and only for the request whose method, target, body and time it was sealed with,
//! once: a relay, a CDN or a browser extension that logs the header holds nothing usable.
//!
//! # Format, version 1
//!
//! - HPKE (RFC 9180) base mode, suite DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
//!   ChaCha20-Poly1305 (KEM `0x0020`, KDF `0x0001`, AEAD `0x0003`), `info` = [`INFO`].
//! - The header: `v1.<key id>.<unix seconds>.<nonce>.<enc>.<ciphertext>`; the nonce is 16 random
//!   bytes; nonce, enc and ciphertext are base64url without padding.
//! - The plaintext is the provider key; the associated data is ([`Request::aad`])
//!   `byok-seal v1\n<METHOD>\n<target: path and query>\n<hex SHA-256 of the body>\n<unix
//!   seconds>\n<nonce, as in the header>`.
//!
//! ```
//! use byok_seal::{KeyPair, Request, Sealed};
//!
//! let proxy = KeyPair::derive(&[7; 32]);
//! let request = Request::new("POST", "/openai/v1/chat/completions", b"{}");
//! let header = byok_seal::seal(&proxy.public_key(), &proxy.id(), &request, 1_700_000_000, b"sk-test")?;
//! let sealed = Sealed::parse(&header)?;
//! assert_eq!(&*proxy.open(&sealed, &request)?, b"sk-test");
//! # Ok::<(), byok_seal::SealError>(())
//! ```
//!
//! What the proxy checks beyond opening (the key id is current, the time is within the skew,
//! the nonce is new) needs its clock and its store, so it is the proxy's.

mod cipher;
mod error;
mod header;
mod key;
mod request;

pub use cipher::seal;
pub use error::SealError;
pub use header::{HEADER, MAX_HEADER_LEN, NONCE_LEN, Sealed, VERSION};
pub use key::{KeyPair, PublicKey, key_id};
pub use request::{Request, body_hash};

/// HPKE's `info` for every seal, and the first line of the associated data.
pub const INFO: &[u8] = b"byok-seal v1";

// The same tests run in headless Chromium: the vault seals with this crate built for wasm32.
#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
