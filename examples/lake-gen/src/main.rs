//! `lake-gen`: a synthetic month of a retailer into a lake's raw layer, through the same
//! `RawWriter` the local server uses, with its reference (products, stores) beside it.
//!
//! Shoppers browse the web shop (page views, lists, product views with a long-tailed popularity,
//! recommendations and their clicks, carts, checkouts, orders); the stores sell at their tills
//! (orders with a `store_id`); every store counts its stock once a week (`inventory_snapshot`, 50
//! counts per event; 0.8 to 5 times the reorder point, so some SKUs are low and some overstocked). Seeded, so the same arguments give the same lake.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use lake::raw::RawWriter;
use lake::reference::{ProductRef, Reference, StoreRef};
use lake::Lake;

#[derive(Parser)]
#[command(about = "Write a synthetic month of retail events into DIR/lake")]
struct Args {
    /// The data directory (the lake goes in DIR/lake, as `shopstream lake build --data DIR` expects).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    #[arg(long, default_value_t = 100)]
    stores: usize,
    #[arg(long, default_value_t = 5_000)]
    skus: usize,
    /// About how many events in all.
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    #[arg(long, default_value_t = 30)]
    days: i32,
    /// The first day (UTC).
    #[arg(long, default_value = "2026-10-01")]
    start: String,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// SplitMix64: small, fast, seeded.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// A long-tailed index in 0..n (the popular few first).
    fn popular(&mut self, n: usize) -> usize {
        ((n as f64) * self.unit().powf(2.5)) as usize % n
    }
}

const CATEGORIES: [&str; 10] =
    ["Shoes", "Jackets", "Backpacks", "Tents", "Sleeping", "Cooking", "Lights", "Bottles", "Socks", "Hats"];
const REGIONS: [&str; 5] = ["North", "South", "East", "West", "Central"];
const STRATEGIES: [&str; 3] = ["also_viewed", "bought_together", "trending"];
/// Counts per `inventory_snapshot` event (the schema's limit).
const COUNTS_PER_SNAPSHOT: usize = 50;
/// Events per raw write (a file per day per write).
const WRITE_BATCH: usize = 100_000;

fn reference(args: &Args, rng: &mut Rng) -> Reference {
    let products = (0..args.skus)
        .map(|i| {
            let category = CATEGORIES[i % CATEGORIES.len()];
            let price = ((5.0 + rng.unit() * 295.0) * 100.0).round() / 100.0;
            let cost = (price * (0.35 + rng.unit() * 0.3) * 100.0).round() / 100.0;
            ProductRef {
                sku: format!("{}-{i:05}", category.to_lowercase()),
                name: format!("{category} model {i}"),
                category: category.into(),
                brand: format!("Brand {}", i % 37),
                unit_cost: cost,
                list_price: price,
                starting_stock: 20 + rng.below(200) as i64,
                reorder_point: 5 + rng.below(20) as i64,
            }
        })
        .collect();
    let mut stores = vec![StoreRef {
        store_id: "web".into(),
        name: "Web shop".into(),
        region: "Online".into(),
        country: "DE".into(),
        kind: "online".into(),
    }];
    for i in 0..args.stores {
        stores.push(StoreRef {
            store_id: format!("s{i:03}"),
            name: format!("Store {i}"),
            region: REGIONS[i % REGIONS.len()].into(),
            country: ["DE", "FR", "NL", "AT", "BE"][i % 5].into(),
            kind: "physical".into(),
        });
    }
    Reference { products, stores }
}

fn rfc3339(ms: i64) -> String {
    event_schema::Timestamp(ms).to_rfc3339()
}

/// A UUIDv7-shaped id from a time and a counter.
fn uuid7(ms: i64, n: u64) -> String {
    let t = ms as u64 & 0xFFFF_FFFF_FFFF;
    format!(
        "{:08x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
        t >> 16,
        t & 0xFFFF,
        (n >> 48) & 0xFFF,
        (n >> 36) & 0xFFF,
        n & 0xFFFF_FFFF_FFFF
    )
}

struct Out {
    writer: RawWriter,
    batch: Vec<(i64, String)>,
    seq: i64,
    written: u64,
    bytes: u64,
    write_secs: f64,
}

impl Out {
    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        kind: &str,
        at: i64,
        anon: &str,
        session: &str,
        path: &str,
        props: serde_json::Value,
        device: &str,
    ) {
        self.seq += 1;
        let when = rfc3339(at);
        let received = rfc3339(at + 150);
        let e = serde_json::json!({
            "event_id": uuid7(at, self.seq as u64), "type": kind, "occurred_at": when, "anonymous_id": anon,
            "session_id": session, "properties": props,
            "context": {"page": {"path": path, "url": format!("https://shop.example{path}")}, "locale": "de-DE"},
            "client_occurred_at": when, "received_at": received, "sent_at": received,
            "edge": {"country": "DE", "device": device, "bot": false}
        });
        self.batch.push((self.seq, e.to_string()));
        if self.batch.len() >= WRITE_BATCH {
            self.flush().expect("raw write");
        }
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        let refs: Vec<(i64, &str)> = self.batch.iter().map(|(s, l)| (*s, l.as_str())).collect();
        let started = Instant::now();
        let w = self.writer.write(&refs)?;
        self.write_secs += started.elapsed().as_secs_f64();
        self.written += w.events as u64;
        self.bytes += w.bytes;
        self.batch.clear();
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let start_day = lake::parse_date(&args.start).context("--start must be YYYY-MM-DD")?;
    let mut rng = Rng(args.seed);
    let lake = Lake::new(args.data.join("lake"));
    let reference = reference(&args, &mut rng);
    reference.save(&lake)?;
    let started = Instant::now();
    let mut out =
        Out { writer: RawWriter::new(lake.clone()), batch: Vec::new(), seq: 0, written: 0, bytes: 0, write_secs: 0.0 };
    let products = &reference.products;
    // Weekly counts: 50 counts per event, every store and SKU.
    let snapshot_events = (args.days as u64).div_ceil(7) * ((args.stores as u64 + 1) * args.skus as u64).div_ceil(50);
    // A web session makes about 9 events; a till order 1.
    let per_day = args.events.saturating_sub(snapshot_events) / args.days.max(1) as u64;
    let mut order = 0u64;
    let mut shopper = 0u64;
    for d in 0..args.days {
        let day = start_day + d;
        let day_ms = day as i64 * 86_400_000;
        if d % 7 == 0 {
            for store in &reference.stores {
                for (chunk_no, chunk) in products.chunks(COUNTS_PER_SNAPSHOT).enumerate() {
                    let items: Vec<serde_json::Value> = chunk
                        .iter()
                        .map(|p| serde_json::json!({"sku": p.sku, "on_hand": (p.reorder_point as f64 * (0.8 + 4.2 * rng.unit())) as i64, "reorder_point": p.reorder_point}))
                        .collect();
                    let at = day_ms + 3 * 3_600_000 + chunk_no as i64;
                    out.event(
                        "inventory_snapshot",
                        at,
                        "pos-system",
                        "pos",
                        "/",
                        serde_json::json!({"store_id": store.store_id, "items": items}),
                        "other",
                    );
                }
            }
        }
        let day_start = out.seq as u64;
        while (out.seq as u64 - day_start) < per_day {
            let at0 = day_ms + 6 * 3_600_000 + rng.below(16 * 3_600_000) as i64;
            shopper += 1;
            if rng.below(10) < 2 {
                // A till sale in a store.
                order += 1;
                let store = &reference.stores[1 + rng.below(args.stores as u64) as usize];
                let lines = 1 + rng.below(3) as usize;
                let items: Vec<serde_json::Value> = (0..lines)
                    .map(|_| {
                        let p = &products[rng.popular(products.len())];
                        serde_json::json!({"sku": p.sku, "quantity": 1 + rng.below(2), "price": p.list_price})
                    })
                    .collect();
                let revenue: f64 =
                    items.iter().map(|i| i["quantity"].as_f64().unwrap() * i["price"].as_f64().unwrap()).sum();
                let anon = format!("till-{shopper}");
                out.event("purchase", at0, &anon, &anon, "/till", serde_json::json!({"order_id": format!("o{order}"), "revenue": (revenue * 100.0).round() / 100.0, "currency": "EUR", "store_id": store.store_id, "items": items}), "other");
                continue;
            }
            let anon = format!("a{shopper}");
            let session = format!("x{shopper}");
            let device = if rng.below(2) == 0 { "mobile" } else { "desktop" };
            let mut at = at0;
            let mut step = |rng: &mut Rng| {
                at += 2_000 + rng.below(40_000) as i64;
                at
            };
            out.event("page_view", step(&mut rng), &anon, &session, "/", serde_json::json!({}), device);
            let cat = CATEGORIES[rng.below(10) as usize];
            out.event(
                "product_list_view",
                step(&mut rng),
                &anon,
                &session,
                "/c",
                serde_json::json!({"category": cat, "products": []}),
                device,
            );
            let strategy = STRATEGIES[rng.below(3) as usize];
            let rec = format!("r{shopper}");
            let shown: Vec<&str> = (0..4).map(|_| products[rng.popular(products.len())].sku.as_str()).collect();
            out.event(
                "recommendation_impression",
                step(&mut rng),
                &anon,
                &session,
                "/",
                serde_json::json!({"recommendation_id": rec, "skus": shown, "strategy": strategy}),
                device,
            );
            let clicked = rng.below(10) < 1;
            let mut cart: Vec<&ProductRef> = Vec::new();
            let views = 1 + rng.below(4);
            for v in 0..views {
                let p = if clicked && v == 0 {
                    let sku = shown[0];
                    out.event(
                        "recommendation_click",
                        step(&mut rng),
                        &anon,
                        &session,
                        "/",
                        serde_json::json!({"recommendation_id": rec, "sku": sku, "strategy": strategy}),
                        device,
                    );
                    products.iter().find(|p| p.sku == sku).expect("a shown sku")
                } else {
                    &products[rng.popular(products.len())]
                };
                let path = format!("/p/{}", p.sku);
                out.event(
                    "product_view",
                    step(&mut rng),
                    &anon,
                    &session,
                    &path,
                    serde_json::json!({"sku": p.sku, "price": p.list_price, "category": p.category}),
                    device,
                );
                if rng.below(10) < 3 {
                    out.event(
                        "add_to_cart",
                        step(&mut rng),
                        &anon,
                        &session,
                        &path,
                        serde_json::json!({"sku": p.sku, "quantity": 1, "price": p.list_price}),
                        device,
                    );
                    cart.push(p);
                }
            }
            if !cart.is_empty() && rng.below(10) < 6 {
                let items: Vec<serde_json::Value> = cart
                    .iter()
                    .map(|p| serde_json::json!({"sku": p.sku, "quantity": 1, "price": p.list_price}))
                    .collect();
                out.event(
                    "checkout_started",
                    step(&mut rng),
                    &anon,
                    &session,
                    "/checkout",
                    serde_json::json!({"items": items}),
                    device,
                );
                if rng.below(10) < 7 {
                    order += 1;
                    let revenue: f64 = cart.iter().map(|p| p.list_price).sum();
                    out.event("purchase", step(&mut rng), &anon, &session, "/checkout", serde_json::json!({"order_id": format!("o{order}"), "revenue": (revenue * 100.0).round() / 100.0, "currency": "EUR", "items": items}), device);
                }
            }
        }
    }
    out.flush()?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "events": out.written, "orders": order, "raw_bytes": out.bytes, "seconds": secs,
            "raw_write_seconds": out.write_secs,
            "raw_write_events_per_s": out.written as f64 / out.write_secs.max(1e-9),
            "raw_write_mb_per_s": out.bytes as f64 / 1e6 / out.write_secs.max(1e-9),
        })
    );
    Ok(())
}
