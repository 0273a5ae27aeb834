//! The contract every [`StateStore`] adapter passes, run by each adapter's own tests through
//! [`state_store_contract!`](crate::state_store_contract), plus event builders for tests.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use crate::model::*;
use crate::store::{Commit, StateStore, StoreError};
use crate::{InputRecord, Processor};

/// Runs every contract case against the store `$make` (an async expression) gives, as one
/// `#[tokio::test]` each, in a module `state_store_contract`.
#[macro_export]
macro_rules! state_store_contract {
    ($make:expr) => {
        mod state_store_contract {
            use super::*;
            $crate::state_store_contract!(@cases $make;
                absent_keys_are_not_returned,
                records_read_back_as_written_at_the_next_version,
                a_stale_version_is_a_conflict_and_nothing_is_written,
                an_applied_event_is_remembered_and_cannot_be_applied_twice,
                checkpoints_move_with_their_commit,
                a_commit_of_the_largest_size_allowed_is_written_whole,
                many_keys_and_ids_are_read_in_one_call,
                the_processor_applies_each_event_once_on_this_store);
        }
    };
    (@cases $make:expr; $($case:ident),*) => {
        $(
            #[tokio::test]
            async fn $case() {
                let store: ::std::sync::Arc<dyn $crate::StateStore> = ::std::sync::Arc::new($make);
                $crate::contract::$case(store).await;
            }
        )*
    };
}

fn profile(cart: &[&str]) -> Value {
    Value::Profile(Profile { cart: cart.iter().map(|s| s.to_string()).collect(), ..Profile::default() })
}

/// An item with `n` co-occurrences of each kind and full neighbour lists: a realistic large record.
pub fn large_item(n: usize) -> Value {
    let d = |v: f64| Decayed { value: v, at: 1_795_000_000_000 };
    let co: BTreeMap<String, Co> =
        (0..n).map(|i| (format!("sku-{i:05}"), Co { count: d(i as f64 + 0.5), other: d(10.0) })).collect();
    let mut item = Item {
        info: ItemInfo {
            name: Some("Trail Running Shoe — “Ürün” ☃".into()),
            category: Some("shoes".into()),
            price: Some(89.9),
            currency: Some("EUR".into()),
            url: Some("https://shop.example/p/sku-1".into()),
            image_url: None,
        },
        views: d(100.0),
        buys: d(20.0),
        popularity: d(300.0),
        co_view: co.clone(),
        co_buy: co,
        ..Item::default()
    };
    item.materialise(1_795_000_000_000, &Tuning::default(), |_| None);
    Value::Item(Box::new(item))
}

pub async fn absent_keys_are_not_returned(store: Arc<dyn StateStore>) {
    let found = store.load(&[Key::Item(unique("none")), Key::TrendingAll]).await.unwrap();
    assert!(found.is_empty(), "{found:?}");
    assert!(store.applied(&[unique("event")]).await.unwrap().is_empty());
    assert_eq!(store.checkpoint(&unique("consumer")).await.unwrap(), None);
}

pub async fn records_read_back_as_written_at_the_next_version(store: Arc<dyn StateStore>) {
    let (a, i, t) = (Key::Anonymous(unique("anon")), Key::Item(unique("sku")), Key::TrendingCategory(unique("cat")));
    let mut trending = Trending::default();
    trending.upsert("sku-1", Decayed { value: 3.25, at: 1_795_000_000_123 }, 1_795_000_000_123);
    let values = [profile(&["x", "y"]), large_item(MAX_CO_ITEMS), Value::Trending(trending)];
    let records: Vec<(Key, u64, Value)> =
        [a.clone(), i.clone(), t.clone()].into_iter().zip(values.clone()).map(|(k, v)| (k, 0, v)).collect();
    store.commit(Commit { records, ..Commit::default() }).await.unwrap();
    let found = store.load(&[a.clone(), i.clone(), t.clone()]).await.unwrap();
    for (key, value) in [a.clone(), i, t].iter().zip(values) {
        assert_eq!(found[key], Versioned { version: 1, value }, "{key:?}");
    }
    // And once more: version 2.
    store.commit(Commit { records: vec![(a.clone(), 1, profile(&["z"]))], ..Commit::default() }).await.unwrap();
    assert_eq!(
        store.load(std::slice::from_ref(&a)).await.unwrap()[&a],
        Versioned { version: 2, value: profile(&["z"]) }
    );
}

pub async fn a_stale_version_is_a_conflict_and_nothing_is_written(store: Arc<dyn StateStore>) {
    let (a, b) = (Key::Anonymous(unique("anon")), Key::Anonymous(unique("anon")));
    store.commit(Commit { records: vec![(a.clone(), 0, profile(&["1"]))], ..Commit::default() }).await.unwrap();
    let event = unique("event");
    // `a` is at version 1, not 0; `b` would be new. Neither `b` nor the marker may be written.
    let stale = Commit {
        records: vec![(b.clone(), 0, profile(&["new"])), (a.clone(), 0, profile(&["2"]))],
        applied: vec![event.clone()],
        applied_at: now(),
        checkpoint: None,
    };
    let err = store.commit(stale).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let found = store.load(&[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(found.get(&a), Some(&Versioned { version: 1, value: profile(&["1"]) }));
    assert_eq!(found.get(&b), None, "all or nothing");
    assert!(store.applied(std::slice::from_ref(&event)).await.unwrap().is_empty(), "all or nothing");
    // A record that exists cannot be created again either.
    let again = Commit { records: vec![(a.clone(), 0, profile(&["3"]))], ..Commit::default() };
    assert!(matches!(store.commit(again).await, Err(StoreError::Conflict(_))));
}

pub async fn an_applied_event_is_remembered_and_cannot_be_applied_twice(store: Arc<dyn StateStore>) {
    let (e1, e2, a) = (unique("event"), unique("event"), Key::Anonymous(unique("anon")));
    let first = Commit {
        records: vec![(a.clone(), 0, profile(&["1"]))],
        applied: vec![e1.clone()],
        applied_at: now(),
        checkpoint: None,
    };
    store.commit(first).await.unwrap();
    let applied = store.applied(&[e1.clone(), e2.clone()]).await.unwrap();
    assert_eq!(applied.into_iter().collect::<Vec<_>>(), std::slice::from_ref(&e1));
    let twice = Commit {
        records: vec![(a.clone(), 1, profile(&["2"]))],
        applied: vec![e2.clone(), e1.clone()],
        applied_at: now(),
        checkpoint: None,
    };
    assert!(matches!(store.commit(twice).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.load(std::slice::from_ref(&a)).await.unwrap()[&a].version, 1, "nothing written");
    assert!(store.applied(std::slice::from_ref(&e2)).await.unwrap().is_empty(), "nothing marked");
}

pub async fn checkpoints_move_with_their_commit(store: Arc<dyn StateStore>) {
    let consumer = unique("consumer");
    let a = Key::Anonymous(unique("anon"));
    let commit = |version, position| Commit {
        records: vec![(a.clone(), version, profile(&[]))],
        checkpoint: Some((consumer.clone(), position)),
        ..Commit::default()
    };
    store.commit(commit(0, 42)).await.unwrap();
    assert_eq!(store.checkpoint(&consumer).await.unwrap(), Some(42));
    assert!(store.commit(commit(0, 99)).await.is_err(), "a conflict");
    assert_eq!(store.checkpoint(&consumer).await.unwrap(), Some(42), "the checkpoint did not move");
    store.commit(commit(1, 99)).await.unwrap();
    assert_eq!(store.checkpoint(&consumer).await.unwrap(), Some(99));
}

pub async fn a_commit_of_the_largest_size_allowed_is_written_whole(store: Arc<dyn StateStore>) {
    let writes = store.max_commit_writes().min(100);
    let items = writes / 2;
    let records: Vec<(Key, u64, Value)> =
        (0..items).map(|_| (Key::Item(unique("sku")), 0, large_item(MAX_CO_ITEMS / 4))).collect();
    let applied: Vec<String> = (0..writes - items).map(|_| unique("event")).collect();
    let keys: Vec<Key> = records.iter().map(|r| r.0.clone()).collect();
    let commit = Commit { records, applied: applied.clone(), applied_at: now(), checkpoint: None };
    assert_eq!(commit.writes(), writes);
    store.commit(commit).await.unwrap();
    assert_eq!(store.load(&keys).await.unwrap().len(), items);
    assert_eq!(store.applied(&applied).await.unwrap().len(), applied.len());
}

pub async fn many_keys_and_ids_are_read_in_one_call(store: Arc<dyn StateStore>) {
    // More than DynamoDB's 100 keys per BatchGetItem: the adapter splits, the caller does not.
    let keys: Vec<Key> = (0..250).map(|_| Key::Anonymous(unique("anon"))).collect();
    let ids: Vec<String> = (0..250).map(|_| unique("event")).collect();
    let chunk = store.max_commit_writes().min(100) / 2;
    for (ks, is) in keys.chunks(chunk).zip(ids.chunks(chunk)) {
        let commit = Commit {
            records: ks.iter().map(|k| (k.clone(), 0, profile(&["a"]))).collect(),
            applied: is.to_vec(),
            applied_at: now(),
            checkpoint: None,
        };
        store.commit(commit).await.unwrap();
    }
    let mut asked = keys.clone();
    asked.push(Key::Anonymous(unique("absent")));
    assert_eq!(store.load(&asked).await.unwrap().len(), 250);
    assert_eq!(store.applied(&ids).await.unwrap().len(), 250);
}

pub async fn the_processor_applies_each_event_once_on_this_store(store: Arc<dyn StateStore>) {
    let processor = Processor::new(store.clone());
    let (anon, session) = (unique("anon"), unique("session"));
    let (a, b) = (unique("sku"), unique("sku"));
    let records: Vec<InputRecord> = vec![
        record(1, &event("product_view", &anon, &session, 0, json!({"sku": a, "category": "shoes"}))),
        record(2, &event("product_view", &anon, &session, 1, json!({"sku": b, "category": "shoes"}))),
        record(3, &event("add_to_cart", &anon, &session, 2, json!({"sku": b}))),
    ];
    let outcome = processor.process(&records, None).await;
    assert_eq!((outcome.applied, outcome.failed_from), (3, None), "{outcome:?}");
    let keys = [Key::Anonymous(anon.clone()), Key::Item(a.clone()), Key::Item(b.clone())];
    let before = store.load(&keys).await.unwrap();
    // Redelivered, whole and in part: nothing changes, not even a version.
    let again = processor.process(&records, None).await;
    assert_eq!((again.applied, again.duplicates), (0, 3), "{again:?}");
    assert_eq!(store.load(&keys).await.unwrap(), before);
    let Value::Item(item) = &before[&Key::Item(a.clone())].value else { panic!("not an item") };
    assert_eq!(item.also_viewed.iter().map(|s| s.sku.as_str()).collect::<Vec<_>>(), [b.as_str()]);
    assert_eq!(item.co_view[&b].count.value, 1.0, "counted once");
}

// ---- builders ------------------------------------------------------------------------------------

/// The wall clock in Unix ms (markers are remembered for a while after they are written).
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A name no other test uses (stores are shared between tests).
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// The base time of built events: 2026-11-22T10:00:00Z.
pub const T0: i64 = 1_795_341_600_000;

/// A fresh UUIDv7 event id for an event at `at` ms.
pub fn event_id(at: i64) -> String {
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, (at / 1000) as u64, ((at % 1000) * 1_000_000) as u32);
    uuid::Uuid::new_v7(ts).to_string()
}

/// An enriched event as the ingest writes it: `type`, shopper, session, `T0 + seconds`, properties.
pub fn event(
    kind: &str,
    anonymous_id: &str,
    session_id: &str,
    seconds: i64,
    properties: serde_json::Value,
) -> serde_json::Value {
    let at = event_schema::Timestamp(T0 + seconds * 1000).to_rfc3339();
    json!({
        "schema_version": 1,
        "event_id": event_id(T0 + seconds * 1000),
        "type": kind,
        "occurred_at": at,
        "anonymous_id": anonymous_id,
        "session_id": session_id,
        "properties": properties,
        "client_occurred_at": at,
        "received_at": at,
        "sent_at": at,
        "edge": {"device": "desktop", "bot": false}
    })
}

/// A stream record carrying `event`.
pub fn record(position: i64, event: &serde_json::Value) -> InputRecord {
    InputRecord { id: position.to_string(), data: event.to_string().into_bytes() }
}
