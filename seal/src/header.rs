//! The `X-BYOK-Sealed` header: `v1.<key id>.<unix seconds>.<nonce>.<enc>.<ciphertext>`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::SealError;

/// The header's name (lowercase, as `http` spells header names).
pub const HEADER: &str = "x-byok-sealed";
/// The format version, the header's first field.
pub const VERSION: &str = "v1";
/// The nonce's length in bytes.
pub const NONCE_LEN: usize = 16;
/// The longest header accepted: a 1,024-byte key sealed takes about 1,500.
pub const MAX_HEADER_LEN: usize = 2048;
/// The longest key id accepted.
const MAX_ID_LEN: usize = 64;
/// The AEAD tag's length: the shortest ciphertext (of a one-byte key) is one longer.
pub(crate) const TAG_LEN: usize = 16;

/// A parsed `X-BYOK-Sealed` header: its fields checked for shape, not yet opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed<'a> {
    /// The id of the proxy's key it was sealed to.
    pub key_id: &'a str,
    /// When it was sealed (Unix seconds).
    pub time: u64,
    /// The nonce, as written (base64url of [`NONCE_LEN`] bytes): what a replay cache keeps.
    pub nonce: &'a str,
    pub(crate) enc: [u8; 32],
    pub(crate) ciphertext: Vec<u8>,
}

impl<'a> Sealed<'a> {
    /// Reads a header value.
    ///
    /// # Errors
    ///
    /// [`SealError::Invalid`] for anything that is not a version-1 sealed key: another version,
    /// a missing or extra field, a field of the wrong size or alphabet, over
    /// [`MAX_HEADER_LEN`].
    pub fn parse(header: &'a str) -> Result<Self, SealError> {
        if header.len() > MAX_HEADER_LEN {
            return Err(SealError::Invalid);
        }
        let mut fields = header.split('.');
        let mut next = || fields.next().ok_or(SealError::Invalid);
        let (version, key_id, time, nonce, enc, ciphertext) =
            (next()?, next()?, next()?, next()?, next()?, next()?);
        if fields.next().is_some() || version != VERSION {
            return Err(SealError::Invalid);
        }
        if key_id.is_empty() || key_id.len() > MAX_ID_LEN || !is_base64url(key_id) {
            return Err(SealError::Invalid);
        }
        // At most 12 digits: a time past the year 33,000 is not a time.
        if time.is_empty() || time.len() > 12 || !time.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SealError::Invalid);
        }
        let time = time.parse().map_err(|_| SealError::Invalid)?;
        decode_exact::<NONCE_LEN>(nonce)?;
        let enc = decode_exact::<32>(enc)?;
        let ciphertext = URL_SAFE_NO_PAD
            .decode(ciphertext)
            .map_err(|_| SealError::Invalid)?;
        if ciphertext.len() <= TAG_LEN {
            return Err(SealError::Invalid);
        }
        Ok(Self {
            key_id,
            time,
            nonce,
            enc,
            ciphertext,
        })
    }
}

/// Writes a header from its parts (the nonce already encoded).
pub(crate) fn format(
    key_id: &str,
    time: u64,
    nonce: &str,
    enc: &[u8],
    ciphertext: &[u8],
) -> String {
    format!(
        "{VERSION}.{key_id}.{time}.{nonce}.{}.{}",
        URL_SAFE_NO_PAD.encode(enc),
        URL_SAFE_NO_PAD.encode(ciphertext)
    )
}

fn is_base64url(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Exactly `N` bytes of canonical base64url (the decoder refuses stray trailing bits, so one
/// value has one spelling: a replay cannot pass as new by re-spelling its nonce).
fn decode_exact<const N: usize>(text: &str) -> Result<[u8; N], SealError> {
    let mut out = [0u8; N];
    if text.len() != (4 * N).div_ceil(3) {
        return Err(SealError::Invalid);
    }
    match URL_SAFE_NO_PAD.decode_slice(text, &mut out) {
        Ok(n) if n == N => Ok(out),
        _ => Err(SealError::Invalid),
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn header(fields: &[&str]) -> String {
        fields.join(".")
    }

    const NONCE: &str = "AAECAwQFBgcICQoLDA0ODw";
    const ENC: &str = "GvoI097AR6ZDiFFj8RgEdvp921TGqAKeoz-VeWvyrEo";
    const CT: &str = "HFJQ2ANOwreEuiz9adu7ivQGz-P_k44THw3vjItgtNshmTw";

    #[test]
    fn a_well_formed_header_parses() {
        let text = header(&["v1", "abcDEF123_-x", "1700000000", NONCE, ENC, CT]);
        let sealed = Sealed::parse(&text).unwrap();
        assert_eq!(sealed.key_id, "abcDEF123_-x");
        assert_eq!(sealed.time, 1_700_000_000);
        assert_eq!(sealed.nonce, NONCE);
        assert_eq!(sealed.enc.len(), 32);
        assert_eq!(sealed.ciphertext.len(), 35);
    }

    #[test]
    fn anything_else_is_invalid() {
        let good = ["v1", "kid", "1700000000", NONCE, ENC, CT];
        let mut bad: Vec<String> = vec![
            String::new(),
            "v1".into(),
            header(&good[..5]),
            header(&[&good[..], &["extra"]].concat()),
            header(&["v2", "kid", "1700000000", NONCE, ENC, CT]),
            header(&["V1", "kid", "1700000000", NONCE, ENC, CT]),
            header(&["v1", "", "1700000000", NONCE, ENC, CT]),
            header(&["v1", "k.d", "1700000000", NONCE, ENC, CT]),
            header(&["v1", "k/d", "1700000000", NONCE, ENC, CT]),
            header(&["v1", &"k".repeat(65), "1700000000", NONCE, ENC, CT]),
            header(&["v1", "kid", "", NONCE, ENC, CT]),
            header(&["v1", "kid", "-1", NONCE, ENC, CT]),
            header(&["v1", "kid", "+1", NONCE, ENC, CT]),
            header(&["v1", "kid", "1e9", NONCE, ENC, CT]),
            header(&["v1", "kid", "9999999999999", NONCE, ENC, CT]),
            header(&["v1", "kid", "1700000000", &NONCE[1..], ENC, CT]),
            header(&["v1", "kid", "1700000000", &format!("{NONCE}A"), ENC, CT]),
            header(&["v1", "kid", "1700000000", &format!("{NONCE}=="), ENC, CT]),
            // The same 16 bytes with stray bits in the last character: one spelling only.
            header(&["v1", "kid", "1700000000", "AAECAwQFBgcICQoLDA0ODx", ENC, CT]),
            header(&["v1", "kid", "1700000000", NONCE, &ENC[1..], CT]),
            header(&["v1", "kid", "1700000000", NONCE, ENC, "AAAA"]),
            header(&["v1", "kid", "1700000000", NONCE, ENC, &CT.replace('H', "+")]),
            header(&["v1", "kid", "1700000000", NONCE, ENC, &"A".repeat(3000)]),
        ];
        bad.push(format!("{}\u{e9}", header(&good)));
        for text in &bad {
            assert_eq!(Sealed::parse(text), Err(SealError::Invalid), "{text:?}");
        }
    }

    #[test]
    fn every_cut_of_a_header_is_refused_without_a_panic() {
        let text = header(&["v1", "kid", "1700000000", NONCE, ENC, CT]);
        let last_field = text.rfind('.').unwrap();
        for end in 0..text.len() {
            let parsed = Sealed::parse(&text[..end]);
            // A shorter ciphertext may still be well formed; it cannot open (see `cipher`).
            if end <= last_field + 1 {
                assert!(parsed.is_err(), "{end}");
            }
        }
    }
}
