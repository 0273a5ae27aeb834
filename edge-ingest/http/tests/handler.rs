//! The ingest handler called directly (no socket) with the golden fixtures: valid, mixed and
//! malformed batches, the size limit, and a failing sink.

use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use event_schema::limits::MAX_BATCH_BYTES;
use event_schema::{Timestamp, FIXTURES_DIR};
use ingest_domain::{EnrichedEvent, EventSink, FixedClock, Ingest, SinkError};
use serde_json::Value;
use tower::ServiceExt;

#[derive(Default)]
struct MemorySink {
    events: Mutex<Vec<EnrichedEvent>>,
    fail: bool,
}

#[async_trait]
impl EventSink for MemorySink {
    async fn write(&self, events: &[EnrichedEvent]) -> Result<(), SinkError> {
        if self.fail {
            return Err(SinkError::new("disk full", std::io::Error::other("ENOSPC")));
        }
        self.events.lock().unwrap().extend_from_slice(events);
        Ok(())
    }
    async fn ready(&self) -> Result<(), SinkError> {
        if self.fail {
            Err(SinkError::new("down", std::io::Error::other("down")))
        } else {
            Ok(())
        }
    }
}

fn received_at() -> Timestamp {
    let manifest: Value =
        serde_json::from_slice(&fs::read(Path::new(FIXTURES_DIR).join("manifest.json")).unwrap()).unwrap();
    Timestamp::parse_rfc3339(manifest["received_at"].as_str().unwrap()).unwrap()
}

fn app(sink: Arc<MemorySink>) -> axum::Router {
    ingest_http::router(Ingest::new(sink, Arc::new(FixedClock(received_at()))))
}

fn fixture(name: &str) -> Vec<u8> {
    fs::read(Path::new(FIXTURES_DIR).join(name)).unwrap()
}

async fn post(app: axum::Router, body: Vec<u8>) -> (StatusCode, Value, axum::http::HeaderMap) {
    let req = Request::post("/v1/events").header("content-type", "application/json").body(Body::from(body)).unwrap();
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = to_bytes(res.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), headers)
}

#[tokio::test]
async fn valid_batch_is_stored_and_acknowledged() {
    let sink = Arc::new(MemorySink::default());
    let (status, body, _) = post(app(sink.clone()), fixture("valid/mixed_types.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["accepted"], 5);
    assert_eq!(body["rejected"], Value::Array(vec![]));
    let stored = sink.events.lock().unwrap();
    let types: Vec<&str> = stored.iter().map(|e| e.event.event_type().as_str()).collect();
    assert_eq!(types, ["page_view", "product_view", "add_to_cart", "checkout_started", "purchase"]);
    assert!(stored.iter().all(|e| e.received_at == received_at()));
}

#[tokio::test]
async fn every_valid_fixture_is_accepted_over_http() {
    for entry in fs::read_dir(Path::new(FIXTURES_DIR).join("valid")).unwrap() {
        let path = entry.unwrap().path();
        let sent: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        let sink = Arc::new(MemorySink::default());
        let (status, body, _) = post(app(sink.clone()), fs::read(&path).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{}", path.display());
        assert_eq!(body["accepted"], sent["events"].as_array().unwrap().len(), "{}", path.display());
        assert_eq!(sink.events.lock().unwrap().len(), sent["events"].as_array().unwrap().len());
    }
}

#[tokio::test]
async fn mixed_batch_keeps_the_good_events_and_explains_each_bad_one() {
    let sink = Arc::new(MemorySink::default());
    let (status, body, _) = post(app(sink.clone()), fixture("invalid/mixed_good_and_bad.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["accepted"], 2);
    let rejected = body["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[0]["index"], 1);
    assert!(rejected[0]["event_id"].is_string());
    assert_eq!(rejected[0]["errors"][0]["path"], "properties.sku");
    assert_eq!(rejected[0]["errors"][0]["code"], "missing");
    assert_eq!(rejected[0]["errors"][0]["reason"], "is required");
    assert_eq!(rejected[1]["index"], 3);
    assert_eq!(rejected[1]["errors"][0]["path"], "properties.currency");
    assert_eq!(sink.events.lock().unwrap().len(), 2, "the good events are stored");
}

#[tokio::test]
async fn malformed_json_is_400_with_a_reason() {
    let sink = Arc::new(MemorySink::default());
    let (status, body, _) = post(app(sink.clone()), fixture("invalid/not_json.json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "not_json");
    assert!(body["reason"].as_str().unwrap().contains("line"), "{body}");
    assert!(sink.events.lock().unwrap().is_empty());
}

#[tokio::test]
async fn invalid_envelope_is_400_with_paths() {
    let (status, body, _) = post(app(Arc::default()), fixture("invalid/wrong_schema_version.json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_batch");
    assert_eq!(body["errors"][0]["path"], "schema_version");
    assert_eq!(body["errors"][0]["code"], "unsupported_version");
}

#[tokio::test]
async fn body_over_the_limit_is_413_and_at_the_limit_is_not() {
    let sink = Arc::new(MemorySink::default());
    let mut at_limit = fixture("valid/page_view.json");
    at_limit.resize(MAX_BATCH_BYTES, b' ');
    let (status, body, _) = post(app(sink.clone()), at_limit).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut over = fixture("valid/page_view.json");
    over.resize(MAX_BATCH_BYTES + 1, b' ');
    let (status, body, _) = post(app(sink.clone()), over).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "too_large");
    assert_eq!(body["limit_bytes"], MAX_BATCH_BYTES);
    assert_eq!(sink.events.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_failing_sink_is_503_with_retry_after_and_nothing_acknowledged() {
    let sink = Arc::new(MemorySink { fail: true, ..Default::default() });
    let (status, body, headers) = post(app(sink), fixture("valid/purchase.json")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(body["error"], "unavailable");
    assert!(body.get("accepted").is_none());
}

#[tokio::test]
async fn health_and_readiness() {
    let res = app(Arc::default()).oneshot(Request::get("/healthz").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app(Arc::default()).oneshot(Request::get("/readyz").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let failing = Arc::new(MemorySink { fail: true, ..Default::default() });
    let res = app(failing).oneshot(Request::get("/readyz").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

async fn post_to(app: axum::Router, uri: &str, encoding: Option<&str>, body: Vec<u8>) -> (StatusCode, Value) {
    let mut req = Request::post(uri).header("content-type", "text/plain");
    if let Some(e) = encoding {
        req = req.header("content-encoding", e);
    }
    let res = app.oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
    let status = res.status();
    let bytes = to_bytes(res.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn gzip_bodies_by_header_or_query_parameter() {
    let sink = Arc::new(MemorySink::default());
    let body = gzip(&fixture("valid/mixed_types.json"));
    let (status, answer) = post_to(app(sink.clone()), "/v1/events", Some("gzip"), body.clone()).await;
    assert_eq!((status, answer["accepted"].clone()), (StatusCode::OK, Value::from(5)), "{answer}");
    let (status, answer) = post_to(app(sink.clone()), "/v1/events?x=1&compression=gzip", None, body).await;
    assert_eq!((status, answer["accepted"].clone()), (StatusCode::OK, Value::from(5)), "{answer}");
    assert_eq!(sink.events.lock().unwrap().len(), 10);
}

#[tokio::test]
async fn a_gzip_bomb_is_413_without_inflating_it_all() {
    // 64 MiB of zeros is about 64 KiB compressed: small on the wire, far over the limit inflated.
    let bomb = gzip(&vec![b' '; 64 * 1024 * 1024]);
    assert!(bomb.len() < MAX_BATCH_BYTES);
    let (status, answer) = post_to(app(Arc::default()), "/v1/events", Some("gzip"), bomb).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer["error"], "too_large");
    // At the limit, inflated, it is fine.
    let mut at_limit = fixture("valid/page_view.json");
    at_limit.resize(MAX_BATCH_BYTES, b' ');
    let (status, _) = post_to(app(Arc::default()), "/v1/events", Some("gzip"), gzip(&at_limit)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bad_gzip_and_unknown_encodings_are_refused_with_a_reason() {
    let (status, answer) = post_to(app(Arc::default()), "/v1/events", Some("gzip"), b"not gzip".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["reason"].as_str().unwrap().contains("invalid gzip"), "{answer}");
    let (status, answer) = post_to(app(Arc::default()), "/v1/events", Some("br"), b"x".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(answer["error"], "unsupported_encoding");
    let (status, _) = post_to(app(Arc::default()), "/v1/events?compression=zstd", None, b"x".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}
