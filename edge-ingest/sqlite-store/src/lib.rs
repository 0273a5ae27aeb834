//! `SqliteEventLog`: the local server's event log, an append-only SQLite table.
//!
//! Durability: WAL journal with `synchronous = FULL`, one transaction per batch, so a write has
//! reached the disk (fsync) before [`EventSink::write`] returns and the batch is acknowledged. A
//! `kill -9` loses nothing that was acknowledged. Inserts are idempotent on `event_id`.
//!
//! The same file holds the bad-events table (`rejected`): every refused event or batch with its
//! reasons and its text as sent, for `shopstream rejected`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ingest_domain::{EnrichedEvent, EventSink, RejectedEventSink, RejectedRecord, SinkError};
use rusqlite::{params, Connection, OpenFlags};

/// The file inside the data directory.
pub const DB_FILE: &str = "events.sqlite3";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot open the event log {path}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("the event log {path} does not exist (nothing has been stored in this data directory yet)")]
    Missing { path: PathBuf },
    #[error("event log query failed")]
    Query(#[from] rusqlite::Error),
    #[error("cannot encode event")]
    Encode(#[from] serde_json::Error),
}

/// One stored event.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// Position in the log, increasing in write order (oldest first).
    pub seq: i64,
    /// The event as JSON (the enriched canonical form).
    pub json: String,
}

#[derive(Clone)]
pub struct SqliteEventLog {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl SqliteEventLog {
    /// Opens (creating if needed) the log in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| StoreError::CreateDir { path: data_dir.to_path_buf(), source })?;
        let path = data_dir.join(DB_FILE);
        let conn = Connection::open(&path).map_err(|source| StoreError::Open { path: path.clone(), source })?;
        Self::init(&conn).map_err(|source| StoreError::Open { path: path.clone(), source })?;
        Ok(SqliteEventLog { conn: Arc::new(Mutex::new(conn)), path })
    }

    /// Opens an existing log read-only (for `shopstream events` beside a running server).
    pub fn open_read_only(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join(DB_FILE);
        if !path.exists() {
            return Err(StoreError::Missing { path });
        }
        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|source| StoreError::Open { path: path.clone(), source })?;
        Ok(SqliteEventLog { conn: Arc::new(Mutex::new(conn)), path })
    }

    fn init(conn: &Connection) -> rusqlite::Result<()> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS events (
                seq          INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id     TEXT NOT NULL UNIQUE,
                type         TEXT NOT NULL,
                anonymous_id TEXT NOT NULL,
                occurred_at  INTEGER NOT NULL,
                received_at  INTEGER NOT NULL,
                body         TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS rejected (
                seq          INTEGER PRIMARY KEY AUTOINCREMENT,
                received_at  INTEGER NOT NULL,
                body         TEXT NOT NULL
            );",
        )
    }

    /// Records refused events or batches (with their reasons) in one transaction.
    pub fn append_rejected(&self, records: &[RejectedRecord]) -> Result<(), StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached("INSERT INTO rejected (received_at, body) VALUES (?1, ?2)")?;
            for r in records {
                stmt.execute(params![r.received_at.unix_ms(), serde_json::to_string(r)?])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Refused events and batches with `seq > after`, oldest first, at most `limit`.
    pub fn read_rejected_after(&self, after: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let exists: bool = conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'rejected'",
            [],
            |r| r.get(0),
        )?;
        if !exists {
            return Ok(Vec::new()); // a log written before the table existed
        }
        let mut stmt = conn.prepare_cached("SELECT seq, body FROM rejected WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows =
            stmt.query_map(params![after, limit as i64], |r| Ok(StoredEvent { seq: r.get(0)?, json: r.get(1)? }))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends events in one durable transaction; an `event_id` already stored is skipped.
    /// Returns how many were new.
    pub fn append(&self, events: &[EnrichedEvent]) -> Result<usize, StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = conn.transaction()?;
        let mut added = 0;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO events (event_id, type, anonymous_id, occurred_at, received_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for e in events {
                added += stmt.execute(params![
                    e.event.event_id,
                    e.event.event_type().as_str(),
                    e.event.anonymous_id,
                    e.event.occurred_at.unix_ms(),
                    e.received_at.unix_ms(),
                    e.to_json()?,
                ])?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// Events with `seq > after`, oldest first, at most `limit`.
    pub fn read_after(&self, after: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut stmt = conn.prepare_cached("SELECT seq, body FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows =
            stmt.query_map(params![after, limit as i64], |r| Ok(StoredEvent { seq: r.get(0)?, json: r.get(1)? }))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn count(&self) -> Result<u64, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(conn.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))? as u64)
    }
}

#[async_trait]
impl EventSink for SqliteEventLog {
    async fn write(&self, events: &[EnrichedEvent]) -> Result<(), SinkError> {
        let log = self.clone();
        let events = events.to_vec();
        tokio::task::spawn_blocking(move || log.append(&events))
            .await
            .map_err(|e| SinkError::new("the writer task failed", e))?
            .map_err(|e| SinkError::new("cannot write to the event log", e))?;
        Ok(())
    }

    async fn ready(&self) -> Result<(), SinkError> {
        let log = self.clone();
        tokio::task::spawn_blocking(move || log.count())
            .await
            .map_err(|e| SinkError::new("the reader task failed", e))?
            .map_err(|e| SinkError::new("cannot read the event log", e))?;
        Ok(())
    }
}

#[async_trait]
impl RejectedEventSink for SqliteEventLog {
    async fn write_rejected(&self, records: &[RejectedRecord]) -> Result<(), SinkError> {
        let log = self.clone();
        let records = records.to_vec();
        tokio::task::spawn_blocking(move || log.append_rejected(&records))
            .await
            .map_err(|e| SinkError::new("the writer task failed", e))?
            .map_err(|e| SinkError::new("cannot write to the bad-events table", e))
    }
}
