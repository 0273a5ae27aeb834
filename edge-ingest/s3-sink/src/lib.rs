//! `S3RejectedEventSink`: where the ingest in AWS puts what it refused, so an operator can see what
//! was rejected and why. Each call writes one object of JSON lines (one `RejectedRecord` per line:
//! reasons with field paths and codes, and the text as sent) under
//! `<prefix>dt=YYYY-MM-DD/hour=HH/<received ms>-<n>.jsonl`, a layout Athena and Glue partition by.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use ingest_domain::{RejectedEventSink, RejectedRecord, SinkError};

pub struct S3RejectedEventSink {
    client: ClientSource,
    bucket: String,
    prefix: String,
    /// Distinguishes objects written in the same millisecond by this process.
    sequence: AtomicU64,
    /// Distinguishes processes (Lambda instances) writing in the same millisecond.
    instance: String,
}

/// A client given, or one made by the first write.
enum ClientSource {
    Ready(Client),
    OnFirstUse(OnceLock<Client>, Box<dyn Fn() -> Client + Send + Sync>),
}

impl ClientSource {
    fn get(&self) -> &Client {
        match self {
            ClientSource::Ready(client) => client,
            ClientSource::OnFirstUse(client, make) => client.get_or_init(make),
        }
    }
}

impl S3RejectedEventSink {
    /// `prefix` is used as given (e.g. `"rejected/"`).
    pub fn new(
        client: Client,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
        instance: impl Into<String>,
    ) -> Self {
        Self::with_client(ClientSource::Ready(client), bucket.into(), prefix.into(), instance.into())
    }

    /// Like [`Self::new`], with the client made by `make` when the first records are written. Making an S3
    /// client cost the ingest Lambda's cold start 0.2–0.4 ms and 0.8 MiB (bench/README.md), and most
    /// invocations reject nothing.
    pub fn on_first_use(
        make: impl Fn() -> Client + Send + Sync + 'static,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
        instance: impl Into<String>,
    ) -> Self {
        let client = ClientSource::OnFirstUse(OnceLock::new(), Box::new(make));
        Self::with_client(client, bucket.into(), prefix.into(), instance.into())
    }

    fn with_client(client: ClientSource, bucket: String, prefix: String, instance: String) -> Self {
        S3RejectedEventSink { client, bucket, prefix, sequence: AtomicU64::new(0), instance }
    }

    /// The object key for records received at `received_ms`.
    pub fn key(&self, received_ms: i64, n: u64) -> String {
        let date = event_schema::Timestamp(received_ms).to_rfc3339(); // 2026-11-22T10:00:05.000Z
        let (day, hour) = (&date[..10], &date[11..13]);
        format!("{}dt={day}/hour={hour}/{received_ms}-{}-{n}.jsonl", self.prefix, self.instance)
    }
}

#[async_trait]
impl RejectedEventSink for S3RejectedEventSink {
    async fn write_rejected(&self, records: &[RejectedRecord]) -> Result<(), SinkError> {
        let Some(first) = records.first() else { return Ok(()) };
        let mut body = Vec::new();
        for r in records {
            serde_json::to_writer(&mut body, r).map_err(|e| SinkError::new("cannot encode a rejected record", e))?;
            body.push(b'\n');
        }
        let key = self.key(first.received_at.unix_ms(), self.sequence.fetch_add(1, Ordering::Relaxed));
        self.client
            .get()
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("application/x-ndjson")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| SinkError::new(format!("cannot write s3://{}/{key}", self.bucket), e))?;
        Ok(())
    }
}
