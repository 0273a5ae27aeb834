//! `SqliteEventLog`: the local server's event log, an append-only SQLite table.
//!
//! Durability: WAL journal with `synchronous = FULL`. Writes go to one writer thread that commits
//! every write waiting in one transaction (group commit: `src/writer.rs`), so a write has reached the
//! disk (fsync) before [`EventSink::write`] returns and the batch is acknowledged, and concurrent
//! requests share an fsync. Checkpoints run beside the writer, and wait while it takes a load test
//! (`src/writer.rs`). A `kill -9` loses nothing that was acknowledged. Inserts are idempotent on
//! `event_id`. Reads use a connection of their own and never wait for the writer.
//!
//! Each event's JSON is stored compressed against a dictionary ([`body`]); [`read_after`](SqliteEventLog::read_after)
//! gives it back as JSON, and SQL over the log reads it with `event_json(body)`.
//!
//! The same file holds the bad-events table (`rejected`): every refused event or batch with its
//! reasons and its text as sent, for `shopstream rejected`.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use async_trait::async_trait;
use ingest_domain::{EnrichedEvent, EventSink, RejectedEventSink, RejectedRecord, SinkError};
use rusqlite::{params, Connection, OpenFlags};

pub mod body;
pub mod kpis;
pub mod state;
mod writer;

pub use state::SqliteStateStore;
use writer::{EventRow, Job, RejectedRow, Reply, Rows, Writer};
pub use writer::{
    WriterLimits, BUSY_ABOVE_EVENTS_PER_S, BUSY_MAX_WAL_FRAMES, CHECKPOINT_EVERY_FRAMES, MAX_GROUP_EVENTS,
    MAX_WAL_FRAMES, RESTART_TAIL_FRAMES,
};

/// The file inside the data directory.
pub const DB_FILE: &str = "events.sqlite3";

/// The events' time index, for reads by `occurred_at` range (the live KPIs).
pub(crate) const TIME_INDEX: &str = "events_occurred_minute";
/// Its key: the minute of `occurred_at`, not the millisecond. A tracker's batch spans seconds and
/// interleaves with other shoppers' batches, so keyed on the millisecond each event of a commit lands
/// on an index page of its own and the commit rewrites about one 4 KiB page per event (9.9 KB written
/// per event against 3.7 KB in a model of the store; bench/README.md, "Where the disk goes"). Within a
/// minute SQLite orders entries by rowid, so a commit's entries go to the end of one or two minutes.
/// A query uses the index only if it filters on this same expression.
pub(crate) const TIME_KEY: &str = "occurred_at / 60000";

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
    #[error("cannot compress an event for the log")]
    Compress(#[source] std::io::Error),
    #[error("the event log {path} was opened read-only")]
    ReadOnly { path: PathBuf },
    /// The transaction that held this write failed; every write of its group gets this error.
    #[error("cannot commit a group of {writes} writes to the event log")]
    Commit { writes: usize, source: Arc<rusqlite::Error> },
    #[error("the event log's writer thread has stopped")]
    WriterStopped,
    #[error("cannot start a thread of the event log")]
    Thread(#[source] std::io::Error),
}

/// One stored event.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// Position in the log, increasing in write order (oldest first).
    pub seq: i64,
    /// The event as JSON (the enriched canonical form).
    pub json: String,
}

/// The local server's event log. Clones share one writer thread and one reader connection (but see
/// [`with_own_reader`](Self::with_own_reader)); the last clone dropped commits what is still queued
/// and stops the writer.
#[derive(Clone)]
pub struct SqliteEventLog {
    /// For reads only: WAL readers see the last commit and never wait for the writer. Declared
    /// before `inner`, so dropped before the writer it holds (see `GroupCommit`).
    reader: Arc<Mutex<Connection>>,
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// `None` when opened read-only.
    writer: Option<Writer>,
}

impl SqliteEventLog {
    /// Opens (creating if needed) the log in `data_dir` and starts its writer, with the default
    /// [`WriterLimits`].
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(data_dir, WriterLimits::default())
    }

    /// As [`open`](Self::open), with the writer's group and WAL bounds given.
    pub fn open_with(data_dir: &Path, limits: WriterLimits) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| StoreError::CreateDir { path: data_dir.to_path_buf(), source })?;
        let path = data_dir.join(DB_FILE);
        let opened = |source| StoreError::Open { path: path.clone(), source };
        let conn = Connection::open(&path).map_err(opened)?;
        Self::init(&conn).map_err(opened)?;
        let checkpoint_conn = Connection::open(&path).map_err(opened)?;
        // A checkpoint syncs the WAL and the database as its own connection's `synchronous` says.
        Self::tune(&checkpoint_conn).map_err(opened)?;
        let reader = Self::open_reader(&path)?;
        let writer = Writer::spawn(conn, checkpoint_conn, limits)?;
        Ok(SqliteEventLog {
            reader: Arc::new(Mutex::new(reader)),
            inner: Arc::new(Inner { path, writer: Some(writer) }),
        })
    }

    /// A clone of this log (the same writer) that reads with a connection of its own, shared only
    /// with its own clones: for a reader that may wait for the CPU while it reads (the server's
    /// background tasks), so the others' reads never wait for it.
    pub fn with_own_reader(&self) -> Result<Self, StoreError> {
        let reader = Self::open_reader(&self.inner.path)?;
        Ok(SqliteEventLog { reader: Arc::new(Mutex::new(reader)), inner: Arc::clone(&self.inner) })
    }

    /// Opens an existing log read-only (for `shopstream events` beside a running server): no writer.
    pub fn open_read_only(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join(DB_FILE);
        if !path.exists() {
            return Err(StoreError::Missing { path });
        }
        let reader = Self::open_reader(&path)?;
        Ok(SqliteEventLog { reader: Arc::new(Mutex::new(reader)), inner: Arc::new(Inner { path, writer: None }) })
    }

    fn open_reader(path: &Path) -> Result<Connection, StoreError> {
        let opened = |source| StoreError::Open { path: path.to_path_buf(), source };
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(opened)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(opened)?;
        body::register(&conn).map_err(opened)?;
        Ok(conn)
    }

    fn tune(conn: &Connection) -> rusqlite::Result<()> {
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
    }

    fn init(conn: &Connection) -> rusqlite::Result<()> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        Self::tune(conn)?;
        let old_index: bool = conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'index' AND name = 'events_occurred_at'",
            [],
            |r| r.get(0),
        )?;
        if old_index {
            tracing::info!("building the event log's new time index (once; a large log takes a while)");
        }
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS events (
                seq          INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id     TEXT NOT NULL UNIQUE,
                type         TEXT NOT NULL,
                anonymous_id TEXT NOT NULL,
                occurred_at  INTEGER NOT NULL,
                received_at  INTEGER NOT NULL,
                body         TEXT NOT NULL
            );
            -- Logs written before the time index keyed on the minute had this one.
            DROP INDEX IF EXISTS events_occurred_at;
            CREATE INDEX IF NOT EXISTS {TIME_INDEX} ON events ({TIME_KEY});
            CREATE TABLE IF NOT EXISTS rejected (
                seq          INTEGER PRIMARY KEY AUTOINCREMENT,
                received_at  INTEGER NOT NULL,
                body         TEXT NOT NULL
            );",
        ))
    }

    /// Records refused events or batches (with their reasons) durably; blocks until committed.
    pub fn append_rejected(&self, records: &[RejectedRecord]) -> Result<(), StoreError> {
        let rows = records.iter().map(RejectedRow::encode).collect::<Result<Vec<_>, _>>()?;
        self.write_blocking(Rows::Rejected(rows))?;
        Ok(())
    }

    /// Refused events and batches with `seq > after`, oldest first, at most `limit`.
    pub fn read_rejected_after(&self, after: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.reader();
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
        &self.inner.path
    }

    /// Appends events durably, blocking until the group commit that holds them; an `event_id` already
    /// stored is skipped. Returns how many were new.
    pub fn append(&self, events: &[EnrichedEvent]) -> Result<usize, StoreError> {
        let rows = events.iter().map(EventRow::encode).collect::<Result<Vec<_>, _>>()?;
        self.write_blocking(Rows::Events(rows))
    }

    /// Events with `seq > after`, oldest first, at most `limit`. A row whose body cannot be read back
    /// (a damaged file) is logged and given as [`body::unreadable`]'s marker, not an error, so readers
    /// carry on past it: the processor puts it in the bad-events table, the lake skips it.
    pub fn read_after(&self, after: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached("SELECT seq, body FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let mut rows = stmt.query(params![after, limit as i64])?;
        let mut events = Vec::with_capacity(limit.min(1024));
        while let Some(row) = rows.next()? {
            let seq = row.get(0)?;
            let json = body::unpack(row.get_ref(1)?).unwrap_or_else(|error| body::unreadable(seq, &error));
            events.push(StoredEvent { seq, json });
        }
        Ok(events)
    }

    pub fn count(&self) -> Result<u64, StoreError> {
        let conn = self.reader();
        Ok(conn.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Transactions the writer has committed since the log was opened: one per group of writes, so
    /// fewer than the writes under concurrency.
    pub fn commits(&self) -> u64 {
        self.inner.writer.as_ref().map_or(0, Writer::commits)
    }

    /// Events and refused records written by the commits since the log was opened (a replayed
    /// `event_id`, skipped, still counts): the ingest's pace.
    pub fn rows_committed(&self) -> u64 {
        self.inner.writer.as_ref().map_or(0, Writer::rows_committed)
    }

    /// Group commits that failed (each failed every write of its group).
    pub fn failed_commits(&self) -> u64 {
        self.inner.writer.as_ref().map_or(0, Writer::failed_commits)
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn writer(&self) -> Result<&Writer, StoreError> {
        self.inner.writer.as_ref().ok_or_else(|| StoreError::ReadOnly { path: self.inner.path.clone() })
    }

    fn write_blocking(&self, rows: Rows) -> Result<usize, StoreError> {
        let writer = self.writer()?;
        if rows.len() == 0 {
            return Ok(0);
        }
        let (reply, outcome) = mpsc::sync_channel(1);
        writer.submit(Job { rows, reply: Reply::Blocking(reply) })?;
        outcome.recv().map_err(|_| StoreError::WriterStopped)?
    }

    async fn write_async(&self, rows: Rows) -> Result<usize, StoreError> {
        let writer = self.writer()?;
        if rows.len() == 0 {
            return Ok(0);
        }
        let (reply, outcome) = tokio::sync::oneshot::channel();
        writer.submit(Job { rows, reply: Reply::Async(reply) })?;
        outcome.await.map_err(|_| StoreError::WriterStopped)?
    }

    /// A cheap read (the last `seq`, from the primary key), for readiness.
    fn probe(&self) -> Result<(), StoreError> {
        let conn = self.reader();
        conn.query_row("SELECT max(seq) FROM events", [], |r| r.get::<_, Option<i64>>(0))?;
        Ok(())
    }
}

#[async_trait]
impl EventSink for SqliteEventLog {
    async fn write(&self, events: &[EnrichedEvent]) -> Result<(), SinkError> {
        // Encoded here, on the caller's thread, so the one writer thread only inserts.
        let rows = events
            .iter()
            .map(EventRow::encode)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SinkError::new("cannot encode an event", e))?;
        self.write_async(Rows::Events(rows)).await.map_err(|e| SinkError::new("cannot write to the event log", e))?;
        Ok(())
    }

    async fn ready(&self) -> Result<(), SinkError> {
        let writer = self.writer().map_err(|e| SinkError::new("the event log takes no writes", e))?;
        if !writer.is_running() {
            return Err(SinkError::new("the event log takes no writes", StoreError::WriterStopped));
        }
        let log = self.clone();
        tokio::task::spawn_blocking(move || log.probe())
            .await
            .map_err(|e| SinkError::new("the reader task failed", e))?
            .map_err(|e| SinkError::new("cannot read the event log", e))?;
        Ok(())
    }
}

#[async_trait]
impl RejectedEventSink for SqliteEventLog {
    async fn write_rejected(&self, records: &[RejectedRecord]) -> Result<(), SinkError> {
        let rows = records
            .iter()
            .map(RejectedRow::encode)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SinkError::new("cannot encode a refused record", e))?;
        self.write_async(Rows::Rejected(rows))
            .await
            .map_err(|e| SinkError::new("cannot write to the bad-events table", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI32, Ordering};

    use super::*;

    /// Asserts that `own` reads (once, finding nothing) while `held`, a guard on the shared reader,
    /// is held, and that `shared` waits for it: what `with_own_reader` is for, in either store.
    pub(crate) fn assert_the_own_reader_does_not_wait<G>(
        held: G,
        own: impl FnOnce() -> usize + Send + 'static,
        shared: impl FnOnce() -> usize + Send + 'static,
    ) {
        use std::time::Duration;
        let (done, reads) = std::sync::mpsc::channel();
        let (own_done, shared_done) = (done.clone(), done);
        std::thread::spawn(move || own_done.send(("own", own())).unwrap());
        assert_eq!(reads.recv_timeout(Duration::from_secs(10)), Ok(("own", 0)));
        std::thread::spawn(move || shared_done.send(("shared", shared())).unwrap());
        let waiting = reads.recv_timeout(Duration::from_millis(300));
        assert!(waiting.is_err(), "a clone shares the reader, so it waits: {waiting:?}");
        drop(held);
        assert_eq!(reads.recv_timeout(Duration::from_secs(10)), Ok(("shared", 0)));
    }

    #[test]
    fn a_log_with_its_own_reader_reads_while_the_shared_reader_is_held() {
        let dir = std::env::temp_dir().join(format!("sqlite-store-own-reader-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let log = SqliteEventLog::open(&dir).unwrap();
        let (own, shared) = (log.with_own_reader().unwrap(), log.clone());
        assert_the_own_reader_does_not_wait(
            log.reader(), // a read of the shared connection, stopped midway
            move || own.count().unwrap() as usize,
            move || shared.count().unwrap() as usize,
        );
        drop(log);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn temp_db(name: &str) -> (PathBuf, Connection) {
        let dir = std::env::temp_dir().join(format!("sqlite-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let conn = Connection::open(dir.join(DB_FILE)).unwrap();
        SqliteEventLog::init(&conn).unwrap();
        (dir, conn)
    }

    /// Tracker batches as they arrive: 100 events spread over the 25 s before the batch was sent, a
    /// batch every 3 ms, so each batch's times interleave with the batches before it. One more
    /// commit then writes about the pages its rows fill, not one index page per event.
    #[test]
    fn a_commit_of_interleaved_batches_rewrites_few_index_pages() {
        let (dir, mut conn) = temp_db("time-index");
        conn.pragma_update(None, "synchronous", "OFF").unwrap(); // page counts do not depend on it
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        let wal_pages = Arc::new(AtomicI32::new(0));
        let pages = Arc::clone(&wal_pages);
        conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, n: std::ffi::c_int| {
            pages.store(n, Ordering::Relaxed);
            Ok(())
        }))
        .unwrap();
        let body = format!("{{\"pad\": \"{}\"}}", "x".repeat(900)); // about an enriched event's size
        let mut commit = |batch: i64| {
            let tx = conn.transaction().unwrap();
            {
                let mut insert = tx.prepare_cached(writer::INSERT_EVENT).unwrap();
                let sent_at = 1_795_341_600_000 + batch * 3;
                for i in 0..100 {
                    let id = format!("019ab2c4-7e10-7000-8000-{:012x}", batch * 100 + i);
                    let occurred_at = sent_at - 25_000 + i * 250;
                    insert.execute(params![id, "page_view", "anon", occurred_at, sent_at, body]).unwrap();
                }
            }
            tx.commit().unwrap();
        };
        for batch in 0..400 {
            commit(batch);
        }
        let before = wal_pages.load(Ordering::Relaxed);
        commit(400);
        let written = wal_pages.load(Ordering::Relaxed) - before;
        // 100 rows of about 1 KB fill some 34 pages of 4 KiB; keyed on the millisecond the time index
        // alone added a page per event (about 140 in all).
        assert!(written < 60, "one 100-event commit wrote {written} pages");
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The time index reads whole minutes; the exact bounds are still applied.
    #[test]
    fn time_ranges_keep_their_exact_bounds() {
        let (dir, conn) = temp_db("time-range");
        for (i, at) in [59_999i64, 60_000, 60_001, 119_999, 120_000].into_iter().enumerate() {
            conn.execute(writer::INSERT_EVENT, params![format!("id-{i}"), "page_view", "anon", at, at, "{}"]).unwrap();
        }
        let count = |from: i64, to: i64| -> i64 {
            let sql = format!("SELECT count(*) FROM events WHERE {}", kpis::in_time_range());
            conn.query_row(&sql, params![from, to], |r| r.get(0)).unwrap()
        };
        assert_eq!(count(60_000, 120_000), 3);
        assert_eq!(count(60_001, 119_999), 1);
        assert_eq!(count(0, 180_000), 5);
        assert_eq!(count(120_001, 180_000), 0);
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
