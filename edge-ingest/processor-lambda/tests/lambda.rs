//! The processor Lambda's handler fed Kinesis events as AWS sends them (`tests/fixtures/`), with the
//! state in moto's DynamoDB and bad records in moto's S3.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use dynamodb_state::DynamoStateStore;
use event_schema::Timestamp;
use ingest_domain::FixedClock;
use ingest_s3::S3RejectedEventSink;
use personalize::contract::T0;
use personalize::model::{Key, Value, Versioned};
use personalize::store::{Commit, StoreError};
use personalize::{Placement, Processor, RecRequest, Recommender, StateStore, Strategy};
use processor_lambda::{handle, Emf, DEFAULT_REJECTED_PREFIX};
use serde_json::Value as Json;
use testkit::Moto;

const SHOPPER_A: &str = "019ab2c4-0000-7000-8000-0000000000a1";
const SHOPPER_B: &str = "019ab2c4-0000-7000-8000-0000000000b2";
const SHOPPER_C: &str = "019ab2c4-0000-7000-8000-0000000000c3";

fn credentials() -> Credentials {
    Credentials::new("test", "test", None, None, "static")
}

fn dynamodb() -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(Moto::shared().endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

fn s3() -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(Moto::shared().endpoint())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "static"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A Kinesis event from `tests/fixtures/`.
fn fixture(name: &str) -> KinesisEvent {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sequence_numbers(event: &KinesisEvent) -> Vec<String> {
    event.records.iter().map(|r| r.kinesis.sequence_number.clone()).collect()
}

/// EMF lines written during a test.
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
    fn json(&self) -> Vec<Json> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// What a test works with: the function's handler wired as `main` wires it, on a table and a
/// bucket of its own.
struct Function {
    processor: Processor,
    store: Arc<DynamoStateStore>,
    bucket: String,
    emf: Emf,
    lines: Lines,
}

impl Function {
    async fn new() -> Function {
        let table = testkit::unique("state");
        DynamoStateStore::create_table(&dynamodb(), &table).await.unwrap();
        Function::on_table(table).await
    }

    async fn on_table(table: String) -> Function {
        Function::wrapping(table, |store| store).await
    }

    /// The processor on `wrap(the table's store)`.
    async fn wrapping(table: String, wrap: impl FnOnce(Arc<DynamoStateStore>) -> Arc<dyn StateStore>) -> Function {
        let bucket = testkit::unique("lake").to_lowercase();
        s3().create_bucket().bucket(&bucket).send().await.unwrap();
        let store = Arc::new(DynamoStateStore::new(dynamodb(), table));
        let rejected = S3RejectedEventSink::new(s3(), &bucket, DEFAULT_REJECTED_PREFIX, "test");
        let processor = Processor::new(wrap(store.clone())).with_rejected_sink(Arc::new(rejected));
        let lines = Lines::default();
        let emf = Emf::new(Arc::new(Mutex::new(lines.clone())));
        Function { processor, store, bucket, emf, lines }
    }

    async fn invoke(&self, event: KinesisEvent) -> Vec<String> {
        let response = handle(&self.processor, &self.emf, event).await;
        response.batch_item_failures.into_iter().map(|f| f.item_identifier.unwrap()).collect()
    }

    fn last_metrics(&self) -> Json {
        self.lines.json().pop().expect("an EMF line")
    }
}

fn everything() -> Vec<Key> {
    let mut keys: Vec<Key> = [SHOPPER_A, SHOPPER_B, SHOPPER_C].iter().map(|a| Key::Anonymous(a.to_string())).collect();
    keys.extend(["pasta", "sauce", "parmesan"].iter().map(|s| Key::Item(s.to_string())));
    keys.extend([Key::TrendingAll, Key::TrendingCategory("Pantry".into())]);
    keys
}

fn metrics(line: &Json, names: &[&str]) -> Vec<u64> {
    names.iter().map(|n| line[*n].as_u64().unwrap_or_else(|| panic!("{n} in {line}"))).collect()
}

#[tokio::test]
async fn a_normal_batch_builds_profiles_and_items_that_recommendations_are_served_from() {
    let f = Function::new().await;
    assert_eq!(f.invoke(fixture("normal-batch.json")).await, Vec::<String>::new(), "nothing to retry");

    let state = f.store.load(&everything()).await.unwrap();
    assert_eq!(state.len(), everything().len(), "{:?}", state.keys().collect::<Vec<_>>());
    let Value::Profile(a) = &state[&Key::Anonymous(SHOPPER_A.into())].value else { panic!("not a profile") };
    assert_eq!((a.purchased.as_slice(), a.cart.len()), (&["pasta".to_string(), "sauce".to_string()][..], 0));
    let Value::Profile(c) = &state[&Key::Anonymous(SHOPPER_C.into())].value else { panic!("not a profile") };
    assert_eq!(c.cart, ["pasta"]);

    // The recommendations API reads the same table.
    let clock = Arc::new(FixedClock(Timestamp(T0 + 60_000)));
    let recommender = Recommender::new(f.store.clone(), clock);
    let request = |placement, anonymous_id: Option<&str>, sku: Option<&str>| RecRequest {
        placement,
        anonymous_id: anonymous_id.map(String::from),
        user_id: None,
        sku: sku.map(String::from),
        limit: 5,
        strategy: None,
    };
    let answer = recommender.recommend(&request(Placement::Product, None, Some("pasta"))).await.unwrap();
    let skus: Vec<&str> = answer.items.iter().map(|i| i.sku.as_str()).collect();
    assert_eq!((answer.strategy, &skus[..2]), (Strategy::BoughtTogether, &["sauce", "parmesan"][..]), "{answer:?}");
    assert_eq!(answer.items[0].info.name.as_deref(), Some("Tomato sauce"));
    let cart = recommender.recommend(&request(Placement::Cart, Some(SHOPPER_C), None)).await.unwrap();
    assert_eq!((cart.strategy, cart.items[0].sku.as_str()), (Strategy::CartComplements, "sauce"));

    let line = f.last_metrics();
    assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Shopstream/Processor");
    assert_eq!(line["Stream"], "shopstream-events");
    let counts = metrics(&line, &["Records", "Applied", "Duplicates", "Ignored", "Bad", "Failed"]);
    assert_eq!(counts, [9, 8, 0, 1, 0, 0], "the page view changes nothing: {line}");
    assert!(line["Commits"].as_u64().unwrap() >= 1 && line["Duration"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn a_poison_record_lands_in_the_bad_events_prefix_and_does_not_block_the_rest() {
    let f = Function::new().await;
    let event = fixture("poison-batch.json");
    let seqs = sequence_numbers(&event);
    assert_eq!(f.invoke(event).await, Vec::<String>::new(), "a bad record is not retried");
    assert!(f.store.load(&[Key::Item("olive-oil".into())]).await.unwrap().contains_key(&Key::Item("olive-oil".into())));

    let listed = s3().list_objects_v2().bucket(&f.bucket).prefix(DEFAULT_REJECTED_PREFIX).send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("rejected/processor/dt="), "{keys:?}");
    let object = s3().get_object().bucket(&f.bucket).key(keys[0]).send().await.unwrap();
    let body = object.body.collect().await.unwrap().into_bytes();
    let lines: Vec<Json> =
        String::from_utf8(body.to_vec()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!((lines[0]["event_id"].as_str(), lines[0]["scope"].as_str()), (Some(seqs[0].as_str()), Some("record")));
    assert_eq!(lines[0]["errors"][0]["code"], "not_json");
    assert_eq!(lines[0]["raw"], "this is not JSON {");
    assert_eq!(lines[1]["event_id"].as_str(), Some(seqs[1].as_str()), "the sequence number finds the record");
    assert_eq!(lines[1]["errors"][0]["path"], "properties.sku");

    let counts = metrics(&f.last_metrics(), &["Records", "Applied", "Bad", "Failed"]);
    assert_eq!(counts, [3, 1, 2, 0]);
}

#[tokio::test]
async fn a_redelivered_batch_changes_nothing_and_counts_its_duplicates() {
    let f = Function::new().await;
    assert!(f.invoke(fixture("normal-batch.json")).await.is_empty());
    let before = f.store.load(&everything()).await.unwrap();
    assert!(f.invoke(fixture("normal-batch.json")).await.is_empty());
    assert_eq!(f.store.load(&everything()).await.unwrap(), before, "same values, same versions");

    let counts = metrics(&f.last_metrics(), &["Records", "Applied", "Duplicates", "Ignored", "Commits", "Failed"]);
    assert_eq!(counts, [9, 0, 8, 1, 0, 0]);
}

#[tokio::test]
async fn a_store_failure_reports_the_first_record_not_applied_for_lambda_to_retry_from() {
    let f = Function::on_table(testkit::unique("no-such-table")).await;
    let event = fixture("normal-batch.json");
    let first = sequence_numbers(&event)[0].clone();
    assert_eq!(f.invoke(event).await, std::slice::from_ref(&first));

    let line = f.last_metrics();
    assert_eq!(metrics(&line, &["Records", "Applied", "Failed"]), [9, 0, 9]);
    assert_eq!(line["RetryFrom"], first);
}

/// The table's store with small commits, whose commits fail from the `fail_from`-th on (DynamoDB
/// going away in the middle of a batch).
struct FailingMidway {
    inner: Arc<DynamoStateStore>,
    commits: AtomicUsize,
    fail_from: usize,
}

#[async_trait]
impl StateStore for FailingMidway {
    async fn load(&self, keys: &[Key]) -> Result<HashMap<Key, Versioned>, StoreError> {
        self.inner.load(keys).await
    }
    async fn applied(&self, ids: &[String]) -> Result<HashSet<String>, StoreError> {
        self.inner.applied(ids).await
    }
    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        if self.commits.fetch_add(1, Ordering::SeqCst) >= self.fail_from {
            let gone = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset");
            return Err(StoreError::unavailable("DynamoDB went away", gone));
        }
        self.inner.commit(commit).await
    }
    fn max_commit_writes(&self) -> usize {
        8 // a profile, two items and two trending lists, for two events
    }
    async fn checkpoint(&self, consumer: &str) -> Result<Option<i64>, StoreError> {
        self.inner.checkpoint(consumer).await
    }
}

#[tokio::test]
async fn a_store_failure_midway_reports_the_first_record_not_committed_and_lambda_resumes_there() {
    let table = testkit::unique("state");
    DynamoStateStore::create_table(&dynamodb(), &table).await.unwrap();
    let failing = Function::wrapping(table.clone(), |inner| {
        Arc::new(FailingMidway { inner, commits: AtomicUsize::new(0), fail_from: 1 })
    })
    .await;
    let event = fixture("normal-batch.json");
    let seqs = sequence_numbers(&event);
    let failures = failing.invoke(event.clone()).await;
    assert_eq!(failures.len(), 1);
    let from = seqs.iter().position(|s| *s == failures[0]).unwrap();
    assert!(from > 0 && from < seqs.len(), "{from}: the first commit went through, the second did not");
    let line = failing.last_metrics();
    assert_eq!(metrics(&line, &["Applied", "Failed"]), [from as u64, (seqs.len() - from) as u64]);

    // Lambda sends the shard again from that record: the rest is applied, nothing twice.
    let healthy = Function::on_table(table).await;
    let mut rest = event;
    rest.records.drain(..from);
    assert!(healthy.invoke(rest).await.is_empty());
    let counts = metrics(&healthy.last_metrics(), &["Records", "Applied", "Duplicates", "Ignored"]);
    assert_eq!(counts, [(seqs.len() - from) as u64, (seqs.len() - from - 1) as u64, 0, 1]);
    let state = healthy.store.load(&[Key::Anonymous(SHOPPER_A.into())]).await.unwrap();
    let Value::Profile(a) = &state[&Key::Anonymous(SHOPPER_A.into())].value else { panic!("not a profile") };
    assert_eq!(a.purchased, ["pasta", "sauce"]);
    assert_eq!(a.recent.iter().map(|s| s.sku.as_str()).collect::<Vec<_>>(), ["pasta", "sauce"]);
}

#[test]
fn the_fixtures_are_kinesis_events_as_aws_sends_them() {
    for name in ["normal-batch.json", "poison-batch.json"] {
        let event = fixture(name);
        assert!(!event.records.is_empty(), "{name}");
        let seqs = sequence_numbers(&event);
        assert!(seqs.windows(2).all(|w| w[0].len() == w[1].len() && w[0] < w[1]), "{name}: in shard order");
        for record in &event.records {
            assert_eq!(record.event_source.as_deref(), Some("aws:kinesis"));
            assert_eq!(
                record.event_id.as_deref(),
                Some(format!("shardId-000000000000:{}", record.kinesis.sequence_number).as_str())
            );
            // The ingest's partition key is the shopper: every decodable record says so.
            if let Ok(event) = serde_json::from_slice::<Json>(&record.kinesis.data.0) {
                assert_eq!(event["anonymous_id"], record.kinesis.partition_key.as_str(), "{name}");
            }
        }
    }
    // The normal batch is all valid events; the poison batch has two bad records before a good one.
    let decoded =
        |name| fixture(name).records.iter().map(|r| personalize::decode(&r.kinesis.data.0).is_ok()).collect::<Vec<_>>();
    assert!(decoded("normal-batch.json").iter().all(|ok| *ok));
    assert_eq!(decoded("poison-batch.json"), [false, false, true]);
}
