//! A stored vault record, as IndexedDB (or anyone with the disk) may hand it back: parsing never
//! panics; a parsed record serializes back to itself; opening it with a wrong key fails; KDF
//! parameters below the floor are refused.
#![no_main]

use byok_vault::SymmetricKey;
use byok_vault::envelope::{Envelope, RecordKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    let Ok(envelope) = Envelope::parse(raw) else {
        return;
    };
    let again = Envelope::parse(&envelope.to_json()).expect("what we write, we read");
    assert_eq!(again, envelope);
    if let Some(kdf) = &envelope.kdf {
        let _ = kdf.check_floor();
    }
    let key = SymmetricKey::from_bytes([7; 32]);
    for kind in [
        RecordKind::VaultKey,
        RecordKind::Entry,
        RecordKind::Settings,
        RecordKind::Grant,
    ] {
        // Only a record sealed under this key could open; random input never is.
        assert!(envelope.open(&key, kind, "entry:x").is_err());
    }
});
