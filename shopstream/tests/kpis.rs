//! `GET /v1/kpis` of the local server over HTTP: the figures follow the events posted to the ingest
//! (bots left out), the answer is never cached, and an unreadable log is a `503` with a reason.

mod support;

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use event_schema::Timestamp;
use serde_json::{json, Value};
use support::Server;

const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const DESKTOP_UA: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// One request with a JSON body: (status, headers by lowercase name, JSON answer or `null`).
fn request(
    server: &Server,
    method: &str,
    path: &str,
    user_agent: Option<&str>,
    body: &str,
) -> (u16, HashMap<String, String>, Value) {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(ua) = user_agent {
        headers.push(("User-Agent", ua));
    }
    let (status, headers, body) = server.request(method, path, &headers, body.as_bytes());
    (status, headers, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn kpis(server: &Server) -> (u16, HashMap<String, String>, Value) {
    request(server, "GET", "/v1/kpis", None, "")
}

fn post(server: &Server, user_agent: Option<&str>, events: &[Value]) {
    let body = json!({"schema_version": 1, "sent_at": now(), "events": events}).to_string();
    let (status, _, answer) = request(server, "POST", "/v1/events", user_agent, &body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"].as_u64(), Some(events.len() as u64), "{answer}");
}

fn now() -> String {
    Timestamp(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64).to_rfc3339()
}

fn event(id: u64, kind: &str, session: &str, properties: Value) -> Value {
    json!({
        "event_id": format!("019ab2c4-7e10-7000-8000-{id:012x}"), "type": kind, "occurred_at": now(),
        "anonymous_id": format!("anon-{session}"), "session_id": session, "properties": properties
    })
}

#[test]
fn the_figures_follow_the_posted_events_and_leave_bots_out() {
    let server = Server::start("figures");
    let (status, headers, empty) = kpis(&server);
    assert_eq!(status, 200, "{empty}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(empty["events_per_minute"]["minutes"].as_array().unwrap().len(), 30);
    assert_eq!(empty["today"]["orders"], 0);
    assert_eq!(empty["today"]["currency"], Value::Null);
    assert_eq!(empty["today"]["day"], now()[..10]);
    assert_eq!(empty["top_products"], json!([]));

    let items = json!([
        {"sku": "tents-002", "quantity": 1, "price": 249.0, "name": "Ridge Tent"},
        {"sku": "socks-001", "quantity": 3, "price": 12.5}
    ]);
    post(
        &server,
        Some(DESKTOP_UA),
        &[
            event(1, "product_view", "s1", json!({"sku": "tents-002", "name": "Ridge Tent", "price": 249.0})),
            event(2, "add_to_cart", "s1", json!({"sku": "tents-002", "quantity": 1})),
            event(3, "checkout_started", "s1", json!({"items": items})),
            event(4, "purchase", "s1", json!({"order_id": "o-1", "revenue": 286.5, "currency": "EUR", "items": items})),
            event(
                5,
                "recommendation_impression",
                "s1",
                json!({"recommendation_id": "r1", "skus": ["a", "b"], "strategy": "trending"}),
            ),
            event(
                6,
                "recommendation_click",
                "s1",
                json!({"recommendation_id": "r1", "sku": "a", "strategy": "trending"}),
            ),
            event(7, "product_view", "s2", json!({"sku": "tents-002"})),
        ],
    );
    // A crawler's: the ingest flags it as a bot, it counts nowhere.
    post(
        &server,
        Some(GOOGLEBOT),
        &[event(8, "purchase", "s3", json!({"order_id": "o-2", "revenue": 999.0, "currency": "EUR", "items": items}))],
    );

    let (status, headers, kpis) = kpis(&server);
    assert_eq!(status, 200, "{kpis}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(kpis["bots_excluded"], true);
    let today = &kpis["today"];
    assert_eq!(today["revenue"], 286.5, "{kpis:#}");
    assert_eq!(today["currency"], "EUR");
    assert_eq!(today["orders"], 1);
    assert_eq!(today["average_order_value"], 286.5);
    assert_eq!(today["average_items_per_order"], 4.0);
    let funnel: Vec<u64> = kpis["funnel"].as_array().unwrap().iter().map(|s| s["sessions"].as_u64().unwrap()).collect();
    assert_eq!(funnel, [2, 1, 1, 1]);
    assert_eq!(
        kpis["top_products"],
        json!([
            {"sku": "tents-002", "name": "Ridge Tent", "views": 2, "adds": 1, "units_purchased": 1},
            {"sku": "socks-001", "name": null, "views": 0, "adds": 0, "units_purchased": 3}
        ])
    );
    assert_eq!(
        kpis["recommendations"],
        json!([{"strategy": "trending", "impressions": 1, "clicks": 1, "click_through_rate": 1.0}])
    );
    let minutes = kpis["events_per_minute"]["minutes"].as_array().unwrap();
    let total: u64 = minutes.iter().map(|m| m["total"].as_u64().unwrap()).sum();
    assert_eq!(total, 7, "the human events, in the last minutes");
}

#[test]
fn an_unreadable_log_is_a_503_with_a_reason() {
    let server = Server::start("unreadable");
    assert_eq!(kpis(&server).0, 200);
    // The log's file disappears under the running server: a new read-only connection cannot open it.
    std::fs::remove_file(server.data.join("events.sqlite3")).unwrap();
    let (status, headers, error) = kpis(&server);
    assert_eq!(status, 503, "{error}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(error, json!({"error": "unavailable", "reason": "the live figures are unavailable; retry shortly"}));
}
