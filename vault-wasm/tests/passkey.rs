//! Passkey unlock, natively: the PRF outputs an authenticator would give are made up here; the
//! WebAuthn ceremonies themselves are exercised by the WebDriver journey (a CDP virtual
//! authenticator with PRF).
#![cfg(not(target_arch = "wasm32"))]
// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used)]

use std::rc::Rc;

use byok_vault::envelope::{Envelope, HEADER_ID, PASSKEY_PREFIX, PRF_SALT_LEN};
use byok_vault::passkey::{MAX_PASSKEYS, new_prf_salt};
use byok_vault::{
    ManualClock, MemoryStore, PasskeyParams, Provider, RustKdf, SecretString, Vault, VaultError,
};
use futures::executor::block_on;

const PASSWORD: &str = "correct horse battery";
const OPENAI_KEY: &str = "sk-proj-OPENAIopenaiOPENAI1234";

type TestVault = Vault<MemoryStore, RustKdf, Rc<ManualClock>>;

/// A made-up authenticator credential: its id and the PRF output it gives for its salt.
struct FakePasskey {
    params: PasskeyParams,
    prf: [u8; 32],
}

fn passkey(n: u8) -> FakePasskey {
    FakePasskey {
        params: PasskeyParams {
            credential: vec![n; 20],
            salt: new_prf_salt().unwrap(),
        },
        prf: [n.wrapping_mul(31).wrapping_add(1); 32],
    }
}

fn created() -> TestVault {
    created_with_clock().0
}

fn created_with_clock() -> (TestVault, Rc<ManualClock>) {
    let clock = Rc::new(ManualClock::new(1_000_000));
    let vault = Vault::new(MemoryStore::new(), RustKdf, clock.clone());
    block_on(vault.create(&PASSWORD.into())).unwrap();
    block_on(vault.add(Provider::Openai, OPENAI_KEY, "work")).unwrap();
    (vault, clock)
}

fn reopen(vault: &TestVault) -> TestVault {
    let store = MemoryStore::new();
    for (id, value) in vault.store().snapshot() {
        store.set_raw(&id, value);
    }
    Vault::new(store, RustKdf, Rc::new(ManualClock::new(2_000_000)))
}

fn register(vault: &TestVault, key: &FakePasskey, label: &str) -> String {
    block_on(vault.add_passkey(key.params.clone(), &key.prf, label))
        .unwrap()
        .id
}

fn unlock_with(vault: &TestVault, key: &FakePasskey) -> byok_vault::Result<()> {
    block_on(vault.unlock_with_passkey(&key.params.credential, &key.prf))
}

fn openai_key(vault: &TestVault) -> String {
    vault
        .key_for(Provider::Openai)
        .unwrap()
        .1
        .expose_secret()
        .to_owned()
}

#[test]
fn a_registered_passkey_unlocks_and_the_password_keeps_working() {
    let vault = created();
    let laptop = passkey(1);
    register(&vault, &laptop, "Laptop");
    vault.lock();

    let vault = reopen(&vault);
    let requests = block_on(vault.passkey_requests()).unwrap();
    assert_eq!(requests.len(), 1, "readable while locked");
    assert_eq!(requests[0].params, laptop.params);
    unlock_with(&vault, &laptop).unwrap();
    assert_eq!(openai_key(&vault), OPENAI_KEY);
    let listed = block_on(vault.passkeys()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].label, "Laptop");
    assert_eq!(listed[0].created_ms, 1_000_000);

    vault.lock();
    block_on(vault.unlock(&PASSWORD.into())).unwrap();
    assert_eq!(openai_key(&vault), OPENAI_KEY);
}

#[test]
fn wrong_outputs_unknown_credentials_and_tampering_all_look_the_same() {
    let vault = created();
    let laptop = passkey(1);
    let id = register(&vault, &laptop, "Laptop");
    vault.lock();

    let mut wrong_prf = [0u8; 32];
    wrong_prf.copy_from_slice(&laptop.prf);
    wrong_prf[0] ^= 1;
    assert_eq!(
        block_on(vault.unlock_with_passkey(&laptop.params.credential, &wrong_prf)),
        Err(VaultError::Decrypt)
    );
    assert_eq!(
        unlock_with(&vault, &passkey(2)),
        Err(VaultError::Decrypt),
        "an unregistered credential"
    );
    assert_eq!(
        block_on(vault.unlock_with_passkey(&laptop.params.credential, &laptop.prf[..16])),
        Err(VaultError::Decrypt),
        "a short output"
    );

    // Every byte of the passkey record flipped: refused, never a crash, and the record is
    // unchanged for the next try.
    let original = vault.store().snapshot()[&id].clone();
    for i in 0..original.len() {
        let mut bytes = original.clone().into_bytes();
        bytes[i] ^= 0x01;
        let Ok(tampered) = String::from_utf8(bytes) else {
            continue;
        };
        vault.store().set_raw(&id, tampered);
        assert!(
            unlock_with(&vault, &laptop).is_err(),
            "byte {i} flipped still unlocked"
        );
        assert!(vault.is_locked());
    }
    vault.store().set_raw(&id, original.clone());

    // The wrapped key cannot be moved to another credential (the id is bound).
    let mut moved = Envelope::parse(&original).unwrap();
    moved.passkey.as_mut().unwrap().credential = vec![2; 20];
    vault.store().set_raw(&id, moved.to_json());
    let mut other = passkey(2);
    other.prf = laptop.prf;
    assert_eq!(unlock_with(&vault, &other), Err(VaultError::Decrypt));
    vault.store().set_raw(&id, original);
    unlock_with(&vault, &laptop).unwrap();
}

#[test]
fn changing_the_password_keeps_passkeys_working() {
    let vault = created();
    let laptop = passkey(1);
    register(&vault, &laptop, "Laptop");
    let header_before = vault.store().snapshot()[HEADER_ID].clone();
    block_on(vault.change_password(&PASSWORD.into(), &"a new long password".into())).unwrap();
    assert_ne!(vault.store().snapshot()[HEADER_ID], header_before);
    vault.lock();
    unlock_with(&vault, &laptop).unwrap();
    assert_eq!(openai_key(&vault), OPENAI_KEY);
    vault.lock();
    assert_eq!(
        block_on(vault.unlock(&PASSWORD.into())),
        Err(VaultError::Decrypt)
    );
}

#[test]
fn several_passkeys_and_removing_one_deletes_its_wrapped_copy() {
    let (vault, clock) = created_with_clock();
    let (laptop, phone) = (passkey(1), passkey(2));
    let laptop_id = register(&vault, &laptop, "Laptop");
    clock.advance(1_000); // listed oldest first
    register(&vault, &phone, "Phone");
    assert_eq!(
        block_on(vault.passkeys())
            .unwrap()
            .iter()
            .map(|p| p.label.as_str())
            .collect::<Vec<_>>(),
        ["Laptop", "Phone"]
    );
    assert_eq!(
        block_on(vault.add_passkey(laptop.params.clone(), &laptop.prf, "Again")),
        Err(VaultError::InvalidInput(
            "this passkey is already registered".into()
        ))
    );

    block_on(vault.remove_passkey(&laptop_id)).unwrap();
    let records = vault.store().snapshot();
    assert!(
        !records
            .keys()
            .any(|id| id.ends_with(&laptop_id[PASSKEY_PREFIX.len()..])),
        "its record and its label are gone"
    );
    assert_eq!(
        block_on(vault.remove_passkey(&laptop_id)),
        Err(VaultError::NotFound(laptop_id.clone()))
    );
    vault.lock();
    assert_eq!(unlock_with(&vault, &laptop), Err(VaultError::Decrypt));
    unlock_with(&vault, &phone).unwrap();
    assert_eq!(block_on(vault.passkeys()).unwrap().len(), 1);
}

#[test]
fn registering_needs_an_unlocked_vault_and_sane_input() {
    let vault = created();
    let laptop = passkey(1);
    vault.lock();
    assert_eq!(
        block_on(vault.add_passkey(laptop.params.clone(), &laptop.prf, "Laptop")),
        Err(VaultError::Locked)
    );
    assert_eq!(block_on(vault.passkeys()), Err(VaultError::Locked));
    block_on(vault.unlock(&PASSWORD.into())).unwrap();

    let mut short_salt = laptop.params.clone();
    short_salt.salt.truncate(PRF_SALT_LEN - 1);
    assert!(matches!(
        block_on(vault.add_passkey(short_salt, &laptop.prf, "Laptop")),
        Err(VaultError::InvalidInput(_))
    ));
    assert!(matches!(
        block_on(vault.add_passkey(laptop.params.clone(), &laptop.prf[..31], "Laptop")),
        Err(VaultError::InvalidInput(_))
    ));
    assert!(matches!(
        block_on(vault.add_passkey(laptop.params.clone(), &laptop.prf, "  ")),
        Err(VaultError::InvalidInput(_))
    ));
    // A failed write leaves nothing half-registered.
    vault.store().fail_next_write();
    assert!(block_on(vault.add_passkey(laptop.params.clone(), &laptop.prf, "Laptop")).is_err());
    assert!(block_on(vault.passkey_requests()).unwrap().is_empty());

    for n in 0..MAX_PASSKEYS {
        register(&vault, &passkey(10 + n as u8), &format!("Key {n}"));
    }
    assert!(matches!(
        block_on(vault.add_passkey(laptop.params.clone(), &laptop.prf, "One too many")),
        Err(VaultError::InvalidInput(_))
    ));
}

#[test]
fn the_store_holds_no_label_or_vault_key_in_the_clear() {
    let vault = created();
    let laptop = passkey(1);
    register(&vault, &laptop, "My secret laptop name");
    let everything = vault
        .store()
        .snapshot()
        .into_values()
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!everything.contains("My secret laptop name"));
    assert!(!everything.contains(OPENAI_KEY));
    let unlocked = SecretString::from(PASSWORD);
    assert!(!everything.contains(unlocked.expose_secret()));
}

#[test]
fn a_passkey_cannot_unlock_a_vault_that_is_not_there() {
    let vault = created();
    let laptop = passkey(1);
    register(&vault, &laptop, "Laptop");
    block_on(vault.reset()).unwrap();
    assert_eq!(unlock_with(&vault, &laptop), Err(VaultError::NotCreated));
    assert!(block_on(vault.passkey_requests()).unwrap().is_empty());
}
