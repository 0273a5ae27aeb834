//! What can go wrong, kept as typed sources of the domain's `SinkError`.

use std::fmt;
use std::time::Duration;

use aws_sdk_kinesis::error::{BuildError, DisplayErrorContext, SdkError};
use aws_sdk_kinesis::operation::describe_stream_summary::DescribeStreamSummaryError;
use aws_sdk_kinesis::operation::put_records::PutRecordsError;

use crate::chunk::{RecordTooLarge, MAX_PARTITION_KEY_CHARS};

/// A [`crate::KinesisEventSink`] that cannot be built from its settings.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("stream name {0:?} is not a Kinesis stream name (1 to 128 of a-z, A-Z, 0-9, '_', '-', '.')")]
    StreamName(String),
    #[error("the write deadline must be more than zero")]
    ZeroDeadline,
    #[error("the backoff base must be more than zero")]
    ZeroBackoffBase,
    #[error("the backoff cap ({cap:?}) must not be below the backoff base ({base:?})")]
    CapBelowBase { base: Duration, cap: Duration },
}

/// Why a write or a readiness check failed: the source of the `SinkError` the domain sees.
#[derive(Debug, thiserror::Error)]
pub enum KinesisSinkError {
    #[error("event {event_id} cannot be encoded as JSON")]
    Encode {
        event_id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "event {event_id}: its partition key (anonymous_id) has {chars} characters, Kinesis takes 1 to {}",
        MAX_PARTITION_KEY_CHARS
    )]
    PartitionKey { event_id: String, chars: usize },
    #[error("event {event_id} is too large for a Kinesis record; nothing of the batch was sent")]
    RecordTooLarge {
        event_id: String,
        #[source]
        source: RecordTooLarge,
    },
    #[error("cannot build a PutRecords entry")]
    Build(#[source] BuildError),
    #[error(
        "{not_stored} of {records} records not stored in Kinesis stream {stream} after {calls} PutRecords calls in {elapsed:?}"
    )]
    NotStored {
        stream: String,
        records: usize,
        not_stored: usize,
        calls: u32,
        elapsed: Duration,
        #[source]
        last: PutFailure,
    },
    #[error("cannot describe Kinesis stream {stream}")]
    Describe {
        stream: String,
        #[source]
        source: Box<SdkError<DescribeStreamSummaryError>>,
    },
    #[error("Kinesis stream {stream} is {status}, not ACTIVE or UPDATING")]
    NotActive { stream: String, status: String },
    #[error("Kinesis stream {stream} was not described within {timeout:?}")]
    DescribeTimeout { stream: String, timeout: Duration },
}

/// How the last PutRecords call of a give-up failed.
#[derive(Debug, thiserror::Error)]
pub enum PutFailure {
    /// The call succeeded but some records were refused.
    #[error("per-record errors: {0}")]
    Records(RecordErrors),
    /// The whole call failed (throttled, 5xx, connection refused, ...).
    #[error("PutRecords failed: {}", DisplayErrorContext(.0.as_ref()))]
    Call(#[source] Box<SdkError<PutRecordsError>>),
    /// The call had no answer when the deadline came.
    #[error("PutRecords had no answer within the {0:?} left before the deadline")]
    Timeout(Duration),
    /// The answer does not say record by record what happened; everything is resent.
    #[error("PutRecords answered {answered} results for {sent} records")]
    Mismatch { sent: usize, answered: usize },
    /// An earlier chunk used the whole deadline.
    #[error("the deadline passed before these records could be sent")]
    NoTimeLeft,
}

/// The per-record error codes of one PutRecords answer, with how many records got each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordErrors {
    /// `(error code, records)`, in the order the codes first appeared.
    pub codes: Vec<(String, usize)>,
    /// The first error message, for the log.
    pub first_message: Option<String>,
}

impl RecordErrors {
    pub(crate) fn add(&mut self, code: &str, message: Option<&str>) {
        match self.codes.iter_mut().find(|(c, _)| c == code) {
            Some((_, n)) => *n += 1,
            None => self.codes.push((code.to_owned(), 1)),
        }
        if self.first_message.is_none() {
            self.first_message = message.map(str::to_owned);
        }
    }

    /// Records that failed, all codes together.
    pub fn failed(&self) -> usize {
        self.codes.iter().map(|(_, n)| n).sum()
    }
}

impl fmt::Display for RecordErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (code, n)) in self.codes.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{code} x{n}")?;
        }
        if let Some(message) = &self.first_message {
            write!(f, " ({message})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_errors_are_counted_per_code_in_order_of_appearance() {
        let mut errors = RecordErrors::default();
        errors.add("ProvisionedThroughputExceededException", Some("Rate exceeded for shard shardId-000000000001"));
        errors.add("InternalFailure", None);
        errors.add("ProvisionedThroughputExceededException", Some("other"));
        assert_eq!(errors.failed(), 3);
        assert_eq!(
            errors.to_string(),
            "ProvisionedThroughputExceededException x2, InternalFailure x1 (Rate exceeded for shard shardId-000000000001)"
        );
    }
}
