//! `SqliteStateStore`: the local server's [`StateStore`] (profiles, items, trending, applied-event
//! markers and the processor's checkpoint), in its own file beside the event log so the ingest's
//! writer and the processor never wait for each other.
//!
//! A commit is one SQLite transaction (WAL, `synchronous = FULL`): the version checks, the markers,
//! the records and the checkpoint are written together or not at all, so a `kill -9` at any point
//! leaves either the whole batch applied with its checkpoint, or none of it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use personalize::model::{Key, Value, Versioned};
use personalize::store::{Commit, StateStore, StoreError, APPLIED_TTL_MS};
use rusqlite::{params, Connection, OptionalExtension};

/// The file inside the data directory.
pub const STATE_FILE: &str = "state.sqlite3";

#[derive(Clone)]
pub struct SqliteStateStore {
    /// Commits, markers and checkpoints.
    conn: Arc<Mutex<Connection>>,
    /// Record loads (the recommendations API's and the processor's): a WAL reader never waits for a
    /// commit in progress, so a request does not queue behind the processor's synced commit (the
    /// processor may run at a lower priority than the requests; give it
    /// [`with_own_reader`](Self::with_own_reader), so the requests never wait for its loads either).
    reader: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl SqliteStateStore {
    /// Opens (creating if needed) the state in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, crate::StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| crate::StoreError::CreateDir { path: data_dir.to_path_buf(), source })?;
        let path = data_dir.join(STATE_FILE);
        let opened = |source| crate::StoreError::Open { path: path.clone(), source };
        let conn = Self::connect(&path).map_err(opened)?;
        let reader = Self::connect(&path).map_err(opened)?;
        Ok(SqliteStateStore { conn: Arc::new(Mutex::new(conn)), reader: Arc::new(Mutex::new(reader)), path })
    }

    /// A clone of this store (the same commits) that loads records with a connection of its own,
    /// shared only with its own clones: for the processor when it runs at a lower priority.
    pub fn with_own_reader(&self) -> Result<Self, crate::StoreError> {
        let reader =
            Self::connect(&self.path).map_err(|source| crate::StoreError::Open { path: self.path.clone(), source })?;
        Ok(SqliteStateStore { reader: Arc::new(Mutex::new(reader)), ..self.clone() })
    }

    fn connect(path: &Path) -> rusqlite::Result<Connection> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS records (
                k    TEXT PRIMARY KEY,
                ver  INTEGER NOT NULL,
                body TEXT NOT NULL
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS applied (
                event_id TEXT PRIMARY KEY,
                at       INTEGER NOT NULL
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS applied_at ON applied (at);
            CREATE TABLE IF NOT EXISTS checkpoints (
                consumer TEXT PRIMARY KEY,
                pos      INTEGER NOT NULL
            ) WITHOUT ROWID;",
        )?;
        Ok(conn)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Forgets applied-event markers older than [`APPLIED_TTL_MS`] before `now_ms`; returns how many.
    pub fn purge_applied(&self, now_ms: i64) -> Result<usize, StoreError> {
        let conn = self.lock();
        conn.execute("DELETE FROM applied WHERE at < ?1", params![now_ms - APPLIED_TTL_MS]).map_err(unavailable)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn load_now(&self, keys: &[Key]) -> Result<HashMap<Key, Versioned>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut stmt = conn.prepare_cached("SELECT ver, body FROM records WHERE k = ?1").map_err(unavailable)?;
        let mut found = HashMap::new();
        for key in keys {
            let row = stmt
                .query_row(params![key.to_storage()], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                .optional()
                .map_err(unavailable)?;
            if let Some((ver, body)) = row {
                let value: Value = serde_json::from_str(&body)
                    .map_err(|e| StoreError::Corrupt(format!("{}: {e}", key.to_storage())))?;
                found.insert(key.clone(), Versioned { version: ver as u64, value });
            }
        }
        Ok(found)
    }

    fn applied_now(&self, event_ids: &[String], now_ms: i64) -> Result<HashSet<String>, StoreError> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare_cached("SELECT 1 FROM applied WHERE event_id = ?1 AND at >= ?2").map_err(unavailable)?;
        let mut found = HashSet::new();
        for id in event_ids {
            if stmt.exists(params![id, now_ms - APPLIED_TTL_MS]).map_err(unavailable)? {
                found.insert(id.clone());
            }
        }
        Ok(found)
    }

    fn commit_now(&self, commit: Commit) -> Result<(), StoreError> {
        let mut conn = self.lock();
        // Immediate: the write lock is taken first (waiting in the busy handler if another
        // connection holds it), not on the first write, where SQLite would refuse at once.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(unavailable)?;
        {
            let mut version = tx.prepare_cached("SELECT ver FROM records WHERE k = ?1").map_err(unavailable)?;
            for (key, read, _) in &commit.records {
                let current: Option<i64> =
                    version.query_row(params![key.to_storage()], |r| r.get(0)).optional().map_err(unavailable)?;
                let current = current.unwrap_or(0) as u64;
                if current != *read {
                    return Err(StoreError::Conflict(format!(
                        "{} is at version {current}, not {read}",
                        key.to_storage()
                    )));
                }
            }
            let mut marked =
                tx.prepare_cached("SELECT 1 FROM applied WHERE event_id = ?1 AND at >= ?2").map_err(unavailable)?;
            for id in &commit.applied {
                if marked.exists(params![id, commit.applied_at - APPLIED_TTL_MS]).map_err(unavailable)? {
                    return Err(StoreError::Conflict(format!("event {id} was applied meanwhile")));
                }
            }
            let mut put = tx
                .prepare_cached("INSERT OR REPLACE INTO records (k, ver, body) VALUES (?1, ?2, ?3)")
                .map_err(unavailable)?;
            for (key, read, value) in &commit.records {
                let body = serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                put.execute(params![key.to_storage(), (*read + 1) as i64, body]).map_err(unavailable)?;
            }
            let mut mark = tx
                .prepare_cached("INSERT OR REPLACE INTO applied (event_id, at) VALUES (?1, ?2)")
                .map_err(unavailable)?;
            for id in &commit.applied {
                mark.execute(params![id, commit.applied_at]).map_err(unavailable)?;
            }
            if let Some((consumer, pos)) = &commit.checkpoint {
                tx.execute(
                    "INSERT OR REPLACE INTO checkpoints (consumer, pos) VALUES (?1, ?2)",
                    params![consumer, pos],
                )
                .map_err(unavailable)?;
            }
        }
        tx.commit().map_err(unavailable)
    }
}

fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::unavailable("local state store", e)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Runs `f` on the blocking pool (SQLite calls block).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::unavailable("the state store task failed", e))?
}

#[async_trait]
impl StateStore for SqliteStateStore {
    async fn load(&self, keys: &[Key]) -> Result<HashMap<Key, Versioned>, StoreError> {
        let (store, keys) = (self.clone(), keys.to_vec());
        blocking(move || store.load_now(&keys)).await
    }

    async fn applied(&self, event_ids: &[String]) -> Result<HashSet<String>, StoreError> {
        let (store, ids) = (self.clone(), event_ids.to_vec());
        blocking(move || store.applied_now(&ids, now_ms())).await
    }

    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        let store = self.clone();
        blocking(move || store.commit_now(commit)).await
    }

    fn max_commit_writes(&self) -> usize {
        usize::MAX
    }

    async fn checkpoint(&self, consumer: &str) -> Result<Option<i64>, StoreError> {
        let (store, consumer) = (self.clone(), consumer.to_string());
        blocking(move || {
            let conn = store.lock();
            conn.query_row("SELECT pos FROM checkpoints WHERE consumer = ?1", params![consumer], |r| r.get(0))
                .optional()
                .map_err(unavailable)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_with_its_own_reader_loads_while_the_shared_reader_is_held() {
        let dir = std::env::temp_dir().join(format!("sqlite-state-own-reader-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = SqliteStateStore::open(&dir).unwrap();
        let (own, shared) = (store.with_own_reader().unwrap(), store.clone());
        let key = [Key::User("u".into())];
        let keys = key.clone();
        crate::tests::assert_the_own_reader_does_not_wait(
            store.reader.lock().unwrap(), // a load of the shared connection, stopped midway
            move || own.load_now(&keys).unwrap().len(),
            move || shared.load_now(&key).unwrap().len(),
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
