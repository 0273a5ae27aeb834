//! The ingest's HTTP surface: `POST /v1/events`, `GET /healthz`, `GET /readyz`.
//!
//! [`router`] returns an axum `Router`, which `lambda_http::run` serves in AWS and the local server
//! serves on a socket; tests call it with `tower::ServiceExt::oneshot`, no socket at all.

pub mod access;
pub mod segment;

use std::net::IpAddr;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use event_schema::limits::MAX_BATCH_BYTES;
use event_schema::validate::{BatchError, FieldError};
use http_body_util::{BodyExt, Limited};
use ingest_domain::{Ingest, IngestError, IngestReport, RequestContext};
use serde_json::json;

pub use access::{Access, Site, SiteName};

/// The client's IP address, a request extension set by whatever serves the router (the socket peer
/// locally, API Gateway's source IP in the Lambda). Used for enrichment only, never stored or logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

const VIEWER_COUNTRY: HeaderName = HeaderName::from_static("cloudfront-viewer-country");

/// The ingest routes, open to any request (see [`router_with_access`]).
pub fn router(ingest: Ingest) -> Router {
    router_with_access(ingest, Access::Open)
}

/// The ingest routes behind `access` (write keys and CORS); `/healthz` and `/readyz` stay open.
pub fn router_with_access(ingest: Ingest, access: Access) -> Router {
    let events = Router::new()
        .route("/v1/events", post(post_events))
        .merge(segment::routes())
        .layer(axum::middleware::from_fn_with_state(access.clone(), access::enforce))
        // Outside the access check: a Segment body's `writeKey` is presented to it (see `segment`).
        .layer(axum::middleware::from_fn_with_state(access, segment::write_key_from_body))
        .with_state(ingest.clone());
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .with_state(ingest)
        .merge(events)
}

/// `POST /v1/events`: the plain handler, usable without the router.
///
/// The body may be gzip-compressed, said by `Content-Encoding: gzip` or by the query parameter
/// `compression=gzip` (which keeps a cross-origin post free of a CORS preflight). The limit
/// applies to the compressed and to the decompressed size alike.
pub async fn post_events(
    State(ingest): State<Ingest>,
    client_ip: Option<Extension<ClientIp>>,
    site: Option<Extension<SiteName>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let encoding = body_encoding(&uri, &headers)?;
    // Read at most one byte past the limit, so an oversized body is refused without buffering it all.
    let bytes: Bytes = match Limited::new(body, MAX_BATCH_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(ApiError::TooLarge),
        Err(e) => return Err(ApiError::BadBody(e.to_string())),
    };
    let request = request_context(&headers, client_ip.map(|Extension(ClientIp(ip))| ip), site.map(|s| s.0 .0));
    let report = match encoding {
        Encoding::Identity => ingest.ingest(&bytes, &request).await,
        Encoding::Gzip => ingest.ingest(&gunzip_bounded(&bytes, MAX_BATCH_BYTES)?, &request).await,
    };
    Ok(answer(report.map_err(ApiError::from)?))
}

/// What a handled batch came to, left in the response's extensions for metrics and logs (the
/// Lambda's CloudWatch EMF line, the local server's log).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchSummary {
    pub accepted: usize,
    pub rejected: usize,
    /// Rejected events by their first problem's code.
    pub rejected_by_code: std::collections::BTreeMap<&'static str, usize>,
}

impl BatchSummary {
    /// From the accepted count and each rejected event's errors.
    pub fn new<'a>(accepted: usize, rejected: impl IntoIterator<Item = &'a [FieldError]>) -> Self {
        let mut summary = BatchSummary { accepted, ..BatchSummary::default() };
        for errors in rejected {
            summary.rejected += 1;
            if let Some(e) = errors.first() {
                *summary.rejected_by_code.entry(e.problem.code()).or_default() += 1;
            }
        }
        summary
    }
}

/// The `200` answer for a report, with its [`BatchSummary`] attached.
pub fn answer(report: IngestReport) -> Response {
    let summary = BatchSummary::new(report.accepted, report.rejected.iter().map(|r| r.errors.as_slice()));
    let mut response = Json(report).into_response();
    response.extensions_mut().insert(summary);
    response
}

/// What the domain needs to know about the request, from its headers and extensions.
pub fn request_context(headers: &HeaderMap, client_ip: Option<IpAddr>, site: Option<String>) -> RequestContext {
    let text = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let bearer_token = text(&header::AUTHORIZATION).and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
    });
    RequestContext {
        client_ip,
        user_agent: text(&header::USER_AGENT),
        viewer_country: text(&VIEWER_COUNTRY),
        bearer_token,
        site,
    }
}

enum Encoding {
    Identity,
    Gzip,
}

fn body_encoding(uri: &Uri, headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let from_query =
        uri.query().into_iter().flat_map(|q| q.split('&')).find_map(|pair| pair.strip_prefix("compression="));
    let from_header = headers.get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?"));
    match from_header.or(from_query).map(str::trim) {
        None | Some("") | Some("identity") => Ok(Encoding::Identity),
        Some(e) if e.eq_ignore_ascii_case("gzip") => Ok(Encoding::Gzip),
        Some(other) => Err(ApiError::UnsupportedEncoding(other.chars().take(32).collect())),
    }
}

/// Decompresses at most `limit` bytes: a gzip bomb costs `limit` bytes of memory, then a 413.
fn gunzip_bounded(compressed: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    use std::io::Read;
    let mut out = Vec::with_capacity(compressed.len().saturating_mul(4).min(limit));
    flate2::read::GzDecoder::new(compressed)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| ApiError::BadBody(format!("invalid gzip data: {e}")))?;
    if out.len() > limit {
        return Err(ApiError::TooLarge);
    }
    Ok(out)
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
    UnsupportedEncoding(String),
    /// No or an unknown write key, or an origin the site does not allow.
    Forbidden(String),
    /// An invalid bearer token.
    Unauthorized(String),
    Unavailable,
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Batch(BatchError::TooLarge { .. }) => ApiError::TooLarge,
            IngestError::Batch(BatchError::NotJson(e)) => ApiError::NotJson(e.to_string()),
            IngestError::Batch(BatchError::Envelope(errors)) => ApiError::InvalidBatch(errors),
            IngestError::Unauthorized(reason) => ApiError::Unauthorized(reason),
            IngestError::AuthUnavailable(reason) => {
                tracing::error!(reason = %reason, "token verification unavailable; answering 503");
                ApiError::Unavailable
            }
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
                json!({"error": "too_large", "reason": format!("the body (or its decompressed form) is larger than {MAX_BATCH_BYTES} bytes"), "limit_bytes": MAX_BATCH_BYTES}),
            ),
            ApiError::NotJson(reason) => (
                StatusCode::BAD_REQUEST,
                json!({"error": "not_json", "reason": format!("the body is not valid JSON: {reason}")}),
            ),
            ApiError::BadBody(reason) => (
                StatusCode::BAD_REQUEST,
                json!({"error": "bad_body", "reason": format!("the body could not be read: {reason}")}),
            ),
            ApiError::UnsupportedEncoding(e) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!({"error": "unsupported_encoding", "reason": format!("content encoding {e:?} is not supported; send identity or gzip")}),
            ),
            ApiError::InvalidBatch(errors) => (
                StatusCode::BAD_REQUEST,
                json!({"error": "invalid_batch", "reason": "the batch envelope is invalid", "errors": errors}),
            ),
            ApiError::Forbidden(reason) => (StatusCode::FORBIDDEN, json!({"error": "forbidden", "reason": reason})),
            ApiError::Unauthorized(reason) => {
                let body =
                    json!({"error": "unauthorized", "reason": format!("the bearer token was refused: {reason}")});
                let mut r = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
                return r;
            }
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
