//! [`Store`] over IndexedDB, through `rexie`.
//!
//! Schema: database `<name>` (default `byok-vault`), version [`SCHEMA_VERSION`], one object
//! store `records` with out-of-line string keys and string values (the JSON envelopes of
//! [`crate::envelope`]). Upgrade path: a new version adds its object stores to the builder
//! below and bumps [`SCHEMA_VERSION`]; IndexedDB runs the upgrade on open, and a record's own
//! `format` field covers changes to what records contain.

use rexie::{ObjectStore, Rexie, TransactionMode};
use wasm_bindgen::JsValue;

use crate::error::{Result, VaultError};
use crate::store::{Batch, Store};

/// The IndexedDB schema version.
pub const SCHEMA_VERSION: u32 = 1;
/// The object store holding every record.
pub const RECORDS: &str = "records";

fn storage(err: rexie::Error) -> VaultError {
    VaultError::Storage(err.to_string())
}

/// An IndexedDB database holding vault records.
#[derive(Debug)]
pub struct IdbStore {
    db: Rexie,
}

impl IdbStore {
    /// Opens (creating or upgrading as needed) the database `name`.
    ///
    /// # Errors
    ///
    /// [`VaultError::Storage`] when IndexedDB is unavailable (private modes of some browsers)
    /// or the open is blocked.
    pub async fn open(name: &str) -> Result<Self> {
        let db = Rexie::builder(name)
            .version(SCHEMA_VERSION)
            .add_object_store(ObjectStore::new(RECORDS))
            .build()
            .await
            .map_err(storage)?;
        Ok(Self { db })
    }

    fn records(&self, mode: TransactionMode) -> Result<(rexie::Transaction, rexie::Store)> {
        let tx = self.db.transaction(&[RECORDS], mode).map_err(storage)?;
        let store = tx.store(RECORDS).map_err(storage)?;
        Ok((tx, store))
    }
}

/// A value that is not a string is damaged; give it to the parser to be reported as such.
fn as_record(value: &JsValue) -> String {
    value.as_string().unwrap_or_default()
}

impl Store for IdbStore {
    async fn get(&self, id: &str) -> Result<Option<String>> {
        let (_tx, store) = self.records(TransactionMode::ReadOnly)?;
        let value = store.get(JsValue::from_str(id)).await.map_err(storage)?;
        Ok(value.as_ref().map(as_record))
    }

    async fn get_all(&self) -> Result<Vec<(String, String)>> {
        let (_tx, store) = self.records(TransactionMode::ReadOnly)?;
        let pairs = store.scan(None, None, None, None).await.map_err(storage)?;
        Ok(pairs
            .iter()
            .filter_map(|(k, v)| Some((k.as_string()?, as_record(v))))
            .collect())
    }

    async fn write(&self, batch: Batch) -> Result<()> {
        let (tx, store) = self.records(TransactionMode::ReadWrite)?;
        let mut outcome = Ok(());
        for (id, value) in &batch.put {
            if outcome.is_ok() {
                outcome = store
                    .put(&JsValue::from_str(value), Some(&JsValue::from_str(id)))
                    .await
                    .map(drop);
            }
        }
        for id in &batch.delete {
            if outcome.is_ok() {
                outcome = store.delete(JsValue::from_str(id)).await;
            }
        }
        if let Err(err) = outcome {
            // Nothing of the batch is kept: IndexedDB rolls the whole transaction back.
            let _ = tx.abort().await;
            return Err(storage(err));
        }
        match tx.done().await.map_err(storage)? {
            rexie::TransactionResult::Committed => Ok(()),
            rexie::TransactionResult::Aborted => {
                Err(VaultError::Storage("the write was aborted".into()))
            }
        }
    }

    async fn clear(&self) -> Result<()> {
        let (tx, store) = self.records(TransactionMode::ReadWrite)?;
        store.clear().await.map_err(storage)?;
        tx.done().await.map_err(storage)?;
        Ok(())
    }
}
