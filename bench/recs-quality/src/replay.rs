//! Training orders as the enriched events the ingest writes, folded by `personalize::Processor`.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::ensure;
use event_schema::Timestamp;
use personalize::model::{Item, Key, Trending, Tuning, Value};
use personalize::{InputRecord, MemoryStore, Processor};
use serde_json::json;

use crate::data::Timed;

/// Seconds between two cart adds of one order (an order of 89 lines takes under 10 minutes).
const LINE_GAP_MS: i64 = 5_000;

/// How training time is replayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeline {
    /// The split's timeline: the processor's 14-day half-life decays what is months old.
    Aligned,
    /// The same events in the same order, 1 ms apart, ending before the cut: no decay to speak of
    /// (a diagnostic of what the decay costs).
    Flat,
}

impl Timeline {
    pub fn name(self) -> &'static str {
        match self {
            Timeline::Aligned => "aligned",
            Timeline::Flat => "flat",
        }
    }
}

/// A deterministic UUIDv7 for an event at `at` ms, made unique by `n`.
fn event_id(at: i64, n: u64) -> String {
    let ms = (at as u64) & 0xffff_ffff_ffff;
    format!("{:08x}-{:04x}-7000-8000-{:012x}", ms >> 16, ms & 0xffff, n & 0xffff_ffff_ffff)
}

fn sku(product: u64) -> String {
    format!("p{product}")
}

/// The product id of a sku made by [`sku`].
pub fn product(sku: &str) -> Option<u64> {
    sku.strip_prefix('p')?.parse().ok()
}

/// One event per cart add, in add-to-cart order, then the `purchase` with every line, all in one
/// session per order; the events of all orders in time order.
pub fn events(train: &[Timed], timeline: Timeline, cut: i64) -> Vec<InputRecord> {
    let mut timed: Vec<(i64, u64, serde_json::Value)> = Vec::new();
    let mut n: u64 = 0;
    let mut push = |at: i64, kind: &str, order: &crate::data::Order, properties: serde_json::Value| {
        let when = Timestamp(at).to_rfc3339();
        n += 1;
        let event = json!({
            "schema_version": 1,
            "event_id": event_id(at, n),
            "type": kind,
            "occurred_at": when,
            "anonymous_id": format!("u{}", order.user),
            "session_id": format!("o{}", order.id),
            "properties": properties,
            "client_occurred_at": when,
            "received_at": when,
            "sent_at": when,
            "edge": {"device": "desktop", "bot": false}
        });
        timed.push((at, n, event));
    };
    for t in train {
        let o = &t.order;
        for (i, p) in o.products.iter().enumerate() {
            push(t.at + i as i64 * LINE_GAP_MS, "add_to_cart", o, json!({"sku": sku(*p), "quantity": 1}));
        }
        let items: Vec<_> = o.products.iter().map(|p| json!({"sku": sku(*p), "quantity": 1, "price": 1.0})).collect();
        let properties = json!({
            "order_id": format!("o{}", o.id),
            "revenue": o.products.len() as f64,
            "currency": "USD",
            "items": items
        });
        push(t.at + o.products.len() as i64 * LINE_GAP_MS, "purchase", o, properties);
    }
    timed.sort_by_key(|(at, n, _)| (*at, *n));
    let total = timed.len() as i64;
    timed
        .into_iter()
        .enumerate()
        .map(|(i, (_, _, mut event))| {
            if timeline == Timeline::Flat {
                let flat = Timestamp(cut - (total - i as i64)).to_rfc3339();
                for field in ["occurred_at", "client_occurred_at", "received_at", "sent_at"] {
                    event[field] = json!(flat);
                }
            }
            InputRecord { id: i.to_string(), data: event.to_string().into_bytes() }
        })
        .collect()
}

/// What the processor built.
pub struct Model {
    pub items: HashMap<String, Item>,
    pub trending: Trending,
    pub commits: usize,
    pub seconds: f64,
}

/// Feeds `records` to a processor on a fresh memory store, `batch` at a time, and reads back the items.
pub fn replay(records: &[InputRecord], tuning: Tuning, batch: usize) -> anyhow::Result<Model> {
    let started = std::time::Instant::now();
    let store = Arc::new(MemoryStore::new());
    let processor = Processor::new(store.clone()).with_tuning(tuning);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    let mut commits = 0;
    for chunk in records.chunks(batch.max(1)) {
        let outcome = runtime.block_on(processor.process(chunk, None));
        ensure!(
            outcome.applied == chunk.len() && outcome.failed_from.is_none(),
            "the processor did not apply the whole batch: {outcome:?}"
        );
        commits += outcome.commits;
    }
    let mut items = HashMap::new();
    let mut trending = Trending::default();
    for (key, versioned) in store.snapshot() {
        match (key, versioned.value) {
            (Key::Item(sku), Value::Item(item)) => {
                items.insert(sku, *item);
            }
            (Key::TrendingAll, Value::Trending(t)) => trending = t,
            _ => {}
        }
    }
    Ok(Model { items, trending, commits, seconds: started.elapsed().as_secs_f64() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Order;

    #[test]
    fn the_replayed_events_are_valid_enriched_events_and_all_applied() {
        let cut = 1_795_305_600_000;
        let order = |id, at| Timed {
            order: Order {
                id,
                user: 1,
                number: id as u32,
                hour: 10,
                days_since_prior: None,
                products: vec![11, 12, 13],
            },
            at,
        };
        let train = [order(1, cut - 2 * 86_400_000), order(2, cut - 86_400_000)];
        for timeline in [Timeline::Aligned, Timeline::Flat] {
            let records = events(&train, timeline, cut);
            assert_eq!(records.len(), 8, "3 cart adds and a purchase per order");
            for r in &records {
                let e = personalize::decode(&r.data).expect("valid");
                assert!(e.at < cut);
            }
            let model = replay(&records, Tuning::default(), 3).unwrap();
            let item = &model.items["p11"];
            assert_eq!(item.bought_together.len(), 2, "{:?}", item.bought_together);
        }
    }
}
