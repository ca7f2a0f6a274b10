//! An `X-BYOK-Sealed` header as a client may send it (any bytes, cut short, edited): parsing
//! never panics; what parses has the documented shape; opening it fails unless it was sealed
//! to this key for this request, which fuzzed input never is.
#![no_main]

use byok_seal::{KeyPair, MAX_HEADER_LEN, NONCE_LEN, Request, Sealed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(sealed) = Sealed::parse(text) else {
        return;
    };
    assert!(text.len() <= MAX_HEADER_LEN);
    assert!(text.starts_with("v1."));
    assert_eq!(sealed.nonce.len(), (4 * NONCE_LEN).div_ceil(3));
    assert!(!sealed.key_id.is_empty());
    let pair = KeyPair::derive(&[7; 32]);
    let request = Request::new("POST", "/openai/v1/chat/completions", b"{}");
    assert!(pair.open(&sealed, &request).is_err());
});
