//! The ingest domain: what happens to a batch between the wire and durable storage.
//!
//! It knows nothing of HTTP, AWS, Lambda or any database: it talks to the outside only through the
//! ports [`EventSink`] and [`Clock`], which adapter crates implement (`SqliteEventLog` locally,
//! `KinesisEventSink` in AWS).

pub mod auth;
pub mod enrich;

use std::sync::Arc;

use async_trait::async_trait;
use event_schema::model::Event;
use event_schema::validate::{validate_batch, BatchError, FieldError, Problem, RejectedEvent, ValidationOptions};
use event_schema::Timestamp;
use serde::Serialize;

pub use auth::{AuthError, TokenVerifier, VerifiedIdentity};
pub use enrich::{EdgeContext, RequestContext};

/// An accepted event as it leaves the edge: the canonical event plus what the server added.
///
/// `event.occurred_at` is corrected for the device's clock skew ([`enrich::corrected_time`]); the
/// device's own value is kept in `client_occurred_at`. `event.user_id` is set only from a verified
/// token (its `sub`); a `user_id` the client sent without one is kept as `claimed_user_id`, untrusted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnrichedEvent {
    #[serde(flatten)]
    pub event: Event,
    /// `occurred_at` as the device's clock said it.
    pub client_occurred_at: Timestamp,
    /// A `user_id` sent without a token that proves it (or differing from the token's `sub`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_user_id: Option<String>,
    /// When the ingest received the batch.
    pub received_at: Timestamp,
    /// The batch's `sent_at` (device clock).
    pub sent_at: Timestamp,
    /// Network, user agent, bot flag and country, from the request.
    pub edge: EdgeContext,
}

impl EnrichedEvent {
    /// An event as received, before identity and request enrichment: times as sent, no edge context.
    pub fn new(event: Event, received_at: Timestamp, sent_at: Timestamp) -> Self {
        let client_occurred_at = event.occurred_at;
        EnrichedEvent {
            event,
            client_occurred_at,
            claimed_user_id: None,
            received_at,
            sent_at,
            edge: EdgeContext::default(),
        }
    }

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

/// What was refused and why, for the operator (the bad-events sink): one event of a batch, or a
/// whole batch whose envelope was invalid or that was not JSON.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RejectedRecord {
    pub received_at: Timestamp,
    /// `event` or `batch`.
    pub scope: &'static str,
    /// The event's position in its batch (for `scope: "event"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub errors: Vec<FieldError>,
    /// The JSON text as sent, cut at [`MAX_REJECTED_RAW_BYTES`].
    pub raw: String,
    pub raw_truncated: bool,
}

/// How much of a refused event or batch is kept in the bad-events sink.
pub const MAX_REJECTED_RAW_BYTES: usize = 64 * 1024;

impl RejectedRecord {
    /// A record of `raw` (cut at [`MAX_REJECTED_RAW_BYTES`]) refused for `errors`; `scope` says what it
    /// was: `event`, `batch`, or `record` (a stream record the processor could not decode).
    pub fn new(received_at: Timestamp, scope: &'static str, raw: &str, errors: Vec<FieldError>) -> Self {
        let mut cut = raw.len().min(MAX_REJECTED_RAW_BYTES);
        while !raw.is_char_boundary(cut) {
            cut -= 1;
        }
        let raw_truncated = cut < raw.len();
        RejectedRecord {
            received_at,
            scope,
            index: None,
            event_id: None,
            errors,
            raw: raw[..cut].to_string(),
            raw_truncated,
        }
    }
}

/// Where refused events go so an operator can see what was rejected and why (a table locally, an
/// S3 prefix in AWS). Best effort: a failure here is logged and does not fail the batch.
#[async_trait]
pub trait RejectedEventSink: Send + Sync + 'static {
    async fn write_rejected(&self, records: &[RejectedRecord]) -> Result<(), SinkError>;
}

/// The ingest use case, shared by the Lambda and the local server.
#[derive(Clone)]
pub struct Ingest {
    sink: Arc<dyn EventSink>,
    clock: Arc<dyn Clock>,
    verifier: Option<Arc<dyn TokenVerifier>>,
    rejected_sink: Option<Arc<dyn RejectedEventSink>>,
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
    /// The bearer token is invalid (401); nothing was stored.
    #[error("{0}")]
    Unauthorized(String),
    /// The token could not be checked now (503); nothing was stored.
    #[error("{0}")]
    AuthUnavailable(String),
    /// The sink failed; nothing is acknowledged (503).
    #[error(transparent)]
    Sink(#[from] SinkError),
}

impl Ingest {
    pub fn new(sink: Arc<dyn EventSink>, clock: Arc<dyn Clock>) -> Self {
        Ingest { sink, clock, verifier: None, rejected_sink: None }
    }

    /// Verifies bearer tokens with `verifier`. Without one, tokens are not checked, so no `user_id`
    /// is trusted: every client-sent `user_id` becomes `claimed_user_id`.
    pub fn with_token_verifier(mut self, verifier: Arc<dyn TokenVerifier>) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// Sends refused events and batches, with their reasons, to `sink`.
    pub fn with_rejected_sink(mut self, sink: Arc<dyn RejectedEventSink>) -> Self {
        self.rejected_sink = Some(sink);
        self
    }

    /// Checks the caller's token, validates a request body, enriches the good events, makes them
    /// durable, and reports on each bad one.
    pub async fn ingest(&self, body: &[u8], request: &RequestContext) -> Result<IngestReport, IngestError> {
        let received_at = self.clock.now();
        let verified = match (&self.verifier, request.bearer_token.as_deref()) {
            (Some(verifier), Some(token)) => match verifier.verify(token).await {
                Ok(identity) => Some(identity),
                Err(AuthError::Invalid(reason)) => return Err(IngestError::Unauthorized(reason)),
                Err(AuthError::Unavailable(reason)) => return Err(IngestError::AuthUnavailable(reason)),
            },
            _ => None,
        };
        let outcome = match validate_batch(body, &ValidationOptions::at(received_at)) {
            Ok(outcome) => outcome,
            Err(e) => {
                let errors = match &e {
                    BatchError::Envelope(errors) => errors.clone(),
                    BatchError::NotJson(reason) => {
                        vec![FieldError { path: "$".into(), problem: Problem::NotJson(reason.to_string()) }]
                    }
                    BatchError::TooLarge { .. } => Vec::new(), // refused unread: nothing to keep
                };
                if !errors.is_empty() {
                    self.reject_request(body, errors).await;
                }
                return Err(e.into());
            }
        };
        let sent_at = outcome.sent_at;
        // The request's edge context is parsed once (user agent parsing is the costly part); an event
        // that carries its own, different user agent gets its own.
        let request_edge = enrich::edge_context(request, None);
        let enriched: Vec<EnrichedEvent> = outcome
            .accepted
            .into_iter()
            .map(|mut event| {
                let client_occurred_at = event.occurred_at;
                event.occurred_at = enrich::corrected_time(event.occurred_at, sent_at, received_at);
                let claimed = event.user_id.take();
                let claimed_user_id = match &verified {
                    Some(identity) => {
                        event.user_id = Some(identity.subject.clone());
                        claimed.filter(|c| *c != identity.subject)
                    }
                    None => claimed,
                };
                let event_ua = event.context.as_ref().and_then(|c| c.user_agent.as_deref());
                let edge = match event_ua {
                    Some(ua) if Some(ua) != request.user_agent.as_deref() => enrich::edge_context(request, Some(ua)),
                    _ => request_edge.clone(),
                };
                EnrichedEvent { event, client_occurred_at, claimed_user_id, received_at, sent_at, edge }
            })
            .collect();
        if !enriched.is_empty() {
            self.sink.write(&enriched).await?;
        }
        if !outcome.rejected.is_empty() {
            let records = outcome
                .rejected
                .iter()
                .map(|r| RejectedRecord {
                    index: Some(r.index),
                    event_id: r.event_id.clone(),
                    ..RejectedRecord::new(received_at, "event", &r.raw, r.errors.clone())
                })
                .collect();
            self.quarantine(records).await;
        }
        Ok(IngestReport { accepted: enriched.len(), rejected: outcome.rejected })
    }

    /// Records a request refused as a whole (`scope: "batch"`), with its reasons and its text as
    /// sent, in the bad-events sink. For adapters that refuse a body before it reaches [`Ingest::ingest`]
    /// (e.g. a Segment body of the wrong shape); `ingest` does it itself for the bodies it refuses.
    pub async fn reject_request(&self, body: &[u8], errors: Vec<FieldError>) {
        let raw = String::from_utf8_lossy(&body[..body.len().min(MAX_REJECTED_RAW_BYTES)]);
        let mut record = RejectedRecord::new(self.clock.now(), "batch", &raw, errors);
        record.raw_truncated |= body.len() > MAX_REJECTED_RAW_BYTES;
        self.quarantine(vec![record]).await;
    }

    async fn quarantine(&self, records: Vec<RejectedRecord>) {
        if let Some(sink) = &self.rejected_sink {
            if let Err(e) = sink.write_rejected(&records).await {
                tracing::error!(error = %e, records = records.len(), "bad-events sink failed; the rejections are only in this log");
            }
        }
    }

    pub async fn ready(&self) -> Result<(), SinkError> {
        self.sink.ready().await
    }

    /// The ingest's clock (the receive time adapters use for defaults, e.g. a missing `sentAt`).
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}
