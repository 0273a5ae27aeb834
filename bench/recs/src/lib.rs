//! Shared pieces of the processor and recommendations benchmarks (`bench/recs/run`): a generated
//! clickstream (deterministic), the records the local server stores for it, CPU time, percentiles,
//! a minimal HTTP/1.1 client, and the results table.
//!
//! A benchmark, not a test: nothing here asserts on timings, and CI only builds it.

pub mod http;
pub mod table;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use event_schema::Timestamp;
use serde_json::json;

/// What a desktop Chrome sends (the ingest parses it; a missing or bot user agent would flag events).
pub const CHROME_UA: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// Events per POSTed batch when seeding (the tracker's `flushAt` is 20; bigger batches seed faster).
pub const SEED_BATCH: usize = 100;

/// The catalogue's categories.
pub const CATEGORIES: [&str; 10] =
    ["shoes", "jackets", "tents", "backpacks", "sleeping-bags", "stoves", "socks", "headlamps", "trousers", "bottles"];

// ---- deterministic randomness ------------------------------------------------------------------

/// SplitMix64: small, fast, and the same sequence on every platform and version.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }

    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo).max(1) as usize) as i64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A random (version 4 shaped) UUID string: anonymous and session ids as the tracker makes them.
    pub fn uuid4(&mut self) -> String {
        let (a, b) = (self.next_u64(), self.next_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }

    /// A UUIDv7 for `at_ms` (the ingest requires v7 event ids), random bits from this generator.
    pub fn uuid7(&mut self, at_ms: i64) -> String {
        let ms = at_ms as u64 & 0xffff_ffff_ffff;
        let (a, b) = (self.next_u64(), self.next_u64());
        format!(
            "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
            ms >> 16,
            ms & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }
}

/// Samples an index by weight (cumulative weights, binary search).
#[derive(Clone, Debug)]
pub struct Weighted {
    cumulative: Vec<f64>,
}

impl Weighted {
    pub fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Weighted { cumulative }
    }

    pub fn sample(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.unit() * total;
        self.cumulative.partition_point(|&c| c <= x).min(self.cumulative.len() - 1)
    }
}

// ---- the generated clickstream -------------------------------------------------------------------

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct StreamConfig {
    pub shoppers: usize,
    pub skus: usize,
    /// Zipf exponent of the skus' popularity (rank r weighs 1 / r^s).
    pub zipf: f64,
    pub seed: u64,
    /// The last session starts before this (Unix ms); sessions spread over `window_days` before it.
    pub end_ms: i64,
    pub window_days: i64,
}

impl StreamConfig {
    pub fn new(end_ms: i64) -> Self {
        StreamConfig { shoppers: 2_000, skus: 500, zipf: 1.0, seed: 0x5eed_2026, end_ms, window_days: 7 }
    }
}

/// One catalogue item.
#[derive(Clone, Debug)]
pub struct Sku {
    pub sku: String,
    pub name: String,
    pub category: usize,
    pub price: f64,
    /// 1 = the most popular.
    pub rank: usize,
}

/// A generated shopper, as the recommendations benchmarks need to know them.
#[derive(Clone, Debug)]
pub struct Shopper {
    pub anonymous_id: String,
    pub sessions: usize,
    /// The cart the processor should end with (adds since the last purchase).
    pub final_cart: Vec<String>,
}

/// One event in wire form (one element of a batch's `events`) and when it happened.
#[derive(Clone, Debug)]
pub struct WireEvent {
    pub at: i64,
    pub kind: &'static str,
    pub json: String,
}

/// A whole generated clickstream, in time order.
#[derive(Clone, Debug)]
pub struct Clickstream {
    pub config: StreamConfig,
    pub catalogue: Vec<Sku>,
    pub events: Vec<WireEvent>,
    pub shoppers: Vec<Shopper>,
    /// Times each sku was viewed.
    pub views: HashMap<String, usize>,
    pub orders: usize,
    pub order_lines: usize,
}

impl Clickstream {
    /// Events by type, for the report.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        for e in &self.events {
            match counts.iter_mut().find(|(k, _)| *k == e.kind) {
                Some((_, n)) => *n += 1,
                None => counts.push((e.kind, 1)),
            }
        }
        counts.sort_by_key(|c| std::cmp::Reverse(c.1));
        counts
    }

    /// Skus by popularity rank (most popular first), only those viewed at least `min_views` times.
    pub fn skus_by_rank(&self, min_views: usize) -> Vec<&Sku> {
        let mut all: Vec<&Sku> =
            self.catalogue.iter().filter(|s| self.views.get(&s.sku).copied().unwrap_or(0) >= min_views).collect();
        all.sort_by_key(|s| s.rank);
        all
    }

    /// Batch bodies as the tracker sends them: `per_batch` events each, in time order, `sent_at`
    /// given per batch by `sent_at(last event's time)`.
    pub fn batches(&self, per_batch: usize, sent_at: impl Fn(i64) -> i64) -> Vec<(i64, usize, String)> {
        self.events
            .chunks(per_batch)
            .map(|chunk| {
                let last = chunk.last().map_or(0, |e| e.at);
                let sent = sent_at(last);
                (sent, chunk.len(), batch_body(sent, chunk.iter().map(|e| e.json.as_str())))
            })
            .collect()
    }
}

/// `{"schema_version":1,"sent_at":..,"events":[..]}` around events already in JSON.
pub fn batch_body<'a>(sent_at: i64, events: impl Iterator<Item = &'a str>) -> String {
    let mut body = format!("{{\"schema_version\":1,\"sent_at\":\"{}\",\"events\":[", Timestamp(sent_at).to_rfc3339());
    for (i, e) in events.enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(e);
    }
    body.push_str("]}");
    body
}

const BRANDS: [&str; 6] = ["Acme", "Northfold", "Trailwise", "Bergwerk", "Kestrel", "Lumen"];
const ADJECTIVES: [&str; 8] = ["Trail", "Alpine", "Light", "Storm", "Summit", "Ridge", "Urban", "Classic"];

fn catalogue(config: &StreamConfig, rng: &mut Rng) -> Vec<Sku> {
    // Popularity rank is a random permutation of the sku numbers, so categories mix head and tail.
    let mut ranks: Vec<usize> = (1..=config.skus).collect();
    for i in (1..ranks.len()).rev() {
        ranks.swap(i, rng.below(i + 1));
    }
    (0..config.skus)
        .map(|i| {
            let category = rng.below(CATEGORIES.len());
            let title = CATEGORIES[category].replace('-', " ");
            Sku {
                sku: format!("sku-{:04}", i + 1),
                name: format!("{} {} {}", ADJECTIVES[rng.below(ADJECTIVES.len())], title, i + 1),
                category,
                price: (rng.range(500, 25_000) as f64) / 100.0,
                rank: ranks[i],
            }
        })
        .collect()
}

struct Gen<'a> {
    rng: Rng,
    catalogue: &'a [Sku],
    events: Vec<WireEvent>,
}

impl Gen<'_> {
    fn context(&self, sku: Option<&Sku>, page: &str) -> serde_json::Value {
        let (path, title) = match sku {
            Some(s) => (format!("/p/{}", s.sku), format!("{} | Acme Outdoor", s.name)),
            None => (format!("/{page}"), format!("{page} | Acme Outdoor")),
        };
        json!({
            "page": {
                "url": format!("https://shop.example{path}"),
                "path": path,
                "referrer": "https://shop.example/",
                "title": title,
            },
            "locale": "en-GB",
            "screen": {"width": 1440, "height": 900},
            "library": {"name": "shopstream-sdk", "version": "0.1.0"},
        })
    }

    fn product(&self, s: &Sku, position: usize) -> serde_json::Value {
        json!({
            "sku": s.sku,
            "product_id": format!("p-{}", &s.sku[4..]),
            "name": s.name,
            "category": CATEGORIES[s.category],
            "brand": BRANDS[s.rank % BRANDS.len()],
            "price": s.price,
            "currency": "EUR",
            "position": position,
            "url": format!("https://shop.example/p/{}", s.sku),
            "image_url": format!("https://shop.example/img/{}.webp", s.sku),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: &'static str,
        at: i64,
        anon: &str,
        session: &str,
        context: serde_json::Value,
        properties: serde_json::Value,
    ) {
        let event = json!({
            "event_id": self.rng.uuid7(at),
            "type": kind,
            "occurred_at": Timestamp(at).to_rfc3339(),
            "anonymous_id": anon,
            "session_id": session,
            "context": context,
            "properties": properties,
        });
        self.events.push(WireEvent { at, kind, json: event.to_string() });
    }
}

/// Generates the clickstream: `shoppers` shoppers with 1–5 sessions each over the window; a session
/// is a landing page view, then product pages (a `page_view` and a `product_view` each; 75% in the
/// session's category, the rest from the whole catalogue, both Zipf by popularity), cart adds (22%
/// of views), and a purchase of the whole cart (60% of sessions with a cart: multi-item orders,
/// sometimes one more item). Every sixth shopper ends with a cart of exactly 3 items, unpaid.
pub fn generate(config: StreamConfig) -> Clickstream {
    let mut rng = Rng::new(config.seed);
    let catalogue = catalogue(&config, &mut rng);
    let weight = |s: &Sku| 1.0 / (s.rank as f64).powf(config.zipf);
    let global = Weighted::new(catalogue.iter().map(weight));
    let in_category: Vec<(Vec<usize>, Weighted)> = (0..CATEGORIES.len())
        .map(|c| {
            let members: Vec<usize> = (0..catalogue.len()).filter(|&i| catalogue[i].category == c).collect();
            let w = Weighted::new(members.iter().map(|&i| weight(&catalogue[i])));
            (members, w)
        })
        .collect();
    let category_weight =
        Weighted::new((0..CATEGORIES.len()).map(|c| in_category[c].0.iter().map(|&i| weight(&catalogue[i])).sum()));

    let mut g = Gen { rng: rng.clone(), catalogue: &catalogue, events: Vec::new() };
    let mut shoppers = Vec::with_capacity(config.shoppers);
    let mut views: HashMap<String, usize> = HashMap::new();
    let (mut orders, mut order_lines) = (0, 0);
    let window = config.window_days * 24 * 3_600_000;
    for n in 0..config.shoppers {
        let anon = g.rng.uuid4();
        let ends_with_cart3 = n % 6 == 0;
        let sessions = 1 + g.rng.below(5);
        let mut starts: Vec<i64> =
            (0..sessions).map(|_| config.end_ms - window + g.rng.range(0, window - 2 * 3_600_000)).collect();
        starts.sort_unstable();
        let mut cart: Vec<usize> = Vec::new();
        let mut free_from = i64::MIN;
        for (k, start) in starts.into_iter().enumerate() {
            let last_session = k + 1 == sessions;
            let cart3 = ends_with_cart3 && last_session;
            let session = g.rng.uuid4();
            let mut t = start.max(free_from);
            let focus = category_weight.sample(&mut g.rng);
            let context = g.context(None, "home");
            g.push("page_view", t, &anon, &session, context, json!({"name": "Home", "category": "landing"}));
            let mut product_views = 1 + (-(1.0 - g.rng.unit()).ln() * 3.5) as usize;
            if cart3 {
                product_views = product_views.max(4);
            }
            let mut viewed: Vec<usize> = Vec::new();
            for position in 1..=product_views.min(25) {
                t += g.rng.range(5_000, 60_000);
                let i = if g.rng.chance(0.75) {
                    let (members, w) = &in_category[focus];
                    members[w.sample(&mut g.rng)]
                } else {
                    global.sample(&mut g.rng)
                };
                let sku = &g.catalogue[i];
                *views.entry(sku.sku.clone()).or_default() += 1;
                let context = g.context(Some(sku), "");
                let page = json!({"name": "Product", "category": CATEGORIES[sku.category]});
                g.push("page_view", t, &anon, &session, context.clone(), page);
                let product = g.product(sku, position);
                g.push("product_view", t + 180, &anon, &session, context, product);
                if !viewed.contains(&i) {
                    viewed.push(i);
                }
                if !cart3 && !cart.contains(&i) && g.rng.chance(0.22) {
                    t += g.rng.range(3_000, 20_000);
                    let mut p = g.product(sku, position);
                    p["quantity"] = json!(1);
                    p["cart_id"] = json!(format!("cart-{n}"));
                    let context = g.context(Some(sku), "");
                    g.push("add_to_cart", t, &anon, &session, context, p);
                    cart.push(i);
                }
            }
            if cart3 {
                // Exactly three distinct items, left in the cart (earlier sessions always paid).
                while viewed.len() < 3 {
                    let i = global.sample(&mut g.rng);
                    if !viewed.contains(&i) {
                        viewed.push(i);
                    }
                }
                for &i in viewed.iter().take(3) {
                    t += g.rng.range(3_000, 20_000);
                    let sku = &g.catalogue[i];
                    let mut p = g.product(sku, 1);
                    p["quantity"] = json!(1);
                    p["cart_id"] = json!(format!("cart-{n}"));
                    let context = g.context(Some(sku), "");
                    g.push("add_to_cart", t, &anon, &session, context, p);
                    cart.push(i);
                }
            } else if !cart.is_empty() && (ends_with_cart3 || g.rng.chance(0.6)) {
                if g.rng.chance(0.2) {
                    let extra = in_category[focus].0[in_category[focus].1.sample(&mut g.rng)];
                    if !cart.contains(&extra) {
                        cart.push(extra);
                    }
                }
                t += g.rng.range(30_000, 120_000);
                let items: Vec<serde_json::Value> = cart
                    .iter()
                    .map(|&i| {
                        let s = &g.catalogue[i];
                        json!({"sku": s.sku, "quantity": 1, "price": s.price, "name": s.name,
                               "category": CATEGORIES[s.category]})
                    })
                    .collect();
                let revenue: f64 = cart.iter().map(|&i| g.catalogue[i].price).sum();
                let order = json!({
                    "order_id": format!("o-{n}-{k}"),
                    "revenue": (revenue * 100.0).round() / 100.0,
                    "currency": "EUR",
                    "items": items,
                    "shipping": 4.99,
                    "tax": ((revenue * 19.0).round()) / 100.0,
                });
                let context = g.context(None, "checkout/done");
                g.push("purchase", t, &anon, &session, context, order);
                orders += 1;
                order_lines += cart.len();
                cart.clear();
            }
            free_from = t + 30 * 60_000;
        }
        shoppers.push(Shopper {
            anonymous_id: anon,
            sessions,
            final_cart: cart.iter().map(|&i| catalogue[i].sku.clone()).collect(),
        });
    }
    let mut events = g.events;
    events.sort_by_key(|e| e.at); // stable: one shopper's events keep their order
    Clickstream { config, catalogue, events, shoppers, views, orders, order_lines }
}

// ---- the request mix ---------------------------------------------------------------------------

/// A kind of recommendations request in the mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestKind {
    /// `home` for a shopper with history.
    HomeKnown,
    /// `product` for one of the 20 most viewed skus.
    ProductPopular,
    /// `product` for a sku in the less viewed half (seen at least once).
    ProductRare,
    /// `cart` for a shopper whose cart holds 3 items.
    Cart3,
    /// `home` for a shopper nobody has seen: trending.
    UnknownShopper,
}

impl RequestKind {
    pub const ALL: [RequestKind; 5] = [
        RequestKind::HomeKnown,
        RequestKind::ProductPopular,
        RequestKind::ProductRare,
        RequestKind::Cart3,
        RequestKind::UnknownShopper,
    ];

    /// Share of the mix.
    pub fn weight(self) -> f64 {
        match self {
            RequestKind::HomeKnown => 0.30,
            RequestKind::ProductPopular => 0.25,
            RequestKind::ProductRare => 0.15,
            RequestKind::Cart3 => 0.20,
            RequestKind::UnknownShopper => 0.10,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::HomeKnown => "home, known shopper",
            RequestKind::ProductPopular => "product, popular sku",
            RequestKind::ProductRare => "product, rare sku",
            RequestKind::Cart3 => "cart, 3 items",
            RequestKind::UnknownShopper => "home, unknown shopper",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            RequestKind::HomeKnown => "home_known",
            RequestKind::ProductPopular => "product_popular",
            RequestKind::ProductRare => "product_rare",
            RequestKind::Cart3 => "cart3",
            RequestKind::UnknownShopper => "unknown_shopper",
        }
    }

    /// The strategy this kind should get once the state is loaded.
    pub fn expected_strategy(self) -> &'static str {
        match self {
            RequestKind::HomeKnown => "personalized",
            RequestKind::ProductPopular | RequestKind::ProductRare => "bought_together or also_viewed",
            RequestKind::Cart3 => "cart_complements",
            RequestKind::UnknownShopper => "trending",
        }
    }
}

/// `n` requests (kind, query string without `?`), drawn by the mix's weights from the stream's
/// shoppers and skus, deterministically.
pub fn request_mix(stream: &Clickstream, n: usize, seed: u64) -> Vec<(RequestKind, String)> {
    let mut rng = Rng::new(seed);
    let ranked = stream.skus_by_rank(1);
    let popular: Vec<&Sku> = ranked.iter().take(20).copied().collect();
    let rare: Vec<&Sku> = ranked.iter().filter(|s| s.rank > stream.config.skus / 2).copied().collect();
    let cart3: Vec<&Shopper> = stream.shoppers.iter().filter(|s| s.final_cart.len() == 3).collect();
    let kinds = Weighted::new(RequestKind::ALL.iter().map(|k| k.weight()));
    (0..n)
        .map(|_| {
            let kind = RequestKind::ALL[kinds.sample(&mut rng)];
            let query = match kind {
                RequestKind::HomeKnown => {
                    let s = &stream.shoppers[rng.below(stream.shoppers.len())];
                    format!("placement=home&anonymous_id={}", s.anonymous_id)
                }
                RequestKind::ProductPopular => {
                    format!("placement=product&sku={}", popular[rng.below(popular.len())].sku)
                }
                RequestKind::ProductRare => format!("placement=product&sku={}", rare[rng.below(rare.len())].sku),
                RequestKind::Cart3 => {
                    format!("placement=cart&anonymous_id={}", cart3[rng.below(cart3.len())].anonymous_id)
                }
                RequestKind::UnknownShopper => format!("placement=home&anonymous_id={}", rng.uuid4()),
            };
            (kind, query)
        })
        .collect()
}

/// A query string's pairs (the mix has no characters that need decoding).
pub fn query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query.split('&').filter_map(|p| p.split_once('='))
}

// ---- measuring ---------------------------------------------------------------------------------

/// CPU time this process has used so far, every thread, user + system.
pub fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Clock ticks per second for `/proc/<pid>/stat`.
pub fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// CPU seconds another process has used (utime + stime of `/proc/<pid>/stat`).
pub fn pid_cpu_secs(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return f64::NAN };
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(f64::NAN);
    // utime and stime are the 14th and 15th fields; here counted from the 3rd.
    (ticks(11) + ticks(12)) / clock_ticks()
}

/// (busy, all) jiffies of the whole machine, from `/proc/stat`.
pub fn machine_ticks() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else { return (f64::NAN, f64::NAN) };
    let v: Vec<f64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let get = |i: usize| v.get(i).copied().unwrap_or(0.0);
    // user nice system idle iowait irq softirq steal
    let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
    (busy, busy + get(3) + get(4))
}

/// The median (mean of the two middle values for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Latency percentiles of `samples` (any unit), nearest rank: p50, p90, p99, p99.9, max, mean.
pub fn percentiles(samples: &[f64]) -> serde_json::Value {
    let mut v: Vec<f64> = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |p: f64| {
        if v.is_empty() {
            return f64::NAN;
        }
        v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
    };
    let mean = if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 };
    json!({
        "n": v.len(),
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "p999": at(0.999),
        "max": v.last().copied().unwrap_or(f64::NAN),
        "mean": mean,
    })
}

/// Distinct values, for reports.
pub fn distinct<T: Ord + Clone>(values: impl IntoIterator<Item = T>) -> Vec<T> {
    values.into_iter().collect::<BTreeSet<T>>().into_iter().collect()
}

/// The wall clock now, in Unix ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use event_schema::validate::{validate_batch, ValidationOptions};

    #[test]
    fn the_stream_is_deterministic_and_every_event_is_valid() {
        let mut config = StreamConfig::new(1_795_341_600_000);
        config.shoppers = 60;
        let a = generate(config);
        let b = generate(config);
        assert_eq!(a.events.len(), b.events.len());
        assert!(a.events.iter().zip(&b.events).all(|(x, y)| x.json == y.json));
        assert!(a.events.windows(2).all(|w| w[0].at <= w[1].at), "time order");
        let opts = ValidationOptions::at(Timestamp(config.end_ms));
        for (sent, n, body) in a.batches(SEED_BATCH, |last| last) {
            let _ = sent;
            let outcome = validate_batch(body.as_bytes(), &opts).unwrap();
            assert_eq!((outcome.accepted.len(), outcome.rejected.len()), (n, 0), "{:?}", outcome.rejected);
        }
        let kinds: Vec<&str> = a.counts().iter().map(|(k, _)| *k).collect();
        for k in ["page_view", "product_view", "add_to_cart", "purchase"] {
            assert!(kinds.contains(&k), "{kinds:?}");
        }
        assert!(a.shoppers.iter().filter(|s| s.final_cart.len() == 3).count() >= 10);
    }

    #[test]
    fn the_mix_follows_its_weights() {
        let mut config = StreamConfig::new(1_795_341_600_000);
        config.shoppers = 120;
        let stream = generate(config);
        let mix = request_mix(&stream, 10_000, 7);
        let share = |k: RequestKind| mix.iter().filter(|(x, _)| *x == k).count() as f64 / mix.len() as f64;
        for k in RequestKind::ALL {
            assert!((share(k) - k.weight()).abs() < 0.02, "{k:?}: {}", share(k));
        }
        for (_, q) in &mix {
            personalize::RecRequest::from_query(query_pairs(q)).unwrap();
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=1000).map(f64::from).collect();
        let p = percentiles(&v);
        assert_eq!((p["p50"].as_f64(), p["p99"].as_f64(), p["max"].as_f64()), (Some(500.0), Some(990.0), Some(1000.0)));
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    }
}
