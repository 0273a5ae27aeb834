use std::path::PathBuf;

use event_schema::validate::{validate_event, ValidationOptions};
use event_schema::Timestamp;
use ingest_domain::{EnrichedEvent, EventSink};
use serde_json::{json, Value};
use sqlite_store::{SqliteEventLog, StoreError};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sqlite-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn enriched(i: u32, kind: &str) -> EnrichedEvent {
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
