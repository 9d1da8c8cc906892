//! Durable state in one redb file: tables, transactions, schema version. The only module that
//! sees redb types; knows nothing of HTTP or plugins.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, TableDefinition};

mod audit;
mod engagements;
mod executions;
mod group;
mod incidents;
mod oncall;
pub use engagements::EngageTx;
pub use executions::{CallJob, ExecSummary, ExecWrite, ParentLink, StoredExecution, TimerJob};
pub use incidents::IncidentAction;
pub use oncall::{OncallTx, PendingCode};

/// Schema version of the file; bumped with a migration when a table's encoding changes.
pub const SCHEMA_VERSION: u64 = 1;

const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the database {path}: {message} (is another `tocsin serve` using this data directory?)"
    )]
    Open { path: PathBuf, message: String },
    #[error(
        "database {path} has schema version {found}, newer than this binary's {SCHEMA_VERSION}; upgrade tocsin"
    )]
    TooNew { path: PathBuf, found: u64 },
    #[error("database operation `{op}` failed: {message}")]
    Io { op: &'static str, message: String },
}

fn io(op: &'static str) -> impl Fn(String) -> StoreError {
    move |message| StoreError::Io { op, message }
}

pub struct Store {
    db: Arc<Database>,
    path: PathBuf,
    /// Runbook documents shared by stored executions, by content hash.
    exec_docs: executions::DocCache,
    /// Concurrent engagement/incident writers sharing one transaction.
    group: group::GroupCommit,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// redb's page cache (read cache and write buffer) at most. redb's default (1 GiB) grows with the
/// data touched — every waiting execution read or written since start — so a long-running engine
/// would keep its on-disk state in memory too; pages beyond this are read from the file (and the
/// OS page cache) again.
const CACHE_BYTES: usize = 4 * 1024 * 1024;

impl Store {
    /// Open (or create) the database file and check its schema version.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        }
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| StoreError::Open {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        let db = Arc::new(db);
        let store = Store {
            group: group::GroupCommit::start(db.clone())?,
            db,
            path: path.to_owned(),
            exec_docs: executions::DocCache::default(),
        };
        let found = store.schema_version()?;
        match found {
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::TooNew {
                    path: path.to_owned(),
                    found: v,
                });
            }
            Some(_) => {}
            None => {
                let tx = store
                    .db
                    .begin_write()
                    .map_err(|e| io("begin")(e.to_string()))?;
                {
                    let mut meta = tx
                        .open_table(META)
                        .map_err(|e| io("open meta")(e.to_string()))?;
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(|e| io("write meta")(e.to_string()))?;
                }
                tx.commit().map_err(|e| io("commit")(e.to_string()))?;
            }
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<Option<u64>, StoreError> {
        let tx = self
            .db
            .begin_read()
            .map_err(|e| io("begin read")(e.to_string()))?;
        let meta = match tx.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(io("open meta")(e.to_string())),
        };
        let value = meta
            .get("schema_version")
            .map_err(|e| io("read meta")(e.to_string()))?;
        Ok(value.map(|v| v.value()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_gets_the_schema_version_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/tocsin.redb");
        {
            let store = Store::open(&path).unwrap();
            assert_eq!(store.schema_version().unwrap(), Some(SCHEMA_VERSION));
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), Some(SCHEMA_VERSION));
    }
}
