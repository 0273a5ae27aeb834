//! `DynamoStateStore`: the AWS adapter of personalize's [`StateStore`] port, on one DynamoDB table.
//! It passes the port's contract suite (`personalize::state_store_contract!`) against moto.
//!
//! # The table
//!
//! One table, partition key `k` (string), no sort key, no index. Three kinds of items:
//!
//! | `k` | attributes | what |
//! |---|---|---|
//! | [`Key::to_storage`]: `p#a:<anonymous id>`, `p#u:<user id>`, `i#<sku>`, `t#all`, `t#c:<category>` | `ver` (N), `body` (S) | a record: its version (1 after the first write) and the JSON of [`personalize::model::Value`] |
//! | `e#<event id>` | `ttl` (N) | an applied event's marker |
//! | `c#<consumer>` | `pos` (N) | a consumer's checkpoint |
//!
//! **TTL.** The table's time-to-live attribute is `ttl` (Unix epoch seconds): a marker expires
//! [`APPLIED_TTL_MS`](personalize::store::APPLIED_TTL_MS) after the commit that wrote it. DynamoDB deletes expired items lazily (within
//! days), so the adapter ignores a marker whose `ttl` is past, both when reading
//! ([`StateStore::applied`]) and in the commit's condition (`attribute_not_exists(k) OR ttl <
//! :now`): an event redelivered after the TTL is applied again, as the port says. Records and
//! checkpoints have no `ttl` and never expire.
//!
//! **Reads** are BatchGetItem, strongly consistent by default (the processor compares versions),
//! 100 keys per call ([`MAX_BATCH_GET_KEYS`]), with `UnprocessedKeys` asked again after a backoff;
//! never a Scan or a Query. The recommendations API, which only reads, may use
//! [`DynamoStateStore::with_consistent_reads`]`(false)` at half the read cost.
//!
//! **Commits** are one TransactWriteItems of Puts ([`MAX_TRANSACTION_ACTIONS`] = 100 =
//! [`StateStore::max_commit_writes`]): each record with the condition `attribute_not_exists(k)`
//! (read as absent) or `ver = :read`, storing `ver = read + 1`; each marker with "absent or
//! expired"; the checkpoint unconditionally. A cancellation with a `ConditionalCheckFailed` reason
//! is [`StoreError::Conflict`] (the processor reloads and redoes the group); throttling,
//! `TransactionConflict` (another transaction on the same item at the same moment) and 5xx are
//! retried with full-jitter backoff ([`RetryPolicy`]), then [`StoreError::Unavailable`]. Every
//! commit carries a `ClientRequestToken`, so a retry after an ambiguous failure (a timeout) that
//! had in fact been applied succeeds without applying twice.
//!
//! **Created by** the CDK stack in AWS; [`DynamoStateStore::create_table`] makes the same table
//! (on-demand, TTL on `ttl`) for tests and the local demo against moto.
//!
//! # Sizes
//!
//! An item is at most 400 KB ([`MAX_ITEM_BYTES`]) and a transaction 4 MB
//! ([`MAX_TRANSACTION_BYTES`]). The model bounds every record (`MAX_CO_ITEMS` co-occurrences and
//! `MAX_NEIGHBOURS` neighbours per signal, `MAX_RECENT`, `MAX_CART`, `MAX_PURCHASED`,
//! `MAX_AFFINITIES`, `MAX_TRENDING`, identifiers of 128 bytes, texts of 1 KB): at those bounds an
//! item record is about 83 KB, a profile 41 KB and a trending list 11 KB (a test in `codec.rs` builds
//! them). A full item record with short SKUs is about 26 KB, so a commit of 100 such writes is about
//! 2.6 MB; only a commit of more than about 50 items all at the very largest could pass 4 MB. Such a
//! commit is refused before anything is sent, as [`StoreError::TooLarge`]
//! ([`DynamoStoreError::TransactionTooLarge`]), and the processor commits the group in halves (one
//! event's writes, at most `MAX_ITEMS_PER_EVENT` items, always fit). A record over 400 KB (which
//! the bounds rule out) is [`StoreError::Unavailable`] with [`DynamoStoreError::ItemTooLarge`]
//! and nothing is sent; a commit of more than 100 writes is
//! [`StoreError::Corrupt`], as in the memory store (the processor never builds one).
//!
//! # Capacity
//!
//! - On-demand billing suits a clickstream's bursts. Reads: a strongly consistent read costs one
//!   unit per 4 KB of each item (eventually consistent: half). Writes: a transactional write costs
//!   two units per KB of each item, so rewriting a 20 KB item record costs 40 WCU; a marker costs 2.
//! - One partition key takes at most 1,000 WCU/s. The hottest key is `t#all` (11 KB at most,
//!   22 WCU per write): it is written once per commit that changes a popularity, whatever the
//!   number of events in the commit, so keep commits across all shards under about 45 per second
//!   (the Lambda's batch size and batching window) for it, and popular items' records likewise.
//!   Two shards committing the same record at once is a `TransactionConflict` (retried here) or a
//!   version conflict (redone by the processor).
//! - Markers: one per applied event (about 60 bytes), kept 7 days
//!   ([`APPLIED_TTL_MS`](personalize::store::APPLIED_TTL_MS)).

mod codec;
mod error;
mod retry;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, KeysAndAttributes, Put,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use personalize::model::{Key, Versioned};
use personalize::store::{Commit, StateStore, StoreError};

pub use codec::{
    checkpoint_key, marker_expiry_s, marker_key, CHECKPOINT_PREFIX, MARKER_PREFIX, MAX_BATCH_GET_KEYS, MAX_ITEM_BYTES,
    MAX_TRANSACTION_ACTIONS, MAX_TRANSACTION_BYTES,
};
pub use error::DynamoStoreError;
pub use retry::{RetryPolicy, BACKOFF_BASE, BACKOFF_CAP, MAX_RETRIES};

use codec::Attrs;

/// The attribute names, as the table stores them.
pub mod attributes {
    pub use crate::codec::{BODY, KEY, POSITION, TTL, VERSION};
}

/// The write capacity units `commit` consumes as this adapter writes it: one transaction, where
/// each item (record, applied-event marker, checkpoint) costs two units per started KB of its size
/// as DynamoDB counts it. For cost estimates (`bench/recs` reports it per event); DynamoDB itself
/// reports the same through `ReturnConsumedCapacity`.
pub fn commit_write_units(commit: &Commit) -> Result<u64, serde_json::Error> {
    let units = |item: &Attrs| 2 * codec::item_bytes(item).div_ceil(1024).max(1) as u64;
    let mut total = 0;
    for (key, read, value) in &commit.records {
        total += units(&codec::record_item(key, read + 1, value)?);
    }
    total += commit.applied.iter().map(|id| units(&codec::marker_item(id, commit.applied_at))).sum::<u64>();
    if let Some((consumer, position)) = &commit.checkpoint {
        total += units(&codec::checkpoint_item(consumer, *position));
    }
    Ok(total)
}

/// The read capacity units a strongly consistent [`StateStore::load`] of `keys` consumes (the
/// adapter's default), given the records it `found`: one unit per started 4 KB of each item, and
/// one for a key that is absent. A [`StateStore::applied`] check costs one unit per event id (a
/// marker is far under 4 KB). For cost estimates, as [`commit_write_units`].
pub fn load_read_units(keys: &[Key], found: &HashMap<Key, Versioned>) -> Result<u64, serde_json::Error> {
    let mut total = 0;
    for key in keys {
        total += match found.get(key) {
            Some(v) => codec::item_bytes(&codec::record_item(key, v.version, &v.value)?).div_ceil(4096).max(1) as u64,
            None => 1,
        };
    }
    Ok(total)
}

/// The state store on one DynamoDB table. See the crate documentation for the table's design.
///
/// ```no_run
/// # async fn demo(client: aws_sdk_dynamodb::Client) {
/// use std::sync::Arc;
/// use dynamodb_state::DynamoStateStore;
/// let store = Arc::new(DynamoStateStore::new(client, "shopstream-state"));
/// let processor = personalize::Processor::new(store);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct DynamoStateStore {
    client: Client,
    table: String,
    policy: RetryPolicy,
    consistent_reads: bool,
}

/// What to do after a failed call.
enum Verdict {
    Retry,
    Fail,
    Conflict(String),
}

impl DynamoStateStore {
    /// A store on `table` with `client` (its endpoint, region, credentials and timeouts are used as
    /// they are; its retries are replaced by [`RetryPolicy::default`]). Reads are strongly consistent.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStateStore { client, table: table.into(), policy: RetryPolicy::default(), consistent_reads: true }
    }

    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// `false`: eventually consistent reads (half the cost; for readers that compare no version,
    /// such as the recommendations API). The processor needs the default, `true`.
    pub fn with_consistent_reads(mut self, consistent: bool) -> Self {
        self.consistent_reads = consistent;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table as the CDK stack does (partition key `k`, on-demand, TTL on `ttl`) and
    /// waits until it is active. A table that exists already is left as it is, its TTL turned on.
    /// For tests and the local demo: in AWS the stack owns the table.
    pub async fn create_table(client: &Client, name: &str) -> Result<(), DynamoStoreError> {
        let setup = |step: &'static str, source: Option<Box<dyn std::error::Error + Send + Sync>>| {
            DynamoStoreError::Setup { table: name.to_string(), step, source }
        };
        let boxed = |e: aws_sdk_dynamodb::error::BuildError| Some(Box::new(e) as Box<_>);
        let key = AttributeDefinition::builder()
            .attribute_name(codec::KEY)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| setup("attribute definition", boxed(e)))?;
        let schema = KeySchemaElement::builder()
            .attribute_name(codec::KEY)
            .key_type(KeyType::Hash)
            .build()
            .map_err(|e| setup("key schema", boxed(e)))?;
        let created = client
            .create_table()
            .table_name(name)
            .attribute_definitions(key)
            .key_schema(schema)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => {}
            Err(e) => return Err(setup("CreateTable", Some(Box::new(e)))),
        }
        let mut status = None;
        for _ in 0..600 {
            let described = client
                .describe_table()
                .table_name(name)
                .send()
                .await
                .map_err(|e| setup("DescribeTable", Some(Box::new(e))))?;
            status = described.table().and_then(|t| t.table_status()).cloned();
            if status == Some(TableStatus::Active) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if status != Some(TableStatus::Active) {
            return Err(setup("the table did not become ACTIVE within 60 s", None));
        }
        let ttl = client
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .map_err(|e| setup("DescribeTimeToLive", Some(Box::new(e))))?;
        let ttl_status = ttl.time_to_live_description().and_then(|d| d.time_to_live_status());
        if !matches!(ttl_status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)) {
            let spec = TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(codec::TTL)
                .build()
                .map_err(|e| setup("TTL specification", boxed(e)))?;
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(spec)
                .send()
                .await
                .map_err(|e| setup("UpdateTimeToLive", Some(Box::new(e))))?;
        }
        Ok(())
    }

    /// Runs `send` until it succeeds, `classify` says it is a conflict or a lasting failure, or the
    /// retries are used up.
    async fn call<T, E, Fut>(
        &self,
        operation: &'static str,
        mut send: impl FnMut() -> Fut,
        classify: impl Fn(&SdkError<E>) -> Verdict,
    ) -> Result<T, StoreError>
    where
        Fut: Future<Output = Result<T, SdkError<E>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut rng = fastrand::Rng::new();
        let mut retry = 0;
        loop {
            let err = match send().await {
                Ok(output) => return Ok(output),
                Err(err) => err,
            };
            match classify(&err) {
                Verdict::Conflict(reason) => return Err(StoreError::Conflict(reason)),
                Verdict::Retry if retry < self.policy.max_retries => {
                    let wait = self.policy.backoff(retry, &mut rng);
                    tracing::warn!(
                        table = %self.table,
                        operation,
                        retry = retry + 1,
                        backoff_ms = wait.as_millis() as u64,
                        error = %DisplayErrorContext(&err),
                        "dynamodb: retrying after a transient failure"
                    );
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
                Verdict::Retry | Verdict::Fail => {
                    let summary = match err.as_service_error() {
                        Some(e) => format!("{}: {}", e.code().unwrap_or("unknown"), e.message().unwrap_or("")),
                        None => DisplayErrorContext(&err).to_string(),
                    };
                    let source = DynamoStoreError::Call {
                        operation,
                        table: self.table.clone(),
                        attempts: retry + 1,
                        source: Box::new(err),
                    };
                    return Err(StoreError::unavailable(
                        format!("DynamoDB {operation} on table {} failed: {summary}", self.table),
                        source,
                    ));
                }
            }
        }
    }

    /// The items among `keys` that exist (BatchGetItem, 100 keys per call, unprocessed keys asked
    /// again). `projection`: the attributes to read besides the key (all when `None`).
    async fn batch_get(&self, keys: Vec<String>, projection: Option<&str>) -> Result<Vec<Attrs>, StoreError> {
        let mut unique = HashSet::new();
        let keys: Vec<String> = keys.into_iter().filter(|k| unique.insert(k.clone())).collect();
        let mut found = Vec::new();
        let mut rng = fastrand::Rng::new();
        for chunk in keys.chunks(MAX_BATCH_GET_KEYS) {
            let mut pending: Vec<Attrs> = chunk.iter().cloned().map(codec::key_only).collect();
            let mut round = 0;
            loop {
                let mut request =
                    KeysAndAttributes::builder().set_keys(Some(pending.clone())).consistent_read(self.consistent_reads);
                if let Some(attributes) = projection {
                    request = request
                        .projection_expression(format!("#k, {attributes}"))
                        .expression_attribute_names("#k", codec::KEY);
                    if attributes.contains("#ttl") {
                        request = request.expression_attribute_names("#ttl", codec::TTL);
                    }
                }
                let request = request.build().map_err(|e| build_error("BatchGetItem", e))?;
                let output = self
                    .call(
                        "BatchGetItem",
                        || {
                            self.client
                                .batch_get_item()
                                .request_items(&self.table, request.clone())
                                .customize()
                                .config_override(no_sdk_retries())
                                .send()
                        },
                        plain,
                    )
                    .await?;
                if let Some(items) = output.responses().and_then(|r| r.get(&self.table)) {
                    found.extend(items.iter().cloned());
                }
                pending = output
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .map(|k| k.keys().to_vec())
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if round >= self.policy.max_retries {
                    let err = DynamoStoreError::Unprocessed {
                        table: self.table.clone(),
                        keys: pending.len(),
                        attempts: round + 1,
                    };
                    return Err(StoreError::unavailable(err.to_string(), err));
                }
                let wait = self.policy.backoff(round, &mut rng);
                tracing::warn!(
                    table = %self.table,
                    unprocessed = pending.len(),
                    retry = round + 1,
                    backoff_ms = wait.as_millis() as u64,
                    "dynamodb: BatchGetItem left keys unprocessed, asking again"
                );
                tokio::time::sleep(wait).await;
                round += 1;
            }
        }
        Ok(found)
    }
}

fn no_sdk_retries() -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::Config::builder().retry_config(RetryConfig::disabled())
}

fn build_error(what: &'static str, e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::unavailable(
        format!("cannot build a DynamoDB {what} request"),
        DynamoStoreError::Build { what, source: Box::new(e) },
    )
}

fn plain<E: ProvideErrorMetadata>(err: &SdkError<E>) -> Verdict {
    if retry::is_transient(err) {
        Verdict::Retry
    } else {
        Verdict::Fail
    }
}

/// Cancellation reasons that trying again may clear (`None` is an action that did not fail).
const RETRIABLE_REASONS: &[&str] = &["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"];

/// `describe[i]`: what action `i` of the transaction checked, for a conflict's message.
fn classify_commit(err: &SdkError<TransactWriteItemsError>, describe: &[String]) -> Verdict {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() else {
        return plain(err);
    };
    let reasons = cancelled.cancellation_reasons();
    if let Some(i) = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed")) {
        let what = describe.get(i).map_or("an item", String::as_str);
        return Verdict::Conflict(format!("{what} (transaction cancelled: ConditionalCheckFailed)"));
    }
    let codes = || reasons.iter().map(|r| r.code().unwrap_or("None"));
    if codes().any(|c| RETRIABLE_REASONS.contains(&c)) && codes().all(|c| c == "None" || RETRIABLE_REASONS.contains(&c))
    {
        Verdict::Retry
    } else {
        Verdict::Fail
    }
}

fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[async_trait]
impl StateStore for DynamoStateStore {
    async fn load(&self, keys: &[Key]) -> Result<HashMap<Key, Versioned>, StoreError> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let items = self.batch_get(keys.iter().map(Key::to_storage).collect(), None).await?;
        items
            .iter()
            .map(|item| codec::decode_record(item).map_err(StoreError::Corrupt))
            .collect::<Result<HashMap<Key, Versioned>, StoreError>>()
    }

    async fn applied(&self, event_ids: &[String]) -> Result<HashSet<String>, StoreError> {
        if event_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let keys = event_ids.iter().map(|id| codec::marker_key(id)).collect();
        let items = self.batch_get(keys, Some("#ttl")).await?;
        let now = now_s();
        Ok(items
            .iter()
            .filter(|item| codec::marker_is_live(item, now))
            .filter_map(|item| codec::key_of(item)?.strip_prefix(MARKER_PREFIX).map(String::from))
            .collect())
    }

    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        let writes = commit.writes();
        if writes == 0 {
            return Ok(());
        }
        if writes > self.max_commit_writes() {
            return Err(StoreError::Corrupt(format!(
                "a commit of {writes} writes; one DynamoDB transaction takes {MAX_TRANSACTION_ACTIONS}"
            )));
        }
        let mut actions = Vec::with_capacity(writes);
        let mut describe = Vec::with_capacity(writes);
        let mut total_bytes = 0;
        for (key, read, value) in &commit.records {
            let stored = key.to_storage();
            let item = codec::record_item(key, read + 1, value).map_err(|source| {
                let err = DynamoStoreError::Encode { key: stored.clone(), source };
                StoreError::unavailable(err.to_string(), err)
            })?;
            let bytes = codec::item_bytes(&item);
            if bytes > MAX_ITEM_BYTES {
                let err = DynamoStoreError::ItemTooLarge { key: stored, bytes };
                return Err(StoreError::unavailable(err.to_string(), err));
            }
            total_bytes += bytes;
            let put = Put::builder().table_name(&self.table).set_item(Some(item));
            let put = if *read == 0 {
                describe.push(format!("{stored} exists, it was read as absent"));
                put.condition_expression("attribute_not_exists(#k)").expression_attribute_names("#k", codec::KEY)
            } else {
                describe.push(format!("{stored} is no longer at version {read}"));
                put.condition_expression("#ver = :read")
                    .expression_attribute_names("#ver", codec::VERSION)
                    .expression_attribute_values(":read", AttributeValue::N(read.to_string()))
            };
            actions.push(put.build().map_err(|e| build_error("TransactWriteItems", e))?);
        }
        let now = now_s();
        // One action per item: DynamoDB refuses a transaction that names an item twice.
        let mut marked = HashSet::new();
        for id in commit.applied.iter().filter(|id| marked.insert(id.as_str())) {
            let item = codec::marker_item(id, commit.applied_at);
            total_bytes += codec::item_bytes(&item);
            describe.push(format!("event {id} was applied meanwhile"));
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#k) OR #ttl < :now")
                .expression_attribute_names("#k", codec::KEY)
                .expression_attribute_names("#ttl", codec::TTL)
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()));
            actions.push(put.build().map_err(|e| build_error("TransactWriteItems", e))?);
        }
        if let Some((consumer, position)) = &commit.checkpoint {
            let item = codec::checkpoint_item(consumer, *position);
            total_bytes += codec::item_bytes(&item);
            describe.push(format!("checkpoint {consumer}"));
            let put = Put::builder().table_name(&self.table).set_item(Some(item));
            actions.push(put.build().map_err(|e| build_error("TransactWriteItems", e))?);
        }
        if total_bytes > MAX_TRANSACTION_BYTES {
            // The processor splits the group and commits the halves (one event's writes always fit).
            return Err(StoreError::TooLarge(DynamoStoreError::TransactionTooLarge { bytes: total_bytes }.to_string()));
        }
        let items: Vec<TransactWriteItem> =
            actions.into_iter().map(|put| TransactWriteItem::builder().put(put).build()).collect();
        // One token for every try of this commit: a retry after an answer that got lost is a no-op.
        let token = uuid::Uuid::now_v7().to_string();
        self.call(
            "TransactWriteItems",
            || {
                self.client
                    .transact_write_items()
                    .set_transact_items(Some(items.clone()))
                    .client_request_token(&token)
                    .customize()
                    .config_override(no_sdk_retries())
                    .send()
            },
            |err| classify_commit(err, &describe),
        )
        .await?;
        Ok(())
    }

    fn max_commit_writes(&self) -> usize {
        MAX_TRANSACTION_ACTIONS
    }

    async fn checkpoint(&self, consumer: &str) -> Result<Option<i64>, StoreError> {
        let output = self
            .call(
                "GetItem",
                || {
                    self.client
                        .get_item()
                        .table_name(&self.table)
                        .key(codec::KEY, AttributeValue::S(codec::checkpoint_key(consumer)))
                        .consistent_read(self.consistent_reads)
                        .customize()
                        .config_override(no_sdk_retries())
                        .send()
                },
                plain,
            )
            .await?;
        match output.item() {
            None => Ok(None),
            Some(item) => codec::number(item, codec::POSITION)
                .map(Some)
                .ok_or_else(|| StoreError::Corrupt(format!("checkpoint {consumer}: no numeric {}", codec::POSITION))),
        }
    }
}

#[cfg(test)]
mod tests {
    use personalize::store::APPLIED_TTL_MS;

    use super::*;

    #[test]
    fn the_store_takes_as_many_writes_as_a_transaction() {
        assert_eq!(MAX_TRANSACTION_ACTIONS, 100);
        assert_eq!(APPLIED_TTL_MS, 7 * 24 * 3600 * 1000, "the crate documentation says 7 days");
    }

    #[test]
    fn a_commit_costs_two_units_per_started_kilobyte_of_each_item() {
        use personalize::model::{Trending, Value};
        let small = (Key::TrendingAll, 0, Value::Trending(Trending::default()));
        // A key of 1,500 bytes: the item is over 1 KB and under 2 KB.
        let large = (Key::Item("x".repeat(1500)), 3, Value::Trending(Trending::default()));
        let commit = |records, applied: Vec<String>, checkpoint| Commit {
            records,
            applied,
            applied_at: 1_700_000_000_000,
            checkpoint,
        };
        assert_eq!(commit_write_units(&commit(vec![small.clone()], vec![], None)).unwrap(), 2);
        assert_eq!(commit_write_units(&commit(vec![large.clone()], vec![], None)).unwrap(), 4);
        let markers = vec!["e-1".to_string(), "e-2".to_string()];
        assert_eq!(commit_write_units(&commit(vec![], markers.clone(), None)).unwrap(), 4);
        let all = commit(vec![small, large], markers, Some(("local".into(), 42)));
        assert_eq!(commit_write_units(&all).unwrap(), 2 + 4 + 4 + 2);
    }

    #[test]
    fn a_load_costs_a_unit_per_started_4_kb_and_one_per_absent_key() {
        use personalize::model::{Trending, Value};
        let small = Versioned { version: 1, value: Value::Trending(Trending::default()) };
        let (a, b, absent) = (Key::TrendingAll, Key::Item("y".repeat(5000)), Key::Item("none".into()));
        let found = HashMap::from([(a.clone(), small.clone()), (b.clone(), small)]);
        assert_eq!(load_read_units(std::slice::from_ref(&a), &found).unwrap(), 1);
        assert_eq!(load_read_units(std::slice::from_ref(&b), &found).unwrap(), 2, "a key of 5,000 bytes: over 4 KB");
        assert_eq!(load_read_units(&[a, b, absent], &found).unwrap(), 1 + 2 + 1);
    }
}
