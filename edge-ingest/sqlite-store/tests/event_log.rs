use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use event_schema::validate::{validate_event, ValidationOptions};
use event_schema::Timestamp;
use ingest_domain::{EnrichedEvent, EventSink};
use serde_json::{json, Value};
use sqlite_store::{SqliteEventLog, StoreError, WriterLimits, DB_FILE};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sqlite-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn enriched(i: u64, kind: &str) -> EnrichedEvent {
    let t = Timestamp::parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
    let v = json!({
        "event_id": format!("019ab2c4-7e10-7000-8000-{i:012x}"), "type": kind,
        "occurred_at": "2026-11-22T10:00:00Z", "anonymous_id": "a", "session_id": "s",
        "properties": {"sku": "sku-1"}
    });
    let event = validate_event(&v, &ValidationOptions::at(t)).unwrap();
    EnrichedEvent::new(event, t, t)
}

#[tokio::test]
async fn appends_in_order_survives_reopen_and_ignores_replays() {
    let dir = temp_dir("order");
    let log = SqliteEventLog::open(&dir).unwrap();
    log.write(&[enriched(1, "page_view"), enriched(2, "product_view")]).await.unwrap();
    log.write(&[enriched(3, "add_to_cart")]).await.unwrap();
    // A retried batch: the same event ids again.
    log.write(&[enriched(2, "product_view"), enriched(3, "add_to_cart")]).await.unwrap();
    drop(log);

    let log = SqliteEventLog::open_read_only(&dir).unwrap();
    let rows = log.read_after(0, 100).unwrap();
    let types: Vec<String> = rows
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.json).unwrap()["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, ["page_view", "product_view", "add_to_cart"]);
    assert!(rows.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(log.read_after(rows[1].seq, 100).unwrap().len(), 1);
    let first: Value = serde_json::from_str(&rows[0].json).unwrap();
    assert_eq!(first["received_at"], "2026-11-22T10:00:00.000Z");
    assert_eq!(first["properties"], json!({}), "page_view keeps only its typed properties");
}

#[test]
fn unusable_paths_are_clear_errors() {
    let dir = temp_dir("missing");
    assert!(matches!(SqliteEventLog::open_read_only(&dir), Err(StoreError::Missing { .. })));
    // A data dir below a regular file cannot be created (this holds even for root).
    let file = temp_dir("file");
    std::fs::write(&file, b"x").unwrap();
    let err = SqliteEventLog::open(&file.join("data")).err().expect("must fail");
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
    assert!(err.to_string().contains("cannot create the data directory"));
}

#[tokio::test]
async fn rejected_events_are_kept_with_their_reasons() {
    use event_schema::validate::{FieldError, Problem};
    use ingest_domain::{RejectedEventSink, RejectedRecord};
    let dir = temp_dir("rejected");
    let log = SqliteEventLog::open(&dir).unwrap();
    assert!(log.read_rejected_after(0, 10).unwrap().is_empty());
    let record = RejectedRecord {
        received_at: Timestamp::parse_rfc3339("2026-11-22T10:00:00Z").unwrap(),
        scope: "event",
        index: Some(3),
        event_id: Some("e-1".into()),
        errors: vec![FieldError { path: "type".into(), problem: Problem::UnknownEventType("teleport".into()) }],
        raw: r#"{"type":"teleport"}"#.into(),
        raw_truncated: false,
    };
    log.write_rejected(&[record.clone(), RejectedRecord { index: Some(4), ..record }]).await.unwrap();
    drop(log);
    let log = SqliteEventLog::open_read_only(&dir).unwrap();
    let rows = log.read_rejected_after(0, 10).unwrap();
    assert_eq!(rows.len(), 2);
    let first: Value = serde_json::from_str(&rows[0].json).unwrap();
    assert_eq!(first["index"], 3);
    assert_eq!(first["event_id"], "e-1");
    assert_eq!(first["errors"][0]["code"], "unknown_event_type");
    assert!(first["errors"][0]["reason"].as_str().unwrap().contains("teleport"));
    assert_eq!(first["raw"], r#"{"type":"teleport"}"#);
    assert_eq!(log.read_rejected_after(rows[0].seq, 10).unwrap().len(), 1);
    assert_eq!(log.count().unwrap(), 0, "refused events are not in the event log");
}

// Group commit: the writer thread, its groups, failures, shutdown and the WAL's bound.

/// A write of `events` events with ids unique to (`writer`, `batch`).
fn batch(writer: u64, batch: u64, events: u64) -> Vec<EnrichedEvent> {
    (0..events).map(|e| enriched(writer << 32 | batch << 12 | e, "product_view")).collect()
}

fn stored_ids(log: &SqliteEventLog) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut after = 0;
    loop {
        let page = log.read_after(after, 1000).unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in &page {
            let v: Value = serde_json::from_str(&row.json).unwrap();
            assert!(ids.insert(v["event_id"].as_str().unwrap().to_string()), "stored twice: {v}");
        }
    }
    ids
}

fn id(i: u64) -> String {
    format!("019ab2c4-7e10-7000-8000-{i:012x}")
}

/// Every error in `err`'s source chain, as one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_are_all_stored_with_fewer_commits_than_writes() {
    const WRITERS: u64 = 32;
    const BATCHES: u64 = 5;
    const EVENTS: u64 = 20;
    let dir = temp_dir("concurrent");
    let log = SqliteEventLog::open(&dir).unwrap();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let log = log.clone();
            let path = log.path().to_path_buf();
            tokio::spawn(async move {
                let other =
                    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
                for b in 0..BATCHES {
                    log.write(&batch(w, b, EVENTS)).await.unwrap();
                    // Acknowledged means committed: visible at once, to any other connection.
                    let first = w << 32 | b << 12;
                    let visible: i64 = other
                        .query_row(
                            "SELECT count(*) FROM events WHERE event_id BETWEEN ?1 AND ?2",
                            [id(first), id(first + EVENTS - 1)],
                            |r| r.get(0),
                        )
                        .unwrap();
                    assert_eq!(visible as u64, EVENTS, "writer {w} batch {b}");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let writes = WRITERS * BATCHES;
    let commits = log.commits();
    assert!(commits < writes, "{commits} commits for {writes} concurrent writes: no group formed");
    assert_eq!(log.failed_commits(), 0);
    drop(log);

    let log = SqliteEventLog::open_read_only(&dir).unwrap();
    let ids = stored_ids(&log);
    assert_eq!(ids.len() as u64, writes * EVENTS);
    assert_eq!(log.count().unwrap(), writes * EVENTS);
    let rows = log.read_after(0, usize::MAX / 2).unwrap();
    assert!(rows.windows(2).all(|w| w[0].seq < w[1].seq));
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_large_write_keeps_its_order_and_skips_repeats_across_its_statements() {
    let dir = temp_dir("statements");
    let log = SqliteEventLog::open(&dir).unwrap();
    // 150 events go in statements of 64, 64, 16, 4 and 2 rows.
    let first = batch(1, 1, 150);
    assert_eq!(log.append(&first[..70]).unwrap(), 70);
    let mut second: Vec<EnrichedEvent> = first.clone();
    second.insert(100, first[3].clone()); // stored before, and sent again inside a statement
    second.insert(140, first[120].clone()); // sent twice in this write, in different statements
    second.push(first[149].clone()); // and twice at the end, in the same 2-row statement
    assert_eq!(second.len(), 153);
    assert_eq!(log.append(&second).unwrap(), 80, "only events 70 to 149 are new");
    let rows = log.read_after(0, 1_000).unwrap();
    let ids: Vec<String> = rows
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.json).unwrap()["event_id"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (0..150).map(|e| id(1 << 32 | 1 << 12 | e)).collect();
    assert_eq!(ids, expected, "each event once, in the order sent");
    assert!(rows.windows(2).all(|w| w[0].seq < w[1].seq));
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn append_counts_only_new_events_and_a_read_only_log_refuses_writes() {
    let dir = temp_dir("append");
    let log = SqliteEventLog::open(&dir).unwrap();
    assert_eq!(log.append(&batch(1, 1, 3)).unwrap(), 3);
    assert_eq!(log.append(&batch(1, 1, 4)).unwrap(), 1, "the first three are replays");
    assert_eq!(log.append(&[]).unwrap(), 0);
    assert_eq!(log.commits(), 2, "an empty write commits nothing");
    assert_eq!(log.rows_committed(), 7, "the pace counts what was written, replays included");
    let read_only = SqliteEventLog::open_read_only(&dir).unwrap();
    assert_eq!(read_only.count().unwrap(), 4, "a second process sees what the writer committed");
    assert!(matches!(read_only.append(&batch(2, 1, 1)), Err(StoreError::ReadOnly { .. })));
}

#[tokio::test]
async fn dropping_the_log_commits_the_writes_still_queued() {
    let dir = temp_dir("drop");
    let log = SqliteEventLog::open(&dir).unwrap();
    // A request that gave up after its write was queued (a closed connection): its events are still
    // committed, here by the drop, which stops the writer only once the queue is empty.
    let queued = batch(1, 1, 10);
    tokio::select! {
        biased;
        written = log.write(&queued) => written.unwrap(),
        () = std::future::ready(()) => {}
    }
    drop(log);
    let log = SqliteEventLog::open_read_only(&dir).unwrap();
    assert_eq!(log.count().unwrap(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_do_not_wait_for_a_blocked_writer() {
    let dir = temp_dir("readers");
    let log = SqliteEventLog::open(&dir).unwrap();
    log.write(&batch(1, 1, 5)).await.unwrap();
    // Another process holds the write lock: the writer waits in its busy handler (up to 5 s).
    let other = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let pending = tokio::spawn({
        let log = log.clone();
        async move { log.write(&batch(1, 2, 5)).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    assert_eq!(log.count().unwrap(), 5);
    assert_eq!(log.read_after(0, 100).unwrap().len(), 5);
    log.ready().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(1), "reads waited {:?} for the writer", started.elapsed());
    assert!(!pending.is_finished());
    other.execute_batch("COMMIT").unwrap();
    pending.await.unwrap().unwrap();
    assert_eq!(log.count().unwrap(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_fails_every_write_of_its_group_and_the_writer_carries_on() {
    const WRITES: u64 = 32;
    let dir = temp_dir("failure");
    let log = SqliteEventLog::open(&dir).unwrap();
    // Every insert fails (as on a full or failing disk), and the write lock is held so that the
    // writes queue behind the writer's first group and share the next one.
    let other = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    other
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk says no'); END;
             BEGIN IMMEDIATE;",
        )
        .unwrap();
    let writes: Vec<_> = (0..WRITES)
        .map(|w| {
            let log = log.clone();
            tokio::spawn(async move { log.write(&batch(w, 1, 10)).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    other.execute_batch("COMMIT").unwrap();
    for write in writes {
        let err = write.await.unwrap().expect_err("acknowledged a write that was not committed");
        let text = chain(&err);
        assert!(text.contains("cannot commit a group of") && text.contains("disk says no"), "{text}");
    }
    assert_eq!(log.commits(), 0);
    assert_eq!(log.rows_committed(), 0, "failed groups wrote nothing");
    let failed = log.failed_commits();
    assert!((1..WRITES).contains(&failed), "{failed} failed commits for {WRITES} writes: no group formed");
    assert_eq!(log.count().unwrap(), 0);

    other.execute_batch("DROP TRIGGER refuse").unwrap();
    log.write(&batch(99, 1, 10)).await.unwrap();
    log.ready().await.unwrap();
    assert_eq!(log.count().unwrap(), 10);
}

/// One WAL frame: a 24-byte header and a 4 KiB page.
const FRAME_BYTES: u64 = 24 + 4096;

/// A writer with a small WAL (checkpoints every 16 frames, groups of at most 200 events), and the
/// given bounds.
fn small_wal(max_wal_frames: u32, busy_above_events_per_s: u32, busy_max_wal_frames: u32) -> WriterLimits {
    WriterLimits {
        max_group_events: 200,
        checkpoint_every_frames: 16,
        max_wal_frames,
        busy_above_events_per_s,
        busy_max_wal_frames,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_writes_that_never_pause() {
    const MAX_WAL_FRAMES: u32 = 64;
    let dir = temp_dir("wal");
    // Checkpoints never wait for a load test here (that is the next test).
    let limits = small_wal(MAX_WAL_FRAMES, u32::MAX, MAX_WAL_FRAMES);
    let log = SqliteEventLog::open_with(&dir, limits).unwrap();
    let wal = dir.join(format!("{DB_FILE}-wal"));
    let tasks: Vec<_> = (0..8)
        .map(|w| {
            let log = log.clone();
            tokio::spawn(async move {
                for b in 0..60 {
                    log.write(&batch(w, b, 25)).await.unwrap();
                }
            })
        })
        .collect();
    let mut largest = 0;
    while !tasks.iter().all(|t| t.is_finished()) {
        largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for task in tasks {
        task.await.unwrap();
    }
    largest = largest.max(std::fs::metadata(&wal).unwrap().len());
    let database = std::fs::metadata(dir.join(DB_FILE)).unwrap().len();
    let written = 8 * 60 * 25;
    assert_eq!(log.count().unwrap(), written);
    // 12,000 events of some 200 bytes as stored (their JSON compressed): about 2.5 MB went through a
    // WAL bounded to 64 frames, 256 KiB (plus what is committed while a checkpoint runs).
    assert!(database > 2 * 1024 * 1024, "database {database} bytes");
    assert!(largest < 8 * u64::from(MAX_WAL_FRAMES) * FRAME_BYTES, "WAL reached {largest} bytes");
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_wait_for_a_load_test_within_a_bound_and_catch_up_after_it() {
    const MAX_WAL_FRAMES: u32 = 32;
    const BUSY_MAX_WAL_FRAMES: u32 = 512;
    let dir = temp_dir("wal-busy");
    // The writes below go at some 10,000 events/s or more; the probes after them at 5.
    let limits = small_wal(MAX_WAL_FRAMES, 1_000, BUSY_MAX_WAL_FRAMES);
    let log = SqliteEventLog::open_with(&dir, limits).unwrap();
    let wal = dir.join(format!("{DB_FILE}-wal"));
    let wal_bytes = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tasks: Vec<_> = (0..8)
        .map(|w| {
            let (log, stop) = (log.clone(), stop.clone());
            tokio::spawn(async move {
                let mut b = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    log.write(&batch(w, b, 25)).await.unwrap();
                    b += 1;
                }
                b
            })
        })
        .collect();
    // Writes that never pause, for 3 s (long enough to pass the load test's bound, 2 MiB, more than
    // once on any machine this runs on), then until the WAL is past the usual bound's reach.
    let usual = 8 * u64::from(MAX_WAL_FRAMES) * FRAME_BYTES;
    let (started, mut largest) = (Instant::now(), 0);
    while started.elapsed() < Duration::from_secs(3) || wal_bytes() <= usual {
        largest = largest.max(wal_bytes());
        assert!(started.elapsed() < Duration::from_secs(30), "the WAL never passed {usual} bytes: {largest}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut written = 0;
    for task in tasks {
        written += task.await.unwrap() * 25;
    }
    largest = largest.max(wal_bytes());
    assert!(written * 200 > 4 * FRAME_BYTES * u64::from(BUSY_MAX_WAL_FRAMES), "only {written} events");
    // Without the wait the WAL would stay within 8 × 32 frames (the test above); with it, it grows
    // past that, and stays within its own bound (plus what is committed while a checkpoint runs).
    assert!(largest < 4 * u64::from(BUSY_MAX_WAL_FRAMES) * FRAME_BYTES, "WAL reached {largest} bytes");

    // Once the writes pause, the checkpointer copies the WAL into the database, and the next write
    // starts the WAL again, cut back to its usual bound.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        log.write(&batch(99, 0, 1)).await.unwrap();
        if wal_bytes() <= 2 * u64::from(MAX_WAL_FRAMES) * FRAME_BYTES {
            break;
        }
        assert!(Instant::now() < deadline, "the WAL is still {} bytes after the load", wal_bytes());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(log.count().unwrap(), written + 1);
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Run as a child process by `acknowledged_writes_survive_kill_9`; does nothing otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_child_writer() {
    let Some(dir) = std::env::var_os(KILL_9_CHILD_DIR) else { return };
    let log = SqliteEventLog::open(Path::new(&dir)).unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|w| {
            let log = log.clone();
            // Built beforehand, so the writer is the bottleneck: large groups, always one in flight.
            let batches: Vec<_> = (0..KILL_9_BATCHES).map(|b| batch(w, b, KILL_9_BATCH_EVENTS)).collect();
            tokio::spawn(async move {
                for (b, events) in batches.iter().enumerate() {
                    log.write(events).await.unwrap();
                    println!("acknowledged {w} {b}");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

const KILL_9_CHILD_DIR: &str = "SQLITE_STORE_KILL_9_CHILD_DIR";
/// Large batches make large groups, whose inserts take long enough that a kill often lands in them.
const KILL_9_BATCH_EVENTS: u64 = 100;
const KILL_9_BATCHES: u64 = 40;

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = temp_dir("kill9");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["kill_9_child_writer", "--exact", "--nocapture", "--test-threads=1"])
        .env(KILL_9_CHILD_DIR, &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acknowledged = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let Some(ack) = line.strip_prefix("acknowledged ") else { continue };
        let (w, b) = ack.split_once(' ').unwrap();
        acknowledged.push((w.parse::<u64>().unwrap(), b.parse::<u64>().unwrap()));
        if acknowledged.len() == 100 {
            break;
        }
    }
    assert_eq!(acknowledged.len(), 100, "the child stopped early");
    child.kill().unwrap(); // SIGKILL, mid-write (of 8 x 40 batches)
                           // What the child printed until it died was acknowledged too.
    for line in lines {
        let Some(ack) = line.unwrap().strip_prefix("acknowledged ").map(str::to_string) else { continue };
        let (w, b) = ack.split_once(' ').unwrap();
        acknowledged.push((w.parse::<u64>().unwrap(), b.parse::<u64>().unwrap()));
    }
    child.wait().unwrap();

    let log = SqliteEventLog::open(&dir).unwrap();
    let ids = stored_ids(&log);
    for (w, b) in acknowledged {
        assert!(
            (0..KILL_9_BATCH_EVENTS).all(|e| ids.contains(&id(w << 32 | b << 12 | e))),
            "lost acknowledged batch {b} of writer {w}"
        );
    }
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}

// How bodies are stored.

/// Events unlike one another and unlike the dictionary's: ids, shoppers, products, pages, prices,
/// browsers and networks drawn from a seeded generator.
fn varied_events(n: u64) -> Vec<EnrichedEvent> {
    use ingest_domain::enrich::RequestContext;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let agents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    ];
    let words = ["linen", "trail", "wool", "canvas", "leather", "summer", "alpine", "classic", "slim", "rain"];
    let things = ["shirt", "boot", "jacket", "tent", "bag", "scarf", "sneaker", "lamp", "mug", "watch"];
    let t = Timestamp::parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
    (0..n)
        .map(|i| {
            let (r1, r2, r3) = (next(), next(), next());
            let (word, thing) = (words[(r1 % 10) as usize], things[(r1 / 10 % 10) as usize]);
            let sku = format!("{}-{}-{:04}", &word[..3], &thing[..3], r2 % 5000);
            let path = format!("/products/{word}-{thing}-{}", r2 % 5000);
            let url = format!("https://shop-{}.example{path}", r3 % 7);
            let locale = ["en-GB", "de-DE", "fr-FR"][(r2 % 3) as usize];
            let v = json!({
                "event_id": format!("019ab2c4-{:04x}-7{:03x}-8{:03x}-{:012x}", r1 as u16, r2 as u16 & 0xfff, r3 as u16 & 0xfff, next() >> 16),
                "type": if i % 3 == 0 { "page_view" } else { "product_view" },
                "occurred_at": "2026-11-22T10:00:00Z",
                "anonymous_id": format!("{:016x}{:016x}", next(), next()),
                "session_id": format!("{:016x}", next()),
                "context": {
                    "page": {"url": url, "path": path, "title": format!("{word} {thing} | Shop {}", r3 % 7)},
                    "locale": locale,
                    "screen": {"width": 320 + r3 % 1600, "height": 480 + r2 % 900},
                },
                "properties": if i % 3 == 0 { json!({}) } else { json!({
                    "sku": sku, "name": format!("{word} {thing}"), "price": (r3 % 20_000) as f64 / 100.0,
                    "currency": "EUR", "position": r1 % 48, "url": url,
                })},
            });
            let event = validate_event(&v, &ValidationOptions::at(t)).unwrap_or_else(|e| panic!("{v}: {e:?}"));
            let mut enriched = EnrichedEvent::new(event, t, t);
            let ip: std::net::IpAddr = format!("203.0.{}.{}", r1 % 256, r2 % 256).parse().unwrap();
            let request = RequestContext { client_ip: Some(ip), user_agent: Some(agents[(r3 % 3) as usize].into()), ..Default::default() };
            enriched.edge = ingest_domain::enrich::edge_context(&request, None);
            enriched
        })
        .collect()
}

/// An event's JSON is stored as a zstd frame against a dictionary: for events unlike the
/// dictionary's own, at most 40% of its bytes (stored as text, 100%); what is read back is the JSON
/// exactly as encoded.
#[tokio::test]
async fn bodies_are_stored_in_a_fraction_of_their_json_and_read_back_exactly() {
    let dir = temp_dir("compressed");
    let log = SqliteEventLog::open(&dir).unwrap();
    let events = varied_events(2_000);
    log.write(&events).await.unwrap();
    let rows = log.read_after(0, 5_000).unwrap();
    assert_eq!(rows.len(), events.len());
    for (row, event) in rows.iter().zip(&events) {
        assert_eq!(row.json, event.to_json().unwrap());
    }
    let json: usize = rows.iter().map(|r| r.json.len()).sum();
    let raw = rusqlite::Connection::open(log.path()).unwrap();
    let (blobs, stored): (i64, i64) = raw
        .query_row("SELECT count(*), sum(length(body)) FROM events WHERE typeof(body) = 'blob'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(blobs as usize, events.len());
    let ratio = stored as f64 / json as f64;
    assert!(ratio < 0.4, "{json} bytes of JSON stored in {stored} ({ratio:.2})");
    drop((raw, log));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A body that cannot be read back does not stop the log's readers: its row is read as a marker
/// that names it and the reason (logged too), and the rows after it still read.
#[tokio::test]
async fn a_damaged_body_reads_as_a_marker_naming_its_row() {
    let dir = temp_dir("damaged");
    let log = SqliteEventLog::open(&dir).unwrap();
    log.write(&[enriched(1, "page_view"), enriched(2, "page_view")]).await.unwrap();
    let raw = rusqlite::Connection::open(log.path()).unwrap();
    let seq: i64 = raw.query_row("SELECT min(seq) FROM events", [], |r| r.get(0)).unwrap();
    raw.execute("UPDATE events SET body = x'07000000' WHERE seq = ?1", [seq]).unwrap();
    drop(raw);
    let rows = log.read_after(0, 10).unwrap();
    assert_eq!(rows.len(), 2);
    let marker: Value = serde_json::from_str(&rows[0].json).unwrap();
    assert_eq!(
        marker,
        json!({"unreadable_body": {"seq": seq, "error": "the stored body has the unknown format byte 7"}})
    );
    assert_eq!(rows[1].json, enriched(2, "page_view").to_json().unwrap(), "the rows after it still read");
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}
