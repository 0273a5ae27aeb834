//! How a background task of the local server (the processor, the lake's raw copy and curated build)
//! yields to a busy ingest: it measures the event log's pace between two of its turns, and waits while
//! the log grows faster than its [`BusyIngest`] allows, but never longer than that allows either.

use std::time::{Duration, Instant};

use sqlite_store::SqliteEventLog;

/// When a background task waits for a busy ingest, and for how long at most.
#[derive(Clone, Copy, Debug)]
pub struct BusyIngest {
    /// Above this many events a second written to the log, the ingest is busy.
    pub above_events_per_s: f64,
    /// However busy the ingest, the task takes a turn once it has waited this long.
    pub max_defer: Duration,
}

impl BusyIngest {
    /// Whether the task waits: the ingest wrote `events` in the last `over`, and the task last ran
    /// `since_last_run` ago (`None`: never, so the start-up pass always runs).
    pub fn defers(&self, events: u64, over: Duration, since_last_run: Option<Duration>) -> bool {
        let busy = events as f64 > self.above_events_per_s * over.as_secs_f64();
        busy && since_last_run.is_some_and(|waited| waited < self.max_defer)
    }
}

/// The ingest's pace, as a background task sees it between two of its turns.
pub(crate) struct IngestPace {
    log: SqliteEventLog,
    busy: BusyIngest,
    written: u64,
    checked: Instant,
    /// When the task last took a turn (`None`: never; a task may set it to delay its first turn).
    pub(crate) last_run: Option<Instant>,
}

impl IngestPace {
    pub(crate) fn new(log: SqliteEventLog, busy: BusyIngest) -> IngestPace {
        IngestPace { written: log.rows_committed(), log, busy, checked: Instant::now(), last_run: None }
    }

    /// Whether this turn waits ([`BusyIngest::defers`]); if not, the turn counts as run.
    pub(crate) fn defer(&mut self, task: &str) -> bool {
        let (now, written) = (Instant::now(), self.log.rows_committed());
        let recent = written.saturating_sub(self.written);
        let over = now.saturating_duration_since(self.checked);
        (self.written, self.checked) = (written, now);
        let defer = self.busy.defers(recent, over, self.last_run.map(|t| now.saturating_duration_since(t)));
        if defer {
            tracing::debug!(task, events = recent, seconds = over.as_secs_f64(), "waiting for a busy ingest");
        } else {
            self.last_run = Some(now);
        }
        defer
    }
}
