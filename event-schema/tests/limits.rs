//! Each named limit at its edge (accepted) and one past it (refused, with the right path).

use event_schema::limits::*;
use event_schema::validate::{validate_batch, validate_event, BatchError, BatchOutcome, ValidationOptions};
use event_schema::Timestamp;
use serde_json::{json, Value};

const RECEIVED: &str = "2026-11-22T10:00:05.000Z";

fn opts() -> ValidationOptions {
    ValidationOptions::at(Timestamp::parse_rfc3339(RECEIVED).unwrap())
}

fn uuid(i: usize) -> String {
    format!("019ab2c4-7e10-7000-8000-{i:012x}")
}

fn event(i: usize, kind: &str, properties: Value) -> Value {
    json!({
        "event_id": uuid(i), "type": kind, "occurred_at": "2026-11-22T10:00:00Z",
        "anonymous_id": "a", "session_id": "s", "properties": properties
    })
}

fn batch(events: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({"schema_version": 1, "sent_at": RECEIVED, "events": events})).unwrap()
}

fn run(events: Vec<Value>) -> BatchOutcome {
    validate_batch(&batch(events), &opts()).expect("envelope is valid")
}

/// The single error of a single-event batch, as (path, code); `None` when accepted.
fn problem(e: Value) -> Option<(String, &'static str)> {
    match validate_event(&e, &opts()) {
        Ok(_) => None,
        Err(errors) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            Some((errors[0].path.clone(), errors[0].problem.code()))
        }
    }
}

fn at(path: &str, code: &'static str) -> Option<(String, &'static str)> {
    Some((path.to_string(), code))
}

#[test]
fn events_per_batch() {
    let full: Vec<Value> = (0..MAX_EVENTS_PER_BATCH).map(|i| event(i, "page_view", json!({}))).collect();
    assert_eq!(run(full.clone()).accepted.len(), MAX_EVENTS_PER_BATCH);
    let mut over = full;
    over.push(event(9999, "page_view", json!({})));
    match validate_batch(&batch(over), &opts()) {
        Err(BatchError::Envelope(e)) => {
            assert_eq!(e[0].path, "events");
            assert_eq!(e[0].problem.code(), "too_many");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn batch_bytes() {
    // Pad with an ignored envelope field to land exactly on the limit.
    let base = batch(vec![event(1, "page_view", json!({}))]);
    let pad = MAX_BATCH_BYTES - base.len() - r#","pad":"""#.len();
    let mut v: Value = serde_json::from_slice(&base).unwrap();
    v["pad"] = Value::String("x".repeat(pad));
    let body = serde_json::to_vec(&v).unwrap();
    assert_eq!(body.len(), MAX_BATCH_BYTES);
    assert_eq!(validate_batch(&body, &opts()).unwrap().accepted.len(), 1);
    v["pad"] = Value::String("x".repeat(pad + 1));
    let body = serde_json::to_vec(&v).unwrap();
    assert!(matches!(
        validate_batch(&body, &opts()),
        Err(BatchError::TooLarge { actual, limit: MAX_BATCH_BYTES }) if actual == MAX_BATCH_BYTES + 1
    ));
}

/// A `custom` event whose JSON text is exactly `len` bytes (padding split over short strings, so
/// the per-string limit is not what trips).
fn custom_event_of_len(len: usize) -> String {
    let mut props = json!({"name": "pad"});
    for k in 0.. {
        let s = serde_json::to_string(&event(1, "custom", props.clone())).unwrap();
        if s.len() + 1100 > len {
            break;
        }
        props[format!("k{k:03}")] = Value::String("y".repeat(1000));
    }
    let base = serde_json::to_string(&event(1, "custom", props.clone())).unwrap().len();
    props["zz"] = Value::String("z".repeat(len - base - r#","zz":"""#.len()));
    let s = serde_json::to_string(&event(1, "custom", props)).unwrap();
    assert_eq!(s.len(), len);
    s
}

#[test]
fn event_bytes() {
    let body = |e: String| format!(r#"{{"schema_version":1,"sent_at":"{RECEIVED}","events":[{e}]}}"#);
    let out = validate_batch(body(custom_event_of_len(MAX_EVENT_BYTES)).as_bytes(), &opts()).unwrap();
    assert_eq!((out.accepted.len(), out.rejected.len()), (1, 0), "{:?}", out.rejected);
    let out = validate_batch(body(custom_event_of_len(MAX_EVENT_BYTES + 1)).as_bytes(), &opts()).unwrap();
    assert_eq!(out.accepted.len(), 0);
    assert_eq!(out.rejected[0].errors[0].path, "$");
    assert_eq!(out.rejected[0].errors[0].problem.code(), "event_too_large");
    assert_eq!(out.rejected[0].event_id.as_deref(), Some(uuid(1).as_str()), "the id is reported back");
}

#[test]
fn string_lengths() {
    let with = |field: &str, len: usize| {
        let mut e = event(1, "page_view", json!({}));
        e[field] = Value::String("i".repeat(len));
        e
    };
    assert_eq!(problem(with("anonymous_id", MAX_ID_BYTES)), None);
    assert_eq!(problem(with("anonymous_id", MAX_ID_BYTES + 1)), at("anonymous_id", "too_long"));
    let text = |len: usize| event(1, "search", json!({"query": "q".repeat(len)}));
    assert_eq!(problem(text(MAX_TEXT_BYTES)), None);
    assert_eq!(problem(text(MAX_TEXT_BYTES + 1)), at("properties.query", "too_long"));
    let url = |len: usize| {
        let mut e = event(1, "page_view", json!({}));
        e["context"] = json!({"page": {"referrer": "r".repeat(len)}});
        e
    };
    assert_eq!(problem(url(MAX_URL_BYTES)), None);
    assert_eq!(problem(url(MAX_URL_BYTES + 1)), at("context.page.referrer", "too_long"));
    // Limits are bytes of UTF-8, not characters.
    assert_eq!(problem(with("session_id", MAX_ID_BYTES / 2 + 1)), None);
    let mut e = event(1, "page_view", json!({}));
    e["session_id"] = Value::String("é".repeat(MAX_ID_BYTES / 2 + 1));
    assert_eq!(problem(e), at("session_id", "too_long"));
    let key = |len: usize| event(1, "custom", json!({"name": "n", "k".repeat(len): 1}));
    assert_eq!(problem(key(MAX_KEY_BYTES)), None);
    assert_eq!(problem(key(MAX_KEY_BYTES + 1)).map(|p| p.1), Some("too_long"));
}

#[test]
fn array_lengths() {
    let item = json!({"sku": "s", "quantity": 1, "price": 1.0});
    let purchase = |n: usize| {
        event(1, "purchase", json!({"order_id": "o", "revenue": 1, "currency": "EUR", "items": vec![item.clone(); n]}))
    };
    assert_eq!(problem(purchase(MAX_LINE_ITEMS)), None);
    assert_eq!(problem(purchase(MAX_LINE_ITEMS + 1)), at("properties.items", "too_many"));
    let count = json!({"sku": "s", "on_hand": 1});
    let snapshot =
        |n: usize| event(1, "inventory_snapshot", json!({"store_id": "s001", "items": vec![count.clone(); n]}));
    assert_eq!(problem(snapshot(MAX_STOCK_COUNTS)), None);
    assert_eq!(problem(snapshot(MAX_STOCK_COUNTS + 1)), at("properties.items", "too_many"));
    let skus =
        |n: usize| event(1, "recommendation_impression", json!({"recommendation_id": "r", "skus": vec!["s"; n]}));
    assert_eq!(problem(skus(MAX_ARRAY_LEN)), None);
    assert_eq!(problem(skus(MAX_ARRAY_LEN + 1)), at("properties.skus", "too_many"));
    let free = |n: usize| event(1, "custom", json!({"name": "n", "list": vec![1; n]}));
    assert_eq!(problem(free(MAX_ARRAY_LEN)), None);
    assert_eq!(problem(free(MAX_ARRAY_LEN + 1)), at("properties.list", "too_many"));
    let keys = |n: usize| {
        let mut traits = serde_json::Map::new();
        for i in 0..n {
            traits.insert(format!("t{i}"), json!(i));
        }
        let mut e = event(1, "identify", json!({"traits": traits}));
        e["user_id"] = json!("u");
        e
    };
    assert_eq!(problem(keys(MAX_OBJECT_KEYS)), None);
    assert_eq!(problem(keys(MAX_OBJECT_KEYS + 1)), at("properties.traits", "too_many"));
}

#[test]
fn property_depth() {
    // Depth 1 is the properties object itself.
    fn nested(depth: usize) -> Value {
        let mut v = json!(1);
        for _ in 1..depth {
            v = json!({ "n": v });
        }
        v
    }
    let custom = |depth: usize| {
        let mut props = json!({"name": "deep"});
        props["n"] = nested(depth);
        event(1, "custom", props)
    };
    assert_eq!(problem(custom(MAX_PROPERTY_DEPTH)), None);
    let (path, code) = problem(custom(MAX_PROPERTY_DEPTH + 1)).unwrap();
    assert_eq!(code, "too_deep");
    assert_eq!(path, format!("properties{}", ".n".repeat(MAX_PROPERTY_DEPTH)));
}

#[test]
fn quantities() {
    let q = |n: Value| event(1, "add_to_cart", json!({"sku": "s", "quantity": n}));
    assert_eq!(problem(q(json!(MIN_QUANTITY))), None);
    assert_eq!(problem(q(json!(MAX_QUANTITY))), None);
    assert_eq!(problem(q(json!(MIN_QUANTITY - 1))), at("properties.quantity", "out_of_range"));
    assert_eq!(problem(q(json!(MAX_QUANTITY + 1))), at("properties.quantity", "out_of_range"));
    assert_eq!(problem(q(json!(-1))), at("properties.quantity", "out_of_range"));
}

#[test]
fn stock_units() {
    let count = |on_hand: Value, reorder_point: Value| {
        let item = json!({"sku": "s", "on_hand": on_hand, "reorder_point": reorder_point});
        event(1, "inventory_snapshot", json!({"store_id": "s001", "items": [item]}))
    };
    assert_eq!(problem(count(json!(0), json!(0))), None);
    assert_eq!(problem(count(json!(MAX_STOCK_UNITS), json!(MAX_STOCK_UNITS))), None);
    assert_eq!(problem(count(json!(MAX_STOCK_UNITS + 1), json!(0))), at("properties.items[0].on_hand", "out_of_range"));
    assert_eq!(problem(count(json!(-1), json!(0))), at("properties.items[0].on_hand", "out_of_range"));
    assert_eq!(
        problem(count(json!(0), json!(MAX_STOCK_UNITS + 1))),
        at("properties.items[0].reorder_point", "out_of_range")
    );
}

#[test]
fn prices_and_currency() {
    let p = |price: Value| event(1, "product_view", json!({"sku": "s", "price": price, "currency": "EUR"}));
    assert_eq!(problem(p(json!(0))), None);
    assert_eq!(problem(p(json!(-0.01))), at("properties.price", "negative"));
    assert_eq!(problem(p(json!(1e300))), None, "large but finite");
    let c = |code: &str| event(1, "product_view", json!({"sku": "s", "currency": code}));
    assert_eq!(problem(c("CHF")), None);
    assert_eq!(problem(c("chf")), at("properties.currency", "unknown_currency"));
    assert_eq!(problem(c("CHFF")), at("properties.currency", "unknown_currency"));
}

#[test]
fn numbers_out_of_f64_range_reject_only_their_event() {
    let good = serde_json::to_string(&event(1, "page_view", json!({}))).unwrap();
    let bad = serde_json::to_string(&event(2, "product_view", json!({"sku": "s", "price": 7})))
        .unwrap()
        .replace(r#""price":7"#, r#""price":-1e999"#);
    let body = format!(r#"{{"schema_version":1,"sent_at":"{RECEIVED}","events":[{good},{bad}]}}"#);
    let out = validate_batch(body.as_bytes(), &opts()).unwrap();
    assert_eq!(out.accepted.len(), 1);
    assert_eq!(out.rejected[0].index, 1);
    assert_eq!(out.rejected[0].errors[0].problem.code(), "not_json");
}

#[test]
fn time_window() {
    let received = Timestamp::parse_rfc3339(RECEIVED).unwrap().unix_ms();
    let when = |ms: i64| {
        let mut e = event(1, "page_view", json!({}));
        e["occurred_at"] = json!(Timestamp(ms).to_rfc3339());
        e
    };
    assert_eq!(problem(when(received - MAX_EVENT_AGE_MS)), None);
    assert_eq!(problem(when(received - MAX_EVENT_AGE_MS - 1)), at("occurred_at", "too_old"));
    assert_eq!(problem(when(received + MAX_FUTURE_SKEW_MS)), None);
    assert_eq!(problem(when(received + MAX_FUTURE_SKEW_MS + 1)), at("occurred_at", "too_far_in_future"));
    // Downstream re-validation can switch the window off.
    let relaxed = ValidationOptions { enforce_time_window: false, ..opts() };
    assert!(validate_event(&when(0), &relaxed).is_ok());
}

#[test]
fn garbage_never_panics() {
    for body in [&b""[..], b"null", b"[]", b"{}", b"\xff\xfe", b"{\"events\": null}", b"{\"schema_version\": \"1\"}"] {
        let _ = validate_batch(body, &opts());
    }
    let e =
        validate_event(&json!({"event_id": 5, "type": [], "occurred_at": {}, "properties": 3}), &opts()).unwrap_err();
    let paths: Vec<_> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["event_id", "type", "occurred_at", "anonymous_id", "session_id", "properties"]);
}
