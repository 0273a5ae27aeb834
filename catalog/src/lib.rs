//! The demo shop's product catalog: about 250 outdoor products in ten categories, generated from
//! word lists by a small seeded generator, so every call and every build gives the same products
//! (stored events refer to them by SKU). Each product has an SVG pictogram drawn from its category
//! and colour.
//!
//! No I/O and no environment: the storefront (wasm32) uses the types, the local server serves the
//! catalog over HTTP, and the AWS deployment uploads [`static_files`] next to the site.
//!
//! ```
//! let products = catalog::products();
//! assert!(products.len() >= 240);
//! let shoe = catalog::product("shoes-007").unwrap();
//! assert_eq!(shoe.url, "/p/shoes-007");
//! assert!(catalog::image_svg(&shoe).starts_with("<svg"));
//! ```

mod data;
mod svg;

use serde::{Deserialize, Serialize};

pub use svg::image_svg;

/// The currency of every price in the catalog.
pub const CURRENCY: &str = "EUR";

/// One product, as the API and the storefront see it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Product {
    /// `{category_slug}-{nnn}`, e.g. `shoes-007`.
    pub sku: String,
    pub name: String,
    pub brand: String,
    /// The category's display name, e.g. `Shoes`.
    pub category: String,
    /// The category's slug, e.g. `shoes`.
    pub category_slug: String,
    /// In [`CURRENCY`], two decimals.
    pub price: f64,
    pub currency: String,
    /// Starting stock.
    pub stock: u32,
    pub reorder_point: u32,
    /// 40–65% of `price`, two decimals.
    pub unit_cost: f64,
    /// One or two sentences.
    pub description: String,
    /// `/images/products/{sku}.svg`.
    pub image_url: String,
    /// `/p/{sku}`.
    pub url: String,
    /// The product's main colour, CSS hex (`#rrggbb`).
    pub colour: String,
    /// 3.5 to 5.0, one decimal.
    pub rating: f32,
    pub tags: Vec<String>,
}

/// A product category.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Category {
    pub slug: String,
    pub name: String,
    pub description: String,
}

/// The body of `GET /v1/products`: the products (in catalog order, possibly filtered) and every
/// category.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ProductList {
    pub products: Vec<Product>,
    pub categories: Vec<Category>,
}

/// The categories, in display order.
pub fn categories() -> Vec<Category> {
    data::CATEGORIES
        .iter()
        .map(|c| Category { slug: c.slug.into(), name: c.name.into(), description: c.description.into() })
        .collect()
}

/// Every product, grouped by category in [`categories`] order, SKUs ascending within a category.
/// The same list on every call, in every build and on every target.
pub fn products() -> Vec<Product> {
    let mut names = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut low_stock = Vec::new();
    for spec in data::CATEGORIES {
        for i in 0..spec.count {
            let (product, low) = generate(spec, i, &mut names);
            out.push(product);
            low_stock.push(low);
        }
    }
    // Exactly 5% out of stock and 10% at or below the reorder point, picked by a hash of the SKU so
    // they scatter over the catalog.
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by_key(|&i| fnv1a(&format!("stock {}", out[i].sku)));
    let out_of_stock = (out.len() * 5).div_ceil(100);
    let low = (out.len() * 10).div_ceil(100);
    for (rank, &i) in order.iter().enumerate() {
        if rank < out_of_stock {
            out[i].stock = 0;
        } else if rank < out_of_stock + low {
            out[i].stock = low_stock[i];
        }
    }
    out
}

/// The product with this SKU. Generates the whole catalog: callers that look up many products
/// should index [`products`] once.
pub fn product(sku: &str) -> Option<Product> {
    products().into_iter().find(|p| p.sku == sku)
}

impl Product {
    /// Whether every word of `query` occurs in the name, brand, category, a tag or the description,
    /// ignoring case (an empty or blank query matches every product). The API's `q` and the shop's
    /// search both use it.
    pub fn matches_query(&self, query: &str) -> bool {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        if words.is_empty() {
            return true;
        }
        let text = self.search_text();
        words.iter().all(|w| text.contains(w.as_str()))
    }

    /// The lower-case text [`Product::matches_query`] looks in.
    fn search_text(&self) -> String {
        format!("{} {} {} {} {}", self.name, self.brand, self.category, self.tags.join(" "), self.description)
            .to_lowercase()
    }
}

/// The JSON body of `GET /v1/products` for these products (and every category).
pub fn list_json<'a>(products: impl IntoIterator<Item = &'a Product>, categories: &[Category]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        products: Vec<&'a Product>,
        categories: &'a [Category],
    }
    let body = Body { products: products.into_iter().collect(), categories };
    serde_json::to_vec(&body).expect("a product list always serialises")
}

/// A file of the static catalog, keyed by its path under the site's root (no leading `/`).
#[derive(Clone, Debug, PartialEq)]
pub struct StaticFile {
    pub path: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// The catalog as static files, for a deployment without the catalog API (S3 next to the site):
/// `v1/products` (the same body as `GET /v1/products` without filters), `v1/products/{sku}` (each
/// product) and `images/products/{sku}.svg`, so the same URLs work against either.
///
/// `v1/products` is both a file and the prefix of other files. S3 keys are flat strings, not
/// directories, so the objects `v1/products` and `v1/products/shoes-007` live side by side; on a
/// file system they could not (serve that from the API or write the list as `v1/products/index`).
pub fn static_files() -> Vec<StaticFile> {
    let products = products();
    let mut files = Vec::with_capacity(1 + 2 * products.len());
    files.push(StaticFile {
        path: "v1/products".into(),
        content_type: "application/json",
        body: list_json(&products, &categories()),
    });
    for p in &products {
        files.push(StaticFile {
            path: format!("v1/products/{}", p.sku),
            content_type: "application/json",
            body: serde_json::to_vec(p).expect("a product always serialises"),
        });
    }
    for p in &products {
        files.push(StaticFile {
            path: format!("images/products/{}.svg", p.sku),
            content_type: "image/svg+xml",
            body: image_svg(p).into_bytes(),
        });
    }
    files
}

/// SplitMix64: a tiny, well-mixed generator; its output never changes between builds.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform enough in `0..n` for word lists (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// FNV-1a: a stable hash of a string, to seed the generator.
pub(crate) fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Price endings, in cents.
const ENDINGS: [u32; 5] = [0, 50, 90, 95, 99];

/// The `i`th product of `spec` (its stock in 10..=80), and a stock at or below its reorder point.
fn generate(spec: &data::CategorySpec, i: usize, names: &mut std::collections::HashSet<String>) -> (Product, u32) {
    let sku = format!("{}-{:03}", spec.slug, i + 1);
    let mut rng = Rng::new(fnv1a(&sku));
    // Types take turns so each gets its share; the line and modifier are drawn until the name is new.
    let kind = &spec.kinds[i % spec.kinds.len()];
    let (line, modifier) = loop {
        let line = *rng.pick(data::LINES);
        let modifier = rng.pick(spec.modifiers);
        if names.insert(format!("{line} {} {}", modifier.word, kind.noun)) {
            break (line, modifier);
        }
    };
    let name = format!("{line} {} {}", modifier.word, kind.noun);
    let brand = *rng.pick(spec.brands);

    let (low, high) = kind.price_eur;
    let price_cents = (low + rng.below((high - low + 1) as usize) as u32) * 100 + *rng.pick(&ENDINGS);
    // 41–64% rounded to the cent stays within 40–65%.
    let cost_cents = (price_cents * (41 + rng.below(24) as u32) + 50) / 100;

    let reorder_point = 4 + rng.below(6) as u32;
    let stock = 10 + rng.below(71) as u32;
    let low_stock = 1 + rng.below(reorder_point as usize) as u32;
    // Ratings lean towards the middle of 3.5..=5.0, as real ones do.
    let tenths = 35 + (rng.below(16) + rng.below(16)) / 2;

    let mut tags = vec![modifier.tag.to_string()];
    for _ in 0..1 + rng.below(2) {
        let tag = rng.pick(spec.tags).to_string();
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }

    let product = Product {
        name,
        brand: brand.into(),
        category: spec.name.into(),
        category_slug: spec.slug.into(),
        price: f64::from(price_cents) / 100.0,
        currency: CURRENCY.into(),
        stock,
        reorder_point,
        unit_cost: f64::from(cost_cents) / 100.0,
        description: format!("The {brand} {line} is {}. {}", kind.about, modifier.feature),
        image_url: format!("/images/products/{sku}.svg"),
        url: format!("/p/{sku}"),
        colour: (*rng.pick(data::COLOURS)).into(),
        rating: tenths as f32 / 10.0,
        tags,
        sku,
    };
    (product, low_stock)
}

#[cfg(test)]
mod tests;
