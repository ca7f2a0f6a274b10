//! Grant tokens: `byok_g_` and the base64url (no padding) of a 16-byte id and a 32-byte secret.
//!
//! The id names the grant (in `/byok/grants/{id}`, in the store, on the settings page) and is
//! not secret; the secret never leaves the token. The id is shown as 32 hex digits, so no
//! printed id is a piece of any token's text.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::core::grant_id::{GrantId, ID_LEN, TOKEN_PREFIX};

const SECRET_LEN: usize = 32;
/// Length of a token's text: the prefix and 64 base64 characters.
pub const TOKEN_LEN: usize = TOKEN_PREFIX.len() + 64;

/// A parsed grant token.
///
/// # Security
///
/// `Debug` shows only the id; the secret is zeroized on drop.
pub struct Token {
    id: GrantId,
    secret: Zeroizing<[u8; SECRET_LEN]>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({}, [REDACTED])", self.id)
    }
}

impl Token {
    /// A new token with a random id and secret.
    ///
    /// # Panics
    ///
    /// If the operating system has no random source.
    #[must_use]
    pub fn generate() -> Self {
        let mut id = [0u8; ID_LEN];
        let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
        getrandom::fill(&mut id).expect("the OS random source is available");
        getrandom::fill(secret.as_mut()).expect("the OS random source is available");
        Self {
            id: GrantId::from_bytes(id),
            secret,
        }
    }

    /// Reads a token's text; `None` for anything that is not exactly one (one answer for every
    /// way of being wrong).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let body = text.trim().strip_prefix(TOKEN_PREFIX)?;
        let mut raw = Zeroizing::new([0u8; ID_LEN + SECRET_LEN]);
        let n = URL_SAFE_NO_PAD
            .decode_slice(body, raw.as_mut())
            .ok()
            .filter(|&n| n == raw.len())?;
        // Base64 has more than one text for some byte strings (stray low bits in the last
        // character); only the canonical one is a token.
        if n != raw.len() || URL_SAFE_NO_PAD.encode(raw.as_ref()) != body {
            return None;
        }
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&raw[..ID_LEN]);
        let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
        secret.copy_from_slice(&raw[ID_LEN..]);
        Some(Self {
            id: GrantId::from_bytes(id),
            secret,
        })
    }

    /// Whether `text` looks like a grant token (its prefix), to route it as one.
    #[must_use]
    pub fn is_token_shaped(text: &str) -> bool {
        text.trim_start().starts_with(TOKEN_PREFIX)
    }

    /// The grant's id.
    #[must_use]
    pub fn id(&self) -> GrantId {
        self.id
    }

    /// The secret half, for deriving the record's key.
    #[must_use]
    pub fn secret(&self) -> &[u8; SECRET_LEN] {
        &self.secret
    }

    /// The token's text, to hand to its holder once.
    #[must_use]
    pub fn to_text(&self) -> SecretString {
        let mut raw = Zeroizing::new([0u8; ID_LEN + SECRET_LEN]);
        raw[..ID_LEN].copy_from_slice(self.id.as_bytes());
        raw[ID_LEN..].copy_from_slice(self.secret.as_ref());
        let mut text = String::with_capacity(TOKEN_LEN);
        text.push_str(TOKEN_PREFIX);
        URL_SAFE_NO_PAD.encode_string(raw.as_ref(), &mut text);
        SecretString::from(text)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn a_token_reads_back_as_itself() {
        let token = Token::generate();
        let text = token.to_text();
        let text = text.expose_secret();
        assert!(text.starts_with(TOKEN_PREFIX));
        assert_eq!(text.len(), TOKEN_LEN);
        let back = Token::parse(text).unwrap();
        assert_eq!(back.id(), token.id());
        assert_eq!(back.secret(), token.secret());
        assert!(Token::is_token_shaped(text));
        assert_eq!(token.id().to_string().parse::<GrantId>(), Ok(token.id()));
    }

    #[test]
    fn anything_else_is_not_a_token() {
        let text = Token::generate().to_text();
        let text = text.expose_secret();
        let mut flipped_last = text.to_owned();
        let last = flipped_last.pop().unwrap();
        flipped_last.push(if last == 'A' { 'B' } else { 'A' });
        for bad in [
            "",
            TOKEN_PREFIX,
            &text[..text.len() - 1],
            &format!("{text}A"),
            &text.replacen(TOKEN_PREFIX, "byok_x_", 1),
            &text.replacen(TOKEN_PREFIX, "", 1),
            &format!("{}!{}", &text[..20], &text[21..]),
        ] {
            assert!(Token::parse(bad).is_none(), "{bad}");
        }
        // A changed last character is another token (or none), never this one.
        if let Some(other) = Token::parse(&flipped_last) {
            assert_ne!(other.secret(), Token::parse(text).unwrap().secret());
        }
    }

    #[test]
    fn the_shown_id_is_no_piece_of_the_token_and_debug_hides_the_secret() {
        let token = Token::generate();
        let text = token.to_text();
        let id = token.id().to_string();
        assert_eq!(id.len(), 32);
        for piece in id.as_bytes().windows(8) {
            let piece = std::str::from_utf8(piece).unwrap();
            assert!(!text.expose_secret().contains(piece), "{piece}");
        }
        let shown = format!("{token:?}");
        assert!(shown.contains(&id) && shown.contains("[REDACTED]"));
        assert!(!shown.contains(&text.expose_secret()[TOKEN_PREFIX.len()..][..8]));
        for bad in ["", "zz", &"a".repeat(31), &"A".repeat(32), &"g".repeat(32)] {
            assert!(bad.parse::<GrantId>().is_err(), "{bad}");
        }
    }
}
