//! CloudWatch Embedded Metric Format: one JSON line per invocation on stdout, which CloudWatch Logs
//! turns into metrics (namespace `Shopstream/Processor`, dimension `Stream`) without an API call.
//! The ingest Lambda's EMF writer is an axum middleware; this one is the same format for a batch.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use personalize::Outcome;
use serde_json::json;

pub const NAMESPACE: &str = "Shopstream/Processor";

/// The metrics of one line, with their units.
pub const METRICS: &[(&str, &str)] = &[
    ("Records", "Count"),
    ("Applied", "Count"),
    ("Duplicates", "Count"),
    ("Ignored", "Count"),
    ("Bad", "Count"),
    ("Conflicts", "Count"),
    ("Commits", "Count"),
    ("Alerts", "Count"),
    ("Failed", "Count"),
    ("Duration", "Milliseconds"),
];

/// What one invocation did.
#[derive(Debug)]
pub struct Invocation<'a> {
    /// The Kinesis stream's name (from the records' event source ARN).
    pub stream: &'a str,
    pub records: usize,
    pub outcome: &'a Outcome,
    /// Records left for Lambda to send again (from the one reported in `batchItemFailures`).
    pub failed: usize,
    /// The sequence number reported in `batchItemFailures`.
    pub retry_from: Option<&'a str>,
    pub duration: Duration,
}

/// Where EMF lines go: stdout in Lambda, a buffer in tests.
#[derive(Clone)]
pub struct Emf {
    out: Arc<Mutex<dyn Write + Send>>,
}

impl Emf {
    pub fn new(out: Arc<Mutex<dyn Write + Send>>) -> Self {
        Emf { out }
    }

    pub fn stdout() -> Self {
        Emf::new(Arc::new(Mutex::new(std::io::stdout())))
    }

    /// Writes the invocation's line.
    pub fn invocation(&self, i: &Invocation<'_>) {
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let o = i.outcome;
        let mut line = json!({
            "_aws": {
                "Timestamp": now,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Stream"]],
                    "Metrics": METRICS.iter().map(|(name, unit)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
                }]
            },
            "Stream": i.stream,
            "Records": i.records,
            "Applied": o.applied,
            "Duplicates": o.duplicates,
            "Ignored": o.ignored,
            "Bad": o.bad,
            "Conflicts": o.conflicts,
            "Commits": o.commits,
            "Alerts": o.alerts,
            "Failed": i.failed,
            "Duration": (i.duration.as_secs_f64() * 1e6).round() / 1e3,
        });
        if let Some(sequence_number) = i.retry_from {
            // A property, not a metric: which record Lambda retries from, for the logs.
            line["RetryFrom"] = json!(sequence_number);
        }
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn one_line_declares_every_metric_it_carries() {
        let buffer = Buffer::default();
        let emf = Emf::new(Arc::new(Mutex::new(buffer.clone())));
        let outcome = Outcome {
            applied: 3,
            duplicates: 1,
            bad: 1,
            commits: 1,
            alerts: 2,
            failed_from: None,
            ..Outcome::default()
        };
        emf.invocation(&Invocation {
            stream: "events",
            records: 5,
            outcome: &outcome,
            failed: 0,
            retry_from: None,
            duration: Duration::from_micros(12_345),
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1);
        let line: serde_json::Value = serde_json::from_str(&text).unwrap();
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], NAMESPACE);
        assert_eq!(declared["Dimensions"], json!([["Stream"]]));
        for m in declared["Metrics"].as_array().unwrap() {
            assert!(line[m["Name"].as_str().unwrap()].is_number(), "{m} has no value");
        }
        assert_eq!(
            (line["Records"].as_u64(), line["Applied"].as_u64(), line["Alerts"].as_u64(), line["Duration"].as_f64()),
            (Some(5), Some(3), Some(2), Some(12.345))
        );
        assert!(line.get("RetryFrom").is_none());
    }
}
