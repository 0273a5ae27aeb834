//! The Lambda's router fed real API Gateway (REST) proxy events, with Kinesis on moto: the same
//! handler, the client IP from the request context, write keys and CORS, and one EMF line per request.

use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::types::ShardIteratorType;
use http_body_util::BodyExt;
use ingest_domain::{Ingest, SystemClock};
use ingest_kinesis::{KinesisEventSink, RetryPolicy};
use ingest_lambda::emf::Emf;
use ingest_lambda::{vars, LambdaConfig};
use serde_json::{json, Value};
use testkit::Moto;
use tower::ServiceExt;

fn kinesis() -> aws_sdk_kinesis::Client {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(Moto::shared().endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .build();
    aws_sdk_kinesis::Client::from_conf(config)
}

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn json(&self) -> Vec<Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn apigw_event(body: &Value) -> String {
    let template = include_str!("fixtures/apigw-post-events.json");
    let escaped = serde_json::to_string(&body.to_string()).unwrap();
    template.replace("\"__BODY__\"", &escaped)
}

fn batch(bad: bool) -> Value {
    let now = event_schema::Timestamp(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64,
    )
    .to_rfc3339();
    let id = testkit::unique("x").len() as u64; // varies the ids between tests
    let mut events = vec![json!({
        "event_id": format!("019ab2c4-7e10-701c-801c-{:012x}", 0xe0 + id), "type": "product_view",
        "occurred_at": now, "anonymous_id": "anon-lambda", "session_id": "s-1",
        "properties": {"sku": "sku-1", "price": 10.5, "currency": "EUR"}
    })];
    if bad {
        events.push(json!({"event_id": "nope", "type": "teleport"}));
    }
    json!({"schema_version": 1, "sent_at": now, "events": events})
}

async fn stream() -> String {
    let name = testkit::unique("lambda-events");
    kinesis().create_stream().stream_name(&name).shard_count(1).send().await.unwrap();
    for _ in 0..50 {
        let d = kinesis().describe_stream_summary().stream_name(&name).send().await.unwrap();
        if d.stream_description_summary().unwrap().stream_status().as_str() == "ACTIVE" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    name
}

async fn records(stream: &str) -> Vec<Value> {
    let shards = kinesis().list_shards().stream_name(stream).send().await.unwrap();
    let shard = shards.shards()[0].shard_id().to_string();
    let it = kinesis()
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap();
    let got = kinesis().get_records().shard_iterator(it.shard_iterator().unwrap()).send().await.unwrap();
    got.records().iter().map(|r| serde_json::from_slice(r.data().as_ref()).unwrap()).collect()
}

fn config(stream: &str) -> LambdaConfig {
    LambdaConfig::from_vars([
        (vars::STREAM_NAME.to_string(), stream.to_string()),
        (
            vars::WRITE_KEYS.to_string(),
            r#"{"wk_shop": {"site": "shop", "origins": ["https://shop.example"]}}"#.to_string(),
        ),
    ])
    .unwrap()
}

async fn handle(stream: &str, event: String, lines: &Lines) -> (u16, axum::http::HeaderMap, Value) {
    let config = config(stream);
    let sink = KinesisEventSink::new(kinesis(), &config.stream_name, RetryPolicy::with_deadline(config.sink_deadline))
        .unwrap();
    let ingest = Ingest::new(Arc::new(sink), Arc::new(SystemClock));
    let emf = Emf::new(Arc::new(Mutex::new(lines.clone())), Arc::new(|| (0, 0)));
    let app = ingest_lambda::app(ingest, config.access, emf);
    let request = lambda_http::request::from_str(&event).unwrap();
    let response = app.oneshot(request.map(|b| axum::body::Body::from(b.to_vec()))).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status.as_u16(), parts.headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_api_gateway_event_is_validated_enriched_and_put_on_kinesis() {
    let stream = stream().await;
    let lines = Lines::default();
    let (status, headers, answer) = handle(&stream, apigw_event(&batch(true)), &lines).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 1);
    assert_eq!(answer["rejected"][0]["index"], 1);
    assert_eq!(headers["access-control-allow-origin"], "https://shop.example");

    let stored = records(&stream).await;
    assert_eq!(stored.len(), 1);
    let e = &stored[0];
    assert_eq!(e["type"], "product_view");
    assert_eq!(e["anonymous_id"], "anon-lambda");
    assert_eq!(e["edge"]["ip_prefix"], "198.51.100.0/24", "from API Gateway's sourceIp");
    assert_eq!(e["edge"]["country"], "DE");
    assert_eq!(e["edge"]["site"], "shop");
    assert_eq!(e["edge"]["browser"]["name"], "Chrome");
    assert!(!e.to_string().contains("198.51.100.23"), "the raw IP is not forwarded");

    let emf = lines.json();
    assert_eq!(emf.len(), 2, "{emf:?}");
    assert_eq!(emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Shopstream/Ingest");
    assert_eq!((emf[0]["EventsAccepted"].as_u64(), emf[0]["EventsRejected"].as_u64()), (Some(1), Some(1)));
    assert_eq!(emf[0]["BatchSize"], 2);
    assert_eq!(emf[0]["Status"], 200);
    assert!(emf[0]["Latency"].as_f64().unwrap() > 0.0);
    assert_eq!(emf[1]["Reason"], "not_uuid");
    assert_eq!(emf[1]["EventsRejected"], 1);
}

#[tokio::test]
async fn without_the_write_key_nothing_reaches_kinesis() {
    let stream = stream().await;
    let lines = Lines::default();
    let event = apigw_event(&batch(false))
        .replace(r#""queryStringParameters": { "write_key": "wk_shop" }"#, r#""queryStringParameters": null"#)
        .replace(
            r#""multiValueQueryStringParameters": { "write_key": ["wk_shop"] }"#,
            r#""multiValueQueryStringParameters": null"#,
        );
    let (status, _, answer) = handle(&stream, event, &lines).await;
    assert_eq!(status, 403, "{answer}");
    assert!(records(&stream).await.is_empty());
    assert_eq!(lines.json()[0]["Status"], 403);
}

#[tokio::test]
async fn a_missing_stream_is_503_with_retry_after() {
    let lines = Lines::default();
    let (status, headers, _) = handle("no-such-stream", apigw_event(&batch(false)), &lines).await;
    assert_eq!(status, 503);
    assert!(headers.contains_key("retry-after"));
}
