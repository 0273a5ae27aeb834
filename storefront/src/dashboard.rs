//! The live dashboard (`/dashboard`): the local stack's figures from `GET /v1/kpis`, asked again
//! every two seconds while the page is open, drawn as hand-written inline SVG (no chart library).
//!
//! Each chart is a `<figure>` with a caption, an SVG with `role="img"` and a summary in its
//! `aria-label`, and the numbers in a visually hidden table. The SVGs are drawn at the width their
//! box has on screen (measured, again on resize), so text keeps its size on a phone and on a wide
//! screen; their heights are fixed, so nothing moves when the first figures arrive.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use wasm_bindgen::JsValue;

use crate::api;
use crate::state::use_shop;

/// How often the figures are asked for.
const REFRESH_MS: i32 = 2_000;

// What `GET /v1/kpis` answers (only what the page shows).

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct Kpis {
    events_per_minute: PerMinute,
    today: Today,
    funnel: Vec<FunnelStep>,
    top_products: Vec<TopProduct>,
    recommendations: Vec<StrategyCtr>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct PerMinute {
    minutes: Vec<Minute>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct Minute {
    start: String,
    total: u64,
    counts: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct Today {
    day: String,
    revenue: f64,
    currency: Option<String>,
    orders: u64,
    average_order_value: Option<f64>,
    average_items_per_order: Option<f64>,
    #[serde(default)]
    orders_in_other_currencies: u64,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct FunnelStep {
    step: String,
    sessions: u64,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct TopProduct {
    sku: String,
    name: Option<String>,
    views: u64,
    adds: u64,
    units_purchased: u64,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct StrategyCtr {
    strategy: String,
    impressions: u64,
    clicks: u64,
    click_through_rate: Option<f64>,
}

/// A series of the events chart: event types drawn in one colour (Okabe and Ito's palette, told
/// apart with any colour vision).
struct Series {
    label: &'static str,
    colour: &'static str,
    types: &'static [&'static str],
}

const SERIES: [Series; 8] = [
    Series { label: "Page views", colour: "#56B4E9", types: &["page_view"] },
    Series { label: "Lists & searches", colour: "#0072B2", types: &["product_list_view", "search"] },
    Series { label: "Product views", colour: "#009E73", types: &["product_view"] },
    Series { label: "Cart changes", colour: "#E69F00", types: &["add_to_cart", "remove_from_cart"] },
    Series { label: "Checkouts", colour: "#F0E442", types: &["checkout_started"] },
    Series { label: "Purchases", colour: "#D55E00", types: &["purchase"] },
    Series {
        label: "Recommendations",
        colour: "#CC79A7",
        types: &["recommendation_impression", "recommendation_click"],
    },
    Series { label: "Other", colour: "#8C8C8C", types: &[] },
];

/// The series an event type is drawn in (unknown types are "Other").
fn series_of(kind: &str) -> usize {
    SERIES.iter().position(|s| s.types.contains(&kind)).unwrap_or(SERIES.len() - 1)
}

/// A minute's counts by series.
fn by_series(minute: &Minute) -> [u64; SERIES.len()] {
    let mut out = [0; SERIES.len()];
    for (kind, n) in &minute.counts {
        out[series_of(kind)] += n;
    }
    out
}

/// The funnel's steps as shown, in the colours of their events.
fn step_look(step: &str) -> (&'static str, &'static str) {
    match step {
        "product_view" => ("Viewed a product", "#009E73"),
        "add_to_cart" => ("Added to cart", "#E69F00"),
        "checkout_started" => ("Started checkout", "#F0E442"),
        "purchase" => ("Purchased", "#D55E00"),
        _ => ("Other step", "#8C8C8C"),
    }
}

const VIEWS: &str = "#009E73";
const ADDS: &str = "#E69F00";
const SOLD: &str = "#D55E00";
const CTR: &str = "#CC79A7";
const TRACK: &str = "#eef2f6";

#[component]
pub fn Dashboard() -> impl IntoView {
    let kpis = RwSignal::new(None::<Kpis>);
    let alerts = RwSignal::new(None::<Vec<StockAlert>>);
    let updated = RwSignal::new(None::<String>);
    let failing = RwSignal::new(false);

    // Poll while the page is open; the loop ends at its next turn once the page is left.
    let open = Arc::new(AtomicBool::new(true));
    let still_open = open.clone();
    on_cleanup(move || open.store(false, Ordering::Relaxed));
    spawn_local(async move {
        while still_open.load(Ordering::Relaxed) {
            if !page_hidden() {
                let got = api::get_json::<Kpis>("/v1/kpis").await;
                if !still_open.load(Ordering::Relaxed) {
                    break;
                }
                match got {
                    Ok(k) => {
                        // The charts are drawn again only when a figure changed.
                        if kpis.with_untracked(|old| old.as_ref() != Some(&k)) {
                            kpis.set(Some(k));
                        }
                        updated.set(Some(clock(&js_sys::Date::new_0())));
                        failing.set(false);
                    }
                    Err(_) => failing.set(true),
                }
                if let Ok(a) = api::get_json::<AlertsAnswer>("/v1/alerts").await {
                    if still_open.load(Ordering::Relaxed)
                        && alerts.with_untracked(|old| old.as_ref() != Some(&a.alerts))
                    {
                        alerts.set(Some(a.alerts));
                    }
                }
            }
            api::sleep(REFRESH_MS).await;
        }
    });

    let status = move || match (updated.get(), failing.get()) {
        (None, false) => "connecting…".to_owned(),
        (None, true) => "offline · the figures could not be loaded".to_owned(),
        (Some(at), false) => format!("live · updated {at}"),
        (Some(at), true) => format!("reconnecting · last updated {at}"),
    };
    // The browser's idea of the UTC day until the server's arrives (the same text, so nothing moves).
    let browser_day: String =
        js_sys::Date::new_0().to_iso_string().as_string().unwrap_or_default().chars().take(10).collect();
    let day = move || {
        let day = kpis.with(|k| k.as_ref().map(|k| k.today.day.clone())).unwrap_or_else(|| browser_day.clone());
        format!("Today is the UTC day {day}")
    };

    view! {
        <section class="page dashboard" data-testid="dashboard">
            <div class="dash-head">
                <h1>"Live dashboard"</h1>
                <p
                    class="live"
                    class:stale=move || failing.get()
                    class:waiting=move || updated.with(Option::is_none)
                    data-testid="live-status"
                >
                    <span class="live-dot" aria-hidden="true"></span>
                    {status}
                </p>
            </div>
            <p class="lead dash-lead">
                {day} " · bot traffic left out · refreshed every 2 seconds. "
                "Every click in this shop feeds these figures within a second."
            </p>
            <Tiles kpis />
            <div class="dash-grid">
                <EventsChart kpis />
                <FunnelChart kpis />
                <CtrChart kpis />
                <TopProductsChart kpis />
            </div>
            <div class="lake-grid">
                <StockAlerts alerts />
                <InsightTable
                    name="low_stock"
                    title="Below the reorder point"
                    sub="every store, from the lake (examples/sql/low_stock.sql)"
                    columns=vec![("store_id", "Store", false), ("name", "Product", false), ("on_hand", "Stock", true), ("reorder_point", "Reorder at", true)]
                    empty="No product is below its reorder point in the lake."
                />
                <InsightTable
                    name="gross_margin"
                    title="Gross margin by category"
                    sub="all days in the lake (examples/sql/gross_margin.sql)"
                    columns=vec![("category", "Category", false), ("revenue", "Revenue €", true), ("cogs", "Cost €", true), ("gross_margin_pct", "Margin %", true)]
                    empty="No sales in the lake yet."
                />
            </div>
        </section>
    }
}

fn page_hidden() -> bool {
    web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden())
}

// Figure tiles.

#[component]
fn Tiles(kpis: RwSignal<Option<Kpis>>) -> impl IntoView {
    let today = move || kpis.with(|k| k.as_ref().map(|k| k.today.clone()));
    let no_orders = move || today().is_some_and(|t| t.orders == 0);
    let revenue = move || match today() {
        Some(t) => money(t.revenue, t.currency.as_deref()),
        None => "—".to_owned(),
    };
    let orders = move || today().map_or("—".to_owned(), |t| thousands(t.orders));
    let aov = move || match today() {
        Some(t) => t.average_order_value.map_or("—".to_owned(), |v| money(v, t.currency.as_deref())),
        None => "—".to_owned(),
    };
    let items = move || match today() {
        Some(t) => t.average_items_per_order.map_or("—".to_owned(), |v| format!("{v:.1}")),
        None => "—".to_owned(),
    };
    let orders_note = move || match today() {
        Some(t) if t.orders_in_other_currencies > 0 => {
            format!("{} more in other currencies", thousands(t.orders_in_other_currencies))
        }
        Some(t) if t.orders == 0 => "No purchases yet today".to_owned(),
        Some(_) => "completed today".to_owned(),
        None => "\u{a0}".to_owned(),
    };
    let note = move |some: &'static str| move || if no_orders() { "No purchases yet today" } else { some };
    view! {
        <ul class="kpi-tiles" aria-label="Today's figures">
            <li class="kpi" data-testid="kpi-revenue">
                <span class="kpi-label">"Revenue today"</span>
                <strong class="kpi-value">{revenue}</strong>
                <span class="kpi-note">{note("sum of today's orders")}</span>
            </li>
            <li class="kpi" data-testid="kpi-orders">
                <span class="kpi-label">"Orders"</span>
                <strong class="kpi-value">{orders}</strong>
                <span class="kpi-note">{orders_note}</span>
            </li>
            <li class="kpi" data-testid="kpi-aov">
                <span class="kpi-label">"Average order value"</span>
                <strong class="kpi-value">{aov}</strong>
                <span class="kpi-note">{note("revenue ÷ orders")}</span>
            </li>
            <li class="kpi" data-testid="kpi-items">
                <span class="kpi-label">"Items per order"</span>
                <strong class="kpi-value">{items}</strong>
                <span class="kpi-note">{note("average basket size, in units")}</span>
            </li>
        </ul>
    }
}

// Chart plumbing.

/// The width `node` has on screen, in CSS pixels, kept up to date on resize.
fn measured_width(node: NodeRef<leptos::html::Div>) -> RwSignal<f64> {
    let width = RwSignal::new(640.0);
    let measure = move || {
        if let Some(el) = node.get_untracked() {
            let w = f64::from(el.client_width());
            if w > 0.0 && (w - width.get_untracked()).abs() >= 1.0 {
                width.set(w);
            }
        }
    };
    Effect::new(move |_| {
        if node.get().is_some() {
            measure();
        }
    });
    let listener = window_event_listener(leptos::ev::resize, move |_| measure());
    on_cleanup(move || listener.remove());
    width
}

/// A centred note over a chart (loading, nothing yet).
fn note_text(x: f64, y: f64, text: String) -> impl IntoView {
    view! {
        <text x=x y=y text-anchor="middle" class="chart-note">
            {text}
        </text>
    }
}

/// `text` cut to about `max_px` wide (at the charts' 13 px), with an ellipsis.
fn fit(text: &str, max_px: f64) -> String {
    let max_chars = (max_px / 7.0).floor().max(4.0) as usize;
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    }
}

/// A round upper bound for an axis and its step: at most `ticks` steps of 1, 2 or 5 × 10ⁿ.
fn nice_axis(max: f64, ticks: u32) -> (f64, f64) {
    if max <= 0.0 {
        return (f64::from(ticks), 1.0);
    }
    let raw = max / f64::from(ticks);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude);
    let step = if max >= 1.0 { step.max(1.0) } else { step };
    ((max / step).ceil() * step, step)
}

// Events per minute: a stacked bar chart.

const EVENTS_HEIGHT: f64 = 260.0;

#[component]
fn EventsChart(kpis: RwSignal<Option<Kpis>>) -> impl IntoView {
    let node = NodeRef::new();
    let width = measured_width(node);
    let legend = SERIES
        .iter()
        .map(|s| {
            view! {
                <li>
                    <span class="swatch" style=format!("background:{}", s.colour)></span>
                    {s.label}
                </li>
            }
        })
        .collect_view();
    view! {
        <figure class="chart area-events" data-testid="chart-events">
            <figcaption>
                <span class="chart-title">"Events per minute"</span>
                <span class="chart-sub">"last 30 minutes, by type; the last bar is the minute in progress"</span>
            </figcaption>
            <div class="chart-box" node_ref=node style=format!("height:{EVENTS_HEIGHT}px")>
                {move || kpis.with(|k| events_svg(k.as_ref(), width.get()))}
            </div>
            <ul class="legend" aria-hidden="true">{legend}</ul>
            {move || kpis.with(|k| k.as_ref().map(events_table))}
        </figure>
    }
}

fn events_summary(minutes: &[Minute]) -> String {
    let total: u64 = minutes.iter().map(|m| m.total).sum();
    if total == 0 {
        return "Events per minute, last 30 minutes: no events yet.".to_owned();
    }
    let busiest = minutes.iter().max_by_key(|m| m.total).expect("30 minutes");
    let mut sums = [0u64; SERIES.len()];
    for m in minutes {
        for (i, n) in by_series(m).iter().enumerate() {
            sums[i] += n;
        }
    }
    let parts: Vec<String> =
        SERIES.iter().zip(sums).filter(|(_, n)| *n > 0).map(|(s, n)| format!("{} {n}", s.label)).collect();
    format!(
        "Stacked bar chart of events per minute over the last 30 minutes: {total} events, at most {} in one minute \
         ({}). By type: {}.",
        busiest.total,
        local_minute(&busiest.start),
        parts.join(", ")
    )
}

fn events_svg(k: Option<&Kpis>, w: f64) -> impl IntoView {
    let h = EVENTS_HEIGHT;
    let (left, right, top, bottom) = (40.0, 8.0, 10.0, 26.0);
    let (plot_w, plot_h) = ((w - left - right).max(10.0), h - top - bottom);
    let minutes: &[Minute] = k.map_or(&[], |k| &k.events_per_minute.minutes);
    let max = minutes.iter().map(|m| m.total).max().unwrap_or(0) as f64;
    let (y_max, step) = nice_axis(max, 4);
    let y = move |v: f64| top + plot_h - v / y_max * plot_h;
    let grid = (0..=((y_max / step).round() as u32))
        .map(|i| {
            let v = f64::from(i) * step;
            view! {
                <line x1=left x2=left + plot_w y1=y(v) y2=y(v) class="grid" />
                <text x=left - 6.0 y=y(v) + 4.0 text-anchor="end" class="tick">
                    {format!("{v}")}
                </text>
            }
        })
        .collect_view();
    let slots = minutes.len().max(1) as f64;
    let slot = plot_w / slots;
    let bar_w = (slot * 0.72).max(2.0);
    let label_every = if w < 480.0 { 10 } else { 5 };
    let bars = minutes
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let x = left + i as f64 * slot + (slot - bar_w) / 2.0;
            let counts = by_series(m);
            let mut base = 0.0;
            let parts: Vec<String> =
                SERIES.iter().zip(counts).filter(|(_, n)| *n > 0).map(|(s, n)| format!("{} {n}", s.label)).collect();
            let tip = format!(
                "{}: {} events{}{}",
                local_minute(&m.start),
                m.total,
                if parts.is_empty() { "" } else { " — " },
                parts.join(", ")
            );
            let rects = SERIES
                .iter()
                .zip(counts)
                .filter(|(_, n)| *n > 0)
                .map(|(s, n)| {
                    let (y0, y1) = (y(base), y(base + n as f64));
                    base += n as f64;
                    view! { <rect x=x y=y1 width=bar_w height=(y0 - y1).max(0.0) fill=s.colour /> }
                })
                .collect_view();
            let last = i + 1 == minutes.len();
            let minute_of_hour = minute_of_hour(&m.start);
            let label = if last {
                Some("now".to_owned())
            } else if minute_of_hour.is_multiple_of(label_every) && i + 3 < minutes.len() {
                Some(local_minute(&m.start))
            } else {
                None
            };
            view! {
                <g class="bar" class:current=last>
                    <title>{tip}</title>
                    // The whole slot answers the pointer, even over an empty minute.
                    <rect x=left + i as f64 * slot y=top width=slot height=plot_h fill="transparent" />
                    {rects}
                    {label.map(|l| {
                        view! {
                            <text x=x + bar_w / 2.0 y=h - 8.0 text-anchor="middle" class="tick">
                                {l}
                            </text>
                        }
                    })}
                </g>
            }
        })
        .collect_view();
    let note = match k {
        None => Some("Loading…".to_owned()),
        Some(_) if max == 0.0 => Some("No events in the last 30 minutes".to_owned()),
        Some(_) => None,
    };
    let label = k.map_or("Events per minute: loading".to_owned(), |k| events_summary(&k.events_per_minute.minutes));
    view! {
        <svg viewBox=format!("0 0 {w} {h}") width="100%" height=h role="img" aria-label=label class="chart-svg">
            {grid}
            <line x1=left x2=left + plot_w y1=top + plot_h y2=top + plot_h class="axis" />
            {bars}
            {note.map(|n| note_text(left + plot_w / 2.0, top + plot_h / 2.0, n))}
        </svg>
    }
}

fn events_table(k: &Kpis) -> impl IntoView {
    let rows = k
        .events_per_minute
        .minutes
        .iter()
        .filter(|m| m.total > 0)
        .map(|m| {
            let counts = by_series(m);
            view! {
                <tr>
                    <th scope="row">{local_minute(&m.start)}</th>
                    {counts.iter().map(|n| view! { <td>{*n}</td> }).collect_view()}
                    <td>{m.total}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="visually-hidden">
            <table>
                <caption>"Events per minute by type, minutes with events"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Minute"</th>
                        {SERIES.iter().map(|s| view! { <th scope="col">{s.label}</th> }).collect_view()}
                        <th scope="col">"Total"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

// Horizontal bar rows, shared by the funnel, the top products and the click-through.

const ROW: f64 = 54.0;

/// One labelled row: `label` at the left and `value` at the right above a bar track.
fn row_labels(y: f64, w: f64, label: String, value: String) -> impl IntoView {
    let room = w - value.chars().count() as f64 * 7.0 - 16.0;
    view! {
        <text x=0 y=y + 15.0 class="row-label">
            {fit(&label, room)}
        </text>
        <text x=w y=y + 15.0 text-anchor="end" class="row-value">
            {value}
        </text>
    }
}

fn bar(x_max: f64, y: f64, height: f64, fraction: f64, colour: &'static str) -> impl IntoView {
    let width = if fraction > 0.0 { (fraction.min(1.0) * x_max).max(3.0) } else { 0.0 };
    view! {
        <rect x=0 y=y width=x_max height=height rx=3 fill=TRACK />
        <rect x=0 y=y width=width height=height rx=3 fill=colour class="bar-fill" />
    }
}

// The funnel.

const FUNNEL_ROWS: usize = 4;

#[component]
fn FunnelChart(kpis: RwSignal<Option<Kpis>>) -> impl IntoView {
    let node = NodeRef::new();
    let width = measured_width(node);
    let height = FUNNEL_ROWS as f64 * ROW;
    view! {
        <figure class="chart area-funnel" data-testid="chart-funnel">
            <figcaption>
                <span class="chart-title">"Funnel today"</span>
                <span class="chart-sub">"sessions reaching each step; % converted from the step before"</span>
            </figcaption>
            <div class="chart-box" node_ref=node style=format!("height:{height}px")>
                {move || kpis.with(|k| funnel_svg(k.as_ref(), width.get(), height))}
            </div>
            {move || kpis.with(|k| k.as_ref().map(|k| funnel_table(&k.funnel)))}
        </figure>
    }
}

/// Each step with its conversion from the one before (`None` for the first, or after zero).
fn conversions(steps: &[FunnelStep]) -> Vec<(&FunnelStep, Option<f64>)> {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let before = i.checked_sub(1).map(|j| steps[j].sessions).filter(|n| *n > 0);
            (s, before.map(|b| s.sessions as f64 / b as f64))
        })
        .collect()
}

fn funnel_summary(steps: &[FunnelStep]) -> String {
    if steps.first().is_none_or(|s| s.sessions == 0) {
        return "Funnel of today's sessions: no product views yet.".to_owned();
    }
    let parts: Vec<String> = conversions(steps)
        .into_iter()
        .map(|(s, c)| {
            let what = step_look(&s.step).0.to_lowercase();
            match c {
                Some(c) => format!("{} {what} ({} of the step before)", sessions(s.sessions), percent(c, 0)),
                None => format!("{} {what}", sessions(s.sessions)),
            }
        })
        .collect();
    format!("Funnel of today's sessions: {}.", parts.join(", "))
}

fn funnel_svg(k: Option<&Kpis>, w: f64, h: f64) -> impl IntoView {
    let steps: &[FunnelStep] = k.map_or(&[], |k| &k.funnel);
    let first = steps.first().map_or(0, |s| s.sessions).max(1) as f64;
    let top = steps.iter().map(|s| s.sessions).max().unwrap_or(0).max(1) as f64;
    let scale = first.max(top);
    let rows = conversions(steps)
        .into_iter()
        .enumerate()
        .map(|(i, (s, c))| {
            let y = i as f64 * ROW;
            let (label, colour) = step_look(&s.step);
            let value = match c {
                Some(c) => format!("{} · {}", sessions(s.sessions), percent(c, 0)),
                None => sessions(s.sessions),
            };
            view! {
                {row_labels(y, w, label.to_owned(), value)}
                {bar(w, y + 22.0, 22.0, s.sessions as f64 / scale, colour)}
            }
        })
        .collect_view();
    let label = k.map_or("Funnel: loading".to_owned(), |k| funnel_summary(&k.funnel));
    view! {
        <svg viewBox=format!("0 0 {w} {h}") width="100%" height=h role="img" aria-label=label class="chart-svg">
            {rows}
            {k.is_none().then(|| note_text(w / 2.0, h / 2.0, "Loading…".to_owned()))}
        </svg>
    }
}

fn funnel_table(steps: &[FunnelStep]) -> impl IntoView {
    let rows = conversions(steps)
        .into_iter()
        .map(|(s, c)| {
            view! {
                <tr>
                    <th scope="row">{step_look(&s.step).0}</th>
                    <td>{s.sessions}</td>
                    <td>{c.map_or("—".to_owned(), |c| percent(c, 1))}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="visually-hidden">
            <table>
                <caption>"Funnel of today's sessions"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Step"</th>
                        <th scope="col">"Sessions"</th>
                        <th scope="col">"Conversion from the step before"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

// Recommendation click-through by strategy.

const CTR_ROWS: usize = 4;

#[component]
fn CtrChart(kpis: RwSignal<Option<Kpis>>) -> impl IntoView {
    let node = NodeRef::new();
    let width = measured_width(node);
    let height = move || kpis.with(|k| k.as_ref().map_or(0, |k| k.recommendations.len())).max(CTR_ROWS) as f64 * ROW;
    view! {
        <figure class="chart area-ctr" data-testid="chart-ctr">
            <figcaption>
                <span class="chart-title">"Recommendation click-through today"</span>
                <span class="chart-sub">"clicks per block shown, by strategy"</span>
            </figcaption>
            <div class="chart-box" node_ref=node style=move || format!("height:{}px", height())>
                {move || kpis.with(|k| ctr_svg(k.as_ref(), width.get(), height()))}
            </div>
            {move || kpis.with(|k| k.as_ref().map(|k| ctr_table(&k.recommendations)))}
        </figure>
    }
}

/// `also_viewed` as "Also viewed".
fn strategy_name(s: &str) -> String {
    let words = s.replace(['_', '-'], " ");
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn ctr_summary(strategies: &[StrategyCtr]) -> String {
    if strategies.is_empty() {
        return "Recommendation click-through today: no recommendations shown yet.".to_owned();
    }
    let parts: Vec<String> = strategies
        .iter()
        .map(|s| {
            format!(
                "{} {} ({} of {})",
                strategy_name(&s.strategy),
                s.click_through_rate.map_or("no impressions".to_owned(), |r| percent(r, 1)),
                plural(s.clicks, "click", "clicks"),
                plural(s.impressions, "impression", "impressions")
            )
        })
        .collect();
    format!("Recommendation click-through today by strategy: {}.", parts.join("; "))
}

fn ctr_svg(k: Option<&Kpis>, w: f64, h: f64) -> impl IntoView {
    let strategies: &[StrategyCtr] = k.map_or(&[], |k| &k.recommendations);
    let best = strategies.iter().filter_map(|s| s.click_through_rate).fold(0.0, f64::max);
    // Scaled to a round share (10%, 20%, 50%, 100%…) so small rates are still visible.
    let scale = nice_axis(best.max(0.05), 1).0;
    let rows = strategies
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let y = i as f64 * ROW;
            let rate = s.click_through_rate.map_or("—".to_owned(), |r| percent(r, 1));
            let value = format!(
                "{rate} · {} · {}",
                plural(s.clicks, "click", "clicks"),
                plural(s.impressions, "impression", "impressions")
            );
            view! {
                {row_labels(y, w, strategy_name(&s.strategy), value)}
                {bar(w, y + 22.0, 22.0, s.click_through_rate.unwrap_or(0.0) / scale, CTR)}
            }
        })
        .collect_view();
    let note = match k {
        None => Some("Loading…"),
        Some(_) if strategies.is_empty() => Some("No recommendations shown yet today"),
        Some(_) => None,
    };
    let label = k.map_or("Recommendation click-through: loading".to_owned(), |k| ctr_summary(&k.recommendations));
    let scale_note = (!strategies.is_empty()).then(|| {
        view! {
            <text x=w y=h - 4.0 text-anchor="end" class="tick">
                {format!("bar scale: 0 to {}", percent(scale, 0))}
            </text>
        }
    });
    view! {
        <svg viewBox=format!("0 0 {w} {h}") width="100%" height=h role="img" aria-label=label class="chart-svg">
            {rows}
            {scale_note}
            {note.map(|n| note_text(w / 2.0, h / 2.0, n.to_owned()))}
        </svg>
    }
}

fn ctr_table(strategies: &[StrategyCtr]) -> impl IntoView {
    let rows = strategies
        .iter()
        .map(|s| {
            view! {
                <tr>
                    <th scope="row">{strategy_name(&s.strategy)}</th>
                    <td>{s.impressions}</td>
                    <td>{s.clicks}</td>
                    <td>{s.click_through_rate.map_or("—".to_owned(), |r| percent(r, 1))}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="visually-hidden">
            <table>
                <caption>"Recommendation click-through today by strategy"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Strategy"</th>
                        <th scope="col">"Impressions"</th>
                        <th scope="col">"Clicks"</th>
                        <th scope="col">"Click-through rate"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

// Top products.

const TOP_ROWS: usize = 8;
const TOP_ROW: f64 = 60.0;

#[component]
fn TopProductsChart(kpis: RwSignal<Option<Kpis>>) -> impl IntoView {
    let shop = use_shop();
    let node = NodeRef::new();
    let width = measured_width(node);
    let height = TOP_ROWS as f64 * TOP_ROW;
    // Names from the events, else from the catalog, else the SKU.
    let named = move || {
        let catalog = shop.catalog.get();
        kpis.with(|k| {
            k.as_ref().map(|k| {
                k.top_products
                    .iter()
                    .map(|p| {
                        let name = p.name.clone().or_else(|| catalog.as_ref()?.product(&p.sku).map(|c| c.name.clone()));
                        (name.unwrap_or_else(|| p.sku.clone()), p.clone())
                    })
                    .collect::<Vec<_>>()
            })
        })
    };
    let key = |colour: &'static str, text: &'static str| {
        view! {
            <li>
                <span class="swatch" style=format!("background:{colour}")></span>
                {text}
            </li>
        }
    };
    view! {
        <figure class="chart area-top" data-testid="chart-top">
            <figcaption>
                <span class="chart-title">"Top products today"</span>
                <span class="chart-sub">"the most viewed, with adds to cart and units sold"</span>
            </figcaption>
            <ul class="legend legend-top" aria-hidden="true">
                {key(VIEWS, "Views")}
                {key(ADDS, "Adds to cart")}
                {key(SOLD, "Units sold")}
            </ul>
            <div class="chart-box" node_ref=node style=format!("height:{height}px")>
                {move || top_svg(named().as_deref(), width.get(), height)}
            </div>
            {move || named().map(|p| top_table(&p))}
        </figure>
    }
}

fn top_summary(products: &[(String, TopProduct)]) -> String {
    if products.is_empty() {
        return "Top products today: no product activity yet.".to_owned();
    }
    let parts: Vec<String> = products
        .iter()
        .map(|(name, p)| {
            format!(
                "{name}: {}, {}, {} sold",
                plural(p.views, "view", "views"),
                plural(p.adds, "add", "adds"),
                thousands(p.units_purchased)
            )
        })
        .collect();
    format!("Top products today by views: {}.", parts.join("; "))
}

fn top_svg(products: Option<&[(String, TopProduct)]>, w: f64, h: f64) -> impl IntoView {
    let list = products.unwrap_or(&[]);
    let max = list.iter().map(|(_, p)| p.views.max(p.adds).max(p.units_purchased)).max().unwrap_or(0).max(1) as f64;
    let rows = list
        .iter()
        .enumerate()
        .map(|(i, (name, p))| {
            let y = i as f64 * TOP_ROW;
            let value = format!(
                "{} · {} · {} sold",
                plural(p.views, "view", "views"),
                plural(p.adds, "add", "adds"),
                thousands(p.units_purchased)
            );
            view! {
                {row_labels(y, w, name.clone(), value)}
                {bar(w, y + 22.0, 8.0, p.views as f64 / max, VIEWS)}
                {bar(w, y + 31.0, 8.0, p.adds as f64 / max, ADDS)}
                {bar(w, y + 40.0, 8.0, p.units_purchased as f64 / max, SOLD)}
            }
        })
        .collect_view();
    let note = match products {
        None => Some("Loading…"),
        Some([]) => Some("No product activity yet today"),
        Some(_) => None,
    };
    let label = products.map_or("Top products: loading".to_owned(), top_summary);
    view! {
        <svg viewBox=format!("0 0 {w} {h}") width="100%" height=h role="img" aria-label=label class="chart-svg">
            {rows}
            {note.map(|n| note_text(w / 2.0, h / 2.0, n.to_owned()))}
        </svg>
    }
}

fn top_table(products: &[(String, TopProduct)]) -> impl IntoView {
    let rows = products
        .iter()
        .map(|(name, p)| {
            view! {
                <tr>
                    <th scope="row">{name.clone()}</th>
                    <td>{p.views}</td>
                    <td>{p.adds}</td>
                    <td>{p.units_purchased}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="visually-hidden">
            <table>
                <caption>"Top products today"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Product"</th>
                        <th scope="col">"Views"</th>
                        <th scope="col">"Adds to cart"</th>
                        <th scope="col">"Units sold"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

// Formatting.

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An amount in its currency: `€1,234.50`, `$12.00`, `CHF 3.20`.
fn money(amount: f64, currency: Option<&str>) -> String {
    let cents = (amount * 100.0).round() as i64;
    let (units, rest) = (cents.unsigned_abs() / 100, cents.unsigned_abs() % 100);
    let sign = if cents < 0 { "-" } else { "" };
    let number = format!("{}.{rest:02}", thousands(units));
    match currency.unwrap_or("EUR") {
        "EUR" => format!("{sign}€{number}"),
        "USD" => format!("{sign}${number}"),
        "GBP" => format!("{sign}£{number}"),
        other => format!("{sign}{other} {number}"),
    }
}

fn percent(share: f64, decimals: usize) -> String {
    format!("{:.*}%", decimals, share * 100.0)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

fn sessions(n: u64) -> String {
    plural(n, "session", "sessions")
}

/// A date's local `hh:mm:ss`.
fn clock(d: &js_sys::Date) -> String {
    format!("{:02}:{:02}:{:02}", d.get_hours(), d.get_minutes(), d.get_seconds())
}

/// An RFC 3339 minute as local `hh:mm`.
fn local_minute(rfc3339: &str) -> String {
    let d = js_sys::Date::new(&JsValue::from_str(rfc3339));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

/// The minute within the hour (the same in every time zone but a few with 30 or 45 min offsets).
fn minute_of_hour(rfc3339: &str) -> u32 {
    js_sys::Date::new(&JsValue::from_str(rfc3339)).get_minutes()
}

// What `GET /v1/alerts` answers: the latest low-stock alerts, newest first.

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct AlertsAnswer {
    alerts: Vec<StockAlert>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct StockAlert {
    alert_id: String,
    sku: String,
    store_id: String,
    on_hand: i64,
    reorder_point: i64,
    raised_at: String,
}

/// `hh:mm:ss` of an RFC 3339 UTC time (`2026-11-22T12:26:02.123Z`).
fn utc_time(rfc3339: &str) -> String {
    rfc3339.chars().skip(11).take(8).collect()
}

/// The low-stock alerts the processor raised (once per crossing of a reorder point), newest first.
#[component]
fn StockAlerts(alerts: RwSignal<Option<Vec<StockAlert>>>) -> impl IntoView {
    let shop = use_shop();
    let rows = move || {
        let catalog = shop.catalog.get();
        alerts.get().map(|list| {
            if list.is_empty() {
                return view! { <p class="chart-sub" data-testid="no-alerts">"No product is below its reorder point."</p> }
                    .into_any();
            }
            let rows = list
                .into_iter()
                .map(|a| {
                    let name = catalog.as_ref().and_then(|c| c.product(&a.sku).map(|p| p.name.clone())).unwrap_or_else(|| a.sku.clone());
                    let time = utc_time(&a.raised_at);
                    view! {
                        <tr data-alert-id=a.alert_id>
                            <td>{time}</td>
                            <td>{name}</td>
                            <td>{a.store_id}</td>
                            <td class="num">{a.on_hand}</td>
                            <td class="num">{a.reorder_point}</td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <table class="data-table">
                    <thead>
                        <tr>
                            <th scope="col">"UTC"</th>
                            <th scope="col">"Product"</th>
                            <th scope="col">"Store"</th>
                            <th scope="col" class="num">"Stock"</th>
                            <th scope="col" class="num">"Reorder at"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            }
            .into_any()
        })
    };
    view! {
        <figure class="chart" data-testid="stock-alerts">
            <figcaption>
                <span class="chart-title">"Low-stock alerts"</span>
                <span class="chart-sub">"raised once each time a product falls below its reorder point"</span>
            </figcaption>
            {rows}
        </figure>
    }
}

/// How often the lake's insights are asked for (the local lake is rebuilt every 30 s).
const INSIGHTS_REFRESH_MS: i32 = 10_000;
/// Rows an insight table shows.
const INSIGHT_ROWS: usize = 10;

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct Insight {
    rows: Vec<serde_json::Map<String, serde_json::Value>>,
    built_at: Option<String>,
}

fn cell(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::Bool(b)) => b.to_string(),
        _ => "—".to_owned(),
    }
}

/// One KPI query of `examples/sql/` on the lake (`GET /v1/insights/{name}`), as a table.
#[component]
fn InsightTable(
    name: &'static str,
    title: &'static str,
    sub: &'static str,
    columns: Vec<(&'static str, &'static str, bool)>,
    empty: &'static str,
) -> impl IntoView {
    let insight = RwSignal::new(None::<Insight>);
    let open = Arc::new(AtomicBool::new(true));
    let still_open = open.clone();
    on_cleanup(move || open.store(false, Ordering::Relaxed));
    spawn_local(async move {
        while still_open.load(Ordering::Relaxed) {
            if !page_hidden() {
                if let Ok(got) = api::get_json::<Insight>(&format!("/v1/insights/{name}")).await {
                    if still_open.load(Ordering::Relaxed) && insight.with_untracked(|old| old.as_ref() != Some(&got)) {
                        insight.set(Some(got));
                    }
                }
            }
            api::sleep(INSIGHTS_REFRESH_MS).await;
        }
    });
    let heads = columns.clone();
    let body = move || {
        insight.get().map(|i| {
            if i.rows.is_empty() {
                return view! { <p class="chart-sub">{empty}</p> }.into_any();
            }
            let rows = i
                .rows
                .iter()
                .take(INSIGHT_ROWS)
                .map(|row| {
                    let cells = columns
                        .iter()
                        .map(|(key, _, num)| view! { <td class:num=*num>{cell(row.get(*key))}</td> })
                        .collect_view();
                    view! { <tr>{cells}</tr> }
                })
                .collect_view();
            let heads = heads
                .iter()
                .map(|(_, label, num)| view! { <th scope="col" class:num=*num>{*label}</th> })
                .collect_view();
            view! {
                <table class="data-table">
                    <thead><tr>{heads}</tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }
            .into_any()
        })
    };
    let built = move || {
        insight.with(|i| i.as_ref().and_then(|i| i.built_at.clone())).map(|t| {
            let time = utc_time(&t);
            format!("lake built {time} UTC")
        })
    };
    view! {
        <figure class="chart" data-testid=format!("insight-{name}")>
            <figcaption>
                <span class="chart-title">{title}</span>
                <span class="chart-sub">{sub} " " {built}</span>
            </figcaption>
            {body}
        </figure>
    }
}
