//! `KinesisEventSink`: the AWS adapter of the domain's [`EventSink`] port. It forwards accepted
//! events to an Amazon Kinesis data stream and returns `Ok` only once Kinesis has stored every one
//! of them.
//!
//! # Design
//!
//! - **One record per event.** The record's data is [`EnrichedEvent::to_json`]; its partition key
//!   is the event's `anonymous_id`, so one shopper's events land on one shard, in the order they
//!   were sent, for the stream processor (see "Ordering" below).
//! - **Encoding is separate from sending.** [`plan_chunks`] is a pure function that splits a
//!   batch into PutRecords requests within the Kinesis quotas ([`MAX_RECORDS_PER_REQUEST`],
//!   [`MAX_REQUEST_BYTES`], [`MAX_RECORD_BYTES`]). A record that no request can carry fails the
//!   whole write before anything is sent: nothing is dropped silently.
//! - **Partial failures resend only what failed.** PutRecords answers 200 with a result per
//!   record; the records with an error code (`ProvisionedThroughputExceededException`,
//!   `InternalFailure`, or any other) are resent, alone, after an exponential backoff with full
//!   jitter ([`BACKOFF_BASE`] doubling up to [`BACKOFF_CAP`]). A whole-call failure (throttling,
//!   5xx, timeout, connection failure) resends the same records the same way. Chunks go one after
//!   the other, each until it is stored.
//! - **Bounded by a deadline.** A write has [`RetryPolicy::deadline`] (default
//!   [`DEFAULT_DEADLINE`], 3 s: well inside the Lambda timeout) for all its calls and waits; each
//!   call is also cut at the deadline. When records are still not stored then, or on an error that
//!   retrying cannot fix (missing stream, access denied, invalid argument), `write` returns
//!   `Err`: the HTTP layer answers 503 + `Retry-After`, the tracker resends the whole batch later,
//!   and the duplicates this makes (records stored before the give-up, or by a call cut at the
//!   deadline) are removed downstream by `event_id`.
//! - **This crate is the only retry layer.** The SDK client's own retries are turned off for the
//!   calls this sink makes, so each resend is logged (`tracing`), counted ([`SinkMetrics`]) and
//!   bounded by the deadline; the caller's client is otherwise used as configured.
//! - **Readiness** is DescribeStreamSummary: ready when the stream is `ACTIVE` or `UPDATING`.
//!
//! # Ordering
//!
//! Within one write, records are sent in batch order and chunks one after another, so a shopper's
//! events keep their order on their shard. A resend is the exception: a record that failed is
//! stored after the records of the same call that succeeded. Events carry `occurred_at` and a
//! time-ordered UUIDv7 `event_id` for the processor to restore order where it matters.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo(client: aws_sdk_kinesis::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use ingest_kinesis::{KinesisEventSink, RetryPolicy};
//! let sink = KinesisEventSink::new(client, "shopstream-events", RetryPolicy::default())?;
//! # Ok(()) }
//! ```

mod chunk;
mod error;
mod metrics;
mod retry;

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_kinesis::config::retry::RetryConfig;
use aws_sdk_kinesis::error::{DisplayErrorContext, SdkError};
use aws_sdk_kinesis::operation::put_records::{PutRecordsError, PutRecordsOutput};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, StreamStatus};
use aws_sdk_kinesis::Client;
use ingest_domain::{EnrichedEvent, EventSink, SinkError};
use tokio::time::{timeout, Instant};

pub use chunk::{
    plan_chunks, RecordTooLarge, MAX_PARTITION_KEY_CHARS, MAX_RECORDS_PER_REQUEST, MAX_RECORD_BYTES, MAX_REQUEST_BYTES,
};
pub use error::{ConfigError, KinesisSinkError, PutFailure, RecordErrors};
pub use metrics::SinkMetrics;
pub use retry::{RetryPolicy, BACKOFF_BASE, BACKOFF_CAP, DEFAULT_DEADLINE};

use metrics::Counters;

/// Writes events to one Kinesis data stream. See the crate documentation for the design.
#[derive(Debug)]
pub struct KinesisEventSink {
    client: Client,
    stream_name: String,
    policy: RetryPolicy,
    counters: Arc<Counters>,
}

/// The records of one write, ready to send.
struct Encoded {
    entries: Vec<PutRecordsRequestEntry>,
    /// Data + partition key bytes of each entry.
    sizes: Vec<usize>,
}

/// A chunk that could not be stored before the deadline (or at all).
struct GiveUp {
    pending: usize,
    last: PutFailure,
}

impl KinesisEventSink {
    /// A sink writing to `stream_name` with `client`. The client's endpoint, region, credentials
    /// and timeouts are used as they are; its retries are replaced by `policy`.
    pub fn new(client: Client, stream_name: impl Into<String>, policy: RetryPolicy) -> Result<Self, ConfigError> {
        let stream_name = stream_name.into();
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if stream_name.is_empty() || stream_name.len() > 128 || !stream_name.chars().all(valid_char) {
            return Err(ConfigError::StreamName(stream_name));
        }
        if policy.deadline.is_zero() {
            return Err(ConfigError::ZeroDeadline);
        }
        if policy.backoff_base.is_zero() {
            return Err(ConfigError::ZeroBackoffBase);
        }
        if policy.backoff_cap < policy.backoff_base {
            return Err(ConfigError::CapBelowBase { base: policy.backoff_base, cap: policy.backoff_cap });
        }
        Ok(KinesisEventSink { client, stream_name, policy, counters: Arc::default() })
    }

    pub fn stream_name(&self) -> &str {
        &self.stream_name
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// What the sink has done so far (calls, records written, resends, give-ups).
    pub fn metrics(&self) -> SinkMetrics {
        self.counters.snapshot()
    }

    fn encode(events: &[EnrichedEvent]) -> Result<Encoded, KinesisSinkError> {
        let mut entries = Vec::with_capacity(events.len());
        let mut sizes = Vec::with_capacity(events.len());
        for enriched in events {
            let event_id = &enriched.event.event_id;
            let key = &enriched.event.anonymous_id;
            let chars = key.chars().count();
            if chars == 0 || chars > MAX_PARTITION_KEY_CHARS {
                return Err(KinesisSinkError::PartitionKey { event_id: event_id.clone(), chars });
            }
            let data = enriched
                .to_json()
                .map_err(|source| KinesisSinkError::Encode { event_id: event_id.clone(), source })?
                .into_bytes();
            sizes.push(data.len() + key.len());
            let entry = PutRecordsRequestEntry::builder()
                .data(Blob::new(data))
                .partition_key(key.clone())
                .build()
                .map_err(KinesisSinkError::Build)?;
            entries.push(entry);
        }
        Ok(Encoded { entries, sizes })
    }

    async fn put_records(
        &self,
        entries: Vec<PutRecordsRequestEntry>,
    ) -> Result<PutRecordsOutput, SdkError<PutRecordsError>> {
        self.client
            .put_records()
            .stream_name(&self.stream_name)
            .set_records(Some(entries))
            .customize()
            .config_override(aws_sdk_kinesis::Config::builder().retry_config(RetryConfig::disabled()))
            .send()
            .await
    }

    /// Sends one chunk until every record of it is stored, the deadline passes, or an error that
    /// retrying cannot fix comes back.
    async fn put_chunk(
        &self,
        entries: &[PutRecordsRequestEntry],
        deadline: Instant,
        calls: &mut u32,
        rng: &mut fastrand::Rng,
    ) -> Result<(), GiveUp> {
        // Positions (in `entries`) of the records not yet stored, in batch order.
        let mut pending: Vec<usize> = (0..entries.len()).collect();
        let mut resends: u32 = 0;
        let mut last: Option<PutFailure> = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(GiveUp { pending: pending.len(), last: last.unwrap_or(PutFailure::NoTimeLeft) });
            }
            let request: Vec<PutRecordsRequestEntry> = pending.iter().map(|&i| entries[i].clone()).collect();
            self.counters.call(request.len(), resends > 0);
            *calls += 1;
            let failure = match timeout(left, self.put_records(request)).await {
                Err(_) => PutFailure::Timeout(left),
                Ok(Err(err)) if is_permanent(&err) => {
                    return Err(GiveUp { pending: pending.len(), last: PutFailure::Call(Box::new(err)) });
                }
                Ok(Err(err)) => PutFailure::Call(Box::new(err)),
                Ok(Ok(output)) => {
                    let results = output.records();
                    if results.len() != pending.len() {
                        PutFailure::Mismatch { sent: pending.len(), answered: results.len() }
                    } else {
                        let mut errors = RecordErrors::default();
                        let mut failed = Vec::new();
                        for (&i, result) in pending.iter().zip(results) {
                            match (result.error_code(), result.sequence_number()) {
                                (None, Some(_)) => {}
                                (code, _) => {
                                    errors.add(code.unwrap_or("NoSequenceNumber"), result.error_message());
                                    failed.push(i);
                                }
                            }
                        }
                        self.counters.written(pending.len() - failed.len());
                        if failed.is_empty() {
                            return Ok(());
                        }
                        pending = failed;
                        PutFailure::Records(errors)
                    }
                }
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(GiveUp { pending: pending.len(), last: failure });
            }
            let wait = self.policy.backoff(resends, rng).min(left);
            tracing::warn!(
                stream = %self.stream_name,
                records = pending.len(),
                resend = resends + 1,
                backoff_ms = wait.as_millis() as u64,
                left_ms = left.as_millis() as u64,
                error = %failure,
                "kinesis: records not stored, resending them after a backoff"
            );
            last = Some(failure);
            tokio::time::sleep(wait).await;
            resends += 1;
        }
    }
}

/// Errors that resending the same request cannot fix before the deadline: the write gives up at
/// once (still a 503, so the tracker retries later, e.g. once the stream exists).
fn is_permanent(err: &SdkError<PutRecordsError>) -> bool {
    match err {
        SdkError::ConstructionFailure(_) => true,
        SdkError::ServiceError(service) => {
            let err = service.err();
            err.is_resource_not_found_exception()
                || err.is_access_denied_exception()
                || err.is_invalid_argument_exception()
        }
        _ => false,
    }
}

#[async_trait]
impl EventSink for KinesisEventSink {
    async fn write(&self, events: &[EnrichedEvent]) -> Result<(), SinkError> {
        if events.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let deadline = started + self.policy.deadline;
        let refuse = |err: KinesisSinkError| {
            self.counters.gave_up(events.len());
            tracing::error!(stream = %self.stream_name, records = events.len(), error = %err, "kinesis: batch refused");
            SinkError::new("events cannot be written to Kinesis", err)
        };
        let encoded = Self::encode(events).map_err(&refuse)?;
        let chunks = plan_chunks(&encoded.sizes).map_err(|source| {
            let event_id = events.get(source.index).map(|e| e.event.event_id.clone()).unwrap_or_default();
            refuse(KinesisSinkError::RecordTooLarge { event_id, source })
        })?;

        let mut rng = fastrand::Rng::new();
        let mut calls = 0;
        for chunk in &chunks {
            let entries = &encoded.entries[chunk.clone()];
            if let Err(GiveUp { pending, last }) = self.put_chunk(entries, deadline, &mut calls, &mut rng).await {
                let not_stored = pending + (events.len() - chunk.end);
                self.counters.gave_up(not_stored);
                let err = KinesisSinkError::NotStored {
                    stream: self.stream_name.clone(),
                    records: events.len(),
                    not_stored,
                    calls,
                    elapsed: started.elapsed(),
                    last,
                };
                tracing::error!(
                    stream = %self.stream_name,
                    records = events.len(),
                    not_stored,
                    calls,
                    error = %DisplayErrorContext(&err),
                    "kinesis: giving up, the batch is not acknowledged"
                );
                return Err(SinkError::new("Kinesis did not store every event", err));
            }
        }
        tracing::debug!(stream = %self.stream_name, records = events.len(), calls, "kinesis: batch stored");
        Ok(())
    }

    async fn ready(&self) -> Result<(), SinkError> {
        let stream = &self.stream_name;
        let describe = self
            .client
            .describe_stream_summary()
            .stream_name(stream)
            .customize()
            // A probe answers now; whoever probes will ask again.
            .config_override(aws_sdk_kinesis::Config::builder().retry_config(RetryConfig::disabled()))
            .send();
        let limit = self.policy.deadline;
        let output = match timeout(limit, describe).await {
            Err(_) => {
                let err = KinesisSinkError::DescribeTimeout { stream: stream.clone(), timeout: limit };
                return Err(SinkError::new("Kinesis stream not ready", err));
            }
            Ok(Err(source)) => {
                let err = KinesisSinkError::Describe { stream: stream.clone(), source: Box::new(source) };
                return Err(SinkError::new("Kinesis stream not ready", err));
            }
            Ok(Ok(output)) => output,
        };
        let status = output.stream_description_summary().map(|summary| summary.stream_status());
        match status {
            Some(StreamStatus::Active | StreamStatus::Updating) => Ok(()),
            other => {
                let status = other.map_or("unknown", |s| s.as_str()).to_owned();
                Err(SinkError::new(
                    "Kinesis stream not ready",
                    KinesisSinkError::NotActive { stream: stream.clone(), status },
                ))
            }
        }
    }
}
