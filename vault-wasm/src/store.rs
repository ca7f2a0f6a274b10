//! Where encrypted records live: a small async key-value interface.
//!
//! The browser implementation is IndexedDB (`IdbStore`, wasm only); [`MemoryStore`] serves
//! native tests and is a reference for what a backend must do.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use crate::error::{Result, VaultError};

/// A set of changes applied all together or not at all.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Records to insert or replace: `(id, serialized envelope)`.
    pub put: Vec<(String, String)>,
    /// Record ids to delete.
    pub delete: Vec<String>,
}

impl Batch {
    /// A batch of one put.
    #[must_use]
    pub fn put(id: impl Into<String>, value: String) -> Self {
        Self {
            put: vec![(id.into(), value)],
            delete: Vec::new(),
        }
    }

    /// A batch of one delete.
    #[must_use]
    pub fn delete(id: impl Into<String>) -> Self {
        Self {
            put: Vec::new(),
            delete: vec![id.into()],
        }
    }
}

/// Storage for serialized, already-encrypted records.
///
/// Implementations MUST apply a [`Batch`] atomically: after a failed `write` the previous
/// records are all still there, unchanged.
#[allow(async_fn_in_trait)] // single-threaded (browser) use; no Send bound wanted
pub trait Store {
    /// One record, if present.
    async fn get(&self, id: &str) -> Result<Option<String>>;
    /// Every record, as `(id, value)`.
    async fn get_all(&self) -> Result<Vec<(String, String)>>;
    /// Applies `batch` atomically.
    async fn write(&self, batch: Batch) -> Result<()>;
    /// Removes every record.
    async fn clear(&self) -> Result<()>;
}

/// An in-memory [`Store`], with an optional injected failure for tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: RefCell<BTreeMap<String, String>>,
    fail_next_write: Cell<bool>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `write` fail without changing anything, as a full disk would.
    pub fn fail_next_write(&self) {
        self.fail_next_write.set(true);
    }

    /// A copy of every record, for inspection.
    #[must_use]
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.records.borrow().clone()
    }

    /// Replaces one record's raw value, for corruption tests.
    pub fn set_raw(&self, id: &str, value: String) {
        self.records.borrow_mut().insert(id.to_owned(), value);
    }
}

impl Store for MemoryStore {
    async fn get(&self, id: &str) -> Result<Option<String>> {
        Ok(self.records.borrow().get(id).cloned())
    }

    async fn get_all(&self) -> Result<Vec<(String, String)>> {
        Ok(self
            .records
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    async fn write(&self, batch: Batch) -> Result<()> {
        if self.fail_next_write.replace(false) {
            return Err(VaultError::Storage("simulated write failure".into()));
        }
        let mut records = self.records.borrow_mut();
        for (id, value) in batch.put {
            records.insert(id, value);
        }
        for id in batch.delete {
            records.remove(&id);
        }
        Ok(())
    }

    async fn clear(&self) -> Result<()> {
        self.records.borrow_mut().clear();
        Ok(())
    }
}

impl<S: Store + ?Sized> Store for std::rc::Rc<S> {
    async fn get(&self, id: &str) -> Result<Option<String>> {
        (**self).get(id).await
    }
    async fn get_all(&self) -> Result<Vec<(String, String)>> {
        (**self).get_all().await
    }
    async fn write(&self, batch: Batch) -> Result<()> {
        (**self).write(batch).await
    }
    async fn clear(&self) -> Result<()> {
        (**self).clear().await
    }
}
