//! The local server's composition: the ingest and recommendations routes plus the built storefront,
//! as one `Router`; and the processor task that tails the event log into the state store.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::{Html, Response};
use axum::Router;
use ingest_domain::{Ingest, TokenVerifier};
use ingest_http::{Access, ClientIp};
use personalize::{InputRecord, Processor, Recommender, StateStore};
use sqlite_store::SqliteEventLog;
use tower_http::services::{ServeDir, ServeFile};

/// The page served when the storefront has not been built.
const NOT_BUILT: &str = "<!doctype html><title>Shopstream</title><h1>Shopstream is running</h1>\
<p>The storefront is not built in this site directory. Run <code>cargo xtask demo</code>, or \
<code>cargo xtask build</code> and restart with <code>--site storefront/dist</code>.</p>";

mod catalog_http;
pub mod insights_http;
mod kpis_http;
pub mod lake_local;
pub mod pace;
pub mod site_config;

pub use site_config::SiteConfig;

/// What the local server serves.
pub struct LocalApp<'a> {
    pub ingest: Ingest,
    pub access: Access,
    pub recommender: Recommender,
    /// Checks the tokens of signed-in shoppers (the same verifier the ingest has), if sign-in is on.
    pub verifier: Option<Arc<dyn TokenVerifier>>,
    /// The event log, also read for the live KPIs.
    pub log: SqliteEventLog,
    /// Answered at `GET /config.json` for the storefront.
    pub site_config: SiteConfig,
    /// The built storefront.
    pub site_dir: &'a Path,
    /// The low-stock alerts, for `GET /v1/alerts`.
    pub alerts: Arc<lake_local::FileAlertLog>,
    /// The lake, for `GET /v1/insights/{name}`.
    pub lake: lake::Lake,
}

/// Ingest routes first (behind `access`), then `GET /v1/recommendations`, `GET /v1/kpis` and
/// `GET /config.json`; everything else is the single-page storefront from `site_dir`, with unknown
/// paths answered by its `index.html` so client-side routes survive a reload. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()`: the peer address becomes the ingest's
/// [`ClientIp`].
pub fn local_app(app: LocalApp<'_>) -> Router {
    let api = ingest_http::router_with_access(app.ingest, app.access)
        .layer(axum::middleware::from_fn(client_ip))
        .merge(recs_http::router_with_verifier(app.recommender, app.verifier))
        .merge(catalog_http::router())
        .merge(kpis_http::router(app.log))
        .merge(lake_local::alerts_router(app.alerts))
        .merge(insights_http::router(app.lake))
        .merge(site_config::router(app.site_config));
    let site_dir = app.site_dir;
    let index = site_dir.join("index.html");
    if index.is_file() {
        api.fallback_service(ServeDir::new(site_dir).fallback(ServeFile::new(index)))
    } else {
        api.fallback(|| async { Html(NOT_BUILT) })
    }
}

async fn client_ip(mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        request.extensions_mut().insert(ClientIp(peer.ip()));
    }
    next.run(request).await
}

/// How much lower than the ingest the background work runs, in nice steps (added to the process's
/// own nice value, at most 19). Always set, it only matters where the kernel refuses `SCHED_IDLE`
/// (see [`background_runtime`]): 10 steps lower, a busy background thread gets about a tenth of the
/// CPU a busy ingest thread gets.
pub const BACKGROUND_NICE: i32 = 10;

/// The runtime for the work behind the ingest: the processor and the lake's writers. One worker, and
/// every thread it starts (the worker and the blocking pool, where SQLite and Parquet run) under
/// Linux's `SCHED_IDLE` policy (and [`BACKGROUND_NICE`] nice steps below the process, should the
/// policy be refused): under load the CPU goes to the requests a shopper's tracker is waiting on,
/// and the background runs when a core would otherwise idle (a request thread that wakes takes the
/// core at once), catching up when the load drops. Each task resumes from its own checkpoint, so a
/// lagging background loses nothing. Give its tasks stores with readers of their own
/// ([`SqliteEventLog::with_own_reader`], `SqliteStateStore::with_own_reader`), as `serve` does, so a
/// background thread waiting for a core never holds a reader the requests need. On an idle machine
/// it runs as fast as before.
pub fn background_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("shopstream-background")
        .on_thread_start(lower_this_threads_priority)
        .enable_all()
        .build()
}

/// Lowers the calling thread's priority: [`BACKGROUND_NICE`] steps (Linux nice values are per
/// thread; a new thread starts at its creator's), then the `SCHED_IDLE` policy (also per thread).
/// Neither needs a privilege. Failing only costs priority, so it is logged, not fatal.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's own id; no memory is shared.
        let niced = unsafe {
            let tid = libc::gettid() as libc::id_t;
            let own = libc::getpriority(libc::PRIO_PROCESS, tid);
            libc::setpriority(libc::PRIO_PROCESS, tid, (own + BACKGROUND_NICE).min(19))
        };
        if niced != 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "cannot lower the background thread's priority");
        }
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` outlives the call; pid 0 is the calling thread.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "cannot run the background thread as SCHED_IDLE");
        }
    }
}

/// The local processor's name for its checkpoint.
pub const PROCESSOR_CONSUMER: &str = "local-processor";
/// Events the local processor takes from the log at a time.
pub const PROCESSOR_BATCH: usize = 500;
/// How often an idle processor looks for new events (the freshness budget is 1 s).
pub const PROCESSOR_POLL: Duration = Duration::from_millis(25);
/// While the ingest writes more than this many events a second (a load test, not a shop's traffic),
/// the local processor waits: even as `SCHED_IDLE` it cost the ingest's p99 under load (bench/README.md,
/// "What the disk costs"). The events are in the log meanwhile, so profiles and recommendations only
/// lag; the processor takes one batch each [`PROCESSOR_MAX_DEFER`] and catches up once the ingest slows.
pub const PROCESSOR_DEFER_ABOVE_EVENTS_PER_S: f64 = 5_000.0;
/// The longest the local processor waits for a busy ingest before it takes a batch.
pub const PROCESSOR_MAX_DEFER: Duration = Duration::from_secs(1);
/// When the local processor waits for the ingest.
pub const PROCESSOR_BUSY_INGEST: pace::BusyIngest =
    pace::BusyIngest { above_events_per_s: PROCESSOR_DEFER_ABOVE_EVENTS_PER_S, max_defer: PROCESSOR_MAX_DEFER };

/// The local processor: tails the event log from its checkpoint and applies each batch with the
/// same [`Processor`] the Lambda runs. The checkpoint is committed with the batch's effects, so
/// after a `kill -9` it resumes where the last commit ended, and the `event_id` markers make any
/// batch read again a no-op. While the ingest is busy ([`PROCESSOR_BUSY_INGEST`]) it takes a batch
/// at most each [`PROCESSOR_MAX_DEFER`]. Runs until the runtime stops.
pub async fn run_processor(log: SqliteEventLog, processor: Processor, state: std::sync::Arc<dyn StateStore>) {
    let mut position = loop {
        match state.checkpoint(PROCESSOR_CONSUMER).await {
            Ok(p) => break p.unwrap_or(0),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the processor's checkpoint; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    tracing::info!(position, "local processor started");
    let mut failures = 0u32;
    let mut pace = pace::IngestPace::new(log.clone(), PROCESSOR_BUSY_INGEST);
    loop {
        if pace.defer("processor") {
            tokio::time::sleep(PROCESSOR_POLL).await;
            continue;
        }
        let reader = log.clone();
        let rows = match tokio::task::spawn_blocking(move || reader.read_after(position, PROCESSOR_BATCH)).await {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot read the event log; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "the event log reader failed; retrying");
                continue;
            }
        };
        let Some(last) = rows.last().map(|r| r.seq) else {
            tokio::time::sleep(PROCESSOR_POLL).await;
            continue;
        };
        let records: Vec<InputRecord> =
            rows.into_iter().map(|r| InputRecord { id: r.seq.to_string(), data: r.json.into_bytes() }).collect();
        let outcome = processor.process(&records, Some((PROCESSOR_CONSUMER, last))).await;
        tracing::debug!(?outcome, position = last, "batch processed");
        if outcome.failed_from.is_some() {
            // Read the batch again after a pause: what was committed is skipped by its markers.
            failures += 1;
            tokio::time::sleep(Duration::from_millis(100 << failures.min(5))).await;
            continue;
        }
        failures = 0;
        position = last;
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_processor_waits_for_a_load_test_not_for_a_shop_and_never_long() {
        let busy = PROCESSOR_BUSY_INGEST;
        let tick = PROCESSOR_POLL;
        let ran = Some(Duration::from_millis(100));
        // A shop's traffic (a batch of 100 events every poll is 4,000 a second) never delays it.
        assert!(!busy.defers(100, tick, ran));
        // 5,000 a second is the line: above it, it waits.
        assert!(!busy.defers(125, tick, ran));
        assert!(busy.defers(126, tick, ran));
        // A load test's pace, however long: a batch each PROCESSOR_MAX_DEFER, and one on start-up.
        assert!(busy.defers(2_500, tick, Some(PROCESSOR_MAX_DEFER - Duration::from_millis(1))));
        assert!(!busy.defers(2_500, tick, Some(PROCESSOR_MAX_DEFER)));
        assert!(!busy.defers(2_500, tick, None));
        // It waits less than the lake, which only lags.
        assert!(PROCESSOR_MAX_DEFER < lake_local::LAKE_MAX_DEFER);
    }

    fn this_threads_nice() -> i32 {
        // SAFETY: reads the calling thread's own priority.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    fn this_threads_policy() -> i32 {
        // SAFETY: reads the calling thread's own policy.
        unsafe { libc::sched_getscheduler(0) }
    }

    fn priority() -> (i32, i32) {
        (this_threads_nice(), this_threads_policy())
    }

    #[test]
    fn background_threads_run_below_the_ingest() {
        let before = priority();
        assert_eq!(before.1, libc::SCHED_OTHER, "the test runs as an ordinary thread");
        let background = background_runtime().unwrap();
        let (worker, blocking) = background.block_on(async {
            let worker = tokio::spawn(async { priority() }).await.unwrap();
            let blocking = tokio::task::spawn_blocking(priority).await.unwrap();
            (worker, blocking)
        });
        let lowered = ((before.0 + BACKGROUND_NICE).min(19), libc::SCHED_IDLE);
        assert_eq!(worker, lowered, "the background worker thread");
        assert_eq!(blocking, lowered, "the background blocking pool (SQLite, Parquet)");
        assert_eq!(priority(), before, "the caller's own priority is left alone");
    }
}
