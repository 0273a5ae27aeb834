//! What moto cannot do: unprocessed keys, throttling, transaction cancellations with their reasons,
//! and 5xx. A fake DynamoDB (`aws-smithy-mocks` answering from a script, recording each request).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::error::ErrorMetadata;
use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemError, BatchGetItemInput, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::error::{
    ProvisionedThroughputExceededException, ResourceNotFoundException, ThrottlingException,
    TransactionCanceledException,
};
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, KeysAndAttributes};
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, mock_client, MockResponse, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use dynamodb_state::{DynamoStateStore, RetryPolicy};
use personalize::model::{Key, Profile, Value};
use personalize::store::{Commit, StateStore, StoreError};

const TABLE: &str = "state";

type Attrs = HashMap<String, AttributeValue>;
type GetAnswer = MockResponse<BatchGetItemOutput, BatchGetItemError>;
type CommitAnswer = MockResponse<TransactWriteItemsOutput, TransactWriteItemsError>;

/// Quick retries, so the tests that use them all up stay short.
fn policy() -> RetryPolicy {
    RetryPolicy { max_retries: 3, backoff_base: Duration::from_millis(1), backoff_cap: Duration::from_millis(5) }
}

/// The metadata the SDK's deserializer gives a service error.
fn meta(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(format!("{code} (fake)")).build()
}

/// One BatchGetItem as the fake received it: the keys asked for, and whether consistently.
#[derive(Clone, Debug)]
struct Asked {
    keys: Vec<String>,
    consistent: bool,
}

fn fake_reads(
    script: impl Fn(usize, &[String]) -> GetAnswer + Send + Sync + 'static,
) -> (Client, Arc<Mutex<Vec<Asked>>>) {
    let log: Arc<Mutex<Vec<Asked>>> = Arc::default();
    let seen = log.clone();
    let rule = mock!(Client::batch_get_item).then_compute_response(move |input: &BatchGetItemInput| {
        let request = &input.request_items().unwrap()[TABLE];
        let keys: Vec<String> = request.keys().iter().map(|k| k["k"].as_s().unwrap().clone()).collect();
        let mut log = seen.lock().unwrap();
        log.push(Asked { keys: keys.clone(), consistent: request.consistent_read() == Some(true) });
        script(log.len() - 1, &keys)
    });
    (mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, &[&rule]), log)
}

fn record(key: &str) -> Attrs {
    let body = serde_json::to_string(&Value::Profile(Profile::default())).unwrap();
    HashMap::from([
        ("k".to_string(), AttributeValue::S(key.into())),
        ("ver".to_string(), AttributeValue::N("3".into())),
        ("body".to_string(), AttributeValue::S(body)),
    ])
}

/// Every key in `found` exists; the keys in `unprocessed` are left for another call.
fn read(found: &[String], unprocessed: &[String]) -> GetAnswer {
    let mut output =
        BatchGetItemOutput::builder().responses(TABLE, found.iter().map(|k| record(k)).collect::<Vec<_>>());
    if !unprocessed.is_empty() {
        let keys = unprocessed.iter().map(|k| HashMap::from([("k".to_string(), AttributeValue::S(k.clone()))]));
        output = output
            .unprocessed_keys(TABLE, KeysAndAttributes::builder().set_keys(Some(keys.collect())).build().unwrap());
    }
    MockResponse::Output(output.build())
}

fn keys(n: usize) -> Vec<Key> {
    (0..n).map(|i| Key::Anonymous(format!("a-{i:03}"))).collect()
}

#[tokio::test]
async fn unprocessed_keys_and_throttled_reads_are_asked_again_until_every_key_is_read() {
    let (client, log) = fake_reads(|call, keys| match call {
        0 => read(&keys[..60], &keys[60..]),
        1 => MockResponse::Error(BatchGetItemError::ProvisionedThroughputExceededException(
            ProvisionedThroughputExceededException::builder()
                .meta(meta("ProvisionedThroughputExceededException"))
                .build(),
        )),
        _ => read(keys, &[]),
    });
    let store = DynamoStateStore::new(client, TABLE).with_retry_policy(policy());
    let mut asked = keys(150);
    asked.push(asked[0].clone()); // a key asked twice is asked once
    let found = store.load(&asked).await.unwrap();
    assert_eq!(found.len(), 150);
    assert_eq!(found[&asked[149]].version, 3);

    let log = log.lock().unwrap();
    let sizes: Vec<usize> = log.iter().map(|a| a.keys.len()).collect();
    assert_eq!(sizes, [100, 40, 40, 50], "100 keys per call; the 40 unprocessed asked again after the throttle");
    assert_eq!(log[1].keys, log[0].keys[60..], "exactly the unprocessed keys");
    assert!(log.iter().all(|a| a.consistent), "strongly consistent reads");
}

#[tokio::test]
async fn keys_left_unprocessed_too_often_make_the_store_unavailable() {
    let (client, log) = fake_reads(|_, keys| read(&[], keys));
    let store = DynamoStateStore::new(client, TABLE).with_retry_policy(policy());
    let err = store.applied(&["e-1".to_string()]).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("unprocessed"), "{err}");
    assert_eq!(log.lock().unwrap().len(), 4, "the first call and 3 retries, no more");
}

#[tokio::test]
async fn a_missing_table_is_not_retried() {
    let (client, log) = fake_reads(|_, _| {
        MockResponse::Error(BatchGetItemError::ResourceNotFoundException(
            ResourceNotFoundException::builder().meta(meta("ResourceNotFoundException")).build(),
        ))
    });
    let store = DynamoStateStore::new(client, TABLE).with_retry_policy(policy());
    assert!(matches!(store.load(&keys(1)).await, Err(StoreError::Unavailable { .. })));
    assert_eq!(log.lock().unwrap().len(), 1);
}

/// Each TransactWriteItems as the fake received it: the client request token and the actions.
#[derive(Clone, Debug)]
struct Sent {
    token: Option<String>,
    actions: usize,
}

fn fake_commits(script: impl Fn(usize) -> CommitAnswer + Send + Sync + 'static) -> (Client, Arc<Mutex<Vec<Sent>>>) {
    let log: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let seen = log.clone();
    let rule = mock!(Client::transact_write_items).then_compute_response(move |input: &TransactWriteItemsInput| {
        let mut log = seen.lock().unwrap();
        log.push(Sent { token: input.client_request_token().map(String::from), actions: input.transact_items().len() });
        script(log.len() - 1)
    });
    (mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, &[&rule]), log)
}

fn cancelled(reasons: &[&str]) -> CommitAnswer {
    let reasons: Vec<CancellationReason> =
        reasons.iter().map(|c| CancellationReason::builder().code(*c).build()).collect();
    MockResponse::Error(TransactWriteItemsError::TransactionCanceledException(
        TransactionCanceledException::builder()
            .set_cancellation_reasons(Some(reasons))
            .meta(meta("TransactionCanceledException"))
            .build(),
    ))
}

fn committed() -> CommitAnswer {
    MockResponse::Output(TransactWriteItemsOutput::builder().build())
}

fn throttled() -> CommitAnswer {
    MockResponse::Error(TransactWriteItemsError::ThrottlingException(
        ThrottlingException::builder().meta(meta("ThrottlingException")).build(),
    ))
}

/// A commit of a record read at version 2 and a marker.
fn commit() -> Commit {
    Commit {
        records: vec![(Key::Item("sku-1".into()), 2, Value::Profile(Profile::default()))],
        applied: vec!["e-1".into()],
        applied_at: 1_795_341_600_000,
        checkpoint: None,
    }
}

#[tokio::test]
async fn a_cancellation_for_a_failed_condition_is_a_conflict_naming_what_changed() {
    let (client, log) = fake_commits(|_| cancelled(&["ConditionalCheckFailed", "None"]));
    let store = DynamoStateStore::new(client, TABLE).with_retry_policy(policy());
    let err = store.commit(commit()).await.unwrap_err();
    let StoreError::Conflict(reason) = err else { panic!("{err:?}") };
    assert!(reason.contains("i#sku-1 is no longer at version 2"), "{reason}");
    assert_eq!(log.lock().unwrap().len(), 1, "a conflict is the processor's to redo, not retried here");

    let (client, _) = fake_commits(|_| cancelled(&["None", "ConditionalCheckFailed"]));
    let store = DynamoStateStore::new(client, TABLE);
    let err = store.commit(commit()).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(r) if r.contains("event e-1 was applied meanwhile")), "{err:?}");
}

#[tokio::test]
async fn transaction_conflicts_and_throttling_are_retried_with_the_same_token() {
    let (client, log) = fake_commits(|call| match call {
        0 => cancelled(&["TransactionConflict", "None"]),
        1 => throttled(),
        2 => MockResponse::Http(HttpResponse::new(
            StatusCode::try_from(500).unwrap(),
            SdkBody::from(r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"oops"}"#),
        )),
        _ => committed(),
    });
    let store = DynamoStateStore::new(client, TABLE).with_retry_policy(policy());
    store.commit(commit()).await.unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 4);
    assert!(log.iter().all(|s| s.actions == 2));
    let token = log[0].token.clone().expect("a client request token");
    assert!(log.iter().all(|s| s.token.as_ref() == Some(&token)), "one token for every try of a commit");
}

#[tokio::test]
async fn throttling_that_does_not_stop_makes_the_store_unavailable_after_the_retries() {
    let (client, log) = fake_commits(|_| throttled());
    let store = DynamoStateStore::new(client, TABLE).with_retry_policy(policy());
    let err = store.commit(commit()).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("ThrottlingException"), "{err}");
    assert_eq!(log.lock().unwrap().len(), 4);

    // A cancellation no retry can clear (a validation error) is not retried.
    let (client, log) = fake_commits(|_| cancelled(&["ValidationError", "None"]));
    let store = DynamoStateStore::new(client, TABLE).with_retry_policy(policy());
    assert!(matches!(store.commit(commit()).await, Err(StoreError::Unavailable { .. })));
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn commits_beyond_dynamodbs_limits_are_refused_before_sending() {
    let (client, log) = fake_commits(|_| committed());
    let store = DynamoStateStore::new(client, TABLE);
    let too_many = Commit { applied: (0..101).map(|i| format!("e-{i}")).collect(), ..Commit::default() };
    assert!(matches!(store.commit(too_many).await, Err(StoreError::Corrupt(_))));
    let huge = Profile { cart: vec!["x".repeat(500 * 1024)], ..Profile::default() };
    let too_big = Commit { records: vec![(Key::TrendingAll, 0, Value::Profile(huge))], ..Commit::default() };
    let err = store.commit(too_big).await.unwrap_err();
    assert!(err.to_string().contains("over DynamoDB's 409600"), "{err}");
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    // Items each under 400 KB, together over 4 MB: TooLarge, which the processor answers by splitting.
    let big = |i: usize| Profile { cart: vec![format!("{i}{}", "x".repeat(300 * 1024))], ..Profile::default() };
    let records = (0..14).map(|i| (Key::Anonymous(format!("a-{i}")), 0, Value::Profile(big(i)))).collect();
    let over_4mb = Commit { records, ..Commit::default() };
    let err = store.commit(over_4mb).await.unwrap_err();
    assert!(matches!(&err, StoreError::TooLarge(m) if m.contains("4194304")), "{err:?}");
    assert!(log.lock().unwrap().is_empty(), "nothing sent");
}
