//! `GET /v1/kpis`: the live figures of the local stack, for the storefront's dashboard.
//!
//! - `200 application/json`: [`sqlite_store::kpis::LiveKpis`] at the time of the request (events per
//!   minute over the last 30 minutes; today's revenue, orders, averages, funnel, top products and
//!   recommendation click-through; UTC; bots left out), with `Cache-Control: no-store`.
//! - `503 {"error": "unavailable", "reason"}` with `Retry-After: 1` when the event log cannot be
//!   read.
//!
//! The SQL runs on the blocking pool, on a read-only connection of its own, so it never holds up the
//! runtime, the ingest's writer or the processor. Requests that arrive while the figures are being
//! computed share the next computation (started after they arrived), so any number of open
//! dashboards cost at most two computations at a time, and no answer is older than its request.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use sqlite_store::SqliteEventLog;
use tokio::sync::Mutex;

struct Kpis {
    log: SqliteEventLog,
    /// The last answer's JSON and when its computation started.
    last: Mutex<Option<(Instant, Bytes)>>,
}

pub fn router(log: SqliteEventLog) -> Router {
    Router::new().route("/v1/kpis", get(kpis)).with_state(Arc::new(Kpis { log, last: Mutex::new(None) }))
}

async fn kpis(State(state): State<Arc<Kpis>>) -> Response {
    let arrived = Instant::now();
    let mut last = state.last.lock().await;
    if let Some((started, body)) = last.as_ref() {
        if *started >= arrived {
            return answer(StatusCode::OK, body.clone()); // computed after this request arrived
        }
    }
    let started = Instant::now();
    let log = state.log.clone();
    let computed = tokio::task::spawn_blocking(move || {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        log.live_kpis(now_ms).map(|kpis| serde_json::to_vec(&kpis))
    })
    .await;
    match computed {
        Ok(Ok(Ok(json))) => {
            let body = Bytes::from(json);
            *last = Some((started, body.clone()));
            answer(StatusCode::OK, body)
        }
        Ok(Ok(Err(e))) => unavailable(&e),
        Ok(Err(e)) => unavailable(&e),
        Err(e) => unavailable(&e),
    }
}

fn answer(status: StatusCode, body: Bytes) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn unavailable(e: &dyn std::error::Error) -> Response {
    tracing::error!(error = %e, source = ?e.source(), "cannot compute the live KPIs; answering 503");
    let body = json!({"error": "unavailable", "reason": "the live figures are unavailable; retry shortly"});
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
