//! The group-commit writer behind [`SqliteEventLog`](crate::SqliteEventLog).
//!
//! One thread owns the write connection. A write is a [`Job`] on a channel; the thread takes every
//! job waiting (up to [`WriterLimits::max_group_events`]), inserts them all in one transaction,
//! commits it (one fsync for the whole group) and only then answers each job. So a write is
//! acknowledged once the commit that holds it is durable, and a failed commit fails every job of its
//! group. There is no added delay: a group is whatever queued while the previous one committed.
//!
//! WAL checkpoints stay off the commit path. SQLite's automatic checkpoint (run by the committing
//! connection, so a stall of the commit) is off; a checkpointer thread with its own connection copies
//! the WAL into the database beside the writer (`PASSIVE`) every
//! [`WriterLimits::checkpoint_every_frames`]. That alone does not bound the WAL: SQLite writes the WAL
//! from its start again only when a transaction begins while every frame has been copied, and a
//! checkpoint running beside a busy writer always lags by what was committed meanwhile. So once the
//! WAL reaches [`WriterLimits::max_wal_frames`], the writer copies the rest itself between two groups
//! (only what the checkpointer has not copied yet, at most [`RESTART_TAIL_FRAMES`] unless the WAL has
//! doubled its bound), and the next commit restarts the WAL.
//!
//! A load test is the exception. While the writer commits at least
//! [`WriterLimits::busy_above_events_per_s`], checkpoints wait and the WAL takes the burst, up to
//! [`WriterLimits::busy_max_wal_frames`]: on this project's virtual disk each fsync costs about what was
//! written since the last one, and a checkpoint writes about two thirds as much again as the commits
//! (bench/README.md, "The checkpoint waits for a load test"). Once the writer slows (or pauses for
//! [`IDLE_CHECKPOINT_AFTER`]), the checkpointer copies the whole WAL in one pass and the WAL restarts;
//! if the burst reaches the bound first, that pass happens under load, as a stall of the commits.

use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ingest_domain::{EnrichedEvent, RejectedRecord};
use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use rusqlite::{params, Connection, TransactionBehavior, DEFAULT_NAME};

use crate::StoreError;

/// The most events (or refused records) one group commit takes from the queue: 40 tracker batches,
/// a few milliseconds of inserts, so a group never holds its first write for long. A single write
/// larger than this is still committed whole, in a group of its own.
pub const MAX_GROUP_EVENTS: usize = 4_000;
/// WAL growth, in frames (one 4 KiB page each), after which the checkpointer thread copies the WAL
/// into the database, beside the writer. Small and often (1 MiB), because a checkpoint's fsync of the
/// database still slows the writer's fsyncs of the WAL (the same disk and file system journal) by
/// about what it flushes: with 1,000 frames (SQLite's automatic interval) p99 was about twice as high
/// under load, with 8,192 rarer stalls of up to 0.5 s.
pub const CHECKPOINT_EVERY_FRAMES: u32 = 256;
/// The WAL's bound, in frames (32 MiB of pages): from there the writer restarts the WAL.
pub const MAX_WAL_FRAMES: u32 = 8_192;
/// The writer restarts the WAL once at most this many frames (1 MiB) are left to copy, a short
/// checkpoint between two groups; until then it has the checkpointer copy them.
pub const RESTART_TAIL_FRAMES: u32 = 256;
/// From this many events committed a second (over [`BUSY_WINDOW`]), the writer is taking a load test
/// rather than a shop's traffic, and checkpoints wait: 4× what the server's background waits for
/// (`shopstream::PROCESSOR_DEFER_ABOVE_EVENTS_PER_S`), since the checkpoint's wait has a cost of its
/// own, one large copy afterwards.
pub const BUSY_ABOVE_EVENTS_PER_S: u32 = 20_000;
/// The WAL's bound, in frames, while checkpoints wait for a load test: 1 GiB of pages, about 10 s
/// of events at 130,000 a second (some 800 bytes of WAL each).
pub const BUSY_MAX_WAL_FRAMES: u32 = 262_144;
/// The window over which the writer measures its pace.
const BUSY_WINDOW: Duration = Duration::from_millis(250);
/// After this long without a write, the checkpointer copies the rest of the WAL, so the WAL restarts
/// at the next write and the database file holds everything.
const IDLE_CHECKPOINT_AFTER: Duration = Duration::from_millis(500);
/// One WAL frame: a 24-byte header and a (default-sized) page.
const FRAME_BYTES: i64 = 24 + 4096;

/// One event's insert, for the tests' logs made by hand; the writer uses [`insert_events_sql`].
#[cfg(test)]
pub(crate) const INSERT_EVENT: &str =
    "INSERT OR IGNORE INTO events (event_id, type, anonymous_id, occurred_at, received_at, body)
                            VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/// The most events one `INSERT` statement of the writer takes (a statement of many rows costs the
/// writer thread about half as much per row as one statement per row). A job's events go in
/// statements of [`statement_sizes`], powers of two, so the writer prepares at most 7 statements
/// in all and keeps them cached.
pub const EVENTS_PER_STATEMENT: usize = 64;
/// Statements the write connection keeps prepared: the event inserts of every size and the rest.
const CACHED_STATEMENTS: usize = 16;
const INSERT_REJECTED: &str = "INSERT INTO rejected (received_at, body) VALUES (?1, ?2)";

/// Bounds of the group-commit writer and of the WAL; [`Default`] gives the named constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterLimits {
    /// The most events (or refused records) one transaction takes from the queue.
    pub max_group_events: usize,
    /// WAL growth, in frames, after which the checkpointer thread copies the WAL into the database.
    pub checkpoint_every_frames: u32,
    /// The WAL's size, in frames, from which the writer restarts it. The WAL can pass it by what is
    /// committed while a checkpoint runs, and grows on while a reader holds an old snapshot; the file
    /// is cut back to this size when the WAL restarts (`journal_size_limit`).
    pub max_wal_frames: u32,
    /// Events committed a second from which checkpoints wait (`u32::MAX`: never).
    pub busy_above_events_per_s: u32,
    /// The WAL's bound while checkpoints wait, in frames (at least `max_wal_frames`).
    pub busy_max_wal_frames: u32,
}

impl Default for WriterLimits {
    fn default() -> Self {
        WriterLimits {
            max_group_events: MAX_GROUP_EVENTS,
            checkpoint_every_frames: CHECKPOINT_EVERY_FRAMES,
            max_wal_frames: MAX_WAL_FRAMES,
            busy_above_events_per_s: BUSY_ABOVE_EVENTS_PER_S,
            busy_max_wal_frames: BUSY_MAX_WAL_FRAMES,
        }
    }
}

thread_local! {
    /// The event's JSON on its way to [`crate::body::pack`], reused by each request thread.
    static JSON: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One event, encoded by the caller (so the one writer thread only inserts).
pub(crate) struct EventRow {
    event_id: String,
    event_type: &'static str,
    anonymous_id: String,
    occurred_at_ms: i64,
    received_at_ms: i64,
    /// The JSON as stored (`crate::body`).
    body: Vec<u8>,
}

impl EventRow {
    pub(crate) fn encode(e: &EnrichedEvent) -> Result<Self, StoreError> {
        Ok(EventRow {
            event_id: e.event.event_id.clone(),
            event_type: e.event.event_type().as_str(),
            anonymous_id: e.event.anonymous_id.clone(),
            occurred_at_ms: e.event.occurred_at.unix_ms(),
            received_at_ms: e.received_at.unix_ms(),
            body: JSON.with_borrow_mut(|json| {
                json.clear();
                serde_json::to_writer(&mut *json, e)?; // what `EnrichedEvent::to_json` gives
                crate::body::pack(json).map_err(StoreError::Compress)
            })?,
        })
    }
}

/// One refused event or batch, encoded by the caller.
pub(crate) struct RejectedRow {
    received_at_ms: i64,
    body: String,
}

impl RejectedRow {
    pub(crate) fn encode(r: &RejectedRecord) -> Result<Self, serde_json::Error> {
        Ok(RejectedRow { received_at_ms: r.received_at.unix_ms(), body: serde_json::to_string(r)? })
    }
}

pub(crate) enum Rows {
    Events(Vec<EventRow>),
    Rejected(Vec<RejectedRow>),
}

impl Rows {
    pub(crate) fn len(&self) -> usize {
        match self {
            Rows::Events(rows) => rows.len(),
            Rows::Rejected(rows) => rows.len(),
        }
    }
}

/// How many of a write's rows were new, or why its group failed.
pub(crate) type Outcome = Result<usize, StoreError>;

/// Where a write's outcome goes: an async caller's future or a blocked caller's thread.
pub(crate) enum Reply {
    Async(tokio::sync::oneshot::Sender<Outcome>),
    Blocking(mpsc::SyncSender<Outcome>),
}

impl Reply {
    fn send(self, outcome: Outcome) {
        // A caller that has gone (a cancelled request) is not an error: its rows are stored, and a
        // retry is idempotent on `event_id`.
        match self {
            Reply::Async(tx) => drop(tx.send(outcome)),
            Reply::Blocking(tx) => drop(tx.send(outcome)),
        }
    }
}

pub(crate) struct Job {
    pub(crate) rows: Rows,
    pub(crate) reply: Reply,
}

#[derive(Default)]
struct Stats {
    commits: AtomicU64,
    failed_commits: AtomicU64,
    /// Events and refused records in the committed groups.
    rows: AtomicU64,
}

/// The handle on the writer thread. Dropping it closes the queue; the thread commits what is
/// queued, answers it, stops the checkpointer and closes its connection, and the drop waits for it.
pub(crate) struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<Stats>,
}

impl Writer {
    /// Starts the writer on `conn` (schema in place) and the checkpointer on `checkpoint_conn`.
    pub(crate) fn spawn(
        mut conn: Connection,
        checkpoint_conn: Connection,
        limits: WriterLimits,
    ) -> Result<Writer, StoreError> {
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.set_prepared_statement_cache_capacity(CACHED_STATEMENTS);
        conn.pragma_update(None, "journal_size_limit", i64::from(limits.max_wal_frames) * FRAME_BYTES)?;
        let wal_frames = Arc::new(AtomicU32::new(0));
        let frames = Arc::clone(&wal_frames);
        // Called after each commit with the WAL's size in frames (it replaces the automatic checkpoint,
        // which is this same hook).
        conn.wal_hook(Some(move |_: &mut Wal, pages: c_int| {
            frames.store(u32::try_from(pages).unwrap_or(0), Ordering::Relaxed);
            Ok(())
        }))?;
        let checkpointer = Checkpointer::spawn(checkpoint_conn)?;
        let (jobs, queue) = mpsc::channel();
        let stats = Arc::new(Stats::default());
        let group_commit = GroupCommit {
            conn,
            queue,
            limits,
            stats: Arc::clone(&stats),
            wal: WalPolicy {
                frames: wal_frames,
                last_frames: 0,
                nudged_at: 0,
                dirty: false,
                bound: limits.max_wal_frames,
                pace: Pace::new(limits.busy_above_events_per_s),
                limits,
                checkpointer,
            },
        };
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || group_commit.run())
            .map_err(StoreError::Thread)?;
        Ok(Writer { jobs: Some(jobs), thread: Some(thread), stats })
    }

    pub(crate) fn submit(&self, job: Job) -> Result<(), StoreError> {
        let jobs = self.jobs.as_ref().ok_or(StoreError::WriterStopped)?;
        jobs.send(job).map_err(|_| StoreError::WriterStopped)
    }

    pub(crate) fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    pub(crate) fn commits(&self) -> u64 {
        self.stats.commits.load(Ordering::Relaxed)
    }

    pub(crate) fn failed_commits(&self) -> u64 {
        self.stats.failed_commits.load(Ordering::Relaxed)
    }

    pub(crate) fn rows_committed(&self) -> u64 {
        self.stats.rows.load(Ordering::Relaxed)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            // A panicked writer has already failed its waiters (their replies were dropped).
            let _ = thread.join();
        }
    }
}

/// The writer thread's state.
struct GroupCommit {
    /// Declared first, so dropped first: the checkpointer stops before `conn` closes, and `conn`, the
    /// last connection of the process, copies the WAL into the database and deletes it as it closes.
    wal: WalPolicy,
    conn: Connection,
    queue: mpsc::Receiver<Job>,
    limits: WriterLimits,
    stats: Arc<Stats>,
}

impl GroupCommit {
    fn run(mut self) {
        let mut next: Option<Job> = None;
        loop {
            let Some(first) = next.take().or_else(|| self.next_job()) else { break };
            let mut size = first.rows.len();
            let mut group = vec![first];
            while size < self.limits.max_group_events {
                let Ok(job) = self.queue.try_recv() else { break };
                if size + job.rows.len() > self.limits.max_group_events {
                    next = Some(job);
                    break;
                }
                size += job.rows.len();
                group.push(job);
            }
            self.commit(group);
        }
        // The queue is closed and empty: every write taken has been answered.
    }

    /// Waits for the next write; `None` once the queue is closed and drained.
    fn next_job(&mut self) -> Option<Job> {
        loop {
            if !self.wal.dirty {
                return self.queue.recv().ok();
            }
            match self.queue.recv_timeout(IDLE_CHECKPOINT_AFTER) {
                Ok(job) => return Some(job),
                Err(mpsc::RecvTimeoutError::Timeout) => self.wal.idle(),
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    fn commit(&mut self, group: Vec<Job>) {
        match insert_group(&mut self.conn, &group) {
            Ok(added) => {
                self.stats.commits.fetch_add(1, Ordering::Relaxed);
                let rows: usize = group.iter().map(|job| job.rows.len()).sum();
                self.stats.rows.fetch_add(rows as u64, Ordering::Relaxed);
                for (job, added) in group.into_iter().zip(added) {
                    job.reply.send(Ok(added));
                }
                self.wal.after_commit(&self.conn, rows);
            }
            Err(source) => {
                if !self.conn.is_autocommit() {
                    // The transaction's drop rolls back; make sure, or every later group would fail.
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
                self.stats.failed_commits.fetch_add(1, Ordering::Relaxed);
                let source = Arc::new(source);
                let writes = group.len();
                for job in group {
                    job.reply.send(Err(StoreError::Commit { writes, source: Arc::clone(&source) }));
                }
            }
        }
    }
}

/// Inserts every job's rows in one transaction and commits it; how many rows of each job were new.
fn insert_group(conn: &mut Connection, group: &[Job]) -> rusqlite::Result<Vec<usize>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut added = Vec::with_capacity(group.len());
    {
        let mut insert_rejected = tx.prepare_cached(INSERT_REJECTED)?;
        for job in group {
            let mut new = 0;
            match &job.rows {
                Rows::Events(rows) => {
                    let mut rest = &rows[..];
                    for size in statement_sizes(rows.len()) {
                        let (these, after) = rest.split_at(size);
                        new += insert_events(&tx, these)?;
                        rest = after;
                    }
                }
                Rows::Rejected(rows) => {
                    for r in rows {
                        new += insert_rejected.execute(params![r.received_at_ms, r.body])?;
                    }
                }
            }
            added.push(new);
        }
    }
    tx.commit()?;
    Ok(added)
}

/// How a job's `n` events are split into `INSERT` statements: as many of
/// [`EVENTS_PER_STATEMENT`] as fit, then the binary digits of the rest (100 is 64 + 32 + 4), so
/// there are at most 7 statement sizes. In order: the rows keep their order, and so their `seq`.
pub(crate) fn statement_sizes(n: usize) -> impl Iterator<Item = usize> {
    let full = n / EVENTS_PER_STATEMENT;
    let rest = n % EVENTS_PER_STATEMENT;
    std::iter::repeat_n(EVENTS_PER_STATEMENT, full)
        .chain((0..usize::BITS).rev().map(move |bit| rest & (1 << bit)).filter(|&size| size != 0))
}

/// The statement that inserts `rows` events at once, row by row in order, each `OR IGNORE`: an
/// `event_id` already stored, or repeated within the statement, is skipped.
fn insert_events_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT OR IGNORE INTO events (event_id, type, anonymous_id, occurred_at, received_at, body) VALUES ",
    );
    for i in 0..rows {
        sql.push_str(if i == 0 { "(?,?,?,?,?,?)" } else { ",(?,?,?,?,?,?)" });
    }
    sql
}

/// Inserts `rows` with one statement; how many were new.
fn insert_events(tx: &rusqlite::Transaction<'_>, rows: &[EventRow]) -> rusqlite::Result<usize> {
    let mut insert = tx.prepare_cached(&insert_events_sql(rows.len()))?;
    for (i, r) in rows.iter().enumerate() {
        let at = 6 * i;
        insert.raw_bind_parameter(at + 1, &r.event_id)?;
        insert.raw_bind_parameter(at + 2, r.event_type)?;
        insert.raw_bind_parameter(at + 3, &r.anonymous_id)?;
        insert.raw_bind_parameter(at + 4, r.occurred_at_ms)?;
        insert.raw_bind_parameter(at + 5, r.received_at_ms)?;
        insert.raw_bind_parameter(at + 6, &r.body)?;
    }
    insert.raw_execute()
}

/// When to checkpoint, decided on the writer thread after each commit and when idle.
struct WalPolicy {
    /// The WAL's size in frames after the last commit (set by the WAL hook).
    frames: Arc<AtomicU32>,
    last_frames: u32,
    /// The WAL's size when the checkpointer was last asked to copy it.
    nudged_at: u32,
    /// Committed frames that no checkpoint has been asked to copy.
    dirty: bool,
    /// The bound of this WAL, from its start to its restart: `max_wal_frames`, or
    /// `busy_max_wal_frames` once a load test has made it wait.
    bound: u32,
    pace: Pace,
    limits: WriterLimits,
    checkpointer: Checkpointer,
}

impl WalPolicy {
    fn after_commit(&mut self, conn: &Connection, rows: usize) {
        let frames = self.frames.load(Ordering::Relaxed);
        if frames < self.last_frames {
            // The WAL restarted: frame numbers start again.
            self.nudged_at = 0;
            self.bound = self.limits.max_wal_frames;
            self.checkpointer.state.backfilled.store(0, Ordering::Relaxed);
        }
        self.last_frames = frames;
        self.dirty = true;
        let busy = self.pace.committed(rows, Instant::now());
        if busy {
            self.bound = self.bound.max(self.limits.busy_max_wal_frames);
        }
        if frames >= self.bound {
            if self.checkpointer.is_pending() {
                return; // its pass shortens what is left to copy
            }
            let copied = self.checkpointer.state.backfilled.load(Ordering::Relaxed).min(frames);
            if frames - copied <= RESTART_TAIL_FRAMES || frames >= self.bound.saturating_mul(2) {
                self.restart(conn);
            } else {
                self.nudge(frames);
            }
        } else if busy {
            // A load test: the checkpoint waits (the WAL takes the burst).
        } else if frames >= self.nudged_at.saturating_add(self.limits.checkpoint_every_frames) {
            self.nudge(frames);
        }
    }

    fn idle(&mut self) {
        self.pace.idle();
        if !self.checkpointer.is_pending() {
            self.nudge(self.last_frames);
        }
    }

    fn nudge(&mut self, frames: u32) {
        self.checkpointer.nudge();
        self.nudged_at = frames;
        self.dirty = false;
    }

    /// Copies what is left of the WAL on the writer's connection, between two groups, so that the
    /// next commit writes the WAL from its start.
    fn restart(&mut self, conn: &Connection) {
        match conn.wal_checkpoint_v2(DEFAULT_NAME, CheckpointMode::PASSIVE) {
            Ok((frames, copied)) if frames == copied => self.dirty = false,
            // A reader still uses older frames (or the checkpointer started): tried again after the next commit.
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "WAL checkpoint failed; the WAL grows until one succeeds"),
        }
    }
}

/// The writer's pace: events committed per [`BUSY_WINDOW`], against a threshold.
struct Pace {
    above_events_per_s: u32,
    since: Option<Instant>,
    rows: u64,
    busy: bool,
}

impl Pace {
    fn new(above_events_per_s: u32) -> Self {
        Pace { above_events_per_s, since: None, rows: 0, busy: false }
    }

    /// Counts a commit of `rows` at `now`; whether the writer is taking a load test, as of the last
    /// whole window.
    fn committed(&mut self, rows: usize, now: Instant) -> bool {
        let since = *self.since.get_or_insert(now);
        self.rows += rows as u64;
        let elapsed = now.saturating_duration_since(since);
        if elapsed >= BUSY_WINDOW {
            self.busy = self.rows as f64 / elapsed.as_secs_f64() >= f64::from(self.above_events_per_s);
            self.since = Some(now);
            self.rows = 0;
        }
        self.busy
    }

    /// The writer has had nothing to commit for a while.
    fn idle(&mut self) {
        *self = Pace::new(self.above_events_per_s);
    }
}

struct CheckpointState {
    /// A pass is asked for or running.
    pending: AtomicBool,
    /// Frames of the WAL copied into the database by the last pass.
    backfilled: AtomicU32,
}

/// The checkpointer thread: one `PASSIVE` checkpoint on its own connection per nudge.
struct Checkpointer {
    nudges: Option<mpsc::SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    state: Arc<CheckpointState>,
}

impl Checkpointer {
    fn spawn(conn: Connection) -> Result<Checkpointer, StoreError> {
        let state = Arc::new(CheckpointState { pending: AtomicBool::new(false), backfilled: AtomicU32::new(0) });
        let (nudges, nudged) = mpsc::sync_channel::<()>(1);
        let shared = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while nudged.recv().is_ok() {
                    match conn.wal_checkpoint_v2(DEFAULT_NAME, CheckpointMode::PASSIVE) {
                        Ok((_, copied)) => {
                            shared.backfilled.store(u32::try_from(copied).unwrap_or(0), Ordering::Relaxed)
                        }
                        Err(error) => {
                            tracing::warn!(%error, "WAL checkpoint failed; the WAL grows until one succeeds")
                        }
                    }
                    shared.pending.store(false, Ordering::Release);
                }
            })
            .map_err(StoreError::Thread)?;
        Ok(Checkpointer { nudges: Some(nudges), thread: Some(thread), state })
    }

    fn is_pending(&self) -> bool {
        self.state.pending.load(Ordering::Acquire)
    }

    fn nudge(&self) {
        if self.state.pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let sent = self.nudges.as_ref().is_some_and(|n| n.try_send(()).is_ok());
        if !sent {
            self.state.pending.store(false, Ordering::Release);
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.nudges.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn a_jobs_events_are_split_into_few_statement_sizes_in_order() {
        let mut sizes = HashSet::new();
        for n in 0..=1_000 {
            let split: Vec<usize> = statement_sizes(n).collect();
            assert_eq!(split.iter().sum::<usize>(), n, "{n}: every event, once");
            assert!(split.iter().all(|s| s.is_power_of_two() && *s <= EVENTS_PER_STATEMENT), "{n}: {split:?}");
            assert!(split.windows(2).all(|w| w[0] >= w[1]), "{n}: the largest first: {split:?}");
            sizes.extend(split);
        }
        assert_eq!(statement_sizes(100).collect::<Vec<_>>(), [64, 32, 4]);
        assert_eq!(statement_sizes(130).collect::<Vec<_>>(), [64, 64, 2]);
        assert_eq!(sizes.len(), 7, "1, 2, 4 ... 64: what the statement cache holds");
        assert!(sizes.len() < CACHED_STATEMENTS, "the sizes and the refused records' insert stay cached");
    }

    #[test]
    fn the_statement_of_n_rows_has_six_parameters_per_row() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE events (seq INTEGER PRIMARY KEY, event_id TEXT UNIQUE, type TEXT, anonymous_id TEXT,
                                  occurred_at INTEGER, received_at INTEGER, body TEXT)",
        )
        .unwrap();
        for n in [1, 4, EVENTS_PER_STATEMENT] {
            assert_eq!(conn.prepare(&insert_events_sql(n)).unwrap().parameter_count(), 6 * n);
        }
    }
}
