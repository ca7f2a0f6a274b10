//! The vault's behaviour, natively: an in-memory store, the Rust KDF and a manual clock.
//!
//! Module index:
//! - round trips: create, add, lock, unlock, list, defaults, rename, reset
//! - bad input: wrong password, key shapes, failed writes; none of them lose data
//! - tampering: every byte of a record flipped, records swapped, KDF parameters downgraded
//!   (Argon2id and PBKDF2)
//! - auto-lock: idle deadline over a manual clock, with and without the timer
#![cfg(not(target_arch = "wasm32"))]
// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use byok_vault::envelope::{Envelope, HEADER_ID};
use byok_vault::kdf::{self, MIN_ITERATIONS};
use byok_vault::{
    Kdf, KdfAlgorithm, KdfParams, LockReason, ManualClock, MemoryStore, Provider, RustKdf,
    SecretString, SymmetricKey, TestStatus, Vault, VaultError,
};
use futures::executor::block_on;

const PASSWORD: &str = "correct horse battery";
const OPENAI_KEY: &str = "sk-proj-OPENAIopenaiOPENAI1234";
const OPENAI_KEY_2: &str = "sk-proj-SECONDsecondSECOND5678";
const ANTHROPIC_KEY: &str = "sk-ant-api03-ANTHROPICanthropic99";

/// Counts derivations, so tests can prove refused parameters never reach the KDF.
#[derive(Default)]
struct CountingKdf(Cell<u32>);

impl Kdf for CountingKdf {
    async fn derive(
        &self,
        password: &SecretString,
        params: &KdfParams,
    ) -> byok_vault::Result<SymmetricKey> {
        self.0.set(self.0.get() + 1);
        RustKdf.derive(password, params).await
    }
}

type TestVault = Vault<MemoryStore, CountingKdf, Rc<ManualClock>>;

fn new_vault() -> (TestVault, Rc<ManualClock>) {
    let clock = Rc::new(ManualClock::new(1_000_000));
    let vault = Vault::new(MemoryStore::new(), CountingKdf::default(), clock.clone());
    (vault, clock)
}

fn created() -> (TestVault, Rc<ManualClock>) {
    let (vault, clock) = new_vault();
    block_on(vault.create(&PASSWORD.into())).unwrap();
    (vault, clock)
}

/// Reopens the same records in a fresh vault, as a page reload would.
fn reopen(vault: &TestVault) -> TestVault {
    let store = MemoryStore::new();
    for (id, value) in vault.store().snapshot() {
        store.set_raw(&id, value);
    }
    Vault::new(
        store,
        CountingKdf::default(),
        Rc::new(ManualClock::new(2_000_000)),
    )
}

// ---- round trips -----------------------------------------------------------------------------

#[test]
fn create_add_lock_unlock_round_trip() {
    let (vault, _) = created();
    let a = block_on(vault.add(Provider::Openai, OPENAI_KEY, "work")).unwrap();
    let b = block_on(vault.add(Provider::Anthropic, ANTHROPIC_KEY, "home")).unwrap();
    assert_eq!(a.preview, "…1234");
    assert!(a.is_default && b.is_default);
    vault.lock();
    assert!(vault.is_locked());
    assert_eq!(vault.list(), Err(VaultError::Locked));
    assert_eq!(
        vault.key_for(Provider::Openai).map(|_| ()),
        Err(VaultError::Locked)
    );

    let reopened = reopen(&vault);
    assert!(reopened.is_locked());
    assert!(block_on(reopened.exists()).unwrap());
    block_on(reopened.unlock(&PASSWORD.into())).unwrap();
    let keys = reopened.list().unwrap();
    assert_eq!(
        keys.iter().map(|k| k.label.as_str()).collect::<Vec<_>>(),
        ["work", "home"]
    );
    assert_eq!(keys[0], a);
    let (id, key) = reopened.key_for(Provider::Anthropic).unwrap();
    assert_eq!(
        (id.as_str(), key.expose_secret()),
        (b.id.as_str(), ANTHROPIC_KEY)
    );
    assert_eq!(
        reopened.key_for(Provider::Gemini).map(|_| ()),
        Err(VaultError::NoKey(Provider::Gemini))
    );
}

#[test]
fn storage_holds_no_plaintext_key_label_or_provider() {
    let (vault, _) = created();
    block_on(vault.add(Provider::Openai, OPENAI_KEY, "my-secret-label")).unwrap();
    block_on(vault.add(Provider::Anthropic, ANTHROPIC_KEY, "other label")).unwrap();
    let dump = format!("{:?}", vault.store().snapshot());
    for needle in [
        &OPENAI_KEY[3..],
        &ANTHROPIC_KEY[7..],
        "1234",
        "my-secret-label",
        "other label",
        "openai",
        "anthropic",
        PASSWORD,
    ] {
        assert!(!dump.contains(needle), "storage shows {needle:?}");
    }
}

#[test]
fn an_azure_key_keeps_its_resource_sealed_and_hands_it_to_each_request() {
    const AZURE_KEY: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    let (vault, _) = created();
    let before = vault.store().snapshot();
    for (resource, why) in [
        (None, "need the name of their resource"),
        (Some("  "), "need the name of their resource"),
        (Some("evil.example"), "1 to 63"),
        (Some("-contoso"), "1 to 63"),
    ] {
        let err = block_on(vault.add_at(Provider::Azure, resource, AZURE_KEY, "x")).unwrap_err();
        assert_eq!(err.code(), "invalid_input", "{resource:?}");
        assert!(err.to_string().contains(why), "{resource:?}: {err}");
    }
    let err =
        block_on(vault.add_at(Provider::Openai, Some("contoso"), OPENAI_KEY, "x")).unwrap_err();
    assert!(err.to_string().contains("no resource"), "{err}");
    assert_eq!(vault.store().snapshot(), before, "nothing written");

    // Given in any case, kept as hosts compare it.
    let a = block_on(vault.add_at(Provider::Azure, Some(" Contoso-EU "), AZURE_KEY, "eu")).unwrap();
    assert_eq!(a.resource.as_deref(), Some("contoso-eu"));
    let b = block_on(vault.add_at(
        Provider::Azure,
        Some("fabrikam"),
        "f0e1d2c3b4a5968778695a4b3c2d1e0f",
        "us",
    ))
    .unwrap();
    let dump = format!("{:?}", vault.store().snapshot());
    assert!(
        !dump.contains("contoso") && !dump.contains("fabrikam"),
        "sealed"
    );
    let order = vault.keys_in_order(Provider::Azure).unwrap();
    assert_eq!(
        order
            .iter()
            .map(|c| (c.id.as_str(), c.resource.as_deref()))
            .collect::<Vec<_>>(),
        [
            (a.id.as_str(), Some("contoso-eu")),
            (b.id.as_str(), Some("fabrikam"))
        ]
    );
    assert_eq!(
        vault.resource_of(&b.id).unwrap().as_deref(),
        Some("fabrikam")
    );
    let reopened = reopen(&vault);
    block_on(reopened.unlock(&PASSWORD.into())).unwrap();
    // Both were saved at the same instant: found by id, not by place in the list.
    let listed = reopened.list().unwrap();
    let listed_a = listed.iter().find(|k| k.id == a.id).unwrap();
    assert_eq!(listed_a.resource.as_deref(), Some("contoso-eu"));
    // Replacing the secret keeps the resource.
    block_on(reopened.replace(&a.id, "99999999999999999999999999999999")).unwrap();
    assert_eq!(
        reopened.resource_of(&a.id).unwrap().as_deref(),
        Some("contoso-eu")
    );
}

#[test]
fn defaults_follow_set_default_and_removal() {
    let (vault, clock) = created();
    let first = block_on(vault.add(Provider::Openai, OPENAI_KEY, "first")).unwrap();
    clock.advance(10);
    let second = block_on(vault.add(Provider::Openai, OPENAI_KEY_2, "second")).unwrap();
    assert!(first.is_default && !second.is_default);

    block_on(vault.set_default(&second.id)).unwrap();
    let defaults: Vec<bool> = vault.list().unwrap().iter().map(|k| k.is_default).collect();
    assert_eq!(defaults, [false, true]);
    assert_eq!(
        vault.key_for(Provider::Openai).unwrap().1.expose_secret(),
        OPENAI_KEY_2
    );

    block_on(vault.remove(&second.id)).unwrap();
    let keys = vault.list().unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].is_default, "the remaining key is promoted");

    // Persisted, not just in memory.
    let reopened = reopen(&vault);
    block_on(reopened.unlock(&PASSWORD.into())).unwrap();
    assert_eq!(reopened.list().unwrap(), vault.list().unwrap());
}

#[test]
fn rename_use_and_test_are_recorded() {
    let (vault, clock) = created();
    let k = block_on(vault.add(Provider::Openai, OPENAI_KEY, "old")).unwrap();
    clock.advance(5);
    assert_eq!(
        block_on(vault.rename(&k.id, "  new  ")).unwrap().label,
        "new"
    );
    assert!(matches!(
        block_on(vault.rename(&k.id, " ")),
        Err(VaultError::InvalidInput(_))
    ));
    let used = block_on(vault.record_use(&k.id)).unwrap();
    assert_eq!(used.last_used_ms, Some(1_000_005));
    let tested = block_on(vault.record_test(&k.id, TestStatus::Valid)).unwrap();
    assert_eq!(tested.test_status, TestStatus::Valid);
    assert_eq!(
        block_on(vault.rename("entry:nope", "x")),
        Err(VaultError::NotFound("entry:nope".into()))
    );
    let reopened = reopen(&vault);
    block_on(reopened.unlock(&PASSWORD.into())).unwrap();
    assert_eq!(reopened.list().unwrap()[0], tested);
}

#[test]
fn daily_caps_are_kept_sealed_and_survive_reopening() {
    let (vault, _) = created();
    let k = block_on(vault.add(Provider::Openai, OPENAI_KEY, "work")).unwrap();
    assert_eq!(k.daily_cap_usd, None);
    let capped = block_on(vault.set_daily_cap(&k.id, Some(500_000))).unwrap();
    assert_eq!(capped.daily_cap_usd.as_deref(), Some("0.5"));
    assert_eq!(vault.daily_cap(&k.id), Ok(Some(500_000)));
    assert!(matches!(
        block_on(vault.set_daily_cap(&k.id, Some(u64::MAX))),
        Err(VaultError::InvalidInput(_))
    ));
    assert_eq!(
        vault.daily_cap(&k.id),
        Ok(Some(500_000)),
        "a refused cap changes nothing"
    );
    let reopened = reopen(&vault);
    block_on(reopened.unlock(&PASSWORD.into())).unwrap();
    assert_eq!(reopened.daily_cap(&k.id), Ok(Some(500_000)));
    let cleared = block_on(reopened.set_daily_cap(&k.id, None)).unwrap();
    assert_eq!(cleared.daily_cap_usd, None);
    assert_eq!(
        reopened.daily_cap("entry:nope"),
        Err(VaultError::NotFound("entry:nope".into()))
    );
}

// ---- keys over their life ---------------------------------------------------------------------

#[test]
fn replacing_a_key_keeps_its_id_label_default_cap_and_history() {
    let (vault, clock) = created();
    let k = block_on(vault.add(Provider::Openai, OPENAI_KEY, "work")).unwrap();
    block_on(vault.set_daily_cap(&k.id, Some(2_000_000))).unwrap();
    block_on(vault.record_use(&k.id)).unwrap();
    block_on(vault.record_test(&k.id, TestStatus::Invalid)).unwrap();
    block_on(vault.set_expiry(&k.id, Some(5_000_000))).unwrap();
    let before = vault.list().unwrap().remove(0);
    clock.advance(100);

    // Refused: wrong shape, another provider's key, the same key. Nothing changes.
    for (bad, code) in [
        ("sk-short", "invalid_key"),
        (ANTHROPIC_KEY, "invalid_key"),
        (OPENAI_KEY, "invalid_input"),
    ] {
        let err = block_on(vault.replace(&k.id, bad)).unwrap_err();
        assert_eq!(err.code(), code, "{bad}: {err}");
        assert!(!err.to_string().contains(&bad[bad.len() - 6..]), "{err}");
    }
    assert_eq!(vault.list().unwrap(), std::slice::from_ref(&before));
    assert_eq!(
        block_on(vault.replace("entry:nope", OPENAI_KEY_2)),
        Err(VaultError::NotFound("entry:nope".into()))
    );

    let after = block_on(vault.replace(&k.id, &format!(" {OPENAI_KEY_2}\n"))).unwrap();
    assert_eq!(
        (
            &after.id,
            &after.label,
            after.is_default,
            &after.daily_cap_usd
        ),
        (&before.id, &before.label, true, &Some("2".to_owned()))
    );
    assert_eq!(
        (after.created_ms, after.last_used_ms),
        (before.created_ms, before.last_used_ms)
    );
    assert_eq!(after.replaced_ms, Some(1_000_100));
    assert_eq!(after.preview, "…5678");
    // The old secret's test result and expiry date do not describe the new one.
    assert_eq!(
        (after.test_status, after.last_tested_ms, after.expires_ms),
        (TestStatus::Untested, None, None)
    );
    assert_eq!(
        vault.key_for(Provider::Openai).unwrap(),
        (k.id.clone(), OPENAI_KEY_2.into())
    );
    // Sealed like any key, and kept.
    let dump = format!("{:?}", vault.store().snapshot());
    assert!(!dump.contains(&OPENAI_KEY_2[8..]) && !dump.contains(&OPENAI_KEY[8..]));
    let reopened = reopen(&vault);
    block_on(reopened.unlock(&PASSWORD.into())).unwrap();
    assert_eq!(reopened.list().unwrap(), [after]);
    assert_eq!(
        reopened.key_by_id(&k.id).unwrap().1.expose_secret(),
        OPENAI_KEY_2
    );
}

#[test]
fn off_and_expired_keys_are_never_chosen_and_the_next_usable_one_serves() {
    let (vault, clock) = created();
    let first = block_on(vault.add(Provider::Openai, OPENAI_KEY, "first")).unwrap();
    clock.advance(10);
    let second = block_on(vault.add(Provider::Openai, OPENAI_KEY_2, "second")).unwrap();
    let serving = |v: &TestVault| v.key_for(Provider::Openai).map(|(id, _)| id);
    assert_eq!(serving(&vault), Ok(first.id.clone()));

    // The default off: the next usable key serves; its test and grants are refused.
    let off = block_on(vault.set_enabled(&first.id, false)).unwrap();
    assert!(!off.enabled && off.is_default, "off keeps the default mark");
    assert_eq!(serving(&vault), Ok(second.id.clone()));
    assert_eq!(
        vault.serving_id(Provider::Openai),
        Ok(Some(second.id.clone()))
    );
    let refused = vault.usable_key_by_id(&first.id).unwrap_err();
    assert_eq!(refused, VaultError::KeyOff { expired: false });
    assert!(refused.to_string().contains("turned off"));
    assert!(
        vault.key_by_id(&first.id).is_ok(),
        "still there for usage and grants"
    );

    // Both unusable: no_key, not the off key. The second expires at a moment of the clock.
    block_on(vault.set_expiry(&second.id, Some(1_000_500))).unwrap();
    assert_eq!(serving(&vault), Ok(second.id.clone()), "not yet");
    clock.advance(490);
    assert_eq!(serving(&vault), Err(VaultError::NoKey(Provider::Openai)));
    assert_eq!(vault.serving_id(Provider::Openai), Ok(None));
    assert_eq!(
        vault.usable_key_by_id(&second.id),
        Err(VaultError::KeyOff { expired: true })
    );

    // Back on: the default serves again; the state is sealed and survives a reload.
    block_on(vault.set_enabled(&first.id, true)).unwrap();
    assert_eq!(serving(&vault), Ok(first.id.clone()));
    block_on(vault.set_enabled(&first.id, false)).unwrap();
    let reopened = reopen(&vault); // its clock reads 2,000,000: past the expiry
    block_on(reopened.unlock(&PASSWORD.into())).unwrap();
    assert_eq!(reopened.list().unwrap(), vault.list().unwrap());
    assert_eq!(
        reopened.key_for(Provider::Openai),
        Err(VaultError::NoKey(Provider::Openai))
    );
    // Removing the expiry brings the second back; other providers never mix in.
    block_on(reopened.set_expiry(&second.id, None)).unwrap();
    assert_eq!(
        reopened.key_for(Provider::Openai).map(|(id, _)| id),
        Ok(second.id)
    );
    assert_eq!(
        reopened.key_for(Provider::Anthropic),
        Err(VaultError::NoKey(Provider::Anthropic))
    );
}

#[test]
fn daily_retest_is_off_by_default_and_picks_usable_keys_not_tested_for_a_day() {
    let (vault, clock) = created();
    let a = block_on(vault.add(Provider::Openai, OPENAI_KEY, "a")).unwrap();
    let b = block_on(vault.add(Provider::Openai, OPENAI_KEY_2, "b")).unwrap();
    let c = block_on(vault.add(Provider::Anthropic, ANTHROPIC_KEY, "c")).unwrap();
    assert_eq!(vault.daily_retest(), Ok(false));
    assert!(
        vault.due_for_retest().unwrap().is_empty(),
        "off: nothing is sent"
    );

    block_on(vault.set_daily_retest(true)).unwrap();
    block_on(vault.set_enabled(&c.id, false)).unwrap();
    let due_ids = |v: &TestVault| -> Vec<String> {
        let mut ids: Vec<_> = v
            .due_for_retest()
            .unwrap()
            .into_iter()
            .map(|d| d.0)
            .collect();
        ids.sort();
        ids
    };
    let due = due_ids(&vault);
    let mut want = vec![a.id.clone(), b.id.clone()];
    want.sort();
    assert_eq!(due, want, "never tested, and on");

    block_on(vault.record_retest(&a.id, TestStatus::Valid)).unwrap();
    block_on(vault.record_test(&b.id, TestStatus::Invalid)).unwrap();
    assert!(due_ids(&vault).is_empty());
    // A day of use (activity every hour keeps it unlocked under a 2-hour auto-lock).
    block_on(vault.set_auto_lock_ms(2 * 3_600_000)).unwrap();
    for _ in 0..23 {
        clock.advance(3_600_000);
        vault.touch();
    }
    clock.advance(byok_vault::RETEST_INTERVAL_MS - 23 * 3_600_000 - 1);
    assert!(due_ids(&vault).is_empty());
    clock.advance(1);
    assert_eq!(due_ids(&vault), want, "a day later");

    // Stored with the vault; changing the auto-lock period keeps it.
    block_on(vault.set_auto_lock_ms(60_000)).unwrap();
    let reopened = reopen(&vault);
    block_on(reopened.unlock(&PASSWORD.into())).unwrap();
    assert_eq!(reopened.daily_retest(), Ok(true));
    assert_eq!(reopened.auto_lock_ms(), 60_000);
    block_on(reopened.set_daily_retest(false)).unwrap();
    assert!(due_ids(&reopened).is_empty());
    reopened.lock();
    assert_eq!(reopened.daily_retest(), Err(VaultError::Locked));
}

#[test]
fn background_retests_do_not_keep_an_idle_vault_open() {
    let (vault, clock) = created();
    let a = block_on(vault.add(Provider::Openai, OPENAI_KEY, "a")).unwrap();
    block_on(vault.set_daily_retest(true)).unwrap();
    let idle = vault.auto_lock_ms();
    clock.advance(idle - 10);
    // The ticker asks, tests and records: none of it is activity.
    assert!(vault.daily_retest().unwrap());
    assert_eq!(vault.due_for_retest().unwrap().len(), 1);
    let retested = block_on(vault.record_retest(&a.id, TestStatus::Valid)).unwrap();
    assert_eq!(retested.test_status, TestStatus::Valid);
    clock.advance(10);
    assert!(vault.check_idle(), "locked on time");
    assert_eq!(
        vault.due_for_retest().map(|d| d.len()),
        Err(VaultError::Locked)
    );
}

#[test]
fn reset_wipes_and_locks() {
    let (vault, _) = created();
    block_on(vault.add(Provider::Openai, OPENAI_KEY, "work")).unwrap();
    block_on(vault.reset()).unwrap();
    assert!(vault.is_locked());
    assert!(vault.store().snapshot().is_empty());
    assert!(!block_on(vault.exists()).unwrap());
    assert_eq!(
        block_on(vault.unlock(&PASSWORD.into())),
        Err(VaultError::NotCreated)
    );
    block_on(vault.create(&"a new password".into())).unwrap();
}

// ---- bad input -------------------------------------------------------------------------------

#[test]
fn wrong_password_changes_nothing() {
    let (vault, _) = created();
    block_on(vault.add(Provider::Openai, OPENAI_KEY, "work")).unwrap();
    vault.lock();
    let before = vault.store().snapshot();
    for wrong in ["correct horse batterz", "", "CORRECT HORSE BATTERY"] {
        let err = block_on(vault.unlock(&wrong.into())).unwrap_err();
        assert_eq!(err, VaultError::Decrypt);
        assert_eq!(err.to_string(), "wrong password or damaged vault data");
        assert!(vault.is_locked());
    }
    assert_eq!(vault.store().snapshot(), before);
    block_on(vault.unlock(&PASSWORD.into())).unwrap();
    assert_eq!(vault.list().unwrap().len(), 1);
}

#[test]
fn create_refuses_short_passwords_and_existing_vaults() {
    let (vault, _) = new_vault();
    assert!(matches!(
        block_on(vault.create(&"short".into())),
        Err(VaultError::InvalidInput(_))
    ));
    assert!(vault.store().snapshot().is_empty());
    block_on(vault.create(&PASSWORD.into())).unwrap();
    let before = vault.store().snapshot();
    assert_eq!(
        block_on(vault.create(&"another password".into())),
        Err(VaultError::AlreadyExists)
    );
    assert_eq!(vault.store().snapshot(), before);
}

#[test]
fn bad_keys_are_refused_with_a_reason_and_nothing_is_written() {
    let (vault, _) = created();
    let before = vault.store().snapshot();
    let err = block_on(vault.add(Provider::Openai, ANTHROPIC_KEY, "x")).unwrap_err();
    assert_eq!(err.code(), "invalid_key");
    assert!(err.to_string().contains("Anthropic"));
    assert!(!err.to_string().contains("ANTHROPIC"));
    assert!(block_on(vault.add(Provider::Openai, "   ", "x")).is_err());
    assert!(block_on(vault.add(Provider::Openai, OPENAI_KEY, "")).is_err());
    assert_eq!(vault.store().snapshot(), before);
}

#[test]
fn failed_writes_leave_everything_as_it_was() {
    let (vault, _) = created();
    let k = block_on(vault.add(Provider::Openai, OPENAI_KEY, "work")).unwrap();
    let before = (vault.store().snapshot(), vault.list().unwrap());

    vault.store().fail_next_write();
    assert!(matches!(
        block_on(vault.add(Provider::Openai, OPENAI_KEY_2, "w2")),
        Err(VaultError::Storage(_))
    ));
    vault.store().fail_next_write();
    assert!(block_on(vault.remove(&k.id)).is_err());
    vault.store().fail_next_write();
    assert!(block_on(vault.rename(&k.id, "renamed")).is_err());
    vault.store().fail_next_write();
    assert!(block_on(vault.change_password(&PASSWORD.into(), &"new password!".into())).is_err());

    assert_eq!((vault.store().snapshot(), vault.list().unwrap()), before);
    vault.lock();
    block_on(vault.unlock(&PASSWORD.into())).unwrap();
}

#[test]
fn change_password_rewraps_only_the_vault_key() {
    let (vault, _) = created();
    block_on(vault.add(Provider::Openai, OPENAI_KEY, "work")).unwrap();
    let before = vault.store().snapshot();

    let wrong = block_on(vault.change_password(&"not the password".into(), &"new password".into()));
    assert_eq!(wrong, Err(VaultError::Decrypt));
    assert_eq!(vault.store().snapshot(), before);

    block_on(vault.change_password(&PASSWORD.into(), &"new password".into())).unwrap();
    let after = vault.store().snapshot();
    assert_ne!(after[HEADER_ID], before[HEADER_ID]);
    for (id, value) in &before {
        if id != HEADER_ID {
            assert_eq!(&after[id], value, "{id} was rewritten");
        }
    }
    vault.lock();
    assert_eq!(
        block_on(vault.unlock(&PASSWORD.into())),
        Err(VaultError::Decrypt)
    );
    block_on(vault.unlock(&"new password".into())).unwrap();
    assert_eq!(
        vault.key_for(Provider::Openai).unwrap().1.expose_secret(),
        OPENAI_KEY
    );
}

// ---- tampering -------------------------------------------------------------------------------

fn flip(raw: &str, i: usize) -> String {
    let mut bytes = raw.as_bytes().to_vec();
    bytes[i] ^= 0x01;
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn flipping_any_byte_of_the_header_fails_cleanly() {
    let (vault, _) = created();
    block_on(vault.add(Provider::Openai, OPENAI_KEY, "work")).unwrap();
    vault.lock();
    let original = vault.store().snapshot()[HEADER_ID].clone();
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..original.len() {
        let tampered = flip(&original, i);
        if tampered == original {
            continue;
        }
        vault.store().set_raw(HEADER_ID, tampered);
        let err = block_on(vault.unlock(&PASSWORD.into())).unwrap_err();
        assert!(
            matches!(
                err,
                VaultError::Decrypt | VaultError::WeakKdf | VaultError::UnsupportedFormat(_)
            ),
            "byte {i}: {err:?}"
        );
        assert!(vault.is_locked());
        *outcomes.entry(err.code().into()).or_default() += 1;
    }
    println!("header flips of {} bytes: {outcomes:?}", original.len());
    assert!(outcomes["decrypt"] > original.len() / 2);
    vault.store().set_raw(HEADER_ID, original);
    block_on(vault.unlock(&PASSWORD.into())).unwrap();
    assert_eq!(vault.list().unwrap().len(), 1);
}

#[test]
fn flipping_any_byte_of_an_entry_makes_only_that_entry_unreadable() {
    let (vault, _) = created();
    let victim = block_on(vault.add(Provider::Openai, OPENAI_KEY, "victim")).unwrap();
    let other = block_on(vault.add(Provider::Anthropic, ANTHROPIC_KEY, "other")).unwrap();
    vault.lock();
    let original = vault.store().snapshot()[&victim.id].clone();
    for i in 0..original.len() {
        let tampered = flip(&original, i);
        if tampered == original {
            continue;
        }
        vault.store().set_raw(&victim.id, tampered);
        block_on(vault.unlock(&PASSWORD.into())).unwrap();
        assert_eq!(
            vault.unreadable().unwrap(),
            std::slice::from_ref(&victim.id),
            "byte {i}"
        );
        assert_eq!(
            vault.list().unwrap(),
            std::slice::from_ref(&other),
            "byte {i}"
        );
        vault.lock();
    }
    // The damaged record can be removed; the others are untouched.
    block_on(vault.unlock(&PASSWORD.into())).unwrap();
    block_on(vault.remove(&victim.id)).unwrap();
    assert!(vault.unreadable().unwrap().is_empty());
    assert!(!vault.store().snapshot().contains_key(&victim.id));
}

#[test]
fn swapped_or_replayed_records_do_not_open() {
    let (vault, _) = created();
    let a = block_on(vault.add(Provider::Openai, OPENAI_KEY, "a")).unwrap();
    let b = block_on(vault.add(Provider::Anthropic, ANTHROPIC_KEY, "b")).unwrap();
    vault.lock();
    let snap = vault.store().snapshot();

    // Swap two entries between slots.
    vault.store().set_raw(&a.id, snap[&b.id].clone());
    vault.store().set_raw(&b.id, snap[&a.id].clone());
    block_on(vault.unlock(&PASSWORD.into())).unwrap();
    assert_eq!(vault.unreadable().unwrap().len(), 2);
    assert!(vault.list().unwrap().is_empty());
    vault.lock();

    // An entry copied into a new slot, and into the settings slot.
    vault.store().set_raw(&a.id, snap[&a.id].clone());
    vault.store().set_raw(&b.id, snap[&b.id].clone());
    let copy = format!("{}00", &a.id[..a.id.len() - 2]);
    vault.store().set_raw(&copy, snap[&a.id].clone());
    vault.store().set_raw("settings", snap[&a.id].clone());
    block_on(vault.unlock(&PASSWORD.into())).unwrap();
    assert_eq!(vault.unreadable().unwrap(), [copy]);
    assert_eq!(vault.list().unwrap().len(), 2);
    assert_eq!(vault.auto_lock_ms(), byok_vault::DEFAULT_TIMEOUT_MS);
    vault.lock();

    // An entry in place of the header.
    vault.store().set_raw(HEADER_ID, snap[&a.id].clone());
    assert_eq!(
        block_on(vault.unlock(&PASSWORD.into())),
        Err(VaultError::Decrypt)
    );

    // A header from another vault with the same password.
    let (other, _) = created();
    vault
        .store()
        .set_raw(HEADER_ID, other.store().snapshot()[HEADER_ID].clone());
    block_on(vault.unlock(&PASSWORD.into())).unwrap();
    assert_eq!(
        vault.unreadable().unwrap().len(),
        3,
        "entries of this vault do not open"
    );
}

#[test]
fn downgraded_kdf_parameters_are_refused_before_deriving() {
    let argon2id: [fn(&mut KdfParams); 6] = [
        |p| p.memory_kib = kdf::ARGON2_MIN_MEMORY_KIB - 1,
        |p| p.memory_kib = 8,
        |p| p.iterations = 1,
        |p| p.parallelism = 0,
        |p| p.salt.truncate(8),
        // Relabelled as PBKDF2 with a tiny count: still refused, never derived.
        |p| {
            p.alg = KdfAlgorithm::Pbkdf2Sha256;
            p.memory_kib = 0;
            p.parallelism = 0;
        },
    ];
    let pbkdf2: [fn(&mut KdfParams); 4] = [
        |p| p.iterations = MIN_ITERATIONS - 1,
        |p| p.iterations = 1,
        |p| p.salt.truncate(8),
        |p| p.alg = KdfAlgorithm::Argon2id, // no memory or lanes: below Argon2id's floor
    ];
    for (alg, tweaks) in [
        (KdfAlgorithm::Argon2id, &argon2id[..]),
        (KdfAlgorithm::Pbkdf2Sha256, &pbkdf2[..]),
    ] {
        let (vault, _) = new_vault();
        block_on(vault.create_with(&PASSWORD.into(), alg)).unwrap();
        let original = vault.store().snapshot()[HEADER_ID].clone();
        let header = Envelope::parse(&original).unwrap();
        assert_eq!(header.kdf.as_ref().unwrap().alg, alg);
        for (i, tweak) in tweaks.iter().enumerate() {
            let mut weak = header.clone();
            tweak(weak.kdf.as_mut().unwrap());
            vault.store().set_raw(HEADER_ID, weak.to_json());
            let kdf_calls = vault_kdf_calls(&vault);
            assert_eq!(
                block_on(vault.unlock(&PASSWORD.into())),
                Err(VaultError::WeakKdf),
                "{alg:?} tweak {i}"
            );
            assert_eq!(
                vault_kdf_calls(&vault),
                kdf_calls,
                "refused before deriving"
            );
        }
        // Raising a cost is not a downgrade, but the parameters are bound to the key.
        let mut raised = header.clone();
        raised.kdf.as_mut().unwrap().iterations += 1;
        vault.store().set_raw(HEADER_ID, raised.to_json());
        assert_eq!(
            block_on(vault.unlock(&PASSWORD.into())),
            Err(VaultError::Decrypt),
            "{alg:?}"
        );
        if alg == KdfAlgorithm::Argon2id {
            let mut more_memory = header.clone();
            more_memory.kdf.as_mut().unwrap().memory_kib += 1024;
            vault.store().set_raw(HEADER_ID, more_memory.to_json());
            assert_eq!(
                block_on(vault.unlock(&PASSWORD.into())),
                Err(VaultError::Decrypt)
            );
        }
        vault.store().set_raw(HEADER_ID, original);
        block_on(vault.unlock(&PASSWORD.into())).unwrap();
    }
}

#[test]
fn new_vaults_hash_with_argon2id_and_pbkdf2_vaults_keep_working() {
    let (vault, _) = created();
    assert_eq!(
        block_on(vault.password_hashing()).unwrap().describe(),
        "Argon2id, 64 MiB, 3 passes"
    );

    // A vault made before Argon2id (PBKDF2) opens, and moves to Argon2id on a password change
    // without touching its keys; choosing PBKDF2 again is possible.
    let (old, _) = new_vault();
    block_on(old.create_with(&PASSWORD.into(), KdfAlgorithm::Pbkdf2Sha256)).unwrap();
    block_on(old.add(Provider::Openai, OPENAI_KEY, "work")).unwrap();
    let old = reopen(&old);
    assert_eq!(
        block_on(old.password_hashing()).unwrap().alg,
        KdfAlgorithm::Pbkdf2Sha256
    );
    block_on(old.unlock(&PASSWORD.into())).unwrap();
    block_on(old.change_password(&PASSWORD.into(), &"another long password".into())).unwrap();
    assert_eq!(
        block_on(old.password_hashing()).unwrap().alg,
        KdfAlgorithm::Argon2id
    );
    let old = reopen(&old);
    assert_eq!(
        block_on(old.unlock(&PASSWORD.into())),
        Err(VaultError::Decrypt)
    );
    block_on(old.unlock(&"another long password".into())).unwrap();
    assert_eq!(
        old.key_for(Provider::Openai).unwrap().1.expose_secret(),
        OPENAI_KEY
    );
    block_on(old.change_password_with(
        &"another long password".into(),
        &PASSWORD.into(),
        KdfAlgorithm::Pbkdf2Sha256,
    ))
    .unwrap();
    assert_eq!(
        block_on(old.password_hashing()).unwrap().describe(),
        "PBKDF2-SHA256, 600,000 iterations"
    );
    let old = reopen(&old);
    block_on(old.unlock(&PASSWORD.into())).unwrap();
    assert_eq!(old.list().unwrap().len(), 1);
}

fn vault_kdf_calls(vault: &TestVault) -> u32 {
    vault.kdf().0.get()
}

// ---- auto-lock -------------------------------------------------------------------------------

#[test]
fn auto_lock_after_the_idle_period_even_without_a_timer() {
    let (vault, clock) = created();
    let events = Rc::new(RefCell::new(Vec::new()));
    let sink = events.clone();
    vault.subscribe(move |reason| sink.borrow_mut().push(reason));
    block_on(vault.add(Provider::Openai, OPENAI_KEY, "work")).unwrap();

    clock.advance(29 * 60_000);
    vault.touch();
    clock.advance(29 * 60_000);
    assert!(!vault.is_locked(), "activity pushed the deadline out");
    assert_eq!(vault.remaining_ms(), Some(60_000));
    clock.advance(60_000);
    // No timer ran; the next call sees the deadline and locks.
    assert_eq!(
        vault.key_for(Provider::Openai).map(|_| ()),
        Err(VaultError::Locked)
    );
    assert_eq!(*events.borrow(), [LockReason::Idle]);
    vault.touch();
    assert!(
        vault.is_locked(),
        "activity after the deadline does not revive it"
    );
    assert_eq!(vault.remaining_ms(), None);
}

#[test]
fn auto_lock_period_is_stored_with_the_vault() {
    let (vault, clock) = created();
    block_on(vault.set_auto_lock_ms(5 * 60_000)).unwrap();
    assert!(matches!(
        block_on(vault.set_auto_lock_ms(5)),
        Err(VaultError::InvalidInput(_))
    ));
    clock.advance(5 * 60_000);
    assert!(vault.check_idle());
    let reopened = reopen(&vault);
    block_on(reopened.unlock(&PASSWORD.into())).unwrap();
    assert_eq!(reopened.auto_lock_ms(), 5 * 60_000);
}

#[test]
fn observers_hear_unlock_and_lock() {
    let (vault, _) = new_vault();
    let events = Rc::new(RefCell::new(Vec::new()));
    let sink = events.clone();
    vault.subscribe(move |reason| sink.borrow_mut().push(reason));
    block_on(vault.create(&PASSWORD.into())).unwrap();
    vault.lock();
    vault.lock();
    block_on(vault.unlock(&PASSWORD.into())).unwrap();
    block_on(vault.reset()).unwrap();
    assert_eq!(
        *events.borrow(),
        [
            LockReason::Unlocked,
            LockReason::Explicit,
            LockReason::Unlocked,
            LockReason::Reset
        ]
    );
}
