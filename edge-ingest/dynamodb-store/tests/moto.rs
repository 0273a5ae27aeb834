//! DynamoStateStore against moto's DynamoDB (the AWS wire-protocol emulator): the port's contract
//! suite, and what only this adapter has (the table's layout, expired markers, a missing table).

use std::collections::HashSet;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use aws_sdk_dynamodb::Client;
use dynamodb_state::{attributes, marker_expiry_s, DynamoStateStore};
use personalize::contract::{now, unique};
use personalize::model::{Key, Profile, Value};
use personalize::store::{Commit, StateStore, StoreError, APPLIED_TTL_MS};
use testkit::Moto;

fn client() -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(Moto::shared().endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .build();
    Client::from_conf(config)
}

/// A store on a table of its own.
async fn store() -> DynamoStateStore {
    let table = testkit::unique("state");
    DynamoStateStore::create_table(&client(), &table).await.unwrap();
    DynamoStateStore::new(client(), table)
}

personalize::state_store_contract!(store().await);

async fn raw_item(store: &DynamoStateStore, key: &str) -> Option<std::collections::HashMap<String, AttributeValue>> {
    let got = client()
        .get_item()
        .table_name(store.table())
        .key(attributes::KEY, AttributeValue::S(key.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    got.item().cloned()
}

#[tokio::test]
async fn records_markers_and_checkpoints_are_laid_out_as_documented() {
    let store = store().await;
    let (anon, event) = (unique("anon"), unique("event"));
    let value = Value::Profile(Profile { cart: vec!["sku-1".into()], ..Profile::default() });
    let applied_at = now();
    let commit = Commit {
        records: vec![(Key::Anonymous(anon.clone()), 0, value.clone())],
        applied: vec![event.clone()],
        applied_at,
        checkpoint: Some(("local".into(), 42)),
    };
    store.commit(commit).await.unwrap();

    let record = raw_item(&store, &format!("p#a:{anon}")).await.unwrap();
    assert_eq!(record[attributes::VERSION], AttributeValue::N("1".into()));
    let body: serde_json::Value = serde_json::from_str(record[attributes::BODY].as_s().unwrap()).unwrap();
    assert_eq!(body, serde_json::to_value(&value).unwrap());
    let marker = raw_item(&store, &format!("e#{event}")).await.unwrap();
    assert_eq!(marker[attributes::TTL], AttributeValue::N(marker_expiry_s(applied_at).to_string()));
    let ttl: i64 = marker[attributes::TTL].as_n().unwrap().parse().unwrap();
    assert!((ttl - (applied_at + APPLIED_TTL_MS) / 1000).abs() <= 1, "epoch seconds, 7 days on");
    let checkpoint = raw_item(&store, "c#local").await.unwrap();
    assert_eq!(checkpoint[attributes::POSITION], AttributeValue::N("42".into()));

    let ttl = client().describe_time_to_live().table_name(store.table()).send().await.unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!((ttl.time_to_live_status(), ttl.attribute_name()), (Some(&TimeToLiveStatus::Enabled), Some("ttl")));
    // Creating it again (the demo's second start) leaves it as it is.
    DynamoStateStore::create_table(&client(), store.table()).await.unwrap();
    assert!(raw_item(&store, "c#local").await.is_some());
}

#[tokio::test]
async fn an_expired_marker_counts_as_not_applied_and_its_event_can_be_applied_again() {
    let store = store().await;
    let (live, expired) = (unique("event"), unique("event"));
    let long_ago = now() - APPLIED_TTL_MS - 60_000;
    let mark = |id: &String, applied_at| Commit { applied: vec![id.clone()], applied_at, ..Commit::default() };
    store.commit(mark(&expired, long_ago)).await.unwrap();
    store.commit(mark(&live, now())).await.unwrap();
    // DynamoDB deletes expired items lazily (moto never does): the marker is still there.
    assert!(raw_item(&store, &format!("e#{expired}")).await.is_some());

    let applied = store.applied(&[live.clone(), expired.clone()]).await.unwrap();
    assert_eq!(applied, HashSet::from([live.clone()]), "the expired marker does not count");
    // The commit's condition takes it as absent too; the live one still conflicts.
    store.commit(mark(&expired, now())).await.unwrap();
    assert_eq!(store.applied(std::slice::from_ref(&expired)).await.unwrap().len(), 1);
    let err = store.commit(mark(&live, now())).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(reason) if reason.contains(&live)), "{err:?}");
}

#[tokio::test]
async fn a_missing_table_is_unavailable_with_the_reason() {
    let store = DynamoStateStore::new(client(), testkit::unique("no-such-table"));
    let err = store.load(&[Key::TrendingAll]).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("ResourceNotFoundException"), "{err}");
    let commit =
        Commit { records: vec![(Key::TrendingAll, 0, Value::Profile(Profile::default()))], ..Commit::default() };
    let err = store.commit(commit).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(std::error::Error::source(&err).is_some(), "the SDK's error is kept as the source");
    // Nothing to write: no call at all.
    store.commit(Commit::default()).await.unwrap();
}
