//! The ingest domain: what happens to a batch between the wire and durable storage.
//!
//! It knows nothing of HTTP, AWS, Lambda or any database: it talks to the outside only through the
//! ports [`EventSink`] and [`Clock`], which adapter crates implement (`SqliteEventLog` locally,
//! `KinesisEventSink` in AWS).

pub mod auth;

use std::sync::Arc;

use async_trait::async_trait;
use event_schema::model::Event;
use event_schema::validate::{validate_batch, BatchError, RejectedEvent, ValidationOptions};
use event_schema::Timestamp;
use serde::Serialize;

/// An accepted event as it leaves the edge: the canonical event plus what the server added.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnrichedEvent {
    #[serde(flatten)]
    pub event: Event,
    /// When the ingest received the batch.
    pub received_at: Timestamp,
    /// The batch's `sent_at`, kept for clock-skew correction downstream.
    pub sent_at: Timestamp,
}

impl EnrichedEvent {
    /// The JSON line stored or forwarded for this event.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// Where accepted events go. `write` returns only once every event is durable: the ingest
/// acknowledges nothing before that. Writing an `event_id` that is already stored is not an error
/// (the tracker retries; adapters may deduplicate).
#[async_trait]
pub trait EventSink: Send + Sync + 'static {
    async fn write(&self, events: &[EnrichedEvent]) -> Result<(), SinkError>;
    /// Whether the sink can take writes now (`/readyz`).
    async fn ready(&self) -> Result<(), SinkError>;
}

/// A sink failure. The HTTP layer answers 503 and logs the source; the client retries.
#[derive(Debug, thiserror::Error)]
#[error("event sink unavailable: {message}")]
pub struct SinkError {
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl SinkError {
    pub fn new(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        SinkError { message: message.into(), source: Some(Box::new(source)) }
    }
}

/// The time source, a port so tests can fix "now".
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp(ms)
    }
}

/// A clock that always says the same time.
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// The ingest use case, shared by the Lambda and the local server.
#[derive(Clone)]
pub struct Ingest {
    sink: Arc<dyn EventSink>,
    clock: Arc<dyn Clock>,
}

/// What the client is told about a batch that was taken.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IngestReport {
    pub accepted: usize,
    pub rejected: Vec<RejectedEvent>,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The batch as a whole is refused (413 / 400); nothing was stored.
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// The sink failed; nothing is acknowledged (503).
    #[error(transparent)]
    Sink(#[from] SinkError),
}

impl Ingest {
    pub fn new(sink: Arc<dyn EventSink>, clock: Arc<dyn Clock>) -> Self {
        Ingest { sink, clock }
    }

    /// Validates a request body, makes the good events durable, and reports on each bad one.
    pub async fn ingest(&self, body: &[u8]) -> Result<IngestReport, IngestError> {
        let received_at = self.clock.now();
        let outcome = validate_batch(body, &ValidationOptions::at(received_at))?;
        let sent_at = outcome.sent_at;
        let enriched: Vec<EnrichedEvent> =
            outcome.accepted.into_iter().map(|event| EnrichedEvent { event, received_at, sent_at }).collect();
        if !enriched.is_empty() {
            self.sink.write(&enriched).await?;
        }
        Ok(IngestReport { accepted: enriched.len(), rejected: outcome.rejected })
    }

    pub async fn ready(&self) -> Result<(), SinkError> {
        self.sink.ready().await
    }
}
