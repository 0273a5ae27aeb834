//! The shop's state, shared through Leptos context: the catalog (loaded once from
//! `GET /v1/products`), the cart (kept in `localStorage`), the signed-in shopper, and a counter the
//! recommendation blocks watch to ask again after an interaction.

use std::collections::HashMap;
use std::sync::Arc;

use catalog::{Category, Product};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api;
use crate::auth::Session;

/// The catalog as the API serves it.
#[derive(Clone, Debug, Deserialize)]
pub struct CatalogAnswer {
    pub products: Vec<Product>,
    pub categories: Vec<Category>,
}

/// The catalog with an index by SKU.
#[derive(Debug)]
pub struct Catalog {
    pub products: Vec<Product>,
    pub categories: Vec<Category>,
    by_sku: HashMap<String, usize>,
}

impl Catalog {
    pub fn new(answer: CatalogAnswer) -> Catalog {
        let by_sku = answer.products.iter().enumerate().map(|(i, p)| (p.sku.clone(), i)).collect();
        Catalog { products: answer.products, categories: answer.categories, by_sku }
    }

    pub fn product(&self, sku: &str) -> Option<&Product> {
        self.by_sku.get(sku).map(|&i| &self.products[i])
    }

    pub fn category(&self, slug: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.slug == slug)
    }

    pub fn in_category<'a>(&'a self, slug: &'a str) -> impl Iterator<Item = &'a Product> + 'a {
        self.products.iter().filter(move |p| p.category_slug == slug)
    }
}

/// One line of the cart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CartLine {
    pub sku: String,
    pub quantity: u32,
}

/// The cart: an id (sent with cart events, new after each order) and its lines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    pub id: String,
    pub lines: Vec<CartLine>,
}

/// Items of one SKU a cart holds at most.
pub const MAX_QUANTITY: u32 = 10;
const CART_KEY: &str = "shopstream-demo-cart";

impl Cart {
    fn fresh() -> Cart {
        Cart { id: api::random_id(), lines: Vec::new() }
    }

    fn restore() -> Cart {
        api::load(CART_KEY).and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_else(Cart::fresh)
    }

    pub fn count(&self) -> u32 {
        self.lines.iter().map(|l| l.quantity).sum()
    }

    pub fn quantity(&self, sku: &str) -> u32 {
        self.lines.iter().find(|l| l.sku == sku).map_or(0, |l| l.quantity)
    }
}

/// A demo order's shipping price, free above `FREE_SHIPPING_FROM`.
pub const SHIPPING: f64 = 4.90;
pub const FREE_SHIPPING_FROM: f64 = 75.0;
/// VAT included in the prices (shown, not added).
pub const VAT_RATE: f64 = 0.20;

/// After an interaction is sent, the recommendations ask again this much later (the local
/// processor applies an event within tens of milliseconds).
const RECS_AFTER_FLUSH_MS: i32 = 150;

/// How long a notice shows.
const NOTICE_MS: i32 = 4000;

/// Everything the pages share.
#[derive(Clone, Copy)]
pub struct Shop {
    pub catalog: RwSignal<Option<Arc<Catalog>>>,
    pub catalog_error: RwSignal<Option<String>>,
    pub cart: RwSignal<Cart>,
    pub session: RwSignal<Option<Session>>,
    /// Bumped once the events of an interaction have reached the ingest (and the processor has had
    /// a moment): the recommendation blocks ask again.
    pub recs_refresh: RwSignal<u32>,
    /// A short message for the shopper (announced politely to screen readers).
    pub notice: RwSignal<String>,
}

impl Shop {
    pub fn new() -> Shop {
        let shop = Shop {
            catalog: RwSignal::new(None),
            catalog_error: RwSignal::new(None),
            cart: RwSignal::new(Cart::restore()),
            session: RwSignal::new(None),
            recs_refresh: RwSignal::new(0),
            notice: RwSignal::new(String::new()),
        };
        Effect::new(move |_| {
            shop.cart.with(|c| api::save(CART_KEY, &serde_json::to_string(c).unwrap_or_default()));
        });
        // A notice goes away by itself (it stays in the live region's history for screen readers).
        Effect::new(move |_| {
            let shown = shop.notice.get();
            if shown.is_empty() {
                return;
            }
            leptos::task::spawn_local(async move {
                api::sleep(NOTICE_MS).await;
                if shop.notice.get_untracked() == shown {
                    shop.notice.set(String::new());
                }
            });
        });
        shop
    }

    /// After a tracked interaction: the tracker's queue is sent, then, a moment later, the
    /// recommendation blocks ask again (one flush for all of them).
    pub fn interacted(&self) {
        let refresh = self.recs_refresh;
        leptos::task::spawn_local(async move {
            crate::tracking::flush().await;
            api::sleep(RECS_AFTER_FLUSH_MS).await;
            refresh.update(|n| *n += 1);
        });
    }

    /// Sets `quantity` of `sku` (0 removes the line), at most its `stock` and [`MAX_QUANTITY`];
    /// returns the change in quantity.
    pub fn set_quantity(&self, sku: &str, quantity: u32, stock: u32) -> i64 {
        let quantity = quantity.min(MAX_QUANTITY).min(stock);
        let mut delta = 0;
        self.cart.update(|cart| {
            let before = cart.quantity(sku);
            delta = i64::from(quantity) - i64::from(before);
            match cart.lines.iter().position(|l| l.sku == sku) {
                Some(i) if quantity == 0 => {
                    cart.lines.remove(i);
                }
                Some(i) => cart.lines[i].quantity = quantity,
                None if quantity > 0 => cart.lines.push(CartLine { sku: sku.to_owned(), quantity }),
                None => {}
            }
        });
        delta
    }

    /// Empties the cart and gives the next one a new id (after an order).
    pub fn new_cart(&self) {
        self.cart.set(Cart::fresh());
    }
}

impl Default for Shop {
    fn default() -> Self {
        Shop::new()
    }
}

pub fn use_shop() -> Shop {
    expect_context::<Shop>()
}

/// A price in euros, as shown (`€89.90`).
pub fn euros(amount: f64) -> String {
    format!("€{amount:.2}")
}

/// Rounds to cents.
pub fn cents(amount: f64) -> f64 {
    (amount * 100.0).round() / 100.0
}
