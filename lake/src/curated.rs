//! The curated layer: the raw events typed, deduplicated by `event_id`, in a star schema of Parquet
//! files (zstd). [`build`] is idempotent and incremental: a day (`dt`) is rebuilt only when its raw
//! files changed since the last build (names and sizes, in `curated/_manifest.json`), and a day
//! whose raw files are gone is removed. Dimensions and the manifest are written again only when
//! their bytes change, so a build with nothing new writes no file.
//!
//! Deduplication is per day received: the same `event_id` twice in one day counts once, and so
//! does an `order_id` (a purchase sent twice with two ids). The tracker resends within minutes, so
//! a duplicate across days is rare; it would count twice.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMillisecondBuilder,
};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::raw::{raw_files, read_lines, RawFile};
use crate::reference::Reference;
use crate::schema::Table;
use crate::{civil_from_days, day_of, io_err, parse_date, write_atomic, Lake, LakeError};

pub use event_schema::ONLINE_STORE_ID;
/// The manifest of what each curated day was built from.
pub const MANIFEST_FILE: &str = "_manifest.json";
/// Rows per Parquet row group (Athena and DataFusion skip row groups by their statistics).
pub const ROW_GROUP_ROWS: usize = 256 * 1024;
/// zstd level of the Parquet pages.
pub const ZSTD_LEVEL: i32 = 3;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Manifest {
    days: BTreeMap<String, DayEntry>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct DayEntry {
    /// (file name, size) of the raw files the day was built from.
    files: Vec<(String, u64)>,
    /// The first and last day an event of this partition occurred on (for `dim_date`).
    first_day: Option<i32>,
    last_day: Option<i32>,
}

/// What a build did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BuildReport {
    pub days_built: usize,
    pub days_unchanged: usize,
    pub days_removed: usize,
    /// Events written to `fact_events` by this build (rebuilt days only).
    pub events: u64,
    /// Events dropped as a repeated `event_id`, purchases as a repeated `order_id`.
    pub duplicate_events: u64,
    pub duplicate_orders: u64,
    /// Raw lines that are not an event (not JSON, no id or time): skipped, counted.
    pub bad_lines: u64,
    pub sales_lines: u64,
    pub snapshot_rows: u64,
    pub raw_bytes: u64,
    pub curated_bytes: u64,
}

/// Brings the curated layer of `lake` up to date with its raw layer, with `reference` for the
/// product and store dimensions, on up to `threads` threads.
pub fn build(lake: &Lake, reference: &Reference, threads: usize) -> Result<BuildReport, LakeError> {
    // One build at a time (the server's and the command line's).
    let _lock = crate::lock_dir(&lake.curated_dir())?;
    let listing = raw_files(lake)?;
    let plan = plan(lake, &listing, true)?;
    execute(lake, &listing, plan, reference, threads)
}

/// What a build will do, by day (`YYYY-MM-DD`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Days whose raw files changed (or are new): built again from all their files.
    pub build: Vec<String>,
    /// Days built from the same files before: left as they are.
    pub keep: Vec<String>,
    /// Days in the manifest whose raw files are gone: their curated partitions go too.
    pub remove: Vec<String>,
    old: Manifest,
}

/// The raw files' names and sizes as the manifest keeps them.
fn listed(files: &[RawFile]) -> Vec<(String, u64)> {
    files
        .iter()
        .map(|f| (f.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), f.size))
        .collect()
}

/// Plans a build of `lake` for the raw files in `listing` (by day; only their names and sizes are
/// looked at), against the manifest in the lake's `curated/`. With `check_files`, a day is kept only
/// if its curated files are on disk too; a job that builds a copy of the manifest (the AWS job,
/// whose curated files are in S3) passes `false`.
pub fn plan(lake: &Lake, listing: &BTreeMap<String, Vec<RawFile>>, check_files: bool) -> Result<Plan, LakeError> {
    let manifest_path = lake.curated_dir().join(MANIFEST_FILE);
    let old: Manifest = match std::fs::read(&manifest_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| LakeError::Data {
            path: manifest_path.clone(),
            message: format!("unreadable manifest ({e}); delete it to rebuild everything"),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Manifest::default(),
        Err(e) => return Err(io_err(&manifest_path)(e)),
    };
    let mut plan = Plan::default();
    for (day, files) in listing {
        match old.days.get(day) {
            Some(entry) if entry.files == listed(files) && (!check_files || partitions_exist(lake, day)) => {
                plan.keep.push(day.clone())
            }
            _ => plan.build.push(day.clone()),
        }
    }
    plan.remove = old.days.keys().filter(|d| !listing.contains_key(*d)).cloned().collect();
    plan.old = old;
    Ok(plan)
}

/// Carries `plan` out: builds its days from their files in `listing` (readable now), removes the
/// removed days' local partitions, writes the dimensions and, last, the manifest.
pub fn execute(
    lake: &Lake,
    listing: &BTreeMap<String, Vec<RawFile>>,
    plan: Plan,
    reference: &Reference,
    threads: usize,
) -> Result<BuildReport, LakeError> {
    let curated = lake.curated_dir();
    std::fs::create_dir_all(&curated).map_err(io_err(&curated))?;
    let manifest_path = curated.join(MANIFEST_FILE);
    let mut report = BuildReport::default();
    let mut manifest = Manifest::default();
    for day in &plan.keep {
        report.days_unchanged += 1;
        manifest.days.insert(day.clone(), plan.old.days[day].clone());
    }
    for day in &plan.remove {
        for table in Table::ALL.iter().filter(|t| t.partitioned()) {
            let dir = curated.join(table.name()).join(format!("dt={day}"));
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
            }
        }
        report.days_removed += 1;
    }
    let todo: Vec<(String, Vec<RawFile>)> =
        plan.build.iter().map(|d| (d.clone(), listing.get(d).cloned().unwrap_or_default())).collect();

    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Result<BuiltDay, LakeError>>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1).min(todo.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((day, files)) = todo.get(i) else { break };
                let r = build_day(lake, day, files).map(|(entry, rep)| (day.clone(), entry, rep));
                results.lock().unwrap_or_else(|e| e.into_inner()).push(r);
            });
        }
    });
    for r in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        let (day, entry, day_report) = r?;
        report.days_built += 1;
        report.events += day_report.events;
        report.duplicate_events += day_report.duplicate_events;
        report.duplicate_orders += day_report.duplicate_orders;
        report.bad_lines += day_report.bad_lines;
        report.sales_lines += day_report.sales_lines;
        report.snapshot_rows += day_report.snapshot_rows;
        report.raw_bytes += day_report.raw_bytes;
        report.curated_bytes += day_report.curated_bytes;
        manifest.days.insert(day, entry);
    }

    // Dimensions: rewritten each time from the reference and the days present.
    let first = manifest.days.iter().filter_map(|(d, e)| e.first_day.or(parse_date(d))).min();
    let last = manifest.days.iter().filter_map(|(d, e)| e.last_day.max(parse_date(d))).max();
    write_table(lake, Table::DimProduct, None, dim_product(reference))?;
    write_table(lake, Table::DimStore, None, dim_store(reference))?;
    let (first, last) = match (first, last) {
        (Some(a), Some(b)) => (a, b),
        _ => (0, -1),
    };
    write_table(lake, Table::DimDate, None, dim_date(first, last))?;
    let bytes = serde_json::to_vec_pretty(&manifest).expect("plain data serialises");
    write_if_changed(&manifest_path, &bytes)?;
    Ok(report)
}

fn partitions_exist(lake: &Lake, day: &str) -> bool {
    Table::ALL
        .iter()
        .filter(|t| t.partitioned())
        .all(|t| lake.curated_dir().join(t.name()).join(format!("dt={day}")).join("part-0.parquet").is_file())
}

/// A rebuilt day: its name, its manifest entry, what it came to.
type BuiltDay = (String, DayEntry, DayReport);

#[derive(Default)]
struct DayReport {
    events: u64,
    duplicate_events: u64,
    duplicate_orders: u64,
    bad_lines: u64,
    sales_lines: u64,
    snapshot_rows: u64,
    raw_bytes: u64,
    curated_bytes: u64,
}

#[derive(Deserialize)]
struct RawEvent<'a> {
    event_id: String,
    #[serde(rename = "type")]
    event_type: String,
    occurred_at: String,
    #[serde(default)]
    received_at: Option<String>,
    anonymous_id: String,
    #[serde(default)]
    user_id: Option<String>,
    session_id: String,
    #[serde(borrow, default)]
    properties: Option<&'a RawValue>,
    #[serde(default)]
    context: Option<RawContext>,
    #[serde(default)]
    edge: Option<RawEdge>,
}

#[derive(Default, Deserialize)]
struct RawContext {
    #[serde(default)]
    page: Option<RawPage>,
}

#[derive(Default, Deserialize)]
struct RawPage {
    #[serde(default)]
    path: Option<String>,
}

#[derive(Default, Deserialize)]
struct RawEdge {
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    bot: bool,
}

#[derive(Default, Deserialize)]
struct Props {
    sku: Option<String>,
    quantity: Option<i64>,
    price: Option<f64>,
    currency: Option<String>,
    order_id: Option<String>,
    revenue: Option<f64>,
    store_id: Option<String>,
    recommendation_id: Option<String>,
    placement: Option<String>,
    strategy: Option<String>,
    query: Option<String>,
    #[serde(default)]
    items: Vec<PropItem>,
}

#[derive(Deserialize)]
struct PropItem {
    sku: String,
    #[serde(default)]
    quantity: Option<i64>,
    #[serde(default)]
    price: Option<f64>,
    #[serde(default)]
    on_hand: Option<i64>,
    #[serde(default)]
    reorder_point: Option<i64>,
}

struct Facts {
    events: EventCols,
    sales: SalesCols,
    snaps: SnapCols,
}

#[derive(Default)]
struct EventCols {
    event_id: StringBuilder,
    event_type: StringBuilder,
    occurred_at: TimestampMillisecondBuilder,
    received_at: TimestampMillisecondBuilder,
    event_date: Date32Builder,
    anonymous_id: StringBuilder,
    user_id: StringBuilder,
    session_id: StringBuilder,
    sku: StringBuilder,
    quantity: Int64Builder,
    price: Float64Builder,
    order_id: StringBuilder,
    revenue: Float64Builder,
    currency: StringBuilder,
    store_id: StringBuilder,
    recommendation_id: StringBuilder,
    placement: StringBuilder,
    strategy: StringBuilder,
    search_query: StringBuilder,
    page_path: StringBuilder,
    country: StringBuilder,
    device: StringBuilder,
    bot: BooleanBuilder,
    properties: StringBuilder,
}

#[derive(Default)]
struct SalesCols {
    order_id: StringBuilder,
    line_number: Int32Builder,
    sku: StringBuilder,
    quantity: Int64Builder,
    unit_price: Float64Builder,
    line_revenue: Float64Builder,
    currency: StringBuilder,
    occurred_at: TimestampMillisecondBuilder,
    sale_date: Date32Builder,
    store_id: StringBuilder,
    anonymous_id: StringBuilder,
    user_id: StringBuilder,
    session_id: StringBuilder,
    event_id: StringBuilder,
}

#[derive(Default)]
struct SnapCols {
    event_id: StringBuilder,
    store_id: StringBuilder,
    sku: StringBuilder,
    on_hand: Int64Builder,
    reorder_point: Int64Builder,
    occurred_at: TimestampMillisecondBuilder,
    snapshot_date: Date32Builder,
}

fn time_ms(s: &str) -> Option<i64> {
    event_schema::Timestamp::parse_rfc3339(s).map(|t| t.0)
}

fn build_day(lake: &Lake, day: &str, files: &[RawFile]) -> Result<(DayEntry, DayReport), LakeError> {
    let mut rep = DayReport::default();
    let mut facts = Facts { events: EventCols::default(), sales: SalesCols::default(), snaps: SnapCols::default() };
    let mut ids: HashSet<String> = HashSet::new();
    let mut orders: HashSet<String> = HashSet::new();
    let (mut first_day, mut last_day) = (None::<i32>, None::<i32>);
    let fallback_received = parse_date(day).map(|d| d as i64 * 86_400_000).unwrap_or(0);
    for file in files {
        rep.raw_bytes += file.size;
        read_lines(&file.path, |line| {
            let Ok(e) = serde_json::from_str::<RawEvent<'_>>(line) else {
                rep.bad_lines += 1;
                return;
            };
            let Some(at) = time_ms(&e.occurred_at) else {
                rep.bad_lines += 1;
                return;
            };
            if !ids.insert(e.event_id.clone()) {
                rep.duplicate_events += 1;
                return;
            }
            let received = e.received_at.as_deref().and_then(time_ms).unwrap_or(fallback_received);
            let props: Props = e.properties.and_then(|p| serde_json::from_str(p.get()).ok()).unwrap_or_default();
            let d = day_of(at);
            first_day = Some(first_day.map_or(d, |f| f.min(d)));
            last_day = Some(last_day.map_or(d, |l| l.max(d)));
            let edge = e.edge.unwrap_or_default();
            let ev = &mut facts.events;
            ev.event_id.append_value(&e.event_id);
            ev.event_type.append_value(&e.event_type);
            ev.occurred_at.append_value(at);
            ev.received_at.append_value(received);
            ev.event_date.append_value(d);
            ev.anonymous_id.append_value(&e.anonymous_id);
            ev.user_id.append_option(e.user_id.as_deref());
            ev.session_id.append_value(&e.session_id);
            ev.sku.append_option(props.sku.as_deref());
            ev.quantity.append_option(props.quantity);
            ev.price.append_option(props.price);
            ev.order_id.append_option(props.order_id.as_deref());
            ev.revenue.append_option(props.revenue);
            ev.currency.append_option(props.currency.as_deref());
            let store = match (e.event_type.as_str(), props.store_id.as_deref()) {
                ("purchase", None) => Some(ONLINE_STORE_ID),
                (_, s) => s,
            };
            ev.store_id.append_option(store);
            ev.recommendation_id.append_option(props.recommendation_id.as_deref());
            ev.placement.append_option(props.placement.as_deref());
            ev.strategy.append_option(props.strategy.as_deref());
            ev.search_query.append_option(props.query.as_deref());
            ev.page_path.append_option(e.context.and_then(|c| c.page).and_then(|p| p.path).as_deref());
            ev.country.append_option(edge.country.as_deref());
            ev.device.append_option(edge.device.as_deref());
            ev.bot.append_value(edge.bot);
            ev.properties.append_option(e.properties.map(|p| p.get()));
            rep.events += 1;

            match e.event_type.as_str() {
                // Bots' orders are not sales; a till's (naming its store) are, whatever its client.
                "purchase" if !edge.bot || props.store_id.is_some() => {
                    let Some(order) = props.order_id.as_deref() else { return };
                    if !orders.insert(order.to_string()) {
                        rep.duplicate_orders += 1;
                        return;
                    }
                    let currency = props.currency.as_deref().unwrap_or("");
                    for (n, item) in props.items.iter().enumerate() {
                        let (Some(q), Some(p)) = (item.quantity, item.price) else { continue };
                        let s = &mut facts.sales;
                        s.order_id.append_value(order);
                        s.line_number.append_value(n as i32 + 1);
                        s.sku.append_value(&item.sku);
                        s.quantity.append_value(q);
                        s.unit_price.append_value(p);
                        s.line_revenue.append_value((q as f64 * p * 100.0).round() / 100.0);
                        s.currency.append_value(currency);
                        s.occurred_at.append_value(at);
                        s.sale_date.append_value(d);
                        s.store_id.append_value(store.unwrap_or(ONLINE_STORE_ID));
                        s.anonymous_id.append_value(&e.anonymous_id);
                        s.user_id.append_option(e.user_id.as_deref());
                        s.session_id.append_value(&e.session_id);
                        s.event_id.append_value(&e.event_id);
                        rep.sales_lines += 1;
                    }
                }
                "inventory_snapshot" => {
                    let Some(store) = props.store_id.as_deref() else { return };
                    for item in &props.items {
                        let Some(on_hand) = item.on_hand else { continue };
                        let s = &mut facts.snaps;
                        s.event_id.append_value(&e.event_id);
                        s.store_id.append_value(store);
                        s.sku.append_value(&item.sku);
                        s.on_hand.append_value(on_hand);
                        s.reorder_point.append_option(item.reorder_point);
                        s.occurred_at.append_value(at);
                        s.snapshot_date.append_value(d);
                        rep.snapshot_rows += 1;
                    }
                }
                _ => {}
            }
        })?;
    }
    let ev = &mut facts.events;
    let events: Vec<ArrayRef> = vec![
        Arc::new(ev.event_id.finish()),
        Arc::new(ev.event_type.finish()),
        Arc::new(ev.occurred_at.finish()),
        Arc::new(ev.received_at.finish()),
        Arc::new(ev.event_date.finish()),
        Arc::new(ev.anonymous_id.finish()),
        Arc::new(ev.user_id.finish()),
        Arc::new(ev.session_id.finish()),
        Arc::new(ev.sku.finish()),
        Arc::new(ev.quantity.finish()),
        Arc::new(ev.price.finish()),
        Arc::new(ev.order_id.finish()),
        Arc::new(ev.revenue.finish()),
        Arc::new(ev.currency.finish()),
        Arc::new(ev.store_id.finish()),
        Arc::new(ev.recommendation_id.finish()),
        Arc::new(ev.placement.finish()),
        Arc::new(ev.strategy.finish()),
        Arc::new(ev.search_query.finish()),
        Arc::new(ev.page_path.finish()),
        Arc::new(ev.country.finish()),
        Arc::new(ev.device.finish()),
        Arc::new(ev.bot.finish()),
        Arc::new(ev.properties.finish()),
    ];
    let s = &mut facts.sales;
    let sales: Vec<ArrayRef> = vec![
        Arc::new(s.order_id.finish()),
        Arc::new(s.line_number.finish()),
        Arc::new(s.sku.finish()),
        Arc::new(s.quantity.finish()),
        Arc::new(s.unit_price.finish()),
        Arc::new(s.line_revenue.finish()),
        Arc::new(s.currency.finish()),
        Arc::new(s.occurred_at.finish()),
        Arc::new(s.sale_date.finish()),
        Arc::new(s.store_id.finish()),
        Arc::new(s.anonymous_id.finish()),
        Arc::new(s.user_id.finish()),
        Arc::new(s.session_id.finish()),
        Arc::new(s.event_id.finish()),
    ];
    let n = &mut facts.snaps;
    let snaps: Vec<ArrayRef> = vec![
        Arc::new(n.event_id.finish()),
        Arc::new(n.store_id.finish()),
        Arc::new(n.sku.finish()),
        Arc::new(n.on_hand.finish()),
        Arc::new(n.reorder_point.finish()),
        Arc::new(n.occurred_at.finish()),
        Arc::new(n.snapshot_date.finish()),
    ];
    rep.curated_bytes += write_table(lake, Table::FactEvents, Some(day), events)?;
    rep.curated_bytes += write_table(lake, Table::FactSales, Some(day), sales)?;
    rep.curated_bytes += write_table(lake, Table::FactInventorySnapshot, Some(day), snaps)?;
    Ok((DayEntry { files: listed(files), first_day, last_day }, rep))
}

/// Writes one table file (a fact's day, or a dimension) atomically; returns its size.
fn write_table(lake: &Lake, table: Table, day: Option<&str>, columns: Vec<ArrayRef>) -> Result<u64, LakeError> {
    let mut dir = lake.curated_dir().join(table.name());
    if let Some(day) = day {
        dir = dir.join(format!("dt={day}"));
    }
    let path = dir.join("part-0.parquet");
    let batch = RecordBatch::try_new(table.schema(), columns)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(ZSTD_LEVEL)?))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, table.schema(), Some(props))?;
    writer.write(&batch)?;
    writer.close()?;
    if day.is_some() {
        write_atomic(&path, &bytes)?; // a fact's day is written only when it changed
    } else {
        write_if_changed(&path, &bytes)?;
    }
    Ok(bytes.len() as u64)
}

/// Writes `bytes` to `path` atomically unless the file already holds exactly them (the same
/// dimensions or manifest again: a build with nothing new changes no file).
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), LakeError> {
    match std::fs::read(path) {
        Ok(old) if old == bytes => Ok(()),
        _ => write_atomic(path, bytes),
    }
}

fn strings<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for v in values {
        b.append_value(v);
    }
    Arc::new(b.finish())
}

fn dim_product(r: &Reference) -> Vec<ArrayRef> {
    let p = &r.products;
    vec![
        strings(p.iter().map(|p| p.sku.as_str())),
        strings(p.iter().map(|p| p.name.as_str())),
        strings(p.iter().map(|p| p.category.as_str())),
        strings(p.iter().map(|p| p.brand.as_str())),
        Arc::new(arrow::array::Float64Array::from_iter_values(p.iter().map(|p| p.unit_cost))),
        Arc::new(arrow::array::Float64Array::from_iter_values(p.iter().map(|p| p.list_price))),
        Arc::new(arrow::array::Int64Array::from_iter_values(p.iter().map(|p| p.starting_stock))),
        Arc::new(arrow::array::Int64Array::from_iter_values(p.iter().map(|p| p.reorder_point))),
    ]
}

fn dim_store(r: &Reference) -> Vec<ArrayRef> {
    let s = &r.stores;
    vec![
        strings(s.iter().map(|s| s.store_id.as_str())),
        strings(s.iter().map(|s| s.name.as_str())),
        strings(s.iter().map(|s| s.region.as_str())),
        strings(s.iter().map(|s| s.country.as_str())),
        strings(s.iter().map(|s| s.kind.as_str())),
    ]
}

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// ISO 8601 weekday, 1 = Monday.
pub fn iso_weekday(day: i64) -> u32 {
    ((day + 3).rem_euclid(7) + 1) as u32
}

/// ISO 8601 week number (1..=53).
pub fn iso_week(day: i64) -> u32 {
    // The week of the Thursday of this day's week decides the year.
    let thursday = day - iso_weekday(day) as i64 + 4;
    let (y, _, _) = civil_from_days(thursday);
    ((thursday - days_from_civil(y, 1, 1)) / 7 + 1) as u32
}

/// The fiscal calendar: the year starts on 1 February (the usual retail year) and is named by the
/// calendar year it starts in; periods are its months, 1 (February) to 12 (January).
pub fn fiscal(year: i64, month: u32) -> (i64, u32) {
    if month >= 2 {
        (year, month - 1)
    } else {
        (year - 1, 12)
    }
}

const DAY_NAMES: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

fn dim_date(first: i32, last: i32) -> Vec<ArrayRef> {
    let mut c: Vec<Int32Builder> = (0..9).map(|_| Int32Builder::new()).collect();
    let mut key = Date32Builder::new();
    let mut names = StringBuilder::new();
    let mut weekend = BooleanBuilder::new();
    for day in first..=last {
        let (y, m, d) = civil_from_days(day as i64);
        let wd = iso_weekday(day as i64);
        let (fy, fp) = fiscal(y, m);
        key.append_value(day);
        for (i, v) in [y as i32, ((m - 1) / 3 + 1) as i32, m as i32, d as i32, wd as i32].into_iter().enumerate() {
            c[i].append_value(v);
        }
        names.append_value(DAY_NAMES[wd as usize - 1]);
        c[5].append_value(iso_week(day as i64) as i32);
        weekend.append_value(wd >= 6);
        c[6].append_value(fy as i32);
        c[7].append_value(((fp - 1) / 3 + 1) as i32);
        c[8].append_value(fp as i32);
    }
    let mut it = c.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef);
    let mut next = || it.next().expect("nine builders");
    let (year, quarter, month, dom, dow, week, fy, fq, fp) =
        (next(), next(), next(), next(), next(), next(), next(), next(), next());
    vec![
        Arc::new(key.finish()),
        year,
        quarter,
        month,
        dom,
        dow,
        Arc::new(names.finish()),
        week,
        Arc::new(weekend.finish()),
        fy,
        fq,
        fp,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_facts() {
        let d = days_from_civil(2026, 11, 22);
        assert_eq!(crate::date_string(d as i32), "2026-11-22");
        assert_eq!(iso_weekday(d), 7, "2026-11-22 is a Sunday");
        assert_eq!(iso_week(d), 47);
        assert_eq!(iso_week(days_from_civil(2021, 1, 3)), 53, "2021-01-03 is in 2020's week 53");
        assert_eq!(iso_week(days_from_civil(2024, 12, 30)), 1, "2024-12-30 is in 2025's week 1");
        assert_eq!(fiscal(2026, 1), (2025, 12));
        assert_eq!(fiscal(2026, 2), (2026, 1));
        assert_eq!(fiscal(2026, 11), (2026, 10));
    }
}
