//! `recs-bench`: the stream processor's and the recommendations API's benchmarks, and the helpers
//! `bench/recs/run` calls.
//!
//! - `proc`: events/s per core of `Processor::process` on the generated clickstream, in batches of
//!   the local task's size, on `SqliteStateStore` (on disk) and on `MemoryStore`, alternated in
//!   rounds with a baseline (`serde_json::from_slice::<Value>` of the same records).
//! - `inproc`: `Recommender::recommend` latency for a mix of placements, on the loaded state.
//! - `http`: `shopstream serve` seeded over `POST /v1/events`, then `GET /v1/recommendations` at a
//!   fixed rate, open loop, latency from each request's intended send time.
//! - `table`: the markdown table of the JSON lines the benchmarks wrote.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use async_trait::async_trait;
use clap::{Parser, Subcommand};
use event_schema::Timestamp;
use ingest_domain::{Clock, Ingest, RequestContext, SystemClock};
use personalize::model::{Key, Versioned};
use personalize::recommend::ITEM_CACHE_TTL;
use personalize::store::{Commit, StoreError};
use personalize::{InputRecord, MemoryStore, Processor, RecRequest, Recommender, StateStore};
use recs_bench::http::{strategy_of, Connection};
use recs_bench::{
    generate, machine_ticks, median, now_ms, percentiles, pid_cpu_secs, process_cpu, query_pairs, request_mix,
    Clickstream, RequestKind, StreamConfig, CHROME_UA, SEED_BATCH,
};
use serde_json::{json, Value};
use shopstream::{PROCESSOR_BATCH, PROCESSOR_CONSUMER};
use sqlite_store::{SqliteEventLog, SqliteStateStore};

#[derive(Parser)]
#[command(name = "recs-bench", about = "Shopstream processor and recommendations benchmarks (see bench/README.md)")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Args, Clone, Copy)]
struct StreamArgs {
    /// Shoppers in the generated clickstream.
    #[arg(long, default_value_t = 2_000)]
    shoppers: usize,
    /// Skus in the catalogue (Zipf popularity, 10 categories).
    #[arg(long, default_value_t = 500)]
    skus: usize,
    #[arg(long, default_value_t = 0x5eed_2026)]
    seed: u64,
}

impl StreamArgs {
    fn config(self, end_ms: i64) -> StreamConfig {
        let mut c = StreamConfig::new(end_ms);
        c.shoppers = self.shoppers;
        c.skus = self.skus;
        c.seed = self.seed;
        c
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Processor events/s per core (SQLite on disk, memory), against decoding the same records.
    Proc {
        #[command(flatten)]
        stream: StreamArgs,
        /// Rounds; each runs the decode baseline, the memory store and the SQLite store once.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Scratch directory (on disk: the state store's fsyncs are part of the figure).
        #[arg(long)]
        dir: PathBuf,
        /// After setup, print `ready` and only run the SQLite store for this many seconds (for
        /// `perf record -p`), no figures.
        #[arg(long)]
        profile_secs: Option<f64>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Recommender::recommend latency in process, SQLite store (and memory, a diagnostic).
    Inproc {
        #[command(flatten)]
        stream: StreamArgs,
        /// Calls per store.
        #[arg(long, default_value_t = 20_000)]
        calls: usize,
        #[arg(long)]
        dir: PathBuf,
        /// After loading, print `ready` and only call the SQLite store for this many seconds (for
        /// `perf record -p`), no figures.
        #[arg(long)]
        profile_secs: Option<f64>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// `shopstream serve` over loopback: seed over POST /v1/events, then GET /v1/recommendations
    /// at a fixed rate, open loop.
    Http {
        #[command(flatten)]
        stream: StreamArgs,
        /// The `shopstream` binary (release).
        #[arg(long)]
        server: PathBuf,
        #[arg(long)]
        dir: PathBuf,
        /// Requests per second, constant-rate schedule; several (comma-separated) are run one after
        /// the other on the same seeded server, each with its warm-up.
        #[arg(long, value_delimiter = ',', default_value = "2000")]
        rates: Vec<f64>,
        /// Measured seconds.
        #[arg(long, default_value_t = 20.0)]
        duration: f64,
        /// Unrecorded seconds at the same rate first.
        #[arg(long, default_value_t = 3.0)]
        warmup: f64,
        /// Keep-alive connections (each has its share of the schedule, like wrk2).
        #[arg(long, default_value_t = 16)]
        connections: usize,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Prints the markdown table of the results (JSON lines) in these files.
    Table { files: Vec<PathBuf> },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Proc { stream, rounds, dir, profile_secs, out } => proc(stream, rounds, &dir, profile_secs, out),
        Cmd::Inproc { stream, calls, dir, profile_secs, out } => inproc(stream, calls, &dir, profile_secs, out),
        Cmd::Http { stream, server, dir, rates, duration, warmup, connections, out } => {
            http(stream, &server, &dir, &rates, duration, warmup, connections, out)
        }
        Cmd::Table { files } => {
            let mut lines: Vec<Value> = Vec::new();
            for f in files {
                let text = std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    lines.push(serde_json::from_str(line).with_context(|| format!("{}: {line}", f.display()))?);
                }
            }
            print!("{}", recs_bench::table::render(&lines));
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

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // One thread runs the futures; SQLite's calls go to tokio's blocking pool, as in the server.
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// Runs `f`, returning its result, wall seconds and this process's CPU seconds (all threads).
fn measured<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let (cpu0, wall0) = (process_cpu(), Instant::now());
    let out = f();
    let (wall, cpu) = (wall0.elapsed().as_secs_f64(), (process_cpu() - cpu0).as_secs_f64());
    (out, wall, cpu)
}

fn fresh_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir.to_path_buf())
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

// ---- the records, as the local server stores them ------------------------------------------------

/// A clock the seeding moves: each batch is received at its own `sent_at`.
struct SetClock(AtomicI64);

impl Clock for SetClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::Relaxed))
    }
}

/// One page of the event log, as the local processor task reads it.
struct Page {
    records: Vec<InputRecord>,
    last: i64,
}

/// Puts the stream through the ingest into a `SqliteEventLog` in `dir` (what `shopstream serve`
/// stores for it), then reads it back in pages of the local processor's size, as its task does.
fn log_pages(rt: &tokio::runtime::Runtime, stream: &Clickstream, dir: &Path) -> anyhow::Result<Vec<Page>> {
    let dir = fresh_dir(dir)?;
    let log = SqliteEventLog::open(&dir)?;
    let clock = Arc::new(SetClock(AtomicI64::new(0)));
    let ingest = Ingest::new(Arc::new(log.clone()), clock.clone());
    let request = RequestContext {
        client_ip: Some("198.51.100.23".parse::<IpAddr>()?),
        user_agent: Some(CHROME_UA.into()),
        viewer_country: Some("DE".into()),
        bearer_token: None,
        site: None,
    };
    for (sent_at, n, body) in stream.batches(SEED_BATCH, |last| last) {
        clock.0.store(sent_at, Ordering::Relaxed);
        let report = rt.block_on(ingest.ingest(body.as_bytes(), &request))?;
        ensure!(report.accepted == n && report.rejected.is_empty(), "batch not accepted whole: {:?}", report.rejected);
    }
    let mut pages = Vec::new();
    let mut position = 0;
    loop {
        let rows = log.read_after(position, PROCESSOR_BATCH)?;
        let Some(last) = rows.last().map(|r| r.seq) else { break };
        position = last;
        let records =
            rows.into_iter().map(|r| InputRecord { id: r.seq.to_string(), data: r.json.into_bytes() }).collect();
        pages.push(Page { records, last });
    }
    drop(ingest);
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
    let stored: usize = pages.iter().map(|p| p.records.len()).sum();
    ensure!(stored == stream.events.len(), "{stored} of {} events stored", stream.events.len());
    Ok(pages)
}

// ---- a store that times its calls ----------------------------------------------------------------

/// Wraps a store and adds up the wall time of each kind of call (nanoseconds) and what they carried.
struct Timed {
    inner: Arc<dyn StateStore>,
    load_ns: AtomicU64,
    load_calls: AtomicU64,
    load_keys: AtomicU64,
    applied_ns: AtomicU64,
    commit_ns: AtomicU64,
    commits: AtomicU64,
    commit_records: AtomicU64,
    /// What the same commits would cost on DynamoDB, in write capacity units.
    commit_wcu: AtomicU64,
    /// What the same loads and applied-checks would cost, in (strongly consistent) read units.
    read_rcu: AtomicU64,
}

impl Timed {
    fn new(inner: Arc<dyn StateStore>) -> Self {
        Timed {
            inner,
            load_ns: AtomicU64::new(0),
            load_calls: AtomicU64::new(0),
            load_keys: AtomicU64::new(0),
            applied_ns: AtomicU64::new(0),
            commit_ns: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            commit_records: AtomicU64::new(0),
            commit_wcu: AtomicU64::new(0),
            read_rcu: AtomicU64::new(0),
        }
    }

    fn add(counter: &AtomicU64, since: Instant) {
        counter.fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }

    fn report(&self) -> Value {
        let s = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64 / 1e9;
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "load_s": s(&self.load_ns), "load_calls": n(&self.load_calls), "load_keys": n(&self.load_keys),
            "applied_s": s(&self.applied_ns),
            "commit_s": s(&self.commit_ns), "commits": n(&self.commits), "commit_records": n(&self.commit_records),
            "commit_wcu": n(&self.commit_wcu), "read_rcu": n(&self.read_rcu),
        })
    }
}

#[async_trait]
impl StateStore for Timed {
    async fn load(&self, keys: &[Key]) -> Result<HashMap<Key, Versioned>, StoreError> {
        let t = Instant::now();
        let r = self.inner.load(keys).await;
        Timed::add(&self.load_ns, t);
        if let Ok(found) = &r {
            let rcu = dynamodb_state::load_read_units(keys, found).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            self.read_rcu.fetch_add(rcu, Ordering::Relaxed);
        }
        self.load_calls.fetch_add(1, Ordering::Relaxed);
        self.load_keys.fetch_add(keys.len() as u64, Ordering::Relaxed);
        r
    }

    async fn applied(&self, event_ids: &[String]) -> Result<HashSet<String>, StoreError> {
        let t = Instant::now();
        let r = self.inner.applied(event_ids).await;
        Timed::add(&self.applied_ns, t);
        self.read_rcu.fetch_add(event_ids.len() as u64, Ordering::Relaxed);
        r
    }

    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        let records = commit.records.len() as u64;
        let wcu = dynamodb_state::commit_write_units(&commit).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.commit_wcu.fetch_add(wcu, Ordering::Relaxed);
        let t = Instant::now();
        let r = self.inner.commit(commit).await;
        Timed::add(&self.commit_ns, t);
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.commit_records.fetch_add(records, Ordering::Relaxed);
        r
    }

    fn max_commit_writes(&self) -> usize {
        self.inner.max_commit_writes()
    }

    async fn checkpoint(&self, consumer: &str) -> Result<Option<i64>, StoreError> {
        self.inner.checkpoint(consumer).await
    }
}

/// Every page through `processor`, in order, each with its checkpoint, as the local task does.
async fn process_pages(processor: &Processor, pages: &[Page]) -> anyhow::Result<Value> {
    let (mut applied, mut ignored, mut duplicates, mut commits) = (0, 0, 0, 0);
    for page in pages {
        let outcome = processor.process(&page.records, Some((PROCESSOR_CONSUMER, page.last))).await;
        ensure!(outcome.failed_from.is_none() && outcome.bad == 0, "page ending at {}: {outcome:?}", page.last);
        applied += outcome.applied;
        ignored += outcome.ignored;
        duplicates += outcome.duplicates;
        commits += outcome.commits;
    }
    Ok(json!({"applied": applied, "ignored": ignored, "duplicates": duplicates, "commits": commits}))
}

fn stream_info(stream: &Clickstream, pages: &[Page]) -> Value {
    let events = stream.events.len();
    let bytes: usize = pages.iter().flat_map(|p| &p.records).map(|r| r.data.len()).sum();
    let counts: serde_json::Map<String, Value> =
        stream.counts().into_iter().map(|(k, n)| (k.into(), json!(n))).collect();
    json!({
        "events": events,
        "shoppers": stream.config.shoppers,
        "skus": stream.config.skus,
        "skus_viewed": stream.views.len(),
        "seed": stream.config.seed,
        "event_counts": counts,
        "orders": stream.orders,
        "order_lines": stream.order_lines,
        "carts_of_3": stream.shoppers.iter().filter(|s| s.final_cart.len() == 3).count(),
        "pages": pages.len(),
        "batch": PROCESSOR_BATCH,
        "record_bytes_mean": bytes as f64 / events.max(1) as f64,
    })
}

// ---- 1. the processor ----------------------------------------------------------------------------

/// Tells `bench/recs/run` that setup is done (it then attaches `perf record -p`).
fn ready_for_profile() {
    eprintln!("ready {}", std::process::id());
}

fn proc(args: StreamArgs, rounds: usize, dir: &Path, profile: Option<f64>, out: Option<PathBuf>) -> anyhow::Result<()> {
    let rt = runtime()?;
    let stream = generate(args.config(now_ms() - 60_000));
    let pages = log_pages(&rt, &stream, &dir.join("log"))?;
    let events = stream.events.len() as f64;
    eprintln!("proc: {} events in {} pages of up to {PROCESSOR_BATCH}", stream.events.len(), pages.len());

    let run_sqlite = |round: usize| -> anyhow::Result<(Value, f64, f64, Value, u64)> {
        let state_dir = fresh_dir(&dir.join(format!("state-{round}")))?;
        let sqlite: Arc<dyn StateStore> = Arc::new(SqliteStateStore::open(&state_dir)?);
        let timed = Arc::new(Timed::new(sqlite));
        let processor = Processor::new(timed.clone());
        let (outcome, wall, cpu) = measured(|| rt.block_on(process_pages(&processor, &pages)));
        let bytes = dir_bytes(&state_dir);
        drop(processor);
        let report = timed.report();
        drop(timed);
        let _ = std::fs::remove_dir_all(&state_dir);
        Ok((outcome?, wall, cpu, report, bytes))
    };
    if let Some(secs) = profile {
        // One run first, so tokio's blocking threads (where SQLite runs) exist when perf attaches.
        run_sqlite(0)?;
        ready_for_profile();
        let started = Instant::now();
        while started.elapsed().as_secs_f64() < secs {
            run_sqlite(0)?;
        }
        return Ok(());
    }
    let run_memory = || -> anyhow::Result<(Value, f64, f64, Value)> {
        let timed = Arc::new(Timed::new(Arc::new(MemoryStore::new())));
        let processor = Processor::new(timed.clone());
        let (outcome, wall, cpu) = measured(|| rt.block_on(process_pages(&processor, &pages)));
        Ok((outcome?, wall, cpu, timed.report()))
    };
    let decode = || {
        measured(|| {
            for r in pages.iter().flat_map(|p| &p.records) {
                black_box(serde_json::from_slice::<Value>(black_box(&r.data)).expect("json"));
            }
        })
    };
    let decode_validate = || {
        measured(|| {
            for r in pages.iter().flat_map(|p| &p.records) {
                black_box(personalize::decode(black_box(&r.data)).expect("valid"));
            }
        })
    };

    // Warm: one pass of each, not counted.
    decode();
    run_memory()?;

    #[derive(Default)]
    struct Series {
        cpu_eps: Vec<f64>,
        wall_eps: Vec<f64>,
        util: Vec<f64>,
        stores: Vec<Value>,
    }
    impl Series {
        fn push(&mut self, events: f64, wall: f64, cpu: f64) {
            self.cpu_eps.push(events / cpu);
            self.wall_eps.push(events / wall);
            self.util.push(cpu / wall);
        }
        fn json(&self) -> Value {
            json!({
                "eps_per_core": median(&self.cpu_eps), "eps_wall": median(&self.wall_eps),
                "cpu_per_wall": median(&self.util), "eps_per_core_rounds": self.cpu_eps,
                "eps_wall_rounds": self.wall_eps, "store_rounds": self.stores,
            })
        }
    }
    let (mut base, mut dv, mut mem, mut sql) =
        (Series::default(), Series::default(), Series::default(), Series::default());
    let (mut outcome_mem, mut outcome_sql, mut state_bytes) = (Value::Null, Value::Null, 0);
    for round in 0..rounds {
        // Rotate the order of the three, so drifting machine load falls on each alike.
        for step in 0..3 {
            match (step + round) % 3 {
                0 => {
                    let ((), wall, cpu) = decode();
                    base.push(events, wall, cpu);
                    let ((), wall, cpu) = decode_validate();
                    dv.push(events, wall, cpu);
                }
                1 => {
                    let (outcome, wall, cpu, report) = run_memory()?;
                    mem.push(events, wall, cpu);
                    mem.stores.push(report);
                    outcome_mem = outcome;
                }
                _ => {
                    let (outcome, wall, cpu, report, bytes) = run_sqlite(round)?;
                    sql.push(events, wall, cpu);
                    sql.stores.push(report);
                    outcome_sql = outcome;
                    state_bytes = bytes;
                }
            }
        }
        let r = round;
        eprintln!(
            "proc round {r}: events/s per core: decode {:.0}, memory {:.0}, sqlite {:.0} (sqlite wall {:.0} events/s, CPU {:.0}% of wall)",
            base.cpu_eps[r],
            mem.cpu_eps[r],
            sql.cpu_eps[r],
            sql.wall_eps[r],
            100.0 * sql.util[r]
        );
    }
    ensure!(outcome_mem == outcome_sql, "memory and SQLite disagree: {outcome_mem} vs {outcome_sql}");
    let per_round =
        |a: &Series, b: &Series| -> Vec<f64> { a.cpu_eps.iter().zip(&b.cpu_eps).map(|(x, y)| x / y).collect() };
    let result = json!({
        "bench": "proc",
        "stream": stream_info(&stream, &pages),
        "rounds": rounds,
        "decode": base.json(),
        "decode_validate": dv.json(),
        "memory": mem.json(),
        "sqlite": sql.json(),
        "memory_over_decode_rounds": per_round(&mem, &base),
        "sqlite_over_decode_rounds": per_round(&sql, &base),
        "sqlite_over_memory_rounds": per_round(&sql, &mem),
        "outcome": outcome_sql,
        "state_bytes": state_bytes,
    });
    emit(out.as_ref(), &result)
}

// ---- 2. recommendations in process ---------------------------------------------------------------

fn inproc(
    args: StreamArgs,
    calls: usize,
    dir: &Path,
    profile: Option<f64>,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    let rt = runtime()?;
    let stream = generate(args.config(now_ms() - 60_000));
    let pages = log_pages(&rt, &stream, &dir.join("log"))?;
    let state_dir = fresh_dir(&dir.join("state"))?;
    let sqlite: Arc<dyn StateStore> = Arc::new(SqliteStateStore::open(&state_dir)?);
    let memory: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let (loaded, load_wall, _) = measured(|| rt.block_on(process_pages(&Processor::new(sqlite.clone()), &pages)));
    loaded?;
    rt.block_on(process_pages(&Processor::new(memory.clone()), &pages))?;
    let state_bytes = dir_bytes(&state_dir);
    eprintln!(
        "inproc: state loaded ({} events, {load_wall:.1} s into SQLite, {state_bytes} bytes)",
        stream.events.len()
    );

    let mix: Vec<(RequestKind, RecRequest)> = request_mix(&stream, calls, 0xc0ffee)
        .into_iter()
        .map(|(k, q)| Ok((k, RecRequest::from_query(query_pairs(&q)).map_err(|e| anyhow::anyhow!("{q}: {e}"))?)))
        .collect::<anyhow::Result<_>>()?;
    // As the local server and the Lambda serve (items kept `ITEM_CACHE_TTL`), and without the cache
    // (the first version: every answer reads its items), on the same SQLite store.
    let _ = memory;
    let stores = [
        ("sqlite", Recommender::new(sqlite.clone(), Arc::new(SystemClock)).with_item_cache(ITEM_CACHE_TTL)),
        ("uncached", Recommender::new(sqlite.clone(), Arc::new(SystemClock))),
    ];

    if let Some(secs) = profile {
        ready_for_profile();
        let started = Instant::now();
        let mut i = 0;
        while started.elapsed().as_secs_f64() < secs {
            rt.block_on(stores[0].1.recommend(&mix[i % mix.len()].1))?;
            i += 1;
        }
        return Ok(());
    }
    // Warm-up: the first 1,000 of the mix on each store.
    for (_, recommender) in &stores {
        for (_, req) in mix.iter().take(1_000) {
            rt.block_on(recommender.recommend(req))?;
        }
    }
    // Blocks of 1,000 calls, alternating the stores (ABBA), every call timed on its own.
    let block = 1_000.min(calls.max(1));
    let mut latency_us: [Vec<f64>; 2] = [Vec::with_capacity(calls), Vec::with_capacity(calls)];
    let mut by_kind: BTreeMap<RequestKind, Vec<f64>> = BTreeMap::new();
    let mut strategies: BTreeMap<(RequestKind, String), usize> = BTreeMap::new();
    let mut items = [0usize; 2];
    let mut cpu = [0f64; 2];
    let mut start = 0;
    let mut b = 0;
    while start < calls {
        let end = (start + block).min(calls);
        let order = if b % 2 == 0 { [0, 1] } else { [1, 0] };
        for s in order {
            let recommender = &stores[s].1;
            let cpu0 = process_cpu();
            for (kind, req) in &mix[start..end] {
                let t = Instant::now();
                let answer = rt.block_on(recommender.recommend(req))?;
                let us = t.elapsed().as_secs_f64() * 1e6;
                latency_us[s].push(us);
                items[s] += answer.items.len();
                if s == 0 {
                    by_kind.entry(*kind).or_default().push(us);
                    let strategy = serde_json::to_value(answer.strategy)?.as_str().unwrap_or("?").to_string();
                    *strategies.entry((*kind, strategy)).or_default() += 1;
                }
            }
            cpu[s] += (process_cpu() - cpu0).as_secs_f64();
        }
        start = end;
        b += 1;
    }
    let kinds: serde_json::Map<String, Value> =
        by_kind.iter().map(|(k, v)| (k.key().to_string(), percentiles(v))).collect();
    let mut strategy_map: serde_json::Map<String, Value> = serde_json::Map::new();
    for ((k, s), n) in &strategies {
        let entry = strategy_map.entry(k.key().to_string()).or_insert_with(|| json!({}));
        entry[s] = json!(n);
    }
    let store_json = |s: usize| {
        json!({
            "latency_us": percentiles(&latency_us[s]),
            "cpu_us_per_call": cpu[s] * 1e6 / latency_us[s].len().max(1) as f64,
            "items_per_answer": items[s] as f64 / latency_us[s].len().max(1) as f64,
        })
    };
    let result = json!({
        "bench": "inproc",
        "stream": stream_info(&stream, &pages),
        "calls": calls,
        "mix": RequestKind::ALL.iter().map(|k| json!({"kind": k.key(), "label": k.as_str(), "weight": k.weight()})).collect::<Vec<_>>(),
        "sqlite": store_json(0),
        "uncached": store_json(1),
        "sqlite_by_kind_us": kinds,
        "strategies": strategy_map,
        "state_bytes": state_bytes,
        "load_s": load_wall,
    });
    drop(stores);
    drop(sqlite);
    let _ = std::fs::remove_dir_all(&state_dir);
    emit(out.as_ref(), &result)
}

// ---- 3. over loopback HTTP -----------------------------------------------------------------------

/// The server this benchmark started; stopped (SIGTERM, then SIGKILL) when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(bin: &Path, data: &Path, log: &Path) -> anyhow::Result<Server> {
        let mut child = Command::new(bin)
            .args(["serve", "--addr", "127.0.0.1:0", "--data"])
            .arg(data)
            .arg("--site")
            .arg(data.join("no-site"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut line)?;
        let addr = line.split("http://").nth(1).and_then(|s| s.split('/').next()).map(str::to_string);
        let Some(addr) = addr else {
            let _ = child.kill();
            bail!("the server did not say where it listens: {line:?} (see {})", log.display());
        };
        Ok(Server { child, addr })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One open-loop run: `rate` requests/s for `seconds`, spread over `connections` keep-alive
/// connections (request i goes on connection i mod C at t0 + i / rate). Latency counts from the
/// intended send time, so a slow answer also delays (and charges) the requests queued behind it.
struct LoadRun {
    latency_ms: Vec<f64>,
    by_kind: BTreeMap<RequestKind, Vec<f64>>,
    strategies: BTreeMap<(RequestKind, String), usize>,
    sent: usize,
    ok: usize,
    non_200: usize,
    io_errors: usize,
    last_done_s: f64,
    seconds: f64,
}

fn open_loop(
    addr: &str,
    mix: &Arc<Vec<(RequestKind, String)>>,
    rate: f64,
    seconds: f64,
    connections: usize,
) -> anyhow::Result<LoadRun> {
    let total = (rate * seconds).round() as usize;
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(Connection::open(addr)?);
    }
    let t0 = Instant::now() + Duration::from_millis(100);
    let threads: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(j, mut conn)| {
            let (mix, addr) = (mix.clone(), addr.to_string());
            std::thread::spawn(move || {
                let mut samples: Vec<(usize, f64, Option<String>, bool)> = Vec::with_capacity(total / connections + 1);
                let mut io_errors = 0;
                let mut last_done = t0;
                let mut i = j;
                while i < total {
                    let intended = t0 + Duration::from_secs_f64(i as f64 / rate);
                    let now = Instant::now();
                    if intended > now {
                        std::thread::sleep(intended - now);
                    }
                    let (_, path) = &mix[i % mix.len()];
                    let answer = conn.get(&format!("/v1/recommendations?{path}"));
                    let done = Instant::now();
                    last_done = last_done.max(done);
                    let ms = done.saturating_duration_since(intended).as_secs_f64() * 1e3;
                    match answer {
                        Ok(a) => {
                            let strategy = strategy_of(&a.body).map(str::to_string);
                            samples.push((i, ms, strategy, a.status == 200));
                        }
                        Err(_) => {
                            io_errors += 1;
                            if let Ok(c) = Connection::open(&addr) {
                                conn = c;
                            }
                        }
                    }
                    i += connections;
                }
                (samples, io_errors, last_done)
            })
        })
        .collect();
    let mut run = LoadRun {
        latency_ms: Vec::with_capacity(total),
        by_kind: BTreeMap::new(),
        strategies: BTreeMap::new(),
        sent: total,
        ok: 0,
        non_200: 0,
        io_errors: 0,
        last_done_s: 0.0,
        seconds,
    };
    for t in threads {
        let (samples, io_errors, last_done) = t.join().map_err(|_| anyhow::anyhow!("a client thread panicked"))?;
        run.io_errors += io_errors;
        run.last_done_s = run.last_done_s.max(last_done.saturating_duration_since(t0).as_secs_f64());
        for (i, ms, strategy, ok) in samples {
            let kind = mix[i % mix.len()].0;
            if ok {
                run.ok += 1;
                run.latency_ms.push(ms);
                run.by_kind.entry(kind).or_default().push(ms);
                *run.strategies.entry((kind, strategy.unwrap_or_else(|| "?".into()))).or_default() += 1;
            } else {
                run.non_200 += 1;
            }
        }
    }
    Ok(run)
}

#[allow(clippy::too_many_arguments)]
fn http(
    args: StreamArgs,
    server_bin: &Path,
    dir: &Path,
    rates: &[f64],
    duration: f64,
    warmup: f64,
    connections: usize,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    let stream = generate(args.config(now_ms() - 60_000));
    let data = fresh_dir(&dir.join("http-data"))?;
    let server = Server::start(server_bin, &data, &dir.join("server.log"))?;
    let addr = server.addr.clone();
    let cpu_at_start = pid_cpu_secs(server.pid());

    // Seed: the stream as tracker batches, in time order, over one keep-alive connection.
    let mut conn = Connection::open(&addr)?;
    let seed_start = Instant::now();
    let mut batches = 0;
    for chunk in stream.events.chunks(SEED_BATCH) {
        // `sent_at` as the tracker sets it: when the batch leaves.
        let body = recs_bench::batch_body(now_ms(), chunk.iter().map(|e| e.json.as_str()));
        let answer = conn.post("/v1/events", "text/plain;charset=UTF-8", body.as_bytes())?;
        let report: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        ensure!(
            answer.status == 200 && report["accepted"] == json!(chunk.len()),
            "seeding: {} {report}",
            answer.status
        );
        batches += 1;
    }
    // A sentinel last: a new shopper's view of the most popular sku. The processor applies the log in
    // order, so once her `home` answer is personalised, every seeded event has been applied.
    let sentinel = format!("bench-sentinel-{}", now_ms());
    let top = stream.skus_by_rank(1)[0].sku.clone();
    let at = now_ms();
    let event = json!({
        "event_id": recs_bench::Rng::new(at as u64).uuid7(at), "type": "product_view",
        "occurred_at": Timestamp(at).to_rfc3339(), "anonymous_id": sentinel, "session_id": sentinel,
        "properties": {"sku": top},
    })
    .to_string();
    let answer = conn.post(
        "/v1/events",
        "text/plain;charset=UTF-8",
        recs_bench::batch_body(at, [event.as_str()].into_iter()).as_bytes(),
    )?;
    ensure!(answer.status == 200, "sentinel: {}", answer.status);
    let seeded_s = seed_start.elapsed().as_secs_f64();
    let probe = format!("/v1/recommendations?placement=home&anonymous_id={sentinel}");
    let applied_s = loop {
        let answer = conn.get(&probe)?;
        if strategy_of(&answer.body) == Some("personalized") {
            break seed_start.elapsed().as_secs_f64();
        }
        ensure!(seed_start.elapsed() < Duration::from_secs(900), "the processor did not catch up in 15 min");
        std::thread::sleep(Duration::from_millis(50));
    };
    let seed_cpu = pid_cpu_secs(server.pid()) - cpu_at_start;
    drop(conn);
    eprintln!(
        "http: seeded {} events in {seeded_s:.1} s; all applied {applied_s:.1} s after the first POST ({seed_cpu:.1} s of server CPU)",
        stream.events.len()
    );

    let mix = Arc::new(request_mix(&stream, 50_000, 0xbeef));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    for &rate in rates {
        if warmup > 0.0 {
            open_loop(&addr, &mix, rate, warmup, connections)?;
        }
        let (server_cpu0, client_cpu0, (busy0, all0)) = (pid_cpu_secs(server.pid()), process_cpu(), machine_ticks());
        let wall0 = Instant::now();
        let run = open_loop(&addr, &mix, rate, duration, connections)?;
        let wall = wall0.elapsed().as_secs_f64();
        let server_cpu = pid_cpu_secs(server.pid()) - server_cpu0;
        let client_cpu = (process_cpu() - client_cpu0).as_secs_f64();
        let (busy1, all1) = machine_ticks();

        let kinds: serde_json::Map<String, Value> =
            run.by_kind.iter().map(|(k, v)| (k.key().to_string(), percentiles(v))).collect();
        let mut strategy_map: serde_json::Map<String, Value> = serde_json::Map::new();
        for ((k, s), n) in &run.strategies {
            let entry = strategy_map.entry(k.key().to_string()).or_insert_with(|| json!({}));
            entry[s] = json!(n);
        }
        let result = json!({
            "bench": "http",
            "stream": {"events": stream.events.len(), "shoppers": stream.config.shoppers, "skus": stream.config.skus},
            "rate": rate,
            "duration_s": run.seconds,
            "wall_s": wall,
            "warmup_s": warmup,
            "connections": connections,
            "sent": run.sent,
            "ok": run.ok,
            "non_200": run.non_200,
            "io_errors": run.io_errors,
            "achieved_rate": run.ok as f64 / run.last_done_s.max(run.seconds),
            "latency_ms": percentiles(&run.latency_ms),
            "by_kind_ms": kinds,
            "strategies": strategy_map,
            "server_cpu_pct": 100.0 * server_cpu / wall,
            "server_cpu_us_per_request": 1e6 * server_cpu / run.ok.max(1) as f64,
            "client_cpu_pct": 100.0 * client_cpu / wall,
            "machine_cpu_pct": 100.0 * cores * (busy1 - busy0) / (all1 - all0),
            "seed": {
                "events": stream.events.len(),
                "batches": batches + 1,
                "posted_s": seeded_s,
                "applied_s": applied_s,
                "server_cpu_s": seed_cpu,
            },
        });
        eprintln!(
            "http {rate} req/s: p50 {:.2} ms, p99 {:.2} ms, achieved {:.0} req/s",
            result["latency_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
            result["latency_ms"]["p99"].as_f64().unwrap_or(f64::NAN),
            result["achieved_rate"].as_f64().unwrap_or(f64::NAN)
        );
        emit(out.as_ref(), &result)?;
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}
