//! Stock and low-stock alerts through the processor, on the memory store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use personalize::contract::{event, record, unique};
use personalize::model::{Key, Value};
use personalize::{
    AlertError, AlertSink, InputRecord, MemoryAlertSink, MemoryStore, Processor, StartingStock, StateStore, StockAlert,
};
use serde_json::json;

/// The catalog: every SKU starts with 10 units online, reorder point 4.
struct Catalog;

impl StartingStock for Catalog {
    fn starting(&self, sku: &str, store: &str) -> Option<(i64, i64)> {
        (store == "web" && sku.starts_with("tent")).then_some((10, 4))
    }
}

fn purchase(s: i64, store: Option<&str>, lines: &[(&str, u64)]) -> serde_json::Value {
    let items: Vec<_> = lines.iter().map(|(sku, q)| json!({"sku": sku, "quantity": q, "price": 10.0})).collect();
    let mut props = json!({"order_id": unique("o"), "revenue": 10.0, "currency": "EUR", "items": items});
    if let Some(store) = store {
        props["store_id"] = json!(store);
    }
    event("purchase", &unique("shopper"), "s", s, props)
}

fn snapshot(s: i64, store: &str, counts: &[(&str, u64, Option<u64>)]) -> serde_json::Value {
    let items: Vec<_> = counts
        .iter()
        .map(|(sku, n, r)| match r {
            Some(r) => json!({"sku": sku, "on_hand": n, "reorder_point": r}),
            None => json!({"sku": sku, "on_hand": n}),
        })
        .collect();
    event("inventory_snapshot", "store-system", "sys", s, json!({"store_id": store, "items": items}))
}

fn records(events: &[serde_json::Value], from: i64) -> Vec<InputRecord> {
    events.iter().enumerate().map(|(i, e)| record(from + i as i64, e)).collect()
}

async fn stock(store: &MemoryStore, shop: &str, sku: &str) -> personalize::Stock {
    let key = Key::Stock { store: shop.into(), sku: sku.into() };
    match store.load(std::slice::from_ref(&key)).await.unwrap().remove(&key).map(|v| v.value) {
        Some(Value::Stock(s)) => s,
        other => panic!("no stock record for {shop}/{sku}: {other:?}"),
    }
}

fn ids(sink: &MemoryAlertSink) -> Vec<String> {
    sink.alerts.lock().unwrap().iter().map(|a| a.alert_id.clone()).collect()
}

#[tokio::test]
async fn purchases_take_stock_off_and_a_crossing_alerts_once() {
    let store = Arc::new(MemoryStore::new());
    let sink = Arc::new(MemoryAlertSink::default());
    let processor = Processor::new(store.clone()).with_alerts(sink.clone(), Arc::new(Catalog));
    // 10 → 7 → 5: at or above 4, no alert.
    let first = [purchase(1, None, &[("tent-1", 3)]), purchase(2, None, &[("tent-1", 1), ("tent-1", 1)])];
    let out = processor.process(&records(&first, 0), None).await;
    assert_eq!((out.applied, out.alerts, out.failed_from), (2, 0, None));
    assert_eq!(stock(&store, "web", "tent-1").await.on_hand, 5);
    assert!(ids(&sink).is_empty());

    // 5 → 3: below 4, one alert; 3 → 1: still below, none.
    let second = [purchase(3, None, &[("tent-1", 2)]), purchase(4, None, &[("tent-1", 2)])];
    let out = processor.process(&records(&second, 2), None).await;
    assert_eq!(out.alerts, 1);
    let alerts = sink.alerts.lock().unwrap().clone();
    assert_eq!(alerts.len(), 1);
    let a: &StockAlert = &alerts[0];
    assert_eq!((a.alert_id.as_str(), a.sku.as_str(), a.store_id.as_str()), ("low_stock:web:tent-1:1", "tent-1", "web"));
    assert_eq!((a.on_hand, a.reorder_point), (3, 4));
    assert_eq!(a.event_id, second[0]["event_id"].as_str().unwrap());

    // The same records again (a redelivery): no change, no alert.
    let out = processor.process(&records(&second, 2), None).await;
    assert_eq!((out.applied, out.duplicates, out.alerts), (0, 2, 0));
    assert_eq!(stock(&store, "web", "tent-1").await.on_hand, 1);

    // A count restocks (re-arms); selling below again is a new crossing with a new id.
    let third = [snapshot(5, "web", &[("tent-1", 20, None)]), purchase(6, None, &[("tent-1", 17)])];
    let out = processor.process(&records(&third, 4), None).await;
    assert_eq!((out.applied, out.alerts), (2, 1));
    assert_eq!(ids(&sink), ["low_stock:web:tent-1:1", "low_stock:web:tent-1:2"]);
    assert_eq!(stock(&store, "web", "tent-1").await.on_hand, 3);
}

#[tokio::test]
async fn a_store_known_only_from_counts_alerts_when_its_count_or_sales_cross() {
    let store = Arc::new(MemoryStore::new());
    let sink = Arc::new(MemoryAlertSink::default());
    let processor = Processor::new(store.clone()).with_alerts(sink.clone(), Arc::new(Catalog));
    let events = [
        // No starting stock in s1 and no reorder point: nothing to alert on.
        purchase(1, Some("s1"), &[("lamp", 1)]),
        // A count with a reorder point: 6 ≥ 5.
        snapshot(2, "s1", &[("lamp", 6, Some(5)), ("sock", 2, Some(3))]),
        purchase(3, Some("s1"), &[("lamp", 2)]),
    ];
    let out = processor.process(&records(&events, 0), None).await;
    assert_eq!(out.failed_from, None);
    // sock: counted below its point (2 < 3); lamp: sold below (4 < 5).
    let mut got = ids(&sink);
    got.sort();
    assert_eq!(got, ["low_stock:s1:lamp:1", "low_stock:s1:sock:1"]);
    assert_eq!(stock(&store, "s1", "lamp").await.on_hand, 4);
    // A count does not create a profile for the store system.
    let key = Key::Anonymous("store-system".into());
    assert!(!store.load(std::slice::from_ref(&key)).await.unwrap().contains_key(&key));
}

/// Fails while `down` is set.
#[derive(Default)]
struct Flaky {
    down: AtomicBool,
    inner: MemoryAlertSink,
}

#[async_trait]
impl AlertSink for Flaky {
    async fn publish(&self, alerts: &[StockAlert]) -> Result<(), AlertError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(AlertError::new("topic unreachable", std::io::Error::other("down")));
        }
        self.inner.publish(alerts).await
    }
}

#[tokio::test]
async fn a_failed_publish_commits_nothing_and_the_retry_alerts() {
    let store = Arc::new(MemoryStore::new());
    let sink = Arc::new(Flaky::default());
    let processor = Processor::new(store.clone()).with_alerts(sink.clone(), Arc::new(Catalog));
    let events = [purchase(1, None, &[("tent-9", 7)])];
    sink.down.store(true, Ordering::SeqCst);
    let out = processor.process(&records(&events, 0), None).await;
    assert_eq!(out.failed_from, Some(0), "the batch is retried from the event that crossed");
    assert_eq!(out.applied, 0);
    let key = Key::Stock { store: "web".into(), sku: "tent-9".into() };
    assert!(!store.load(std::slice::from_ref(&key)).await.unwrap().contains_key(&key), "nothing committed");

    sink.down.store(false, Ordering::SeqCst);
    let out = processor.process(&records(&events, 0), None).await;
    assert_eq!((out.applied, out.alerts, out.failed_from), (1, 1, None));
    assert_eq!(ids(&sink.inner), ["low_stock:web:tent-9:1"]);
}

#[tokio::test]
async fn without_alerts_no_stock_is_kept() {
    let store = Arc::new(MemoryStore::new());
    let processor = Processor::new(store.clone());
    let out = processor.process(&records(&[snapshot(1, "s1", &[("lamp", 1, Some(5))])], 0), None).await;
    assert_eq!((out.applied, out.ignored), (0, 1));
}

#[tokio::test]
async fn store_systems_count_even_when_their_client_looks_automated() {
    let store = Arc::new(MemoryStore::new());
    let sink = Arc::new(MemoryAlertSink::default());
    let processor = Processor::new(store.clone()).with_alerts(sink.clone(), Arc::new(Catalog));
    let as_bot = |mut e: serde_json::Value| {
        e["edge"]["bot"] = json!(true); // e.g. a POS posting with python-requests
        e
    };
    let events = [
        as_bot(snapshot(1, "s1", &[("lamp", 9, Some(5))])),
        as_bot(purchase(2, Some("s1"), &[("lamp", 5)])),
        // A bot's web order is not a sale: the web shop's tents stay at 10.
        as_bot(purchase(3, None, &[("tent-1", 8)])),
    ];
    let out = processor.process(&records(&events, 0), None).await;
    assert_eq!((out.applied, out.ignored, out.alerts), (2, 1, 1));
    assert_eq!(stock(&store, "s1", "lamp").await.on_hand, 4);
    assert_eq!(ids(&sink), ["low_stock:s1:lamp:1"]);
    let key = Key::Stock { store: "web".into(), sku: "tent-1".into() };
    assert!(!store.load(std::slice::from_ref(&key)).await.unwrap().contains_key(&key));
}
