//! A grant token where a key goes: parsing never panics, and a token that parses is exactly
//! the text it came from (one text per token: no second spelling opens the same grant).
#![no_main]

use byok_proxy::grants::Token;
use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;

fuzz_target!(|text: &str| {
    let shaped = Token::is_token_shaped(text);
    if let Some(token) = Token::parse(text) {
        assert!(shaped, "{text:?} parsed but is not token-shaped");
        let again = token.to_text();
        assert_eq!(again.expose_secret(), text.trim());
        let reparsed = Token::parse(again.expose_secret()).expect("our own text");
        assert_eq!(reparsed.id().to_string(), token.id().to_string());
    }
});
