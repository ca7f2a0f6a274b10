//! A backup file, as a user's file picker may hand it over (any file, cut short, edited):
//! parsing never panics; what parses has KDF parameters at or above the floor; opening it with
//! a key it was not sealed under fails.
#![no_main]

use byok_vault::{Backup, SymmetricKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(backup) = Backup::parse(text) else {
        return;
    };
    assert!(backup.kdf().check_floor().is_ok());
    // Only a file sealed under this key could open; fuzzed input never is.
    assert!(backup.open(&SymmetricKey::from_bytes([7; 32])).is_err());
});
