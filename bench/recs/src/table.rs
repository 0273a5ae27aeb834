//! The one markdown table `bench/recs/run` prints, from the JSON lines each benchmark wrote.

use std::fmt::Write;

use serde_json::Value;

use crate::{median, RequestKind};

/// Targets from the issue.
pub const INPROC_MAX_P99_US: f64 = 1_000.0;
pub const HTTP_MAX_P99_MS: f64 = 10.0;
pub const HTTP_TARGET_RATE: f64 = 2_000.0;

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

fn num(v: &Value, path: &str) -> f64 {
    v.pointer(path).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

fn range(values: &[f64], digits: usize) -> String {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{lo:.digits$}–{hi:.digits$}")
}

fn floats(v: &Value, path: &str) -> Vec<f64> {
    v.pointer(path).and_then(Value::as_array).map_or(Vec::new(), |a| a.iter().filter_map(Value::as_f64).collect())
}

/// `kind: strategy n, strategy n` for every kind of the mix.
fn strategies(v: &Value) -> String {
    RequestKind::ALL
        .iter()
        .filter_map(|k| {
            let s = v.get(k.key())?.as_object()?;
            let parts: Vec<String> = s.iter().map(|(name, n)| format!("{name} {n}")).collect();
            Some(format!("{}: {}", k.as_str(), parts.join(", ")))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `kind p50/p99` for every kind of the mix.
fn per_kind(v: &Value, unit: &str, digits: usize) -> String {
    RequestKind::ALL
        .iter()
        .filter_map(|k| {
            let p = v.get(k.key())?;
            Some(format!("{} {:.digits$} / {:.digits$}{unit}", k.as_str(), num(p, "/p50"), num(p, "/p99")))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Renders every result line it knows (`bench`: `proc`, `inproc`, `http`).
pub fn render(lines: &[Value]) -> String {
    let of = |kind: &str| -> Vec<&Value> { lines.iter().filter(|l| l["bench"] == kind).collect() };
    let mut t = String::new();
    t.push_str("| benchmark | figure | measured (median) | baseline or target | ratio | verdict |\n");
    t.push_str("|---|---|--:|---|--:|---|\n");
    let mut row = |cells: [String; 6]| {
        let _ = writeln!(t, "| {} |", cells.join(" | "));
    };

    for r in of("proc") {
        let s = &r["stream"];
        let counts = s["event_counts"].as_object().map_or(String::new(), |m| {
            m.iter()
                .map(|(k, n)| format!("{} {k}", thousands(n.as_f64().unwrap_or(f64::NAN))))
                .collect::<Vec<_>>()
                .join(", ")
        });
        row([
            "processor, the generated clickstream".into(),
            "data set".into(),
            format!(
                "{} events ({counts}); {} shoppers, {} skus ({} viewed), {} orders of {:.1} lines; {:.0} bytes per stored record; {} pages of ≤ {}",
                thousands(num(s, "/events")),
                s["shoppers"],
                s["skus"],
                s["skus_viewed"],
                s["orders"],
                num(s, "/order_lines") / num(s, "/orders"),
                num(s, "/record_bytes_mean"),
                s["pages"],
                s["batch"]
            ),
            format!("{} rounds, the three alternated", r["rounds"]),
            String::new(),
            String::new(),
        ]);
        let decode = num(r, "/decode/eps_per_core");
        let base = format!(
            "decode alone (`serde_json::from_slice::<Value>` per record): {} events/s per core",
            thousands(decode)
        );
        for (store, label) in [
            ("memory", "`MemoryStore` (the model's CPU)"),
            ("sqlite", "`SqliteStateStore` on disk (the local server's)"),
        ] {
            let ratios = floats(r, &format!("/{store}_over_decode_rounds"));
            row([
                format!("processor, {label}, batches of {}", s["batch"]),
                "events/s per core (CPU time, all threads); wall".into(),
                format!(
                    "{} events/s per core ({}); wall {} events/s, CPU {:.0}% of wall",
                    thousands(num(r, &format!("/{store}/eps_per_core"))),
                    floats(r, &format!("/{store}/eps_per_core_rounds"))
                        .iter()
                        .map(|x| thousands(*x))
                        .collect::<Vec<_>>()
                        .join(", "),
                    thousands(num(r, &format!("/{store}/eps_wall"))),
                    100.0 * num(r, &format!("/{store}/cpu_per_wall"))
                ),
                base.clone(),
                format!("{:.3}× (rounds {})", median(&ratios), range(&ratios, 3)),
                String::new(),
            ]);
        }
        let sm = floats(r, "/sqlite_over_memory_rounds");
        let us = |eps: f64| 1e6 / eps;
        let (sql_us, mem_us, dec_us, dv_us) = (
            us(num(r, "/sqlite/eps_per_core")),
            us(num(r, "/memory/eps_per_core")),
            us(decode),
            us(num(r, "/decode_validate/eps_per_core")),
        );
        // The SQLite store's calls, wall time per event (median round).
        let events = num(s, "/events");
        let stores = r.pointer("/sqlite/store_rounds").and_then(Value::as_array).cloned().unwrap_or_default();
        let med = |key: &str| median(&stores.iter().map(|x| num(x, &format!("/{key}"))).collect::<Vec<_>>());
        row([
            "processor, where the time goes".into(),
            "CPU µs per event; SQLite's calls in wall µs per event".into(),
            format!(
                "SQLite {sql_us:.1} µs = memory {mem_us:.1} (of which `personalize::decode`, parse + validate, {dv_us:.1}; the plain parse {dec_us:.1}) + storage {:.1} (SQLite, and JSON in and out of it); SQLite calls: load {:.1} ({:.0} calls, {:.0} keys), applied {:.1}, commit {:.1} ({:.0} commits, {:.0} records written); state {:.1} MiB",
                sql_us - mem_us,
                1e6 * med("load_s") / events,
                med("load_calls"),
                med("load_keys"),
                1e6 * med("applied_s") / events,
                1e6 * med("commit_s") / events,
                med("commits"),
                med("commit_records"),
                num(r, "/state_bytes") / 1024.0 / 1024.0
            ),
            "SQLite ÷ memory, events/s per core".into(),
            format!("{:.2}× (rounds {})", median(&sm), range(&sm, 2)),
            String::new(),
        ]);
        // What the same commits cost on DynamoDB (the adapter's transactions: two units per started
        // KB of each item written, markers included): the on-demand bill's main line.
        let (wcu, rcu) = (med("commit_wcu"), med("read_rcu"));
        row([
            format!("processor's reads and writes as DynamoDB would bill them, batches of {}", s["batch"]),
            "capacity units per event: writes (transactional), reads (strongly consistent)".into(),
            format!(
                "{:.1} WCU per event ({:.0} WCU in {:.0} commits; {:.2} records written per event, and its marker); {:.1} RCU per event ({:.0}: loads and applied-event checks)",
                wcu / events,
                wcu,
                med("commits"),
                med("commit_records") / events,
                rcu / events,
                rcu
            ),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }

    for r in of("inproc") {
        let p = &r["sqlite"]["latency_us"];
        let p99 = num(p, "/p99");
        row([
            format!(
                "recommendations in process, `SqliteStateStore`, item cache {} ms (as served), {} calls",
                personalize::recommend::ITEM_CACHE_TTL.as_millis(),
                r["calls"]
            ),
            "`Recommender::recommend` latency p50 / p90 / p99 / p99.9 / max".into(),
            format!(
                "{:.0} / {:.0} / {:.0} / {:.0} / {:.0} µs; {:.0} µs CPU per call; {:.1} items per answer",
                num(p, "/p50"),
                num(p, "/p90"),
                p99,
                num(p, "/p999"),
                num(p, "/max"),
                num(r, "/sqlite/cpu_us_per_call"),
                num(r, "/sqlite/items_per_answer")
            ),
            format!("target p99 < {INPROC_MAX_P99_US:.0} µs"),
            format!("{:.2}×", p99 / INPROC_MAX_P99_US),
            format!("{} (target p99 < 1 ms)", met(p99 < INPROC_MAX_P99_US)),
        ]);
        row([
            "recommendations in process, `SqliteStateStore`, per kind".into(),
            "p50 / p99".into(),
            per_kind(&r["sqlite_by_kind_us"], " µs", 0),
            "mix: home known 30%, product popular 25%, product rare 15%, cart of 3 20%, unknown shopper 10%".into(),
            String::new(),
            String::new(),
        ]);
        let m = &r["uncached"]["latency_us"];
        row([
            "recommendations in process, `SqliteStateStore` without the item cache (before)".into(),
            "p50 / p99".into(),
            format!(
                "{:.0} / {:.0} µs; {:.0} µs CPU per call",
                num(m, "/p50"),
                num(m, "/p99"),
                num(r, "/uncached/cpu_us_per_call")
            ),
            "cached ÷ uncached, p99".into(),
            format!("{:.2}×", p99 / num(m, "/p99")),
            String::new(),
        ]);
        row([
            "recommendations in process, strategies served".into(),
            "per kind of request".into(),
            strategies(&r["strategies"]),
            "expected: home known → personalized; product → bought_together / also_viewed; cart → cart_complements; unknown → trending".into(),
            String::new(),
            String::new(),
        ]);
    }

    for (i, r) in of("http").into_iter().enumerate() {
        let l = &r["latency_ms"];
        let p99 = num(l, "/p99");
        let rate = num(r, "/rate");
        let errors = num(r, "/non_200") + num(r, "/io_errors");
        row([
            format!(
                "recommendations over loopback HTTP, `shopstream serve`, {} req/s open loop for {} s, {} connections",
                thousands(rate),
                r["duration_s"],
                r["connections"]
            ),
            "latency from the intended send time p50 / p90 / p99 / p99.9 / max".into(),
            format!(
                "{:.2} / {:.2} / {:.2} / {:.2} / {:.1} ms",
                num(l, "/p50"),
                num(l, "/p90"),
                p99,
                num(l, "/p999"),
                num(l, "/max")
            ),
            format!("target p99 < {HTTP_MAX_P99_MS:.0} ms at {} req/s", thousands(HTTP_TARGET_RATE)),
            format!("{:.2}×", p99 / HTTP_MAX_P99_MS),
            if rate == HTTP_TARGET_RATE {
                let errors = if errors > 0.0 { format!("; {errors} errors") } else { String::new() };
                format!("{}{errors}", met(p99 < HTTP_MAX_P99_MS && errors.is_empty()))
            } else {
                "diagnostic (another rate)".into()
            },
        ]);
        row([
            "recommendations over loopback HTTP".into(),
            "achieved rate; answers; CPU".into(),
            format!(
                "{} req/s; {} sent, {} answered 200, {} other status, {} I/O errors; server {:.0}% of a core ({:.0} µs CPU per request), client {:.0}%, whole machine {:.0}% of 200%",
                thousands(num(r, "/achieved_rate")),
                r["sent"],
                r["ok"],
                r["non_200"],
                r["io_errors"],
                num(r, "/server_cpu_pct"),
                num(r, "/server_cpu_us_per_request"),
                num(r, "/client_cpu_pct"),
                num(r, "/machine_cpu_pct")
            ),
            format!("scheduled {} req/s", thousands(rate)),
            format!("{:.3}×", num(r, "/achieved_rate") / rate),
            String::new(),
        ]);
        row([
            "recommendations over loopback HTTP, per kind".into(),
            "p50 / p99".into(),
            per_kind(&r["by_kind_ms"], " ms", 2),
            "strategies served: ".to_string() + &strategies(&r["strategies"]),
            String::new(),
            String::new(),
        ]);
        if i > 0 {
            continue; // one server, seeded once, for every rate
        }
        let s = &r["seed"];
        row([
            "loopback HTTP, seeding".into(),
            "`POST /v1/events` of the stream, then the local processor catching up".into(),
            format!(
                "{} events in {} batches posted in {:.1} s ({} events/s); all applied {:.1} s after the first POST ({} events/s end to end); server CPU {:.1} s ({:.0} µs per event, ingest + processor)",
                thousands(num(s, "/events")),
                s["batches"],
                num(s, "/posted_s"),
                thousands(num(s, "/events") / num(s, "/posted_s")),
                num(s, "/applied_s"),
                thousands(num(s, "/events") / num(s, "/applied_s")),
                num(s, "/server_cpu_s"),
                1e6 * num(s, "/server_cpu_s") / num(s, "/events")
            ),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(f64::NAN), "n/a");
    }
}
