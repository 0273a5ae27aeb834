//! The local server's processor and recommendations API, end to end over HTTP: clicks change what
//! the API answers, and the processor resumes after `kill -9` without losing or double-counting.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use event_schema::Timestamp;
use personalize::model::{Key, Value as Record};
use personalize::StateStore;
use serde_json::{json, Value};
use sqlite_store::SqliteStateStore;

mod support;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shopstream-recs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn serve(data: &Path) -> (Child, String) {
    support::serve(data, &[])
}

/// (status, JSON body or `null`) of one request.
fn request(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let (status, _, body) = support::http(addr, method, path, &[("Content-Type", "application/json")], body);
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn now() -> String {
    Timestamp(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64).to_rfc3339()
}

fn event(id: u64, kind: &str, anon: &str, session: &str, properties: Value) -> Value {
    json!({
        "event_id": format!("019ab2c4-7e10-7000-8000-{id:012x}"), "type": kind, "occurred_at": now(),
        "anonymous_id": anon, "session_id": session, "properties": properties
    })
}

fn post(addr: &str, events: &[Value]) {
    let body = json!({"schema_version": 1, "sent_at": now(), "events": events}).to_string();
    let (status, answer) = request(addr, "POST", "/v1/events", body.as_bytes());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"].as_u64(), Some(events.len() as u64), "{answer}");
}

fn until(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < deadline, "{what}: not within {deadline:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn orders_change_the_product_recommendations_and_bad_requests_get_a_reason() {
    let data = temp_dir("orders");
    let (mut server, addr) = serve(&data);
    let tent = "/v1/recommendations?placement=product&sku=tent";
    let (status, before) = request(&addr, "GET", tent, b"");
    assert_eq!((status, before["strategy"].as_str()), (200, Some("trending")), "{before}");
    let orders: Vec<Value> = (0..3)
        .map(|i| {
            let items =
                json!([{"sku": "tent", "quantity": 1, "price": 100.0}, {"sku": "stove", "quantity": 1, "price": 40.0}]);
            let order = json!({"order_id": format!("o{i}"), "revenue": 140.0, "currency": "EUR", "items": items});
            event(i, "purchase", &format!("shopper-{i}"), "s", order)
        })
        .collect();
    post(&addr, &orders);
    until("the orders reach the recommendations", Duration::from_secs(10), || {
        let (_, answer) = request(&addr, "GET", tent, b"");
        answer["strategy"] == "bought_together" && answer["items"][0]["sku"] == "stove"
    });
    let (status, bad) = request(&addr, "GET", "/v1/recommendations?placement=shelf", b"");
    assert_eq!((status, bad["parameter"].as_str()), (400, Some("placement")), "{bad}");
    server.kill().unwrap();
    server.wait().unwrap();
}

/// Item `a`'s view count and its co-view count with `b`, from the state file.
fn counts(data: &Path) -> (f64, f64) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = SqliteStateStore::open(data).unwrap();
    let key = Key::Item("a".into());
    let found = runtime.block_on(store.load(std::slice::from_ref(&key))).unwrap();
    match found.get(&key).map(|v| &v.value) {
        Some(Record::Item(item)) => (item.views.value, item.co_view.get("b").map_or(0.0, |c| c.count.value)),
        _ => (0.0, 0.0),
    }
}

#[test]
fn the_processor_resumes_after_kill_9_without_losing_or_double_counting() {
    let data = temp_dir("resume");
    // 120 sessions each view `a` then `b`: exactly 120 views of `a` and 120 co-views (a, b).
    let sessions: Vec<Vec<Value>> = (0..120u64)
        .map(|s| {
            let (anon, session) = (format!("anon-{s}"), format!("session-{s}"));
            vec![
                event(2 * s, "product_view", &anon, &session, json!({"sku": "a"})),
                event(2 * s + 1, "product_view", &anon, &session, json!({"sku": "b"})),
            ]
        })
        .collect();
    let (mut server, addr) = serve(&data);
    for chunk in sessions[..60].chunks(5) {
        post(&addr, &chunk.concat());
    }
    server.kill().unwrap(); // SIGKILL, while the processor is likely mid-way
    server.wait().unwrap();
    let (views_at_kill, _) = counts(&data);
    assert!(views_at_kill <= 60.0, "{views_at_kill}");

    let (mut server, addr) = serve(&data);
    // The first 60 again (a tracker retrying), then the rest.
    for chunk in sessions.chunks(5) {
        post(&addr, &chunk.concat());
    }
    until("every session is applied", Duration::from_secs(30), || counts(&data).0.round() >= 120.0);
    std::thread::sleep(Duration::from_millis(300)); // nothing more comes
    let (views, co_views) = counts(&data);
    assert_eq!((views.round(), co_views.round()), (120.0, 120.0), "{views} {co_views}");
    assert!((views - 120.0).abs() < 0.01, "only decay between the events' milliseconds: {views}");
    server.kill().unwrap();
    server.wait().unwrap();
}
