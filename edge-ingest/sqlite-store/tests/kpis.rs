//! The live KPIs over known events written through the log's real write path: every figure checked,
//! with bot traffic, yesterday's events, a re-sent order and an order in another currency that must
//! not count.

use std::path::PathBuf;

use event_schema::validate::{validate_event, ValidationOptions};
use event_schema::Timestamp;
use ingest_domain::{EnrichedEvent, EventSink};
use serde_json::{json, Value};
use sqlite_store::kpis::{LiveKpis, KPI_MINUTES};
use sqlite_store::SqliteEventLog;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sqlite-store-kpis-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

const NOW: &str = "2026-11-22T10:15:30.000Z";

fn ms(t: &str) -> i64 {
    Timestamp::parse_rfc3339(t).unwrap().unix_ms()
}

/// Builds events with increasing ids.
struct Events {
    next: u64,
    list: Vec<EnrichedEvent>,
}

impl Events {
    fn add(&mut self, at: &str, kind: &str, anon: &str, session: &str, properties: Value) -> &mut EnrichedEvent {
        self.next += 1;
        let v = json!({
            "event_id": format!("019ab2c4-7e10-7000-8000-{:012x}", self.next), "type": kind,
            "occurred_at": at, "anonymous_id": anon, "session_id": session, "properties": properties
        });
        let t = Timestamp::parse_rfc3339(at).unwrap();
        let event = validate_event(&v, &ValidationOptions::at(t)).unwrap_or_else(|e| panic!("{v}: {e:?}"));
        self.list.push(EnrichedEvent::new(event, t, t));
        self.list.last_mut().unwrap()
    }

    fn bot(&mut self, at: &str, kind: &str, properties: Value) {
        self.add(at, kind, "crawler", "crawl-1", properties).edge.bot = true;
    }
}

fn view(sku: &str, name: &str) -> Value {
    json!({"sku": sku, "name": name, "price": 10.0, "currency": "EUR"})
}

fn known_day() -> Vec<EnrichedEvent> {
    let mut e = Events { next: 0, list: Vec::new() };
    // Yesterday (UTC): counts nowhere.
    e.add("2026-11-21T23:59:59.999Z", "product_view", "y", "y1", view("sku-9", "Old Tent"));
    e.add(
        "2026-11-21T23:59:59.999Z",
        "purchase",
        "y",
        "y1",
        json!({"order_id": "o-0", "revenue": 1000.0, "currency": "EUR", "items": [{"sku": "sku-9", "quantity": 1, "price": 1000.0}]}),
    );
    // An order in another currency, before the per-minute window.
    e.add(
        "2026-11-22T09:00:00Z",
        "purchase",
        "d",
        "d1",
        json!({"order_id": "o-3", "revenue": 20.0, "currency": "USD", "items": [{"sku": "sku-4", "quantity": 1, "price": 20.0}]}),
    );
    // Just before the window (09:46:00), then its first instant.
    e.add("2026-11-22T09:45:59.999Z", "page_view", "p", "p1", json!({}));
    e.add("2026-11-22T09:46:00.000Z", "page_view", "p", "p1", json!({}));
    // Session A: the whole funnel, an order of two lines, sent twice.
    e.add("2026-11-22T10:00:00Z", "product_view", "a", "s1", view("sku-1", "Trail Shoe"));
    e.add("2026-11-22T10:01:00Z", "product_view", "a", "s1", view("sku-2", "Merino Socks"));
    e.add("2026-11-22T10:02:00Z", "add_to_cart", "a", "s1", json!({"sku": "sku-1", "quantity": 2}));
    let items = json!([{"sku": "sku-1", "quantity": 2, "price": 89.9}, {"sku": "sku-2", "quantity": 1, "price": 12.5, "name": "Socks"}]);
    e.add("2026-11-22T10:03:00Z", "checkout_started", "a", "s1", json!({"items": items}));
    let order = json!({"order_id": "o-1", "revenue": 192.3, "currency": "EUR", "items": items});
    e.add("2026-11-22T10:04:00Z", "purchase", "a", "s1", order.clone());
    e.add("2026-11-22T10:05:00Z", "purchase", "a", "s1", order); // the same order again, a new event id
                                                                 // Session B: views and adds another product.
    e.add("2026-11-22T10:10:00Z", "product_view", "b", "s2", view("sku-1", "Trail Shoe"));
    e.add("2026-11-22T10:11:00Z", "add_to_cart", "b", "s2", json!({"sku": "sku-3", "name": "Head Torch"}));
    // Session C: buys without a product view (not in the funnel, in the figures).
    e.add("2026-11-22T10:12:00Z", "add_to_cart", "c", "s3", json!({"sku": "sku-2", "quantity": 4}));
    e.add(
        "2026-11-22T10:12:30Z",
        "purchase",
        "c",
        "s3",
        json!({"order_id": "o-2", "revenue": 50.0, "currency": "EUR", "items": [{"sku": "sku-2", "quantity": 4, "price": 12.5}]}),
    );
    // Recommendations.
    for i in 0..3 {
        e.add(
            "2026-11-22T10:13:00Z",
            "recommendation_impression",
            "a",
            "s1",
            json!({"recommendation_id": format!("r-{i}"), "skus": ["sku-1", "sku-2"], "strategy": "trending"}),
        );
    }
    e.add(
        "2026-11-22T10:13:10Z",
        "recommendation_click",
        "a",
        "s1",
        json!({"recommendation_id": "r-0", "sku": "sku-2", "strategy": "trending"}),
    );
    e.add(
        "2026-11-22T10:13:20Z",
        "recommendation_impression",
        "b",
        "s2",
        json!({"recommendation_id": "r-9", "skus": ["sku-5"], "strategy": "also_viewed"}),
    );
    e.add(
        "2026-11-22T10:13:30Z",
        "recommendation_click",
        "b",
        "s2",
        json!({"recommendation_id": "r-x", "sku": "sku-5"}),
    );
    // The minute in progress.
    e.add("2026-11-22T10:15:10Z", "page_view", "p", "p1", json!({}));
    // Bots: count nowhere.
    e.bot("2026-11-22T10:14:00Z", "product_view", view("sku-5", "Bot Bait"));
    e.bot("2026-11-22T10:14:00Z", "add_to_cart", json!({"sku": "sku-5"}));
    e.bot(
        "2026-11-22T10:14:01Z",
        "purchase",
        json!({"order_id": "o-9", "revenue": 999.0, "currency": "EUR", "items": [{"sku": "sku-5", "quantity": 9, "price": 111.0}]}),
    );
    e.bot(
        "2026-11-22T10:14:02Z",
        "recommendation_impression",
        json!({"recommendation_id": "r-b", "skus": ["sku-5"], "strategy": "trending"}),
    );
    e.list
}

async fn kpis_of(name: &str, events: &[EnrichedEvent]) -> LiveKpis {
    let dir = temp_dir(name);
    let log = SqliteEventLog::open(&dir).unwrap();
    // In two writes, as two batches would be.
    let (first, rest) = events.split_at(events.len() / 2);
    log.write(first).await.unwrap();
    log.write(rest).await.unwrap();
    let kpis = log.live_kpis(ms(NOW)).unwrap();
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
    kpis
}

#[tokio::test]
async fn every_figure_of_a_known_day() {
    let kpis = kpis_of("known", &known_day()).await;
    let json = serde_json::to_value(&kpis).unwrap();
    assert_eq!(json["generated_at"], NOW);
    assert_eq!(json["time_basis"], "occurred_at");
    assert_eq!(json["bots_excluded"], true);

    // Per minute: 30 minutes, 09:46 to the minute in progress (10:15).
    let epm = &json["events_per_minute"];
    assert_eq!(epm["from"], "2026-11-22T09:46:00.000Z");
    assert_eq!(epm["to"], "2026-11-22T10:16:00.000Z");
    let minutes = epm["minutes"].as_array().unwrap();
    assert_eq!(minutes.len(), KPI_MINUTES);
    let minute = |hhmm: &str| {
        minutes
            .iter()
            .find(|m| m["start"] == format!("2026-11-22T{hhmm}:00.000Z"))
            .unwrap_or_else(|| panic!("no minute {hhmm}"))
    };
    assert_eq!(minutes[0]["start"], "2026-11-22T09:46:00.000Z");
    assert_eq!(minutes[29]["start"], "2026-11-22T10:15:00.000Z");
    assert_eq!(minute("09:46")["counts"], json!({"page_view": 1}));
    assert_eq!(minute("10:00")["counts"], json!({"product_view": 1}));
    assert_eq!(minute("10:03")["counts"], json!({"checkout_started": 1}));
    assert_eq!(minute("10:04")["counts"], json!({"purchase": 1}));
    assert_eq!(minute("10:12")["counts"], json!({"add_to_cart": 1, "purchase": 1}));
    assert_eq!(minute("10:12")["total"], 2);
    assert_eq!(
        minute("10:13")["counts"],
        json!({"recommendation_impression": 4, "recommendation_click": 2}),
        "both strategies' and the unnamed one's"
    );
    assert_eq!(minute("10:14")["total"], 0, "bots only");
    assert_eq!(minute("10:14")["counts"], json!({}));
    assert_eq!(minute("10:15")["counts"], json!({"page_view": 1}));
    let total: u64 = minutes.iter().map(|m| m["total"].as_u64().unwrap()).sum();
    assert_eq!(total, 18, "{epm:#}");

    // Today: o-1 once (192.30, 3 units), o-2 (50.00, 4 units); o-3 in USD apart; yesterday's and the
    // bot's orders nowhere.
    assert_eq!(
        json["today"],
        json!({
            "day": "2026-11-22", "timezone": "UTC", "revenue": 242.3, "currency": "EUR", "orders": 2,
            "average_order_value": 121.15, "average_items_per_order": 3.5, "orders_in_other_currencies": 1
        })
    );

    // Sessions A and B viewed and added; only A checked out and bought; C never viewed.
    assert_eq!(
        json["funnel"],
        json!([
            {"step": "product_view", "sessions": 2}, {"step": "add_to_cart", "sessions": 2},
            {"step": "checkout_started", "sessions": 1}, {"step": "purchase", "sessions": 1}
        ])
    );

    // By views, then adds, then units; the name is the last one an event gave.
    assert_eq!(
        json["top_products"],
        json!([
            {"sku": "sku-1", "name": "Trail Shoe", "views": 2, "adds": 1, "units_purchased": 2},
            {"sku": "sku-2", "name": "Socks", "views": 1, "adds": 1, "units_purchased": 5},
            {"sku": "sku-3", "name": "Head Torch", "views": 0, "adds": 1, "units_purchased": 0},
            {"sku": "sku-4", "name": null, "views": 0, "adds": 0, "units_purchased": 1}
        ])
    );

    assert_eq!(
        json["recommendations"],
        json!([
            {"strategy": "trending", "impressions": 3, "clicks": 1, "click_through_rate": 0.3333},
            {"strategy": "also_viewed", "impressions": 1, "clicks": 0, "click_through_rate": 0.0},
            {"strategy": "unknown", "impressions": 0, "clicks": 1, "click_through_rate": null}
        ])
    );
}

#[tokio::test]
async fn an_empty_log_has_zeros_and_nulls_not_errors() {
    let kpis = kpis_of("empty", &[]).await;
    let json = serde_json::to_value(&kpis).unwrap();
    let minutes = json["events_per_minute"]["minutes"].as_array().unwrap();
    assert_eq!(minutes.len(), KPI_MINUTES);
    assert!(minutes.iter().all(|m| m["total"] == 0 && m["counts"] == json!({})));
    assert_eq!(
        json["today"],
        json!({
            "day": "2026-11-22", "timezone": "UTC", "revenue": 0.0, "currency": null, "orders": 0,
            "average_order_value": null, "average_items_per_order": null, "orders_in_other_currencies": 0
        })
    );
    assert!(json["funnel"].as_array().unwrap().iter().all(|s| s["sessions"] == 0));
    assert_eq!(json["top_products"], json!([]));
    assert_eq!(json["recommendations"], json!([]));
}

/// Only the 8 most viewed products are listed, and a log opened read-only beside the writer reads
/// the same figures.
#[tokio::test]
async fn the_top_is_bounded_and_read_only_logs_answer_too() {
    let mut e = Events { next: 0, list: Vec::new() };
    for sku in 1..=10u32 {
        for _ in 0..sku {
            e.add("2026-11-22T08:00:00Z", "product_view", "a", "s", view(&format!("sku-{sku:02}"), "P"));
        }
    }
    let dir = temp_dir("top");
    let log = SqliteEventLog::open(&dir).unwrap();
    log.write(&e.list).await.unwrap();
    let kpis = log.live_kpis(ms(NOW)).unwrap();
    let top: Vec<(String, u64)> = kpis.top_products.iter().map(|p| (p.sku.clone(), p.views)).collect();
    assert_eq!(top, (3..=10u64).rev().map(|i| (format!("sku-{i:02}"), i)).collect::<Vec<_>>());
    let read_only = SqliteEventLog::open_read_only(&dir).unwrap();
    assert_eq!(read_only.live_kpis(ms(NOW)).unwrap(), kpis);
    drop((log, read_only));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A log written before bodies were compressed holds them as plain JSON text; its figures are the
/// same. The known day is stored compressed, then every body is put back as the text it reads as.
#[tokio::test]
async fn a_log_of_plain_text_bodies_gives_the_same_figures() {
    let dir = temp_dir("plain-bodies");
    let log = SqliteEventLog::open(&dir).unwrap();
    log.write(&known_day()).await.unwrap();
    let compressed = log.live_kpis(ms(NOW)).unwrap();
    let rows = log.read_after(0, 1000).unwrap();
    let raw = rusqlite::Connection::open(log.path()).unwrap();
    let blobs: i64 =
        raw.query_row("SELECT count(*) FROM events WHERE typeof(body) = 'blob'", [], |r| r.get(0)).unwrap();
    assert_eq!(blobs as usize, rows.len(), "every body is stored compressed");
    for row in &rows {
        raw.execute("UPDATE events SET body = ?2 WHERE seq = ?1", rusqlite::params![row.seq, row.json]).unwrap();
    }
    let texts: i64 =
        raw.query_row("SELECT count(*) FROM events WHERE typeof(body) = 'text'", [], |r| r.get(0)).unwrap();
    assert_eq!(texts as usize, rows.len());
    drop(raw);
    assert_eq!(log.live_kpis(ms(NOW)).unwrap(), compressed);
    assert_eq!(log.read_after(0, 1000).unwrap(), rows);
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A body that cannot be read back (a damaged file) does not fail the figures: SQL reads it as NULL,
/// and the event still counts by its type, as a human's (its `edge.bot` is unknown).
#[tokio::test]
async fn a_damaged_body_does_not_fail_the_figures() {
    let dir = temp_dir("damaged");
    let log = SqliteEventLog::open(&dir).unwrap();
    let mut e = Events { next: 0, list: Vec::new() };
    e.add("2026-11-22T10:15:00Z", "product_view", "a", "s", view("sku-1", "Tent"));
    e.add("2026-11-22T10:15:01Z", "product_view", "a", "s", view("sku-1", "Tent"));
    log.write(&e.list).await.unwrap();
    let raw = rusqlite::Connection::open(log.path()).unwrap();
    raw.execute("UPDATE events SET body = x'07' WHERE seq = (SELECT min(seq) FROM events)", []).unwrap();
    drop(raw);
    let kpis = log.live_kpis(ms(NOW)).unwrap();
    assert_eq!(kpis.events_per_minute.minutes.last().unwrap().total, 2);
    assert_eq!(kpis.top_products.len(), 1, "the readable view still names its product");
    assert_eq!(kpis.top_products[0].views, 1);
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}
