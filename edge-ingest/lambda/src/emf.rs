//! CloudWatch Embedded Metric Format: one JSON line per request on stdout, which CloudWatch Logs
//! turns into metrics (namespace `Shopstream/Ingest`) without any API call: events accepted and
//! rejected, batch size, latency, and the sink's retries and give-ups during the request; plus one
//! line per rejection reason (dimension `Reason`).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ingest_http::BatchSummary;
use serde_json::json;

pub const NAMESPACE: &str = "Shopstream/Ingest";

/// Cumulative sink counters (retries, give-ups) read before and after each request.
pub type SinkCounters = Arc<dyn Fn() -> (u64, u64) + Send + Sync>;

/// Where EMF lines go (stdout in Lambda) and how to read the sink's counters.
#[derive(Clone)]
pub struct Emf {
    out: Arc<Mutex<dyn Write + Send>>,
    sink_counters: SinkCounters,
}

impl Emf {
    pub fn new(out: Arc<Mutex<dyn Write + Send>>, sink_counters: SinkCounters) -> Self {
        Emf { out, sink_counters }
    }

    pub fn stdout(sink_counters: SinkCounters) -> Self {
        Emf::new(Arc::new(Mutex::new(std::io::stdout())), sink_counters)
    }

    fn emit(&self, line: serde_json::Value) {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

fn document(timestamp_ms: u128, dimensions: &[&str], metrics: &[(&str, &str)]) -> serde_json::Value {
    json!({
        "Timestamp": timestamp_ms as u64,
        "CloudWatchMetrics": [{
            "Namespace": NAMESPACE,
            "Dimensions": [dimensions],
            "Metrics": metrics.iter().map(|(name, unit)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
        }]
    })
}

pub(crate) async fn record(State(emf): State<Emf>, request: Request, next: Next) -> Response {
    let route = request.uri().path().to_string();
    let (retries_before, give_ups_before) = (emf.sink_counters)();
    let started = Instant::now();
    let response = next.run(request).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (retries, give_ups) = (emf.sink_counters)();
    let summary = response.extensions().get::<BatchSummary>().cloned().unwrap_or_default();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let metrics = [
        ("EventsAccepted", "Count"),
        ("EventsRejected", "Count"),
        ("BatchSize", "Count"),
        ("Latency", "Milliseconds"),
        ("SinkRetries", "Count"),
        ("SinkGiveUps", "Count"),
    ];
    emf.emit(json!({
        "_aws": document(now, &["Route"], &metrics),
        "Route": route,
        "Status": response.status().as_u16(),
        "EventsAccepted": summary.accepted,
        "EventsRejected": summary.rejected,
        "BatchSize": summary.accepted + summary.rejected,
        "Latency": (latency_ms * 1000.0).round() / 1000.0,
        "SinkRetries": retries.saturating_sub(retries_before),
        "SinkGiveUps": give_ups.saturating_sub(give_ups_before),
    }));
    for (reason, count) in &summary.rejected_by_code {
        emf.emit(json!({
            "_aws": document(now, &["Reason"], &[("EventsRejected", "Count")]),
            "Reason": reason,
            "EventsRejected": count,
        }));
    }
    response
}
