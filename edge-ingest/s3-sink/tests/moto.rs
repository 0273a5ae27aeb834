//! The bad-events sink against moto's S3: what is written is read back line by line.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::Client;
use event_schema::validate::{FieldError, Problem};
use event_schema::Timestamp;
use ingest_domain::{RejectedEventSink, RejectedRecord};
use ingest_s3::S3RejectedEventSink;
use serde_json::Value;
use testkit::Moto;

fn client() -> Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(Moto::shared().endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .force_path_style(true)
        .build();
    Client::from_conf(config)
}

fn record(index: usize, code_of: Problem) -> RejectedRecord {
    RejectedRecord {
        received_at: Timestamp::parse_rfc3339("2026-11-22T10:00:05.000Z").unwrap(),
        scope: "event",
        index: Some(index),
        event_id: Some(format!("e-{index}")),
        errors: vec![FieldError { path: "type".into(), problem: code_of }],
        raw: format!(r#"{{"n":{index}}}"#),
        raw_truncated: false,
    }
}

#[tokio::test]
async fn rejected_records_land_as_json_lines_under_a_dated_prefix() {
    let client = client();
    let bucket = testkit::unique("bad-events").to_lowercase();
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let sink = S3RejectedEventSink::new(client.clone(), &bucket, "rejected/", "i-1");
    let records = [record(1, Problem::UnknownEventType("teleport".into())), record(4, Problem::Missing)];
    sink.write_rejected(&records).await.unwrap();
    sink.write_rejected(&records[..1]).await.unwrap();
    sink.write_rejected(&[]).await.unwrap();

    let listed = client.list_objects_v2().bucket(&bucket).prefix("rejected/").send().await.unwrap();
    let mut keys: Vec<String> = listed.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect();
    keys.sort();
    assert_eq!(keys.len(), 2, "one object per call with records: {keys:?}");
    assert!(keys.iter().all(|k| k.starts_with("rejected/dt=2026-11-22/hour=10/1795341605000-i-1-")), "{keys:?}");
    let object = client.get_object().bucket(&bucket).key(&keys[0]).send().await.unwrap();
    let body = object.body.collect().await.unwrap().into_bytes();
    let lines: Vec<Value> =
        String::from_utf8(body.to_vec()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["index"], 1);
    assert_eq!(lines[0]["errors"][0]["code"], "unknown_event_type");
    assert!(lines[0]["errors"][0]["reason"].as_str().unwrap().contains("teleport"));
    assert_eq!(lines[0]["raw"], r#"{"n":1}"#);
    assert_eq!(lines[1]["errors"][0]["code"], "missing");
}

#[tokio::test]
async fn a_missing_bucket_is_a_sink_error() {
    let sink = S3RejectedEventSink::new(client(), testkit::unique("no-such-bucket").to_lowercase(), "rejected/", "i-1");
    let err = sink.write_rejected(&[record(0, Problem::Missing)]).await.unwrap_err();
    assert!(err.to_string().contains("cannot write s3://"), "{err}");
}

#[tokio::test]
async fn a_client_made_on_first_use_is_made_once_by_the_first_write() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let bucket = testkit::unique("bad-events-lazy").to_lowercase();
    client().create_bucket().bucket(&bucket).send().await.unwrap();
    let made = Arc::new(AtomicUsize::new(0));
    let sink = S3RejectedEventSink::on_first_use(
        {
            let made = made.clone();
            move || {
                made.fetch_add(1, Ordering::SeqCst);
                client()
            }
        },
        &bucket,
        "rejected/",
        "i-1",
    );
    sink.write_rejected(&[]).await.unwrap();
    assert_eq!(made.load(Ordering::SeqCst), 0, "nothing to write: no client yet");
    sink.write_rejected(&[record(1, Problem::Missing)]).await.unwrap();
    sink.write_rejected(&[record(2, Problem::Missing)]).await.unwrap();
    assert_eq!(made.load(Ordering::SeqCst), 1);
    let listed = client().list_objects_v2().bucket(&bucket).prefix("rejected/").send().await.unwrap();
    assert_eq!(listed.contents().len(), 2);
}
