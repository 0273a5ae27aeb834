//! The lake and the alerts through the local binary: events posted to `serve` raise a low-stock
//! alert once per crossing (`GET /v1/alerts`), and `shopstream lake build` / `shopstream query`
//! answer the KPI queries on them.

mod support;

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use event_schema::Timestamp;
use serde_json::{json, Value};
use support::{Server, BIN};

const DESKTOP_UA: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

fn now() -> String {
    Timestamp(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64).to_rfc3339()
}

fn event(id: u64, kind: &str, properties: Value) -> Value {
    json!({
        "event_id": format!("019ab2c4-7e10-7000-8000-{id:012x}"), "type": kind, "occurred_at": now(),
        "anonymous_id": "anon-1", "session_id": "session-1", "properties": properties
    })
}

/// A store system's client: the ingest flags it as automated.
const POS_UA: &str = "python-requests/2.32.3";

fn post(server: &Server, events: &[Value]) {
    post_as(server, DESKTOP_UA, events)
}

fn post_as(server: &Server, user_agent: &str, events: &[Value]) {
    let body = json!({"schema_version": 1, "sent_at": now(), "events": events}).to_string();
    let headers = [("Content-Type", "application/json"), ("User-Agent", user_agent)];
    let (status, _, answer) = server.request("POST", "/v1/events", &headers, body.as_bytes());
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
}

fn alerts(server: &Server, want: usize, wait: Duration) -> Vec<Value> {
    let deadline = Instant::now() + wait;
    loop {
        let (status, _, body) = server.request("GET", "/v1/alerts", &[], b"");
        assert_eq!(status, 200);
        let v: Value = serde_json::from_slice(&body).unwrap();
        let list = v["alerts"].as_array().unwrap().clone();
        if list.len() >= want || Instant::now() > deadline {
            return list;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn shopstream(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn alerts_fire_once_per_crossing_and_the_lake_answers_the_kpi_queries() {
    let server = Server::start("lake");
    // A catalog product: selling all but (reorder point - 1) units takes it below its point.
    let p = catalog::products().into_iter().find(|p| p.stock > p.reorder_point + 2).unwrap();
    let units = u64::from(p.stock - p.reorder_point + 1);
    let line = |q: u64| json!({"sku": p.sku, "quantity": q, "price": p.price, "category": p.category});
    post(
        &server,
        &[
            event(1, "product_view", json!({"sku": p.sku})),
            event(
                2,
                "purchase",
                json!({"order_id": "o-1", "revenue": p.price * units as f64, "currency": "EUR", "items": [line(units)]}),
            ),
            event(3, "purchase", json!({"order_id": "o-2", "revenue": p.price, "currency": "EUR", "items": [line(1)]})),
        ],
    );
    // A store system's count, from a client the ingest flags as a bot: 2 lamps where 5 is the point.
    let count = |id: u64, store: &str, on_hand: u64, point: Option<u64>| {
        let mut item = json!({"sku": "lamp-x", "on_hand": on_hand});
        if let Some(point) = point {
            item["reorder_point"] = json!(point);
        }
        event(id, "inventory_snapshot", json!({"store_id": store, "items": [item]}))
    };
    post_as(&server, POS_UA, &[count(4, "s1", 2, Some(5))]);
    let got = alerts(&server, 2, Duration::from_secs(15));
    let ids: Vec<&str> = got.iter().map(|a| a["alert_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["low_stock:s1:lamp-x:1", &format!("low_stock:web:{}:1", p.sku)], "newest first: {got:?}");
    assert_eq!(got[1]["on_hand"], json!(i64::from(p.reorder_point) - 1));
    assert_eq!(got[1]["reorder_point"], json!(p.reorder_point));
    // Another sale below the point and a count still below it: no new alert. Then a crossing in
    // another store, whose alert shows the processor got past them.
    post(
        &server,
        &[event(5, "purchase", json!({"order_id": "o-3", "revenue": p.price, "currency": "EUR", "items": [line(1)]}))],
    );
    post_as(&server, POS_UA, &[count(6, "s1", 1, None)]);
    post_as(&server, POS_UA, &[count(7, "s2", 0, Some(1))]);
    let got = alerts(&server, 3, Duration::from_secs(15));
    let ids: Vec<&str> = got.iter().map(|a| a["alert_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["low_stock:s2:lamp-x:1", "low_stock:s1:lamp-x:1", &format!("low_stock:web:{}:1", p.sku)]);

    // The lake: built from the event log, idempotent, and queried with the examples' SQL.
    let data = server.data.to_str().unwrap();
    let (ok, stdout, stderr) = shopstream(&["lake", "build", "--data", data]);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!((report["days_built"].as_u64(), report["events"].as_u64()), (Some(1), Some(7)), "{report}");
    assert_eq!(report["sales_lines"].as_u64(), Some(3));
    let (ok, stdout, _) = shopstream(&["lake", "build", "--data", data]);
    assert!(ok);
    let again: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!((again["days_built"].as_u64(), again["days_unchanged"].as_u64()), (Some(0), Some(1)), "{again}");

    let sql = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sql/revenue_by_day.sql");
    let (ok, stdout, stderr) = shopstream(&["query", "--data", data, "--format", "csv", "--file", sql]);
    assert!(ok, "{stderr}");
    let revenue = ((units + 2) as f64 * p.price * 100.0).round() / 100.0;
    let today = &now()[..10];
    assert_eq!(stdout, format!("sale_date,orders,revenue\n{today},3,{revenue:?}\n"));
    let (ok, stdout, _) = shopstream(&[
        "query",
        "--data",
        data,
        "--format",
        "json",
        "SELECT store_id, on_hand FROM fact_inventory_snapshot ORDER BY store_id, on_hand DESC",
    ]);
    assert!(ok);
    assert_eq!(
        stdout.trim(),
        r#"[{"store_id":"s1","on_hand":2},{"store_id":"s1","on_hand":1},{"store_id":"s2","on_hand":0}]"#
    );
    let low = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sql/low_stock.sql");
    let (ok, stdout, _) = shopstream(&["query", "--data", data, "--format", "csv", "--file", low]);
    assert!(ok);
    assert!(stdout.contains(&format!("web,{},", p.sku)), "{stdout}");
    let (ok, stdout, _) = shopstream(&["query", "--data", data, "SELECT COUNT(*) AS n FROM dim_product"]);
    assert!(ok && stdout.contains(&catalog::products().len().to_string()), "{stdout}");

    // The dashboard's insights: the same queries over HTTP.
    let (status, headers, body) = server.request("GET", "/v1/insights/revenue_by_day", &[], b"");
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "no-store");
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["rows"], json!([{"sale_date": today, "orders": 3, "revenue": revenue}]), "{answer}");
    assert!(answer["built_at"].as_str().is_some_and(|t| t.starts_with(today)), "{answer}");
    let (status, _, body) = server.request("GET", "/v1/insights/nope", &[], b"");
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("low_stock"), "names the queries there are");

    // Bad SQL: a failure with the engine's reason.
    let (ok, _, stderr) = shopstream(&["query", "--data", data, "SELECT nope FROM fact_sales"]);
    assert!(!ok);
    assert!(stderr.contains("nope"), "{stderr}");
}

#[test]
fn the_athena_ddl_names_every_table_over_the_bucket() {
    let (ok, stdout, _) = shopstream(&["lake", "ddl", "--location", "s3://lake-bucket"]);
    assert!(ok);
    for table in
        ["events", "fact_events", "fact_sales", "fact_inventory_snapshot", "dim_product", "dim_store", "dim_date"]
    {
        assert!(stdout.contains(&format!("CREATE EXTERNAL TABLE IF NOT EXISTS {table} (")), "{table}");
    }
    assert!(stdout.contains("LOCATION 's3://lake-bucket/curated/fact_sales/'"));
    assert!(stdout.contains("'storage.location.template' = 's3://lake-bucket/raw/dt=${dt}/'"));
    let (ok, _, stderr) = shopstream(&["lake", "ddl", "--location", "/tmp/x"]);
    assert!(!ok && stderr.contains("s3://"));
}
