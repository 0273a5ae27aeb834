//! The lake on a laptop: the task that copies the event log into the raw layer (what Firehose does
//! in AWS), the demo catalog as the lake's product and store reference, the catalog's stock as the
//! processor's starting stock, and the low-stock alert log the dashboard reads.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use lake::raw::RawWriter;
use lake::reference::{ProductRef, Reference, StoreRef};
use lake::Lake;
use personalize::{AlertError, AlertSink, StartingStock, StockAlert, ONLINE_STORE_ID};
use sqlite_store::SqliteEventLog;

use crate::pace::{BusyIngest, IngestPace};

/// The lake's directory under a data directory.
pub const LAKE_DIR: &str = "lake";
/// The alert log's file under a data directory (JSON lines).
pub const ALERTS_FILE: &str = "alerts.jsonl";
/// How often the raw writer copies new events (Firehose buffers 60 s to 15 min in AWS).
pub const RAW_FLUSH_INTERVAL: Duration = Duration::from_secs(5);
/// Events per raw write (and per file, at most), and per turn of the raw copy.
pub const RAW_BATCH: usize = 50_000;
/// How often the local server brings the curated layer up to date (only changed days are rebuilt).
pub const LAKE_BUILD_INTERVAL: Duration = Duration::from_secs(30);
/// While the ingest writes more than this many events a second, the raw copy and the curated build
/// wait: their writes and fsyncs compete with the event log's commits for the disk, and a shopper's
/// acknowledgement comes first. The events are in the log meanwhile, so the lake only lags; each
/// task waits at most [`LAKE_MAX_DEFER`], then takes one turn (the raw copy: at most [`RAW_BATCH`]
/// events).
pub const LAKE_DEFER_ABOVE_EVENTS_PER_S: f64 = 5_000.0;
/// The longest the raw copy or the curated build waits for a busy ingest.
pub const LAKE_MAX_DEFER: Duration = Duration::from_secs(60);
/// Alerts `GET /v1/alerts` answers with, newest first.
pub const ALERTS_SHOWN: usize = 50;

pub fn lake_of(data_dir: &Path) -> Lake {
    Lake::new(data_dir.join(LAKE_DIR))
}

/// The demo catalog as the lake's reference: its products (stock online), and the web shop.
pub fn catalog_reference() -> Reference {
    Reference {
        products: catalog::products()
            .into_iter()
            .map(|p| ProductRef {
                sku: p.sku,
                name: p.name,
                category: p.category,
                brand: p.brand,
                unit_cost: p.unit_cost,
                list_price: p.price,
                starting_stock: p.stock.into(),
                reorder_point: p.reorder_point.into(),
            })
            .collect(),
        stores: vec![StoreRef {
            store_id: ONLINE_STORE_ID.into(),
            name: "Web shop".into(),
            region: "Online".into(),
            country: "DE".into(),
            kind: "online".into(),
        }],
    }
}

/// The catalog's stock and reorder points, in the web shop.
pub struct CatalogStock(std::collections::HashMap<String, (i64, i64)>);

impl CatalogStock {
    pub fn new() -> CatalogStock {
        CatalogStock(
            catalog::products().into_iter().map(|p| (p.sku, (p.stock.into(), p.reorder_point.into()))).collect(),
        )
    }
}

impl Default for CatalogStock {
    fn default() -> Self {
        Self::new()
    }
}

impl StartingStock for CatalogStock {
    fn starting(&self, sku: &str, store_id: &str) -> Option<(i64, i64)> {
        (store_id == ONLINE_STORE_ID).then(|| self.0.get(sku).copied()).flatten()
    }
}

/// Copies what the event log has past the raw layer's position into the raw layer; returns the
/// number of events copied.
pub fn catch_up_raw(log: &SqliteEventLog, lake: &Lake) -> anyhow::Result<usize> {
    copy_raw(log, lake, usize::MAX)
}

/// As [`catch_up_raw`], at most `max_events` (in writes of at most [`RAW_BATCH`]).
pub fn copy_raw(log: &SqliteEventLog, lake: &Lake, max_events: usize) -> anyhow::Result<usize> {
    let writer = RawWriter::new(lake.clone());
    let _lock = writer.lock()?;
    let mut position = writer.position()?;
    let mut copied = 0;
    while copied < max_events {
        let rows = log.read_after(position, RAW_BATCH.min(max_events - copied))?;
        let Some(last) = rows.last().map(|r| r.seq) else { break };
        let events: Vec<(i64, &str)> = rows.iter().map(|r| (r.seq, r.json.as_str())).collect();
        writer.write(&events)?;
        copied += rows.len();
        position = last;
    }
    Ok(copied)
}

/// Whether a lake task waits for the ingest: it wrote `events` in the last `over`, and the task last
/// ran `since_last_run` ago (`None`: never, so the start-up pass always runs).
pub fn defer_for_ingest(events: u64, over: Duration, since_last_run: Option<Duration>) -> bool {
    LAKE_BUSY_INGEST.defers(events, over, since_last_run)
}

/// When the lake's tasks wait for the ingest: [`LAKE_DEFER_ABOVE_EVENTS_PER_S`], [`LAKE_MAX_DEFER`].
pub const LAKE_BUSY_INGEST: BusyIngest =
    BusyIngest { above_events_per_s: LAKE_DEFER_ABOVE_EVENTS_PER_S, max_defer: LAKE_MAX_DEFER };

/// The local raw writer: every [`RAW_FLUSH_INTERVAL`], the new events of the log into the raw
/// layer, at most [`RAW_BATCH`] a turn (the next turn comes at once while there is more, unless
/// the ingest is busy: [`LAKE_DEFER_ABOVE_EVENTS_PER_S`]). Runs until the runtime stops; a failure
/// is logged and tried again.
pub async fn run_raw_writer(log: SqliteEventLog, lake: Lake) {
    let mut pace = IngestPace::new(log.clone(), LAKE_BUSY_INGEST);
    loop {
        let mut more = false;
        if !pace.defer("raw copy") {
            let (l, k) = (log.clone(), lake.clone());
            match tokio::task::spawn_blocking(move || copy_raw(&l, &k, RAW_BATCH)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => {
                    tracing::debug!(events = n, "raw layer written");
                    more = n == RAW_BATCH;
                }
                Ok(Err(e)) => tracing::error!(error = %e, "cannot write the raw layer; retrying"),
                Err(e) => tracing::error!(error = %e, "the raw writer failed; retrying"),
            }
        }
        if !more {
            tokio::time::sleep(RAW_FLUSH_INTERVAL).await;
        }
    }
}

/// The local curated build: every [`LAKE_BUILD_INTERVAL`] (later while the ingest is busy), the
/// days whose raw files changed (what a scheduled job does in AWS). Runs until the runtime stops; a
/// failure is logged and tried again.
pub async fn run_lake_builder(lake: Lake, log: SqliteEventLog) {
    let mut pace = IngestPace::new(log, LAKE_BUSY_INGEST);
    pace.last_run = Some(Instant::now()); // the first build comes one interval after the start
    loop {
        tokio::time::sleep(LAKE_BUILD_INTERVAL).await;
        if pace.defer("curated build") {
            continue;
        }
        let l = lake.clone();
        let built = tokio::task::spawn_blocking(move || {
            let reference = Reference::load(&l, &catalog_reference())?;
            lake::curated::build(&l, &reference, 1)
        })
        .await;
        match built {
            Ok(Ok(r)) if r.days_built > 0 => {
                tracing::debug!(days = r.days_built, events = r.events, "curated layer built")
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "cannot build the curated layer; retrying"),
            Err(e) => tracing::error!(error = %e, "the curated build failed; retrying"),
        }
    }
}

/// The local alert sink: one JSON line per alert, appended and synced, and a warning in the log.
pub struct FileAlertLog {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileAlertLog {
    pub fn new(data_dir: &Path) -> FileAlertLog {
        FileAlertLog { path: data_dir.join(ALERTS_FILE), lock: Mutex::new(()) }
    }

    /// The latest `n` alerts, newest first, each id once (a resend after a crash is dropped).
    pub fn recent(&self, n: usize) -> Vec<StockAlert> {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for line in text.lines().rev() {
            let Ok(alert) = serde_json::from_str::<StockAlert>(line) else { continue };
            if seen.insert(alert.alert_id.clone()) {
                out.push(alert);
                if out.len() == n {
                    break;
                }
            }
        }
        out
    }
}

#[async_trait]
impl AlertSink for FileAlertLog {
    async fn publish(&self, alerts: &[StockAlert]) -> Result<(), AlertError> {
        let mut lines = String::new();
        for a in alerts {
            tracing::warn!(alert_id = %a.alert_id, "{}", a.summary());
            lines.push_str(&serde_json::to_string(a).expect("plain data serialises"));
            lines.push('\n');
        }
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
            f.write_all(lines.as_bytes())?;
            f.sync_data()
        };
        write().map_err(|e| AlertError::new(format!("cannot append to {}", self.path.display()), e))
    }
}

/// `GET /v1/alerts`: `{"alerts": [...]}`, the latest low-stock alerts, newest first.
pub fn alerts_router(log: std::sync::Arc<FileAlertLog>) -> Router {
    Router::new().route("/v1/alerts", get(alerts)).with_state(log)
}

async fn alerts(State(log): State<std::sync::Arc<FileAlertLog>>) -> Json<serde_json::Value> {
    let recent = tokio::task::spawn_blocking(move || log.recent(ALERTS_SHOWN)).await.unwrap_or_default();
    Json(serde_json::json!({ "alerts": recent }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_copy_takes_at_most_its_bound_a_turn() {
        use event_schema::validate::{validate_batch, ValidationOptions};
        use event_schema::Timestamp;
        use ingest_domain::EnrichedEvent;

        let dir = std::env::temp_dir().join(format!("shopstream-raw-turn-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (log, lake) = (SqliteEventLog::open(&dir).unwrap(), lake_of(&dir));
        let now =
            Timestamp(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64);
        let events: Vec<serde_json::Value> = (0..5)
            .map(|i| {
                serde_json::json!({"event_id": format!("019ab2c4-7e10-7000-8000-{i:012x}"), "type": "page_view",
                    "occurred_at": now.to_rfc3339(), "anonymous_id": "a", "session_id": "s", "properties": {}})
            })
            .collect();
        let body = serde_json::json!({"schema_version": 1, "sent_at": now.to_rfc3339(), "events": events});
        let accepted =
            validate_batch(&serde_json::to_vec(&body).unwrap(), &ValidationOptions::at(now)).unwrap().accepted;
        let enriched: Vec<EnrichedEvent> = accepted.into_iter().map(|e| EnrichedEvent::new(e, now, now)).collect();
        assert_eq!(log.append(&enriched).unwrap(), 5);

        assert_eq!(copy_raw(&log, &lake, 2).unwrap(), 2);
        assert_eq!(catch_up_raw(&log, &lake).unwrap(), 3, "the rest, from where the bounded turn stopped");
        assert_eq!(catch_up_raw(&log, &lake).unwrap(), 0);
        drop(log);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn lake_tasks_wait_for_a_busy_ingest_but_not_for_long() {
        let five = Duration::from_secs(5);
        let ran = Some(Duration::from_secs(5));
        // A demo's traffic (a few batches a second) never delays the lake.
        assert!(!defer_for_ingest(2_000, five, ran));
        // Just above the threshold it waits; just at it, it does not.
        assert!(defer_for_ingest(25_001, five, ran));
        assert!(!defer_for_ingest(25_000, five, ran));
        // However busy the ingest, a task runs once it has waited LAKE_MAX_DEFER, and on start-up.
        assert!(defer_for_ingest(100_000, five, Some(LAKE_MAX_DEFER - Duration::from_millis(1))));
        assert!(!defer_for_ingest(100_000, five, Some(LAKE_MAX_DEFER)));
        assert!(!defer_for_ingest(100_000, five, None));
    }
}
