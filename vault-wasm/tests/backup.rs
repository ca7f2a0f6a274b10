//! Encrypted backups, natively: export, restore into another vault, the merge rules, and every
//! way a file can be wrong (password, a flipped byte, cut short, from the future, weakened).
#![cfg(not(target_arch = "wasm32"))]
// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use byok_vault::backup::{BACKUP_FORMAT, MAX_BACKUP_BYTES};
use byok_vault::kdf;
use byok_vault::{
    Kdf, KdfParams, ManualClock, MemoryStore, Provider, RustKdf, SecretString, SymmetricKey,
    TestStatus, Vault, VaultError,
};
use futures::executor::block_on;

const PASSWORD: &str = "correct horse battery";
const BACKUP_PASSWORD: &str = "a different backup password";
const OPENAI_KEY: &str = "sk-proj-OPENAIopenaiOPENAI1234";
const OPENAI_KEY_2: &str = "sk-proj-SECONDsecondSECOND5678";
const ANTHROPIC_KEY: &str = "sk-ant-api03-ANTHROPICanthropic99";

/// The Rust KDF, remembering each result and counting real derivations: tampering tests open
/// hundreds of files whose KDF parameters are mostly unchanged.
#[derive(Default)]
struct MemoKdf {
    derived: Cell<u32>,
    seen: RefCell<BTreeMap<(String, String), [u8; 32]>>,
}

impl Kdf for MemoKdf {
    async fn derive(
        &self,
        password: &SecretString,
        params: &KdfParams,
    ) -> byok_vault::Result<SymmetricKey> {
        let slot = (password.expose_secret().to_owned(), params.binding());
        if let Some(bytes) = self.seen.borrow().get(&slot) {
            return Ok(SymmetricKey::from_bytes(*bytes));
        }
        self.derived.set(self.derived.get() + 1);
        let key = RustKdf.derive(password, params).await?;
        self.seen.borrow_mut().insert(slot, *key.expose_secret());
        Ok(key)
    }
}

type TestVault = Vault<MemoryStore, Rc<MemoKdf>, Rc<ManualClock>>;

fn vault_with(kdf: &Rc<MemoKdf>, password: &str) -> TestVault {
    let vault = Vault::new(
        MemoryStore::new(),
        kdf.clone(),
        Rc::new(ManualClock::new(1_000_000)),
    );
    block_on(vault.create(&password.into())).unwrap();
    vault
}

/// A vault with three keys: two OpenAI (the second the default, with a cap and a test result)
/// and one Anthropic; and its backup under [`BACKUP_PASSWORD`].
fn source(kdf: &Rc<MemoKdf>) -> (TestVault, String) {
    let vault = vault_with(kdf, PASSWORD);
    block_on(vault.add(Provider::Openai, OPENAI_KEY, "work")).unwrap();
    let second = block_on(vault.add(Provider::Openai, OPENAI_KEY_2, "side project")).unwrap();
    block_on(vault.add(Provider::Anthropic, ANTHROPIC_KEY, "home")).unwrap();
    block_on(vault.set_default(&second.id)).unwrap();
    block_on(vault.set_daily_cap(&second.id, Some(2_500_000))).unwrap();
    block_on(vault.record_test(&second.id, TestStatus::Valid)).unwrap();
    let file = block_on(vault.export_backup(&PASSWORD.into(), &BACKUP_PASSWORD.into())).unwrap();
    (vault, file)
}

#[test]
fn a_backup_restores_every_key_with_its_metadata_into_another_vault() {
    let kdf = Rc::new(MemoKdf::default());
    let (from, file) = source(&kdf);
    let to = vault_with(&kdf, "another vault password");
    let report = block_on(to.import_backup(&file, &BACKUP_PASSWORD.into())).unwrap();
    assert_eq!(report.added.len(), 3);
    assert!(report.skipped.is_empty());
    // Same ids, labels, default marks, caps, test results and dates.
    assert_eq!(to.list().unwrap(), from.list().unwrap());
    for provider in [Provider::Openai, Provider::Anthropic] {
        let (_, a) = from.key_for(provider).unwrap();
        let (_, b) = to.key_for(provider).unwrap();
        assert_eq!(a.expose_secret(), b.expose_secret());
    }
    assert_eq!(
        to.key_for(Provider::Openai).unwrap().1.expose_secret(),
        OPENAI_KEY_2
    );
    // They were written: a reload of the second vault has them.
    let reloaded = Vault::new(MemoryStore::new(), RustKdf, ManualClock::new(5_000_000));
    for (id, value) in to.store().snapshot() {
        reloaded.store().set_raw(&id, value);
    }
    block_on(reloaded.unlock(&"another vault password".into())).unwrap();
    assert_eq!(reloaded.list().unwrap(), from.list().unwrap());
}

#[test]
fn restoring_twice_adds_nothing_and_reports_every_key_as_held() {
    let kdf = Rc::new(MemoKdf::default());
    let (from, file) = source(&kdf);
    let before = from.store().snapshot();
    let report = block_on(from.import_backup(&file, &BACKUP_PASSWORD.into())).unwrap();
    assert!(report.added.is_empty());
    let mut skipped: Vec<_> = report.skipped.iter().map(|k| k.label.as_str()).collect();
    skipped.sort_unstable();
    assert_eq!(skipped, ["home", "side project", "work"]);
    assert_eq!(from.store().snapshot(), before, "nothing was written");
}

#[test]
fn restoring_into_a_vault_with_other_keys_keeps_them_and_their_defaults() {
    let kdf = Rc::new(MemoKdf::default());
    let (_, file) = source(&kdf);
    let to = vault_with(&kdf, PASSWORD);
    let mine =
        block_on(to.add(Provider::Openai, "sk-proj-MINEmineMINEmineMINE0000", "mine")).unwrap();
    let held = block_on(to.add(Provider::Anthropic, ANTHROPIC_KEY, "renamed here")).unwrap();
    let report = block_on(to.import_backup(&file, &BACKUP_PASSWORD.into())).unwrap();
    let added: Vec<_> = report.added.iter().map(|k| k.label.as_str()).collect();
    assert_eq!(added.len(), 2);
    assert!(added.contains(&"work") && added.contains(&"side project"));
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].id, held.id);
    assert_eq!(report.skipped[0].label, "renamed here", "not overwritten");
    // The vault's own default stays the default.
    assert_eq!(to.key_for(Provider::Openai).unwrap().0, mine.id);
    assert_eq!(
        to.list().unwrap().iter().filter(|k| k.is_default).count(),
        2
    );
}

#[test]
fn exporting_asks_for_the_vault_password_and_a_long_enough_backup_password() {
    let kdf = Rc::new(MemoKdf::default());
    let (vault, _) = source(&kdf);
    assert_eq!(
        block_on(vault.export_backup(&"wrong password".into(), &BACKUP_PASSWORD.into())),
        Err(VaultError::Decrypt)
    );
    assert!(matches!(
        block_on(vault.export_backup(&PASSWORD.into(), &"short".into())),
        Err(VaultError::InvalidInput(_))
    ));
    // The vault password serves as the backup password too.
    let file = block_on(vault.export_backup(&PASSWORD.into(), &PASSWORD.into())).unwrap();
    assert_eq!(
        block_on(vault.read_backup(&file, &PASSWORD.into()))
            .unwrap()
            .len(),
        3
    );
    vault.lock();
    assert_eq!(
        block_on(vault.export_backup(&PASSWORD.into(), &PASSWORD.into())),
        Err(VaultError::Locked)
    );
    assert_eq!(
        block_on(vault.import_backup(&file, &PASSWORD.into())),
        Err(VaultError::Locked)
    );
}

#[test]
fn the_file_shows_nothing_but_its_format_and_kdf_parameters() {
    let kdf = Rc::new(MemoKdf::default());
    let (_, file) = source(&kdf);
    for needle in [
        &OPENAI_KEY[8..],
        &OPENAI_KEY_2[8..],
        &ANTHROPIC_KEY[13..],
        "work",
        "side project",
        "home",
        "openai",
        "anthropic",
        "entry:",
        PASSWORD,
        BACKUP_PASSWORD,
    ] {
        assert!(!file.contains(needle), "the backup shows {needle:?}");
    }
    let json: serde_json::Value = serde_json::from_str(&file).unwrap();
    // Sorted: whether serde_json keeps insertion order depends on features other crates of
    // the workspace turn on.
    let mut fields: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["format", "kdf", "sealed", "version"]);
    assert_eq!(json["format"], BACKUP_FORMAT);
    assert_eq!(json["version"], 1);
    // Backups are hashed like new vaults: Argon2id at its default cost.
    assert_eq!(json["kdf"]["alg"], "argon2id");
    assert_eq!(json["kdf"]["memory_kib"], kdf::ARGON2_DEFAULT_MEMORY_KIB);
    assert_eq!(json["kdf"]["iterations"], kdf::ARGON2_DEFAULT_PASSES);
    // Each export has its own salt and nonce.
    let (_, again) = source(&kdf);
    let other: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_ne!(json["kdf"]["salt"], other["kdf"]["salt"]);
    assert_ne!(json["sealed"]["nonce"], other["sealed"]["nonce"]);
}

/// Every bad file: refused with one of the backup errors, and the vault exactly as before.
fn assert_refused(to: &TestVault, text: &str, password: &str, what: &str) -> VaultError {
    let before = to.store().snapshot();
    let err = block_on(to.import_backup(text, &password.into())).unwrap_err();
    assert!(
        matches!(
            err,
            VaultError::BackupUnreadable | VaultError::WeakKdf | VaultError::UnsupportedFormat(_)
        ),
        "{what}: {err:?}"
    );
    assert_eq!(to.store().snapshot(), before, "{what}: the vault changed");
    assert!(!to.is_locked());
    err
}

#[test]
fn a_wrong_password_and_a_changed_file_get_the_same_answer() {
    let kdf = Rc::new(MemoKdf::default());
    let (_, file) = source(&kdf);
    let to = vault_with(&kdf, PASSWORD);
    let wrong = assert_refused(&to, &file, "not the backup password", "wrong password");
    assert_eq!(wrong, VaultError::BackupUnreadable);
    let mut outcomes = BTreeMap::<&str, usize>::new();
    for i in 0..file.len() {
        let mut bytes = file.as_bytes().to_vec();
        bytes[i] ^= 0x01;
        let tampered = String::from_utf8_lossy(&bytes).into_owned();
        let err = assert_refused(&to, &tampered, BACKUP_PASSWORD, &format!("byte {i}"));
        *outcomes.entry(err.code()).or_default() += 1;
        if err == VaultError::BackupUnreadable {
            assert_eq!(err.to_string(), wrong.to_string());
        }
    }
    println!("{} bytes flipped: {outcomes:?}", file.len());
    assert!(outcomes["backup_unreadable"] > file.len() * 9 / 10);
    assert!(to.list().unwrap().is_empty());
}

#[test]
fn a_file_cut_short_anywhere_is_refused() {
    let kdf = Rc::new(MemoKdf::default());
    let (_, file) = source(&kdf);
    let to = vault_with(&kdf, PASSWORD);
    let whole = file.trim_end();
    for len in 0..whole.len() {
        let err = assert_refused(&to, &whole[..len], BACKUP_PASSWORD, &format!("{len} bytes"));
        assert_eq!(err, VaultError::BackupUnreadable, "{len} bytes");
    }
    // The trailing newline is not part of the data.
    assert_eq!(
        block_on(to.import_backup(whole, &BACKUP_PASSWORD.into()))
            .unwrap()
            .added
            .len(),
        3
    );
}

#[test]
fn a_file_from_a_newer_byok_says_so() {
    let kdf = Rc::new(MemoKdf::default());
    let (_, file) = source(&kdf);
    let to = vault_with(&kdf, PASSWORD);
    let newer = file.replacen("\"version\": 1", "\"version\": 2", 1);
    assert_ne!(newer, file);
    let err = assert_refused(&to, &newer, BACKUP_PASSWORD, "version 2");
    assert_eq!(err, VaultError::UnsupportedFormat(2));
    assert!(err.to_string().contains("newer version of byok"), "{err}");
}

#[test]
fn weakened_kdf_parameters_are_refused_before_deriving() {
    let kdf = Rc::new(MemoKdf::default());
    let (_, file) = source(&kdf);
    let to = vault_with(&kdf, PASSWORD);
    let mut json: serde_json::Value = serde_json::from_str(&file).unwrap();
    json["kdf"]["iterations"] = 1000.into();
    let derived = kdf.derived.get();
    let err = assert_refused(&to, &json.to_string(), BACKUP_PASSWORD, "1000 iterations");
    assert_eq!(err, VaultError::WeakKdf);
    assert_eq!(kdf.derived.get(), derived, "refused before deriving");
    // Too big to be a backup: refused before parsing.
    let padded = format!("{file}{}", " ".repeat(MAX_BACKUP_BYTES));
    assert_eq!(
        assert_refused(&to, &padded, BACKUP_PASSWORD, "padded"),
        VaultError::BackupUnreadable
    );
}

#[test]
fn a_failed_write_while_restoring_adds_nothing() {
    let kdf = Rc::new(MemoKdf::default());
    let (_, file) = source(&kdf);
    let to = vault_with(&kdf, PASSWORD);
    to.store().fail_next_write();
    assert!(matches!(
        block_on(to.import_backup(&file, &BACKUP_PASSWORD.into())),
        Err(VaultError::Storage(_))
    ));
    assert!(to.list().unwrap().is_empty());
    assert_eq!(
        block_on(to.import_backup(&file, &BACKUP_PASSWORD.into()))
            .unwrap()
            .added
            .len(),
        3
    );
}

/// A version-1 file written by byok 0.1 (`tests/data/backup-v1.json`, password
/// "backup fixture password"): every later version must restore it to these keys.
#[test]
fn a_version_1_file_restores_to_known_keys() {
    let kdf = Rc::new(MemoKdf::default());
    let to = vault_with(&kdf, PASSWORD);
    let file = include_str!("data/backup-v1.json");
    let report = block_on(to.import_backup(file, &"backup fixture password".into())).unwrap();
    let mut got: Vec<(String, String, bool, Option<String>)> = report
        .added
        .iter()
        .map(|k| {
            (
                k.provider.to_string(),
                k.label.clone(),
                k.is_default,
                k.daily_cap_usd.clone(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("anthropic".into(), "home".into(), true, None),
            (
                "openai".into(),
                "side project".into(),
                true,
                Some("2.5".into())
            ),
            ("openai".into(), "work".into(), false, None),
        ]
    );
    assert_eq!(
        to.key_for(Provider::Openai).unwrap().1.expose_secret(),
        OPENAI_KEY_2
    );
    assert_eq!(
        to.key_for(Provider::Anthropic).unwrap().1.expose_secret(),
        ANTHROPIC_KEY
    );
    let wrong = block_on(to.read_backup(file, &"backup fixture passworD".into()));
    assert_eq!(wrong.map(|_| ()), Err(VaultError::BackupUnreadable));
}

/// Writes `tests/data/backup-v1.json`; run once by hand when the fixture is first made:
/// `cargo test -p byok-vault --test backup -- --ignored write_fixture`.
#[test]
#[ignore = "writes the fixture"]
fn write_fixture() {
    let kdf = Rc::new(MemoKdf::default());
    let (vault, _) = source(&kdf);
    let file =
        block_on(vault.export_backup(&PASSWORD.into(), &"backup fixture password".into())).unwrap();
    std::fs::write(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/backup-v1.json"),
        file,
    )
    .unwrap();
}
