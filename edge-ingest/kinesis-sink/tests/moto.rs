//! KinesisEventSink against a real moto server (the AWS wire-protocol emulator): what is written is
//! read back with ListShards + GetShardIterator + GetRecords and compared field by field.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use common::*;
use ingest_domain::{EnrichedEvent, EventSink, FixedClock, Ingest};
use ingest_kinesis::{KinesisEventSink, RetryPolicy, SinkMetrics, MAX_RECORDS_PER_REQUEST, MAX_REQUEST_BYTES};
use serde_json::Value;
use tower::ServiceExt;

/// A sink with a generous deadline: moto on a loaded 2-core machine can take seconds for a 5 MiB
/// PutRecords in a debug build, and these tests are about what arrives, not about time (the
/// deadline is tested in `faults.rs`).
fn sink(client: aws_sdk_kinesis::Client, stream: &str) -> KinesisEventSink {
    KinesisEventSink::new(client, stream, RetryPolicy::with_deadline(Duration::from_secs(30))).unwrap()
}

/// Every record matches the event sent with its id (whole JSON, so every field), its partition key
/// is the anonymous id, each shopper sits on one shard, and each shopper's events are in the order
/// sent.
fn assert_stream_holds_exactly(stored: &[Stored], sent: &[EnrichedEvent]) {
    assert_eq!(stored.len(), sent.len(), "records in the stream");
    let by_id: BTreeMap<&str, &EnrichedEvent> = sent.iter().map(|e| (e.event.event_id.as_str(), e)).collect();
    assert_eq!(by_id.len(), sent.len(), "the test sends distinct event ids");
    let mut seen = BTreeSet::new();
    for record in stored {
        let id = record.json["event_id"].as_str().unwrap();
        let event = by_id.get(id).unwrap_or_else(|| panic!("unexpected record {id}"));
        assert!(seen.insert(id.to_owned()), "{id} stored twice");
        assert_eq!(record.json, as_json(event), "record {id} differs from what was sent");
        assert_eq!(record.partition_key, event.event.anonymous_id, "partition key of {id}");
    }
    let mut shard_of: BTreeMap<&str, &str> = BTreeMap::new();
    for record in stored {
        let shard = shard_of.entry(record.partition_key.as_str()).or_insert(record.shard_id.as_str());
        assert_eq!(*shard, record.shard_id, "shopper {} is on two shards", record.partition_key);
    }
    let sent_order = ids_by_shopper(sent.iter().map(|e| (e.event.anonymous_id.as_str(), e.event.event_id.as_str())));
    let stored_order = ids_by_shopper(
        stored.iter().map(|r| (r.partition_key.as_str(), r.json["event_id"].as_str().unwrap_or_default())),
    );
    assert_eq!(stored_order, sent_order, "each shopper's events in the order sent");
}

#[tokio::test]
async fn fixture_events_arrive_field_by_field_keyed_and_ordered_per_shopper_on_two_shards() {
    let client = moto_client();
    let stream = create_stream(&client, 2).await;
    // The fixtures' own events (one shopper) and the same events for seven more shoppers.
    let mut events = fixture_events();
    events.extend(many_events(events.len() * 7, 7));
    let sink = sink(client.clone(), &stream);
    sink.write(&events).await.unwrap();

    let stored = read_stream(&client, &stream).await;
    assert_stream_holds_exactly(&stored, &events);
    let shards: BTreeSet<&str> = stored.iter().map(|r| r.shard_id.as_str()).collect();
    assert_eq!(shards.len(), 2, "eight shoppers spread over both shards");
    // Spot checks of what the server added, on top of the whole-JSON equality above.
    let first = &stored.iter().find(|r| r.json["event_id"] == events[0].event.event_id.as_str()).unwrap().json;
    assert_eq!(first["received_at"], "2026-11-22T10:00:05.000Z");
    assert_eq!(first["anonymous_id"], "anon-5f0c");
    assert!(first["sent_at"].is_string());
    assert_eq!(
        sink.metrics(),
        SinkMetrics { put_records_calls: 1, records_written: events.len() as u64, ..SinkMetrics::default() }
    );
}

#[tokio::test]
async fn twelve_hundred_events_take_three_calls_and_arrive_whole() {
    let client = moto_client();
    let stream = create_stream(&client, 2).await;
    let events = many_events(1200, 40);
    let sink = sink(client.clone(), &stream);
    sink.write(&events).await.unwrap();

    assert_stream_holds_exactly(&read_stream(&client, &stream).await, &events);
    let calls = 1200_usize.div_ceil(MAX_RECORDS_PER_REQUEST) as u64;
    assert_eq!(sink.metrics(), SinkMetrics { put_records_calls: calls, records_written: 1200, ..Default::default() });
}

#[tokio::test]
async fn a_batch_over_5_mib_is_split_by_bytes_and_arrives_whole() {
    let client = moto_client();
    let stream = create_stream(&client, 2).await;
    // 200 events of ~30 KiB: far below 500 records, but over 5 MiB.
    let mut events = many_events(200, 10);
    for e in &mut events {
        let page = e.event.context.get_or_insert_with(Default::default).page.get_or_insert_with(Default::default);
        page.title = Some("t".repeat(30 * 1024));
    }
    let bytes: usize = events.iter().map(|e| e.to_json().unwrap().len() + e.event.anonymous_id.len()).sum();
    assert!(bytes > MAX_REQUEST_BYTES && bytes < 2 * MAX_REQUEST_BYTES, "{bytes} bytes");
    let sink = sink(client.clone(), &stream);
    sink.write(&events).await.unwrap();

    assert_stream_holds_exactly(&read_stream(&client, &stream).await, &events);
    assert_eq!(sink.metrics(), SinkMetrics { put_records_calls: 2, records_written: 200, ..Default::default() });
}

#[tokio::test]
async fn ready_for_an_existing_stream_and_not_for_a_missing_one_or_a_dead_endpoint() {
    let client = moto_client();
    let stream = create_stream(&client, 1).await;
    sink(client.clone(), &stream).ready().await.unwrap();

    let err = sink(client, &testkit::unique("missing")).ready().await.unwrap_err();
    assert!(err.to_string().contains("not ready"), "{err}");
    let source = err.source.as_ref().unwrap().to_string();
    assert!(source.contains("cannot describe Kinesis stream missing-"), "{source}");

    // Nothing listens there: refused at once (the SDK's own retries are off for the probe).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead = client_for(&format!("http://127.0.0.1:{port}"));
    let started = Instant::now();
    assert!(sink(dead, &stream).ready().await.is_err());
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_write_to_a_missing_stream_fails_at_once_and_is_counted() {
    let sink = sink(moto_client(), &testkit::unique("missing"));
    let err = sink.write(&fixture_events()[..3]).await.unwrap_err();
    assert_eq!(sink.metrics().put_records_calls, 1, "a missing stream is not retried until the deadline");
    assert_eq!(sink.metrics().retries, 0);
    let source = err.source.as_ref().unwrap().to_string();
    assert!(source.starts_with("3 of 3 records not stored in Kinesis stream missing-"), "{source}");
    assert_eq!(sink.metrics().give_ups, 1);
    assert_eq!(sink.metrics().records_not_stored, 3);
    assert_eq!(sink.metrics().records_written, 0);
}

async fn call(app: axum::Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = to_bytes(res.into_body(), usize::MAX).await.unwrap();
    (status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn post_events(body: Vec<u8>) -> Request<Body> {
    Request::post("/v1/events").header("content-type", "application/json").body(Body::from(body)).unwrap()
}

fn app(sink: Arc<KinesisEventSink>) -> axum::Router {
    ingest_http::router(Ingest::new(sink, Arc::new(FixedClock(received_at()))))
}

#[tokio::test]
async fn over_http_a_batch_is_acknowledged_only_once_it_is_in_kinesis() {
    let client = moto_client();
    let stream = create_stream(&client, 2).await;
    let sink = Arc::new(sink(client.clone(), &stream));
    let app = app(sink.clone());

    let (status, _, _) = call(app.clone(), Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = call(app, post_events(fixture("valid/mixed_types.json"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], 5);

    let stored = read_stream(&client, &stream).await;
    let sent: Value = serde_json::from_slice(&fixture("valid/mixed_types.json")).unwrap();
    let sent_ids: Vec<&str> =
        sent["events"].as_array().unwrap().iter().map(|e| e["event_id"].as_str().unwrap()).collect();
    let stored_ids: Vec<&str> = stored.iter().map(|r| r.json["event_id"].as_str().unwrap()).collect();
    assert_eq!(stored_ids, sent_ids, "one shopper: one shard, in batch order");
    assert!(stored.iter().all(|r| r.json["received_at"] == "2026-11-22T10:00:05.000Z"));
    assert!(stored.iter().all(|r| r.partition_key == "anon-5f0c"));
    assert_eq!(sink.metrics().records_written, 5);
}

#[tokio::test]
async fn over_http_a_missing_stream_is_503_with_retry_after() {
    let sink = Arc::new(sink(moto_client(), &testkit::unique("missing")));
    let app = app(sink.clone());

    let (status, headers, body) = call(app.clone(), post_events(fixture("valid/purchase.json"))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(body["error"], "unavailable");
    assert!(body.get("accepted").is_none(), "nothing is acknowledged");
    assert_eq!(sink.metrics().give_ups, 1);

    let (status, _, _) = call(app, Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}
