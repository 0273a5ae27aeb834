//! The one markdown table `bench/ingest/run` prints, from the JSON lines each benchmark wrote.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use crate::median;

/// Targets from the issue.
pub const INPROC_MIN_RATIO: f64 = 0.5;
pub const HTTP_MIN_EPS: f64 = 100_000.0;
pub const HTTP_MAX_P99_MS: f64 = 20.0;
pub const LAMBDA_MAX_START_MS: f64 = 20.0;
pub const LAMBDA_MAX_RSS_MIB: f64 = 32.0;

/// `1234567.8` as `1,234,568`.
pub fn thousands(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 {
        out.insert(0, '-');
    }
    out
}

fn num(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / 1024.0 / 1024.0)
}

/// The medians of `key` over `lines` (each line one run).
fn median_of(lines: &[&Value], key: &str) -> f64 {
    median(&lines.iter().map(|l| num(l, key)).collect::<Vec<_>>())
}

/// Renders every result line it knows (`bench`: `inproc`, `store`, `http`, `lambda-size`, `lambda`).
pub fn render(lines: &[Value]) -> String {
    let of = |kind: &str| -> Vec<&Value> { lines.iter().filter(|l| l["bench"] == kind).collect() };
    let mut t = String::new();
    t.push_str("| benchmark | figure | measured (median) | baseline or target | ratio | verdict |\n");
    t.push_str("|---|---|--:|---|--:|---|\n");
    let mut row = |cells: [String; 6]| {
        let _ = writeln!(t, "| {} |", cells.join(" | "));
    };

    for r in of("inproc") {
        let (ours, base) = (num(r, "ingest_eps"), num(r, "baseline_eps"));
        let ratio = ours / base;
        row([
            format!("in-process, {}-event batch ({} B), 1 thread", r["events_per_batch"], r["body_bytes"]),
            "`Ingest::ingest`: parse, validate, enrich, Kinesis encode".into(),
            format!("{} events/s", thousands(ours)),
            format!("`serde_json::from_slice::<Value>` of the same bytes: {} events/s", thousands(base)),
            format!("{ratio:.2}× (per-round median {:.2}×)", num(r, "median_round_ratio")),
            format!("{} (target ≥ {INPROC_MIN_RATIO}×)", met(ratio >= INPROC_MIN_RATIO)),
        ]);
        let stage = |k: &str| r["stages_us_per_batch"][k].as_f64().unwrap_or(f64::NAN);
        let whole = num(r, "ingest_us_per_batch");
        let pct = |us: f64| format!("{us:.0} µs ({:.0}%)", 100.0 * us / whole);
        let validate = stage("validate_batch");
        // The enrich stage clones the accepted events first (the ingest moves them): not counted.
        let enrich = stage("enrich") - stage("clone_accepted");
        let encode = stage("kinesis_encode");
        let envelope = stage("envelope");
        let events = stage("event_validate_raw");
        let values = stage("event_value_parse");
        let user_agent = stage("user_agent_parse");
        let to_json = stage("to_json");
        row([
            "in-process, where the time goes".into(),
            format!("µs per batch (ingest {whole:.0} µs, baseline {:.0} µs)", num(r, "baseline_us_per_batch")),
            format!(
                "validate_batch {} = the envelope (UTF-8 check, one pass) {envelope:.0} + 100 events parsed and \
                 validated (`validate_raw_event`) {events:.0} + rest {:.0} (for comparison, 100 `Value` parses \
                 alone: {values:.0}); enrich {} (user agent parse, once per batch: {user_agent:.0}); Kinesis \
                 encode {} (`to_json` ×100: {to_json:.0}); not attributed {}",
                pct(validate),
                validate - envelope - events,
                pct(enrich),
                pct(encode),
                pct(whole - validate - enrich - encode)
            ),
            "each stage timed apart on prepared input, in the same rounds; % of the whole ingest".into(),
            String::new(),
            String::new(),
        ]);
    }

    for r in of("inproc") {
        row([
            "in-process, cold (once per process)".into(),
            "first user agent parse; first whole batch after it".into(),
            format!("{:.0} µs; {:.0} µs", num(r, "first_user_agent_us"), num(r, "first_ingest_us")),
            format!("warm: {:.0} µs per batch", num(r, "ingest_us_per_batch")),
            String::new(),
            String::new(),
        ]);
    }

    for s in of("store") {
        row([
            format!("local store, {}-event batch", s["events_per_batch"]),
            "`SqliteEventLog::append` (1 transaction, WAL, synchronous=FULL)".into(),
            format!(
                "p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms ({} of {} over 10 ms: WAL checkpoints)",
                num(s, "append_ms_p50"),
                num(s, "append_ms_p99"),
                num(s, "append_ms_max"),
                s["appends_over_10ms"],
                s["batches"]
            ),
            format!(
                "bare 4 KiB write + fdatasync: p50 {:.2} ms, p99 {:.2} ms",
                num(s, "fdatasync_ms_p50"),
                num(s, "fdatasync_ms_p99")
            ),
            String::new(),
            format!("one writer: at most {} events/s", thousands(num(s, "ceiling_eps"))),
        ]);
    }

    // Disk runs first (the figures), then the tmpfs diagnostic; by connection count.
    let mut http: BTreeMap<(bool, i64), Vec<&Value>> = BTreeMap::new();
    for h in of("http") {
        let diagnostic = h["store"] == "tmpfs";
        http.entry((diagnostic, h["connections"].as_i64().unwrap_or(0))).or_default().push(h);
    }
    for ((diagnostic, connections), runs) in &http {
        let eps = median_of(runs, "events_per_s");
        let p99 = median_of(runs, "p99_ms");
        let errors: f64 = runs.iter().map(|r| num(r, "errors") + num(r, "not_accepted")).sum();
        // Every answered request's 100 events must be in the store (fresh ids: no no-op inserts).
        let short = runs.iter().filter(|r| num(r, "stored_events_incl_warmup") < 100.0 * num(r, "requests")).count();
        let mut checks = String::new();
        if errors > 0.0 {
            checks.push_str(&format!("; {errors} errors or partial answers"));
        }
        if short > 0 {
            checks.push_str(&format!("; {short} runs stored fewer events than answered"));
        }
        let store = if *diagnostic { ", store on tmpfs (diagnostic: no disk I/O, not durable)" } else { "" };
        let verdict = |ok: bool| if *diagnostic { "diagnostic".to_string() } else { met(ok).to_string() };
        row([
            format!("loopback HTTP, `shopstream serve`{store}, {connections} connections ({} runs)", runs.len()),
            "throughput".into(),
            format!("{} events/s ({} req/s)", thousands(eps), thousands(median_of(runs, "requests_per_s"))),
            format!("target {} events/s", thousands(HTTP_MIN_EPS)),
            format!("{:.2}×", eps / HTTP_MIN_EPS),
            format!("{}{checks}", verdict(eps >= HTTP_MIN_EPS)),
        ]);
        row([
            format!("loopback HTTP{store}, {connections} connections"),
            "latency p50 / p99; CPU".into(),
            format!(
                "{:.1} / {:.1} ms; server {:.0}% of a core ({:.2} ms CPU per batch), wrk {:.0}%, whole machine {:.0}% of 200%",
                median_of(runs, "p50_ms"),
                p99,
                median_of(runs, "server_cpu_pct"),
                median_of(runs, "server_cpu_ms_per_request"),
                median_of(runs, "wrk_cpu_pct"),
                median_of(runs, "machine_cpu_pct")
            ),
            format!("target p99 < {HTTP_MAX_P99_MS} ms"),
            format!("{:.2}×", p99 / HTTP_MAX_P99_MS),
            verdict(p99 < HTTP_MAX_P99_MS),
        ]);
        // The whole device's writes while wrk ran (other tenants' too), per event answered.
        if let Some(disk) = runs.iter().find_map(|r| r.get("disk").and_then(Value::as_str)) {
            row([
                format!("loopback HTTP, {connections} connections"),
                format!("disk writes ({disk})"),
                format!(
                    "{} B per event; {:.0} MiB/s; device busy {:.0}% of the time",
                    thousands(median_of(runs, "disk_bytes_per_event")),
                    median_of(runs, "disk_write_mib_per_s"),
                    median_of(runs, "disk_busy_pct")
                ),
                "the event as stored: about 1 KB of JSON".into(),
                String::new(),
                String::new(),
            ]);
        }
    }

    for s in of("lambda-size") {
        row([
            format!("Lambda binary, {}", s["arch"].as_str().unwrap_or("?")),
            "size, stripped".into(),
            mib(num(s, "stripped_bytes")),
            format!("as built {}; {}", mib(num(s, "built_bytes")), s["build"].as_str().unwrap_or("")),
            String::new(),
            String::new(),
        ]);
    }
    let lambdas = of("lambda");
    let (native, emulated): (Vec<&Value>, Vec<&Value>) = lambdas.iter().partition(|l| l["runner"].is_null());
    for l in &emulated {
        let runner = l["runner"].as_str().unwrap_or("?");
        let runner = runner.rsplit('/').next().unwrap_or(runner);
        row([
            format!(
                "Lambda cold start, {}, under `{runner}` ({} runs; emulated)",
                l["arch"].as_str().unwrap_or("?"),
                l["runs"]
            ),
            "spawn → first response POSTed; peak RSS, the emulator's included".into(),
            format!(
                "{:.1} ms (without PutRecords {:.1} ms); {:.1} MiB",
                num(l, "total_ms"),
                num(l, "own_ms"),
                num(l, "vmhwm_kib") / 1024.0
            ),
            "the same binary natively, where one is measured".into(),
            String::new(),
            "emulated".into(),
        ]);
    }
    for e in estimates(&native, &emulated) {
        row([
            format!("Lambda cold start, {} (estimated: not run natively)", e.arch),
            "spawn → first response POSTed; peak RSS".into(),
            format!("{:.1} ms; {:.1} MiB", e.start_ms, e.rss_mib),
            format!(
                "{} natively ({:.1} ms, {:.1} MiB), scaled by the two binaries under emulation: {:.2}× its time without PutRecords, {:+.1} MiB",
                e.baseline, e.baseline_start_ms, e.baseline_rss_mib, e.own_ratio, e.rss_delta_mib
            ),
            format!("{:.2}×; {:.2}×", e.start_ms / LAMBDA_MAX_START_MS, e.rss_mib / LAMBDA_MAX_RSS_MIB),
            if e.start_ms < LAMBDA_MAX_START_MS && e.rss_mib < LAMBDA_MAX_RSS_MIB {
                "within both targets (estimated)".into()
            } else {
                "**over a target** (estimated)".into()
            },
        ]);
    }
    for l in native {
        let total = num(l, "total_ms");
        let rss = num(l, "vmhwm_kib") / 1024.0;
        row([
            format!(
                "Lambda cold start, {} ({} runs{}{})",
                l["arch"].as_str().unwrap_or("?"),
                l["runs"],
                if l["trust_store"] == "al2023" { "; trust store laid out as on AL2023" } else { "" },
                match l["failed_runs"].as_array().map_or(0, Vec::len) {
                    0 => String::new(),
                    n => format!(", {n} failed: see the emulator's output"),
                }
            ),
            "spawn → first response POSTed".into(),
            format!(
                "{total:.1} ms (init {:.1} ms to the first `next`, request {:.1} ms, of which PutRecords on moto {:.1} ms)",
                num(l, "init_ms"),
                num(l, "request_ms"),
                num(l, "kinesis_ms")
            ),
            format!("target < {LAMBDA_MAX_START_MS} ms"),
            format!("{:.2}×", total / LAMBDA_MAX_START_MS),
            met(total < LAMBDA_MAX_START_MS).into(),
        ]);
        let own = num(l, "own_ms");
        row([
            format!("Lambda cold start, {}", l["arch"].as_str().unwrap_or("?")),
            "the same, without the PutRecords round trip to moto".into(),
            format!("{own:.1} ms"),
            format!("target < {LAMBDA_MAX_START_MS} ms"),
            format!("{:.2}×", own / LAMBDA_MAX_START_MS),
            met(own < LAMBDA_MAX_START_MS).into(),
        ]);
        row([
            format!("Lambda cold start, {}", l["arch"].as_str().unwrap_or("?")),
            "peak RSS (VmHWM) after the first request".into(),
            format!("{rss:.1} MiB"),
            format!("target < {LAMBDA_MAX_RSS_MIB} MiB"),
            format!("{:.2}×", rss / LAMBDA_MAX_RSS_MIB),
            met(rss < LAMBDA_MAX_RSS_MIB).into(),
        ]);
    }
    t
}

/// A binary that could only run under an emulator, estimated from one that ran both natively and
/// under the same emulator: its own time (without the PutRecords round trip, which the emulator does
/// not slow) scaled by the ratio of the two under emulation, plus the native PutRecords time; its
/// peak RSS as the native one's plus the difference of the two under emulation (the emulator's own
/// memory cancels out).
#[derive(Debug, PartialEq)]
pub struct Estimate {
    pub arch: String,
    pub baseline: String,
    pub baseline_start_ms: f64,
    pub baseline_rss_mib: f64,
    pub own_ratio: f64,
    pub rss_delta_mib: f64,
    pub start_ms: f64,
    pub rss_mib: f64,
}

/// One [`Estimate`] per emulated binary with no native run, against a binary that has both (the
/// first found).
pub fn estimates(native: &[&Value], emulated: &[&Value]) -> Vec<Estimate> {
    let arch = |l: &Value| l["arch"].as_str().unwrap_or("?").to_string();
    let Some((base, base_emulated)) =
        native.iter().find_map(|n| emulated.iter().find(|e| arch(e) == arch(n)).map(|e| (*n, *e)))
    else {
        return Vec::new();
    };
    let rss = |l: &Value| num(l, "vmhwm_kib") / 1024.0;
    emulated
        .iter()
        .filter(|e| !native.iter().any(|n| arch(n) == arch(e)))
        .map(|e| {
            let own_ratio = num(e, "own_ms") / num(base_emulated, "own_ms");
            let rss_delta_mib = rss(e) - rss(base_emulated);
            Estimate {
                arch: arch(e),
                baseline: arch(base),
                baseline_start_ms: num(base, "total_ms"),
                baseline_rss_mib: rss(base),
                own_ratio,
                rss_delta_mib,
                start_ms: num(base, "own_ms") * own_ratio + num(base, "kinesis_ms"),
                rss_mib: rss(base) + rss_delta_mib,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(-1000.0), "-1,000");
        assert_eq!(thousands(f64::NAN), "n/a");
    }

    fn cold_start(arch: &str, runner: Option<&str>, own_ms: f64, kinesis_ms: f64, rss_mib: f64) -> Value {
        serde_json::json!({
            "bench": "lambda", "arch": arch, "runner": runner, "runs": 9, "failed_runs": [],
            "init_ms": 1.0, "request_ms": 1.0, "own_ms": own_ms, "kinesis_ms": kinesis_ms,
            "total_ms": own_ms + kinesis_ms, "vmhwm_kib": rss_mib * 1024.0,
        })
    }

    #[test]
    fn an_emulated_only_binary_is_estimated_from_one_run_both_ways() {
        let lines = [
            cold_start("x86_64", None, 10.0, 8.0, 13.0),
            cold_start("x86_64", Some("/usr/bin/qemu-x86_64"), 200.0, 9.0, 40.0),
            cold_start("arm64", Some("/usr/bin/qemu-aarch64"), 300.0, 10.0, 45.0),
        ];
        let (native, emulated): (Vec<&Value>, Vec<&Value>) = lines.iter().partition(|l| l["runner"].is_null());
        let [e] = &estimates(&native, &emulated)[..] else { panic!("one estimate, for arm64") };
        assert_eq!(e.arch, "arm64");
        assert_eq!(e.baseline, "x86_64");
        assert!((e.own_ratio - 1.5).abs() < 1e-9);
        assert!((e.start_ms - (10.0 * 1.5 + 8.0)).abs() < 1e-9, "PutRecords is not scaled: {}", e.start_ms);
        assert!((e.rss_mib - 18.0).abs() < 1e-9, "the emulator's memory cancels out: {}", e.rss_mib);

        let table = render(&lines);
        assert!(table.contains("arm64 (estimated: not run natively)"), "{table}");
        assert!(table.contains("23.0 ms; 18.0 MiB"), "{table}");
        assert!(table.contains("**over a target** (estimated)"), "23 ms is over 20: {table}");
        assert!(table.contains("under `qemu-aarch64` (9 runs; emulated)"), "{table}");
    }

    #[test]
    fn no_estimate_without_a_binary_run_both_ways() {
        let lines =
            [cold_start("x86_64", None, 10.0, 8.0, 13.0), cold_start("arm64", Some("qemu-aarch64"), 300.0, 10.0, 45.0)];
        let (native, emulated): (Vec<&Value>, Vec<&Value>) = lines.iter().partition(|l| l["runner"].is_null());
        assert_eq!(estimates(&native, &emulated), []);
        assert!(!render(&lines).contains("estimated"));
    }
}
