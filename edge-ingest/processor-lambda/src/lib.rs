//! The stream processor as an AWS Lambda: Kinesis invokes it with a batch of one shard's records,
//! in order; [`handle`] runs personalize's [`Processor`] over them (state in DynamoDB through
//! `dynamodb-state`) and answers with a partial batch response.
//!
//! - [`ProcessorConfig::from_vars`] turns the function's environment (passed in by `main`; this
//!   library reads no environment variable) into settings, refusing incomplete ones at cold start.
//! - [`handle`]: each record becomes an [`InputRecord`] (its sequence number and data), in the
//!   order Kinesis sent them. Records that are not JSON or fail validation go to the bad-events
//!   sink (S3) and are not retried. If the state store fails, the first record whose effect is not
//!   committed is reported in `batchItemFailures`: Lambda (with `ReportBatchItemFailures` on the
//!   event source mapping) retries the shard from that record, and the records before it are done.
//!   Redelivered records are recognised by their `event_id` and change nothing.
//! - Low-stock alerts, when [`vars::ALERT_TOPIC_ARN`] names a topic: `main` gives the processor
//!   `ingest-sns`'s `SnsAlertSink` (stock known from `inventory_snapshot` counts). Alerts are
//!   published before their group's commit; a failed publish is reported like a store failure (the
//!   shard is retried from that group), so an alert may arrive twice, with the same `alert_id`.
//! - One CloudWatch Embedded Metric Format line per invocation ([`emf`], namespace
//!   `Shopstream/Processor`).

pub mod emf;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use personalize::{InputRecord, Processor};

pub use emf::Emf;

/// Environment variables the function reads (set by the CDK stack).
pub mod vars {
    /// The DynamoDB table of profiles, items, trending lists and applied-event markers. Required.
    pub const STATE_TABLE: &str = "SHOPSTREAM_STATE_TABLE";
    /// S3 bucket for records that cannot be processed (not JSON, invalid). Optional: without it
    /// they are only logged.
    pub const REJECTED_BUCKET: &str = "SHOPSTREAM_REJECTED_BUCKET";
    /// Key prefix under the bucket (default [`super::DEFAULT_REJECTED_PREFIX`]).
    pub const REJECTED_PREFIX: &str = "SHOPSTREAM_REJECTED_PREFIX";
    /// The SNS topic low-stock alerts are published to (`arn:aws:sns:<region>:<account>:<name>`; a
    /// FIFO topic's name ends with `.fifo`). Optional: without it, stock is not kept and no alert
    /// is raised.
    pub const ALERT_TOPIC_ARN: &str = "SHOPSTREAM_ALERT_TOPIC_ARN";
    /// Set by Lambda.
    pub const AWS_REGION: &str = "AWS_REGION";
    /// Set by Lambda; names this instance's bad-event objects.
    pub const LOG_STREAM_NAME: &str = "AWS_LAMBDA_LOG_STREAM_NAME";
}

/// Where the processor's bad records go under the bucket (the ingest's are under `rejected/`).
pub const DEFAULT_REJECTED_PREFIX: &str = "rejected/processor/";

/// How long one DynamoDB call may take before it counts as failed (and is retried by the store):
/// well inside the function's timeout, long enough for a 4 MB transaction.
pub const DYNAMODB_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The function's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessorConfig {
    pub state_table: String,
    pub rejected: Option<RejectedSettings>,
    /// The region of the table and bucket (Lambda's own when `None`).
    pub region: Option<String>,
    /// Tells this instance's bad-event objects apart from other instances' (letters and digits).
    pub instance: String,
    /// Where low-stock alerts go; `None`: stock is not kept.
    pub alert_topic: Option<AlertTopic>,
}

/// The SNS topic of low-stock alerts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertTopic {
    pub arn: String,
    /// The topic's region (from its ARN): the SNS client must call that region's endpoint.
    pub region: String,
}

impl AlertTopic {
    /// Reads `arn:aws:sns:<region>:<12-digit account>:<name>`, where the name is 1 to 256 of
    /// a-z, A-Z, 0-9, '_', '-', with `.fifo` at the end of a FIFO topic's name.
    pub fn parse(arn: &str) -> Option<AlertTopic> {
        let mut parts = arn.splitn(6, ':');
        let (arn_, partition, service) = (parts.next()?, parts.next()?, parts.next()?);
        let (region, account, name) = (parts.next()?, parts.next()?, parts.next()?);
        let region_ok = !region.is_empty()
            && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !region.starts_with('-')
            && !region.ends_with('-');
        let account_ok = account.len() == 12 && account.chars().all(|c| c.is_ascii_digit());
        let base = name.strip_suffix(".fifo").unwrap_or(name);
        let name_ok = name.len() <= 256
            && !base.is_empty()
            && base.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        (arn_ == "arn" && partition == "aws" && service == "sns" && region_ok && account_ok && name_ok)
            .then(|| AlertTopic { arn: arn.to_string(), region: region.to_string() })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedSettings {
    pub bucket: String,
    pub prefix: String,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl ProcessorConfig {
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = vars.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect();
        let get = |k: &str| vars.get(k).map(|v| v.trim().to_string());

        let state_table =
            get(vars::STATE_TABLE).ok_or_else(|| ConfigError(format!("{} is required", vars::STATE_TABLE)))?;
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if !(3..=255).contains(&state_table.len()) || !state_table.chars().all(valid_char) {
            return Err(ConfigError(format!(
                "{}: {state_table:?} is not a DynamoDB table name (3 to 255 of a-z, A-Z, 0-9, '_', '-', '.')",
                vars::STATE_TABLE
            )));
        }
        let rejected = match (get(vars::REJECTED_BUCKET), get(vars::REJECTED_PREFIX)) {
            (Some(bucket), prefix) => {
                Some(RejectedSettings { bucket, prefix: prefix.unwrap_or_else(|| DEFAULT_REJECTED_PREFIX.into()) })
            }
            (None, Some(_)) => {
                return Err(ConfigError(format!("{} needs {}", vars::REJECTED_PREFIX, vars::REJECTED_BUCKET)))
            }
            (None, None) => None,
        };
        let instance: String =
            get(vars::LOG_STREAM_NAME).unwrap_or_default().chars().filter(char::is_ascii_alphanumeric).collect();
        let instance = if instance.is_empty() { "local".to_string() } else { instance };
        let alert_topic = match get(vars::ALERT_TOPIC_ARN) {
            Some(arn) => Some(AlertTopic::parse(&arn).ok_or_else(|| {
                ConfigError(format!(
                    "{}: {arn:?} is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic name>)",
                    vars::ALERT_TOPIC_ARN
                ))
            })?),
            None => None,
        };
        Ok(ProcessorConfig { state_table, rejected, region: get(vars::AWS_REGION), instance, alert_topic })
    }
}

/// Processes one Kinesis batch and says which record Lambda must retry from (none when the whole
/// batch is done). Writes one EMF line to `metrics`. Never fails: a store failure is a batch item
/// failure, a bad record goes to the bad-events sink.
pub async fn handle(processor: &Processor, metrics: &Emf, event: KinesisEvent) -> KinesisEventResponse {
    let started = Instant::now();
    let stream = event.records.first().and_then(|r| r.event_source_arn.as_deref()).map(stream_name).unwrap_or_default();
    let records: Vec<InputRecord> = event
        .records
        .into_iter()
        .map(|r| InputRecord { id: r.kinesis.sequence_number, data: r.kinesis.data.0 })
        .collect();
    let outcome = processor.process(&records, None).await;

    let mut response = KinesisEventResponse::default();
    // An index past the batch cannot come from the processor; retrying the whole batch is safe.
    let failed = outcome.failed_from.and_then(|i| records.get(i).map(|r| (i, r)).or(records.first().map(|r| (0, r))));
    if let Some((_, record)) = failed {
        response.add_failure(record.id.clone());
    }
    let not_done = failed.map_or(0, |(i, _)| records.len() - i);
    tracing::info!(
        stream,
        records = records.len(),
        applied = outcome.applied,
        duplicates = outcome.duplicates,
        ignored = outcome.ignored,
        bad = outcome.bad,
        conflicts = outcome.conflicts,
        commits = outcome.commits,
        retry_from = failed.map(|(_, r)| r.id.as_str()),
        "batch processed"
    );
    metrics.invocation(&emf::Invocation {
        stream: &stream,
        records: records.len(),
        outcome: &outcome,
        failed: not_done,
        retry_from: failed.map(|(_, r)| r.id.as_str()),
        duration: started.elapsed(),
    });
    response
}

/// `arn:aws:kinesis:<region>:<account>:stream/<name>` → `<name>`.
fn stream_name(arn: &str) -> String {
    arn.rsplit_once(":stream/").map_or(arn, |(_, name)| name).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_complete_environment_is_read() {
        let config = ProcessorConfig::from_vars(vars(&[
            (vars::STATE_TABLE, "shopstream-state"),
            (vars::REJECTED_BUCKET, "lake"),
            (vars::AWS_REGION, "eu-west-1"),
            (vars::LOG_STREAM_NAME, "2026/11/22/[$LATEST]abc123"),
        ]))
        .unwrap();
        assert_eq!(
            config,
            ProcessorConfig {
                state_table: "shopstream-state".into(),
                rejected: Some(RejectedSettings { bucket: "lake".into(), prefix: "rejected/processor/".into() }),
                region: Some("eu-west-1".into()),
                instance: "20261122LATESTabc123".into(),
                alert_topic: None,
            }
        );
        let config = ProcessorConfig::from_vars(vars(&[
            (vars::STATE_TABLE, "t.1"),
            (vars::REJECTED_BUCKET, "lake"),
            (vars::REJECTED_PREFIX, "bad/"),
            (vars::AWS_REGION, " "),
        ]))
        .unwrap();
        assert_eq!(config.rejected.unwrap().prefix, "bad/");
        assert_eq!((config.region, config.instance.as_str()), (None, "local"), "blank is absent");
    }

    #[test]
    fn incomplete_settings_are_refused_at_cold_start() {
        let err = |pairs: &[(&str, &str)]| ProcessorConfig::from_vars(vars(pairs)).unwrap_err().to_string();
        assert!(err(&[]).contains("SHOPSTREAM_STATE_TABLE is required"));
        assert!(err(&[(vars::STATE_TABLE, "a b")]).contains("not a DynamoDB table name"));
        assert!(err(&[(vars::STATE_TABLE, "ab")]).contains("not a DynamoDB table name"));
        assert!(err(&[(vars::STATE_TABLE, "state"), (vars::REJECTED_PREFIX, "x/")])
            .contains("SHOPSTREAM_REJECTED_PREFIX needs SHOPSTREAM_REJECTED_BUCKET"));
    }

    #[test]
    fn the_alert_topic_is_read_from_its_arn() {
        let topic = |arn: &str| {
            ProcessorConfig::from_vars(vars(&[(vars::STATE_TABLE, "state"), (vars::ALERT_TOPIC_ARN, arn)]))
                .map(|c| c.alert_topic)
        };
        assert_eq!(
            topic(" arn:aws:sns:eu-west-1:123456789012:shopstream-alerts ").unwrap(),
            Some(AlertTopic {
                arn: "arn:aws:sns:eu-west-1:123456789012:shopstream-alerts".into(),
                region: "eu-west-1".into()
            })
        );
        let fifo = topic("arn:aws:sns:us-east-1:123456789012:stock_alerts.fifo").unwrap().unwrap();
        assert_eq!(fifo.region, "us-east-1");
        assert!(topic(&format!("arn:aws:sns:us-east-1:123456789012:{}", "t".repeat(256))).is_ok());
        assert_eq!(topic("").unwrap(), None, "blank is absent");
        assert_eq!(ProcessorConfig::from_vars(vars(&[(vars::STATE_TABLE, "state")])).unwrap().alert_topic, None);
        for bad in [
            "shopstream-alerts",
            "arn:aws:sqs:eu-west-1:123456789012:shopstream-alerts",
            "arn:aws:sns:eu-west-1:12345678901:shopstream-alerts",
            "arn:aws:sns:eu-west-1:1234567890123:shopstream-alerts",
            "arn:aws:sns:eu-west-1:12345678901a:shopstream-alerts",
            "arn:aws:sns::123456789012:shopstream-alerts",
            "arn:aws:sns:EU-WEST-1:123456789012:shopstream-alerts",
            "arn:aws:sns:eu-west-1:123456789012:",
            "arn:aws:sns:eu-west-1:123456789012:.fifo",
            "arn:aws:sns:eu-west-1:123456789012:alerts:extra",
            "arn:aws:sns:eu-west-1:123456789012:my alerts",
            "arn:aws:sns:eu-west-1:123456789012",
            "arn:aws-cn:sns:cn-north-1:123456789012:alerts",
            "https://sns.eu-west-1.amazonaws.com/123456789012/alerts",
        ] {
            let err = topic(bad).unwrap_err().to_string();
            assert!(
                err.contains("SHOPSTREAM_ALERT_TOPIC_ARN") && err.contains("is not an SNS topic ARN"),
                "{bad}: {err}"
            );
        }
        let long = format!("arn:aws:sns:us-east-1:123456789012:{}", "t".repeat(257));
        assert!(topic(&long).is_err(), "topic names are at most 256 characters");
    }

    #[test]
    fn the_stream_is_named_from_its_arn() {
        assert_eq!(stream_name("arn:aws:kinesis:eu-west-1:123456789012:stream/shopstream-events"), "shopstream-events");
        assert_eq!(stream_name("odd"), "odd");
    }
}
