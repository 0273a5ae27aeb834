//! The ingest's HTTP surface: `POST /v1/events`, `GET /healthz`, `GET /readyz`.
//!
//! [`router`] returns an axum `Router`, which `lambda_http::run` serves in AWS and the local server
//! serves on a socket; tests call it with `tower::ServiceExt::oneshot`, no socket at all.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use event_schema::limits::MAX_BATCH_BYTES;
use event_schema::validate::{BatchError, FieldError};
use http_body_util::{BodyExt, Limited};
use ingest_domain::{Ingest, IngestError, IngestReport};
use serde_json::json;

/// The ingest routes, with their state.
pub fn router(ingest: Ingest) -> Router {
    Router::new()
        .route("/v1/events", post(post_events))
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .with_state(ingest)
}

/// `POST /v1/events`: the plain handler, usable without the router.
pub async fn post_events(State(ingest): State<Ingest>, body: Body) -> Result<Json<IngestReport>, ApiError> {
    // Read at most one byte past the limit, so an oversized body is refused without buffering it all.
    let bytes: Bytes = match Limited::new(body, MAX_BATCH_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(ApiError::TooLarge),
        Err(e) => return Err(ApiError::BadBody(e.to_string())),
    };
    let report = ingest.ingest(&bytes).await.map_err(ApiError::from)?;
    Ok(Json(report))
}

async fn readyz(State(ingest): State<Ingest>) -> Response {
    match ingest.ready().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "sink not ready");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable"}))).into_response()
        }
    }
}

/// Every error the ingest answers with: 4xx carry a reason; 5xx a generic body (details are logged).
#[derive(Debug)]
pub enum ApiError {
    TooLarge,
    NotJson(String),
    BadBody(String),
    InvalidBatch(Vec<FieldError>),
    Unavailable,
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Batch(BatchError::TooLarge { .. }) => ApiError::TooLarge,
            IngestError::Batch(BatchError::NotJson(e)) => ApiError::NotJson(e.to_string()),
            IngestError::Batch(BatchError::Envelope(errors)) => ApiError::InvalidBatch(errors),
            IngestError::Sink(e) => {
                tracing::error!(error = %e, source = ?e.source, "sink write failed; answering 503");
                ApiError::Unavailable
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"error": "too_large", "reason": format!("the body is larger than {MAX_BATCH_BYTES} bytes"), "limit_bytes": MAX_BATCH_BYTES}),
            ),
            ApiError::NotJson(reason) => (
                StatusCode::BAD_REQUEST,
                json!({"error": "not_json", "reason": format!("the body is not valid JSON: {reason}")}),
            ),
            ApiError::BadBody(reason) => (
                StatusCode::BAD_REQUEST,
                json!({"error": "bad_body", "reason": format!("the body could not be read: {reason}")}),
            ),
            ApiError::InvalidBatch(errors) => (
                StatusCode::BAD_REQUEST,
                json!({"error": "invalid_batch", "reason": "the batch envelope is invalid", "errors": errors}),
            ),
            ApiError::Unavailable => {
                let mut r = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({"error": "unavailable", "reason": "events could not be stored; retry later"})),
                )
                    .into_response();
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return r;
            }
        };
        (status, Json(body)).into_response()
    }
}
