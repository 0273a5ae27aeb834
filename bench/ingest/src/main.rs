//! `ingest-bench`: the in-process ingest benchmark and the helpers `bench/ingest/run` calls.
//!
//! - `inproc`: events/s of `Ingest::ingest` (parse, validate, enrich, encode for Kinesis) on one
//!   thread, alternated in rounds with a baseline (`serde_json::from_slice::<Value>` of the same
//!   bytes), plus the time of each stage, to see where it goes.
//! - `template`: a batch body with `@@ID@@` where each `event_id` goes (for wrk's Lua script).
//! - `store`: the local server's write path alone: `SqliteEventLog::append` of 100 events (one
//!   transaction, fsync) and a bare `fdatasync` in the same directory.
//! - `table`: the markdown table of the JSON lines the benchmarks wrote.

use std::hint::black_box;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use clap::{Parser, Subcommand};
use event_schema::validate::{validate_batch, validate_event, validate_raw_event, ValidationOptions};
use event_schema::Timestamp;
use ingest_bench::{
    block_on, calibrate, encode_for_kinesis, median, now, time, tracker_batch, uuid_v7, KinesisEncodingSink, CHROME_UA,
    ID_PLACEHOLDER,
};
use ingest_domain::{enrich, EnrichedEvent, FixedClock, Ingest, RequestContext};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

#[derive(Parser)]
#[command(name = "ingest-bench", about = "Shopstream ingest benchmarks (see bench/README.md)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Events/s per core through the ingest, against serde_json::Value parsing of the same bytes.
    Inproc {
        /// Rounds; each runs the ingest and the baseline once (in alternating order).
        #[arg(long, default_value_t = 21)]
        rounds: usize,
        /// Time per benchmark per round (ms).
        #[arg(long, default_value_t = 200)]
        round_ms: u64,
        #[arg(long, default_value_t = 100)]
        events: usize,
        /// Only loop the ingest for this many seconds (for `perf record`), no figures.
        #[arg(long)]
        profile_secs: Option<u64>,
        /// Append the result (one JSON line) to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Prints a batch body whose event ids are `@@ID@@`, timestamps from now.
    Template {
        #[arg(long, default_value_t = 100)]
        events: usize,
    },
    /// The local store's write of one batch (transaction + fsync), and a bare fdatasync.
    Store {
        /// Directory to write in (a fresh `store-bench` subdirectory is used and removed).
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 200)]
        batches: usize,
        #[arg(long, default_value_t = 100)]
        events: usize,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Prints the markdown table of the results (JSON lines) in these files.
    Table { files: Vec<PathBuf> },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Inproc { rounds, round_ms, events, profile_secs, out } => {
            inproc(rounds, Duration::from_millis(round_ms), events, profile_secs, out)
        }
        Command::Template { events } => {
            println!("{}", tracker_batch(events, now(), |_| ID_PLACEHOLDER.into()));
            Ok(())
        }
        Command::Store { dir, batches, events, out } => store(dir, batches, events, out),
        Command::Table { files } => {
            let mut lines = Vec::new();
            for f in files {
                let text = std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    lines.push(serde_json::from_str(line).with_context(|| format!("{}: {line}", f.display()))?);
                }
            }
            print!("{}", ingest_bench::table::render(&lines));
            Ok(())
        }
    }
}

fn emit(out: Option<&PathBuf>, result: &Value) -> anyhow::Result<()> {
    println!("{result}");
    if let Some(path) = out {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        writeln!(f, "{result}")?;
    }
    Ok(())
}

/// The envelope as `validate_batch` reads a valid batch: a UTF-8 check, then one pass (the events'
/// texts).
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    #[allow(dead_code)]
    sent_at: Option<&'a RawValue>,
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
}

fn envelope_pass(body: &[u8]) -> Vec<&RawValue> {
    let text = std::str::from_utf8(body).expect("utf-8");
    let env: Envelope<'_> = serde_json::from_str(text).expect("envelope");
    env.events
}

/// A named step of the ingest, timed on its own.
type Stage<'a> = (&'static str, Box<dyn Fn() + 'a>);

fn inproc(
    rounds: usize,
    round: Duration,
    events: usize,
    profile_secs: Option<u64>,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    let sent_at = now();
    let received_at = Timestamp(sent_at.0 + 180);
    let body = tracker_batch(events, sent_at, |i| uuid_v7(sent_at, 0x0b1, i as u64)).into_bytes();
    let ingest = Ingest::new(Arc::new(KinesisEncodingSink), Arc::new(FixedClock(received_at)));
    let request = RequestContext {
        client_ip: Some("198.51.100.23".parse::<IpAddr>()?),
        user_agent: Some(CHROME_UA.into()),
        viewer_country: Some("DE".into()),
        bearer_token: None,
        site: Some("shop".into()),
    };
    // The cold costs a fresh process (a Lambda's first request) pays: the user agent parser's
    // first call (woothee builds its tables and regexes), then the first whole batch.
    let started = Instant::now();
    black_box(enrich::user_agent(Some(CHROME_UA)));
    let first_user_agent_us = started.elapsed().as_secs_f64() * 1e6;
    let started = Instant::now();
    let report = block_on(ingest.ingest(&body, &request))?;
    let first_ingest_us = started.elapsed().as_secs_f64() * 1e6;
    ensure!(report.accepted == events && report.rejected.is_empty(), "the batch must be accepted whole: {report:?}");

    let run_ingest = || {
        black_box(block_on(ingest.ingest(black_box(&body), &request)).ok());
    };
    if let Some(secs) = profile_secs {
        let until = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < until {
            run_ingest();
        }
        return Ok(());
    }
    let run_baseline = || {
        black_box(serde_json::from_slice::<Value>(black_box(&body)).ok());
    };

    // The stages, measured apart on prepared inputs (what `Ingest::ingest` does in order).
    let opts = ValidationOptions::at(received_at);
    let raw_events = envelope_pass(&body);
    let values: Vec<Value> = raw_events.iter().map(|r| serde_json::from_str(r.get()).expect("event")).collect();
    let accepted = validate_batch(&body, &opts).expect("valid").accepted;
    // As `Ingest::ingest` enriches: the request's edge context (its user agent parse) once per batch.
    let enrich_all = || -> Vec<EnrichedEvent> {
        let request_edge = enrich::edge_context(&request, None);
        accepted
            .iter()
            .cloned()
            .map(|mut event| {
                let client_occurred_at = event.occurred_at;
                event.occurred_at = enrich::corrected_time(event.occurred_at, sent_at, received_at);
                let claimed_user_id = event.user_id.take();
                let event_ua = event.context.as_ref().and_then(|c| c.user_agent.as_deref());
                let edge = match event_ua {
                    Some(ua) if Some(ua) != request.user_agent.as_deref() => enrich::edge_context(&request, Some(ua)),
                    _ => request_edge.clone(),
                };
                EnrichedEvent { event, client_occurred_at, claimed_user_id, received_at, sent_at, edge }
            })
            .collect()
    };
    let enriched = enrich_all();
    let stages: Vec<Stage<'_>> = vec![
        (
            "validate_batch",
            Box::new(|| {
                black_box(validate_batch(black_box(&body), &opts).ok());
            }),
        ),
        (
            "envelope",
            Box::new(|| {
                black_box(envelope_pass(black_box(&body)));
            }),
        ),
        (
            // What validate_batch does for each event: its parse (into the validator's own tree)
            // and validation.
            "event_validate_raw",
            Box::new(|| {
                for r in &raw_events {
                    black_box(validate_raw_event(black_box(r.get()), &opts).ok());
                }
            }),
        ),
        (
            // For comparison: a `serde_json::Value` parse of each event alone.
            "event_value_parse",
            Box::new(|| {
                for r in &raw_events {
                    black_box(serde_json::from_str::<Value>(black_box(r.get())).ok());
                }
            }),
        ),
        (
            // The validation of a `Value` already parsed (the processor's path).
            "validate_event",
            Box::new(|| {
                for v in &values {
                    black_box(validate_event(black_box(v), &opts).ok());
                }
            }),
        ),
        (
            "clone_accepted",
            Box::new(|| {
                black_box(accepted.clone());
            }),
        ),
        (
            "enrich",
            Box::new(|| {
                black_box(enrich_all());
            }),
        ),
        (
            "user_agent_parse",
            Box::new(|| {
                black_box(enrich::user_agent(black_box(Some(CHROME_UA))));
            }),
        ),
        (
            "kinesis_encode",
            Box::new(|| {
                let (entries, sizes) = encode_for_kinesis(black_box(&enriched)).expect("encode");
                black_box((entries, ingest_kinesis::plan_chunks(&sizes).ok()));
            }),
        ),
        (
            "to_json",
            Box::new(|| {
                for e in &enriched {
                    black_box(e.to_json().ok());
                }
            }),
        ),
    ];

    // Warm up, then size each benchmark to about `round`.
    let ingest_iters = calibrate(round, run_ingest);
    let baseline_iters = calibrate(round, run_baseline);
    let stage_iters: Vec<u64> = stages.iter().map(|(_, f)| calibrate(round / 4, f)).collect();

    let mut ingest_eps = Vec::new();
    let mut baseline_eps = Vec::new();
    let mut stage_us: Vec<Vec<f64>> = vec![Vec::new(); stages.len()];
    for r in 0..rounds {
        let mut pair = [(true, ingest_iters), (false, baseline_iters)];
        if r % 2 == 1 {
            pair.reverse();
        }
        for (is_ingest, iters) in pair {
            if is_ingest {
                ingest_eps.push((iters * events as u64) as f64 / time(iters, run_ingest));
            } else {
                baseline_eps.push((iters * events as u64) as f64 / time(iters, run_baseline));
            }
        }
        for (i, (_, f)) in stages.iter().enumerate() {
            stage_us[i].push(time(stage_iters[i], f) * 1e6 / stage_iters[i] as f64);
        }
        let (a, b) = (ingest_eps[r], baseline_eps[r]);
        eprintln!("inproc round {r}: ingest {a:.0} events/s, baseline {b:.0} events/s, ratio {:.3}", a / b);
    }
    let ratios: Vec<f64> = ingest_eps.iter().zip(&baseline_eps).map(|(a, b)| a / b).collect();
    let stage_map: serde_json::Map<String, Value> =
        stages.iter().zip(&stage_us).map(|((name, _), us)| ((*name).to_string(), json!(median(us)))).collect();
    let result = json!({
        "bench": "inproc",
        "events_per_batch": events,
        "body_bytes": body.len(),
        "rounds": rounds,
        "ingest_eps": median(&ingest_eps),
        "baseline_eps": median(&baseline_eps),
        "ratio_of_medians": median(&ingest_eps) / median(&baseline_eps),
        "median_round_ratio": median(&ratios),
        "ingest_us_per_batch": 1e6 * events as f64 / median(&ingest_eps),
        "baseline_us_per_batch": 1e6 * events as f64 / median(&baseline_eps),
        "stages_us_per_batch": stage_map,
        "first_user_agent_us": first_user_agent_us,
        "first_ingest_us": first_ingest_us,
        "ingest_eps_rounds": ingest_eps,
        "baseline_eps_rounds": baseline_eps,
    });
    emit(out.as_ref(), &result)
}

fn store(dir: PathBuf, batches: usize, events: usize, out: Option<PathBuf>) -> anyhow::Result<()> {
    let work = dir.join("store-bench");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let sent_at = now();
    let received_at = Timestamp(sent_at.0 + 180);
    let request = RequestContext {
        client_ip: Some("198.51.100.23".parse::<IpAddr>()?),
        user_agent: Some(CHROME_UA.into()),
        ..RequestContext::default()
    };
    let log = sqlite_store::SqliteEventLog::open(&work.join("data"))?;
    let opts = ValidationOptions::at(received_at);
    let mut append_ms = Vec::new();
    for b in 0..batches {
        let body = tracker_batch(events, sent_at, |i| uuid_v7(sent_at, 0x570, (b * events + i) as u64));
        let enriched: Vec<EnrichedEvent> = validate_batch(body.as_bytes(), &opts)?
            .accepted
            .into_iter()
            .map(|event| {
                let mut e = EnrichedEvent::new(event, received_at, sent_at);
                e.edge = enrich::edge_context(&request, None);
                e
            })
            .collect();
        let started = Instant::now();
        let added = log.append(&enriched)?;
        append_ms.push(started.elapsed().as_secs_f64() * 1e3);
        ensure!(added == events, "{added} of {events} stored");
    }
    // A bare durable write of one page in the same file system, as a WAL commit needs at least.
    let probe = work.join("fsync-probe");
    let mut f = std::fs::File::create(&probe)?;
    let page = vec![0u8; 4096];
    let mut fsync_ms = Vec::new();
    for _ in 0..batches {
        f.write_all(&page)?;
        let started = Instant::now();
        f.sync_data()?;
        fsync_ms.push(started.elapsed().as_secs_f64() * 1e3);
    }
    drop(f);
    drop(log);
    std::fs::remove_dir_all(&work)?;
    let p99 = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64 * 0.99).ceil() as usize).clamp(1, v.len()) - 1]
    };
    let result = json!({
        "bench": "store",
        "events_per_batch": events,
        "batches": batches,
        "append_ms_p50": median(&append_ms),
        "append_ms_p99": p99(&append_ms),
        "append_ms_max": append_ms.iter().copied().fold(0.0, f64::max),
        "appends_over_10ms": append_ms.iter().filter(|&&ms| ms > 10.0).count(),
        "fdatasync_ms_p50": median(&fsync_ms),
        "fdatasync_ms_p99": p99(&fsync_ms),
        "ceiling_eps": events as f64 * 1e3 / median(&append_ms),
    });
    emit(out.as_ref(), &result)
}
