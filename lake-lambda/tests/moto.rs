//! The lake build job against moto's S3: raw objects as Firehose writes them in, the curated layer
//! out, read back with SQL; then the incremental runs (nothing changed, a day grown, a day gone),
//! with every request the job makes recorded.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use lake::query::{render, Format, LakeQuery};
use lake::Lake;
use lake_lambda::{handle, run, JobReport, LakeJobConfig, JSON_CONTENT_TYPE, PARQUET_CONTENT_TYPE, SHA256_METADATA};
use serde_json::{json, Value};
use testkit::Moto;

const DAY1: &str = "2026-11-01";
const DAY2: &str = "2026-11-02";
const FIREHOSE_GZ: &str = "shopstream-raw-1-2026-11-02-10-00-00-4a1f0c2e-8d7b-4c55-9a55-0f3c5e9d1a01.gz";
const FIREHOSE_PLAIN: &str = "shopstream-raw-1-2026-11-02-11-00-00-7b2e9f10-1c3d-4e5f-8a9b-2c4d6e8f0a12";
const FACTS: [&str; 3] = ["fact_events", "fact_sales", "fact_inventory_snapshot"];
const DIMS: [&str; 3] = ["dim_product", "dim_store", "dim_date"];

/// Every request a client sends: (method, path without the query).
#[derive(Clone, Debug, Default)]
struct Requests(Arc<Mutex<Vec<(String, String)>>>);

impl Intercept for Requests {
    fn name(&self) -> &'static str {
        "Requests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let uri = request.uri();
        let path = uri.split_once('?').map_or(uri, |(p, _)| p);
        let path = path.split_once("://").map_or(path, |(_, rest)| rest);
        let path = path.find('/').map_or("", |i| &path[i..]);
        self.0.lock().unwrap().push((request.method().to_string(), path.replace("%3D", "=")));
        Ok(())
    }
}

impl Requests {
    /// Takes the requests recorded so far.
    fn take(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// `GET`s of raw objects, `PUT`s of anything: (method, path) of each.
fn raw_gets(requests: &[(String, String)]) -> Vec<&str> {
    requests.iter().filter(|(m, p)| m == "GET" && p.contains("/raw/")).map(|(_, p)| p.as_str()).collect()
}

fn puts(requests: &[(String, String)]) -> Vec<&str> {
    requests.iter().filter(|(m, _)| m == "PUT").map(|(_, p)| p.as_str()).collect()
}

fn client(requests: &Requests) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(Moto::shared().endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .force_path_style(true)
        .interceptor(requests.clone())
        .build();
    Client::from_conf(config)
}

/// One enriched event as the ingest writes it.
fn event(id: &str, kind: &str, day: &str, hms: &str, properties: Value, bot: bool) -> String {
    json!({
        "event_id": id,
        "type": kind,
        "occurred_at": format!("{day}T{hms}.000Z"),
        "received_at": format!("{day}T{hms}.250Z"),
        "anonymous_id": "019ab2c4-0000-7000-8000-0000000000a1",
        "session_id": "019ab2c4-0000-7000-8000-00000000s001",
        "context": {"page": {"path": "/products/shoes-001"}},
        "properties": properties,
        "edge": {"bot": bot, "country": "IE", "device": "desktop"}
    })
    .to_string()
}

fn purchase(id: &str, day: &str, hms: &str, order: &str, items: &[(&str, i64, f64)], bot: bool) -> String {
    let items: Vec<Value> = items.iter().map(|(sku, q, p)| json!({"sku": sku, "quantity": q, "price": p})).collect();
    let revenue: f64 = items.iter().map(|i| i["quantity"].as_f64().unwrap() * i["price"].as_f64().unwrap()).sum();
    event(
        id,
        "purchase",
        day,
        hms,
        json!({"order_id": order, "currency": "EUR", "revenue": revenue, "items": items}),
        bot,
    )
}

fn lines(events: &[String]) -> Vec<u8> {
    events.iter().flat_map(|e| format!("{e}\n").into_bytes()).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

async fn put(s3: &Client, bucket: &str, key: &str, body: Vec<u8>) {
    s3.put_object().bucket(bucket).key(key).body(ByteStream::from(body)).send().await.unwrap();
}

/// A bucket holding two days of raw events (one object of day 2 gzipped and one without an
/// extension, as Firehose names them), objects that are not data, and the reference files.
async fn seed(s3: &Client, prefix: &str, with_reference: bool) -> String {
    let bucket = testkit::unique("lake").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let raw = |day: &str, name: &str| format!("{prefix}raw/dt={day}/{name}");
    let day1 = [
        event("e1", "page_view", DAY1, "09:00:00", json!({}), false),
        event("e2", "add_to_cart", DAY1, "09:01:00", json!({"sku": "shoes-001", "quantity": 2, "price": 19.99}), false),
        purchase("e3", DAY1, "09:05:00", "o-1", &[("shoes-001", 2, 19.99), ("bags-002", 1, 5.5)], false),
        // Resent by the tracker: counted once.
        event("e1", "page_view", DAY1, "09:00:00", json!({}), false),
    ];
    put(s3, &bucket, &raw(DAY1, "part-0000000000000001.jsonl"), lines(&day1)).await;
    let day2_gz = [
        event("e4", "page_view", DAY2, "10:00:00", json!({}), false),
        purchase("e5", DAY2, "10:02:00", "o-2", &[("shoes-001", 1, 19.99)], false),
        // A bot's purchase: an event, not a sale.
        purchase("e6", DAY2, "10:03:00", "o-3", &[("bags-002", 5, 5.5)], true),
    ];
    put(s3, &bucket, &raw(DAY2, FIREHOSE_GZ), gzip(&lines(&day2_gz))).await;
    put(
        s3,
        &bucket,
        &raw(DAY2, FIREHOSE_PLAIN),
        lines(&[event("e7", "page_view", DAY2, "11:00:00", json!({}), false)]),
    )
    .await;
    // Not data: skipped like the local listing skips them.
    for (key, body) in [
        (raw(DAY2, "_SUCCESS"), "x"),
        (raw(DAY2, ".part.tmp"), "x"),
        (raw(DAY2, "notes.txt"), "x"),
        (raw(DAY2, "deeper/part.jsonl"), "{}"),
        (format!("{prefix}raw/dt=not-a-day/part.jsonl"), "{}"),
        (format!("{prefix}raw/dt={DAY2}/"), ""),
    ] {
        put(s3, &bucket, &key, body.as_bytes().to_vec()).await;
    }
    if with_reference {
        let products = [
            json!({"sku": "shoes-001", "name": "Trail shoe", "category": "shoes", "brand": "Acme", "unit_cost": 8.0, "list_price": 19.99}),
            json!({"sku": "bags-002", "name": "Tote", "category": "bags", "brand": "Acme", "unit_cost": 2.0, "list_price": 5.5, "starting_stock": 40, "reorder_point": 5}),
        ];
        let stores =
            [json!({"store_id": "web", "name": "Web shop", "region": "Online", "country": "IE", "kind": "online"})];
        let to_lines = |rows: &[Value]| rows.iter().map(|r| format!("{r}\n")).collect::<String>().into_bytes();
        put(s3, &bucket, &format!("{prefix}reference/products.jsonl"), to_lines(&products)).await;
        put(s3, &bucket, &format!("{prefix}reference/stores.jsonl"), to_lines(&stores)).await;
    }
    bucket
}

fn config(bucket: &str, prefix: &str) -> LakeJobConfig {
    LakeJobConfig { bucket: bucket.to_string(), prefix: prefix.to_string(), region: None }
}

/// Runs the job in a fresh work directory and checks it cleaned up after itself.
async fn build(s3: &Client, config: &LakeJobConfig) -> JobReport {
    let work = tempfile::tempdir().unwrap();
    let report = run(s3, config, work.path()).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!work.path().join("lake").exists(), "the work directory's lake is removed");
    report
}

async fn keys(s3: &Client, bucket: &str, prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut pages = s3.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        keys.extend(page.unwrap().contents().iter().filter_map(|o| o.key().map(str::to_string)));
    }
    keys.sort();
    keys
}

async fn get(s3: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let object = s3.get_object().bucket(bucket).key(key).send().await.unwrap_or_else(|e| panic!("{key}: {e:?}"));
    object.body.collect().await.unwrap().into_bytes().to_vec()
}

/// The bucket's `curated/` copied into a local lake, to query.
async fn download_curated(s3: &Client, bucket: &str, prefix: &str, dir: &Path) -> Lake {
    let curated = format!("{prefix}curated/");
    for key in keys(s3, bucket, &curated).await {
        let path = dir.join("curated").join(&key[curated.len()..]);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, get(s3, bucket, &key).await).unwrap();
    }
    Lake::new(dir)
}

async fn sql(lake: &Lake, query: &str) -> Vec<Value> {
    let q = LakeQuery::open(lake).await.unwrap();
    let batches = q.sql(query).await.unwrap_or_else(|e| panic!("{query}: {e}"));
    serde_json::from_str(&render(&batches, Format::Json).unwrap()).unwrap()
}

/// The curated objects a bucket must hold for `days`.
fn curated_keys(prefix: &str, days: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = FACTS
        .iter()
        .flat_map(|t| days.iter().map(move |d| format!("{prefix}curated/{t}/dt={d}/part-0.parquet")))
        .chain(DIMS.iter().map(|t| format!("{prefix}curated/{t}/part-0.parquet")))
        .chain([format!("{prefix}curated/_manifest.json")])
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_first_run_builds_every_day_and_the_bucket_answers_sql() {
    let requests = Requests::default();
    let s3 = client(&requests);
    let prefix = "lake/";
    let bucket = seed(&s3, prefix, true).await;
    // Outside the prefix: not the lake's.
    put(
        &s3,
        &bucket,
        &format!("raw/dt={DAY1}/part-9.jsonl"),
        lines(&[event("x", "page_view", DAY1, "12:00:00", json!({}), false)]),
    )
    .await;
    requests.take();

    let report = build(&s3, &config(&bucket, prefix)).await;
    assert_eq!((report.raw_objects, report.raw_days), (3, 2), "{report:?}");
    assert_eq!((report.build.days_built, report.build.days_unchanged, report.build.days_removed), (2, 0, 0));
    assert_eq!((report.build.events, report.build.duplicate_events, report.build.bad_lines), (7, 1, 0), "{report:?}");
    assert_eq!(report.build.sales_lines, 3);
    assert_eq!(report.raw_objects_downloaded, 3);
    assert_eq!(report.objects_uploaded, 3 * 2 + 3 + 1, "six fact files, three dimensions, the manifest");
    let sent = requests.take();
    assert_eq!(raw_gets(&sent).len(), 3, "{sent:?}");
    assert_eq!(puts(&sent).len(), 10, "{sent:?}");
    assert!(puts(&sent).last().unwrap().ends_with("/lake/curated/_manifest.json"), "the manifest goes last: {sent:?}");

    assert_eq!(keys(&s3, &bucket, &format!("{prefix}curated/")).await, curated_keys(prefix, &[DAY1, DAY2]));
    let manifest: Value =
        serde_json::from_slice(&get(&s3, &bucket, &format!("{prefix}curated/_manifest.json")).await).unwrap();
    let days: Vec<&String> = manifest["days"].as_object().unwrap().keys().collect();
    assert_eq!(days, [DAY1, DAY2]);
    let files: Vec<&str> =
        manifest["days"][DAY2]["files"].as_array().unwrap().iter().map(|f| f[0].as_str().unwrap()).collect();
    assert_eq!(files, [FIREHOSE_GZ, FIREHOSE_PLAIN], "the listing's names, in order");
    let head = |key: String| {
        let s3 = s3.clone();
        let bucket = bucket.clone();
        async move { s3.head_object().bucket(bucket).key(key).send().await.unwrap() }
    };
    let fact = head(format!("{prefix}curated/fact_sales/dt={DAY2}/part-0.parquet")).await;
    assert_eq!(fact.content_type(), Some(PARQUET_CONTENT_TYPE));
    let dim = head(format!("{prefix}curated/dim_product/part-0.parquet")).await;
    assert_eq!(dim.content_type(), Some(PARQUET_CONTENT_TYPE));
    assert_eq!(dim.metadata().unwrap()[SHA256_METADATA].len(), 64);
    assert_eq!(head(format!("{prefix}curated/_manifest.json")).await.content_type(), Some(JSON_CONTENT_TYPE));

    let dir = tempfile::tempdir().unwrap();
    let lake = download_curated(&s3, &bucket, prefix, dir.path()).await;
    assert_eq!(sql(&lake, "SELECT COUNT(*) AS n FROM fact_events").await, [json!({"n": 7})]);
    assert_eq!(
        sql(&lake, "SELECT dt, COUNT(*) AS n, SUM(CASE WHEN bot THEN 1 ELSE 0 END) AS bots FROM fact_events GROUP BY dt ORDER BY dt").await,
        [json!({"dt": DAY1, "n": 2 + 1, "bots": 0}), json!({"dt": DAY2, "n": 4, "bots": 1})]
    );
    assert_eq!(
        sql(&lake, "SELECT COUNT(*) AS lines, ROUND(SUM(line_revenue), 2) AS revenue FROM fact_sales").await,
        [json!({"lines": 3, "revenue": 65.47})],
        "2 x 19.99 + 5.50 + 19.99; the bot's order is not a sale"
    );
    assert_eq!(
        sql(&lake, "SELECT p.category, SUM(s.quantity) AS units FROM fact_sales s JOIN dim_product p ON s.sku = p.sku GROUP BY p.category ORDER BY p.category").await,
        [json!({"category": "bags", "units": 1}), json!({"category": "shoes", "units": 3})]
    );
    assert_eq!(
        sql(&lake, "SELECT store_id, kind FROM dim_store").await,
        [json!({"store_id": "web", "kind": "online"})]
    );
    assert_eq!(sql(&lake, "SELECT COUNT(*) AS n FROM dim_date").await, [json!({"n": 2})]);
}

#[tokio::test]
async fn a_second_run_with_nothing_changed_downloads_and_uploads_nothing() {
    let requests = Requests::default();
    let s3 = client(&requests);
    let bucket = seed(&s3, "", true).await;
    build(&s3, &config(&bucket, "")).await;
    requests.take();

    let report = build(&s3, &config(&bucket, "")).await;
    assert_eq!((report.build.days_built, report.build.days_unchanged, report.build.days_removed), (0, 2, 0));
    assert_eq!(
        (report.raw_objects_downloaded, report.objects_uploaded, report.objects_deleted),
        (0, 0, 0),
        "{report:?}"
    );
    let sent = requests.take();
    assert!(raw_gets(&sent).is_empty(), "no raw object read: {sent:?}");
    assert!(puts(&sent).is_empty(), "nothing written: {sent:?}");
    assert!(!sent.iter().any(|(m, _)| m == "DELETE"), "{sent:?}");

    // A changed reference file changes its dimension, and only that one is written again.
    let products = json!({"sku": "shoes-001", "name": "Trail shoe", "category": "footwear", "brand": "Acme", "unit_cost": 8.0, "list_price": 19.99});
    put(&s3, &bucket, "reference/products.jsonl", format!("{products}\n").into_bytes()).await;
    requests.take();
    let report = build(&s3, &config(&bucket, "")).await;
    assert_eq!((report.build.days_built, report.objects_uploaded), (0, 1), "{report:?}");
    assert_eq!(puts(&requests.take()), ["/".to_string() + &bucket + "/curated/dim_product/part-0.parquet"]);
    let dir = tempfile::tempdir().unwrap();
    let lake = download_curated(&s3, &bucket, "", dir.path()).await;
    assert_eq!(
        sql(&lake, "SELECT sku, category FROM dim_product").await,
        [json!({"sku": "shoes-001", "category": "footwear"})]
    );
}

#[tokio::test]
async fn an_object_added_to_a_day_rebuilds_that_day_only() {
    let requests = Requests::default();
    let s3 = client(&requests);
    let bucket = seed(&s3, "", true).await;
    build(&s3, &config(&bucket, "")).await;
    let later = [
        purchase("e8", DAY2, "12:00:00", "o-4", &[("bags-002", 3, 5.5)], false),
        event("e9", "page_view", DAY2, "12:01:00", json!({}), false),
        // Already in another object of the day: counted once.
        event("e4", "page_view", DAY2, "10:00:00", json!({}), false),
    ];
    let added = "shopstream-raw-1-2026-11-02-12-00-00-9c8b7a65-4321-4fed-8cba-987654321000.gz";
    put(&s3, &bucket, &format!("raw/dt={DAY2}/{added}"), gzip(&lines(&later))).await;
    requests.take();

    let report = build(&s3, &config(&bucket, "")).await;
    assert_eq!((report.build.days_built, report.build.days_unchanged, report.build.days_removed), (1, 1, 0));
    assert_eq!((report.build.events, report.build.duplicate_events), (4 + 2, 1), "day 2 again, whole: {report:?}");
    let sent = requests.take();
    let gets = raw_gets(&sent);
    assert_eq!(gets.len(), 3, "day 2's three objects: {sent:?}");
    assert!(gets.iter().all(|p| p.contains(&format!("/raw/dt={DAY2}/"))), "{gets:?}");
    let written = puts(&sent);
    assert!(written.iter().all(|p| !p.contains(&format!("dt={DAY1}"))), "day 1 is left alone: {written:?}");
    assert_eq!(written.iter().filter(|p| p.contains(&format!("dt={DAY2}/part-0.parquet"))).count(), 3, "{written:?}");
    assert!(written.last().unwrap().ends_with("/curated/_manifest.json"), "{written:?}");

    let dir = tempfile::tempdir().unwrap();
    let lake = download_curated(&s3, &bucket, "", dir.path()).await;
    assert_eq!(
        sql(&lake, "SELECT dt, COUNT(*) AS n FROM fact_events GROUP BY dt ORDER BY dt").await,
        [json!({"dt": DAY1, "n": 3}), json!({"dt": DAY2, "n": 6})]
    );
    assert_eq!(
        sql(&lake, "SELECT COUNT(*) AS lines, ROUND(SUM(line_revenue), 2) AS revenue FROM fact_sales").await,
        [json!({"lines": 4, "revenue": 81.97})]
    );
}

#[tokio::test]
async fn a_day_whose_raw_objects_are_gone_is_removed_from_the_bucket() {
    let requests = Requests::default();
    let s3 = client(&requests);
    let prefix = "env/prod/";
    let bucket = seed(&s3, prefix, true).await;
    build(&s3, &config(&bucket, prefix)).await;
    for key in keys(&s3, &bucket, &format!("{prefix}raw/dt={DAY1}/")).await {
        s3.delete_object().bucket(&bucket).key(key).send().await.unwrap();
    }
    requests.take();

    let report = build(&s3, &config(&bucket, prefix)).await;
    assert_eq!((report.build.days_built, report.build.days_unchanged, report.build.days_removed), (0, 1, 1));
    assert_eq!(report.objects_deleted, 3, "{report:?}");
    assert!(raw_gets(&requests.take()).is_empty());
    assert_eq!(keys(&s3, &bucket, &format!("{prefix}curated/")).await, curated_keys(prefix, &[DAY2]));
    let manifest: Value =
        serde_json::from_slice(&get(&s3, &bucket, &format!("{prefix}curated/_manifest.json")).await).unwrap();
    assert_eq!(manifest["days"].as_object().unwrap().keys().collect::<Vec<_>>(), [DAY2]);

    let dir = tempfile::tempdir().unwrap();
    let lake = download_curated(&s3, &bucket, prefix, dir.path()).await;
    assert_eq!(sql(&lake, "SELECT COUNT(*) AS n FROM fact_events").await, [json!({"n": 4})]);
    assert_eq!(sql(&lake, "SELECT COUNT(*) AS n FROM dim_date").await, [json!({"n": 1})], "the calendar shrinks too");

    // Again: nothing left to do.
    let report = build(&s3, &config(&bucket, prefix)).await;
    assert_eq!((report.build.days_removed, report.objects_deleted, report.objects_uploaded), (0, 0, 0), "{report:?}");
}

#[tokio::test]
async fn without_reference_files_the_dimensions_are_empty() {
    let s3 = client(&Requests::default());
    let bucket = seed(&s3, "", false).await;
    let report = build(&s3, &config(&bucket, "")).await;
    assert_eq!(report.build.days_built, 2);
    let dir = tempfile::tempdir().unwrap();
    let lake = download_curated(&s3, &bucket, "", dir.path()).await;
    assert_eq!(sql(&lake, "SELECT COUNT(*) AS n FROM dim_product").await, [json!({"n": 0})]);
    assert_eq!(sql(&lake, "SELECT COUNT(*) AS n FROM fact_sales").await, [json!({"n": 3})]);
}

#[tokio::test]
async fn the_handler_takes_any_event_and_answers_with_the_report() {
    let s3 = client(&Requests::default());
    let bucket = testkit::unique("lake").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    // EventBridge Scheduler's default payload, then a scheduled event as EventBridge rules send it.
    let answer = handle(&s3, &config(&bucket, ""), work.path(), json!({})).await.unwrap();
    assert_eq!((answer["raw_objects"].clone(), answer["days_built"].clone()), (json!(0), json!(0)), "{answer}");
    let manifest: Value = serde_json::from_slice(&get(&s3, &bucket, "curated/_manifest.json").await).unwrap();
    assert_eq!(manifest["days"], json!({}), "an empty bucket builds an empty lake");

    put(
        &s3,
        &bucket,
        &format!("raw/dt={DAY1}/part-1.jsonl"),
        lines(&[event("e1", "page_view", DAY1, "09:00:00", json!({}), false)]),
    )
    .await;
    let scheduled = json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
        "source": "aws.scheduler", "account": "123456789012", "time": "2026-11-02T01:00:00Z",
        "region": "us-east-1", "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/lake-build"],
        "detail": {}
    });
    let answer = handle(&s3, &config(&bucket, ""), work.path(), scheduled).await.unwrap();
    assert_eq!(answer["days_built"], 1, "{answer}");
    assert_eq!(answer["events"], 1, "the build's figures are at the top level: {answer}");
    assert_eq!(
        answer["objects_uploaded"],
        3 + 1 + 1,
        "the day's facts, dim_date (one day more) and the manifest; the empty dim_product and dim_store did not change: {answer}"
    );
    assert!(!work.path().join("lake").exists());
}

#[tokio::test]
async fn an_s3_failure_names_the_operation_and_the_key() {
    let s3 = client(&Requests::default());
    let bucket = testkit::unique("no-such-lake").to_lowercase();
    let work = tempfile::tempdir().unwrap();
    let err = run(&s3, &config(&bucket, "lake/"), work.path()).await.unwrap_err().to_string();
    assert!(err.starts_with(&format!("S3 ListObjectsV2 s3://{bucket}/lake/raw/: ")), "{err}");
    assert!(err.contains("NoSuchBucket"), "{err}");
    assert!(!work.path().join("lake").exists());
}
