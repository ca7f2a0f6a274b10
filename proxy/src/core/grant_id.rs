//! A grant's public name, and the prefix every grant token starts with.
//!
//! The token itself (the id and a secret, and how it is written) belongs to `grants`; what
//! other areas need of a grant is its id (store keys, usage counters, who a request acts for)
//! and the prefix (to route a token, to scrub a leaked one).

use std::fmt;
use std::str::FromStr;

/// What every grant token starts with, so secret scanners can spot a leaked one.
pub const TOKEN_PREFIX: &str = "byok_g_";
/// Bytes in a grant id.
pub const ID_LEN: usize = 16;

/// A grant's public name: 16 random bytes, shown as 32 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantId([u8; ID_LEN]);

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GrantId({self})")
    }
}

impl FromStr for GrantId {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        if s.len() != 2 * ID_LEN || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(());
        }
        let mut id = [0u8; ID_LEN];
        hex::decode_to_slice(s, &mut id).map_err(|_| ())?;
        Ok(Self(id))
    }
}

impl GrantId {
    /// The id of these bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; ID_LEN]) -> Self {
        Self(bytes)
    }

    /// The id's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }
}
