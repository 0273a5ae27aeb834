//! The recommendations use case: `GET /v1/recommendations` without the HTTP.
//!
//! Every answer is a handful of point reads (the shopper's profile, the items it names, a trending
//! list): neighbours are materialised by the processor, so nothing is scanned or computed over the
//! catalogue here.
//!
//! Item records are the large ones (their co-occurrences and neighbour lists), so a recommender may
//! keep the items it read for a short while ([`Recommender::with_item_cache`]): a shopper's own
//! profile is always read fresh (their clicks show at once); what other shoppers changed in an item's
//! neighbours shows within the cache's time to live.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use event_schema::limits::MAX_ID_BYTES;
use event_schema::Timestamp;
use ingest_domain::Clock;
use serde::Serialize;

use crate::model::{Item, ItemInfo, Key, Profile, Scored, Value, Versioned};
use crate::store::{StateStore, StoreError};

/// Items returned when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 10;
/// The most items one answer may ask for.
pub const MAX_LIMIT: usize = 50;
/// Recent items a `home` answer starts from (most recent weigh most).
pub const HOME_SEEDS: usize = 10;
/// Each older recent item weighs this much of the one after it.
const RECENCY_DECAY: f64 = 0.8;
/// Co-view neighbours weigh this much against bought-together ones in `home` and `cart`.
const ALSO_VIEWED_WEIGHT: f64 = 0.5;
/// How long the local server and the Lambda keep an item they read (see the module's documentation).
pub const ITEM_CACHE_TTL: Duration = Duration::from_millis(500);
/// Items a cache holds at most (about 26 KB each at most in memory with short SKUs); past it, the
/// expired ones are dropped, and if none is, all of them.
pub const ITEM_CACHE_MAX_ITEMS: usize = 20_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    Home,
    Product,
    Cart,
}

impl Placement {
    pub fn as_str(self) -> &'static str {
        match self {
            Placement::Home => "home",
            Placement::Product => "product",
            Placement::Cart => "cart",
        }
    }
}

/// Which strategy served an answer (the widget sends it back with impressions and clicks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// `product`: co-cart and co-purchase neighbours of the item.
    BoughtTogether,
    /// `product`: co-view neighbours of the item.
    AlsoViewed,
    /// `home`: neighbours of the shopper's recent items.
    Personalized,
    /// `cart`: bought-together neighbours of the cart's items.
    CartComplements,
    /// Trending in the item's category (`product`) or the shopper's favourite one (`home`).
    TrendingCategory,
    /// Trending overall: no signal yet.
    Trending,
}

/// A validated request.
#[derive(Clone, Debug, PartialEq)]
pub struct RecRequest {
    pub placement: Placement,
    pub anonymous_id: Option<String>,
    pub user_id: Option<String>,
    pub sku: Option<String>,
    pub limit: usize,
    /// Only this strategy, then the trending fallbacks: `trending` (any placement: no personal or
    /// neighbour signal; for `product`, trending in the item's category first), `also_viewed` or `bought_together` (placement `product`: one kind of neighbour,
    /// e.g. for separate "customers also viewed" and "frequently bought together" blocks).
    pub strategy: Option<Strategy>,
}

/// Why a request was refused (`400`): the parameter and the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{parameter}: {reason}")]
pub struct BadParameter {
    pub parameter: &'static str,
    pub reason: String,
}

fn bad(parameter: &'static str, reason: impl Into<String>) -> BadParameter {
    BadParameter { parameter, reason: reason.into() }
}

impl RecRequest {
    /// Reads the query parameters (unknown ones are ignored: cache busters, tracking tags).
    pub fn from_query<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, BadParameter> {
        let mut placement = None;
        let (mut anonymous_id, mut user_id, mut sku, mut limit, mut strategy) = (None, None, None, None, None);
        for (name, value) in params {
            let slot = match name {
                "placement" => &mut placement,
                "anonymous_id" => &mut anonymous_id,
                "user_id" => &mut user_id,
                "sku" => &mut sku,
                "limit" => &mut limit,
                "strategy" => &mut strategy,
                _ => continue,
            };
            if slot.is_some() {
                return Err(bad(param_name(name), "given more than once"));
            }
            *slot = Some(value.to_string());
        }
        let placement = match placement.as_deref() {
            Some("home") => Placement::Home,
            Some("product") => Placement::Product,
            Some("cart") => Placement::Cart,
            Some(other) => {
                return Err(bad("placement", format!("unknown placement {other:?}; expected home, product or cart")))
            }
            None => return Err(bad("placement", "missing; expected home, product or cart")),
        };
        let id = |name: &'static str, v: Option<String>| match v {
            Some(v) if v.is_empty() => Err(bad(name, "empty")),
            Some(v) if v.len() > MAX_ID_BYTES => Err(bad(name, format!("longer than {MAX_ID_BYTES} bytes"))),
            v => Ok(v),
        };
        let anonymous_id = id("anonymous_id", anonymous_id)?;
        let user_id = id("user_id", user_id)?;
        let sku = id("sku", sku)?;
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(l) => match l.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(bad("limit", format!("{l:?} is not a whole number from 1 to {MAX_LIMIT}"))),
            },
        };
        let strategy = match strategy.as_deref() {
            None => None,
            Some("trending") => Some(Strategy::Trending),
            Some("also_viewed") if placement == Placement::Product => Some(Strategy::AlsoViewed),
            Some("bought_together") if placement == Placement::Product => Some(Strategy::BoughtTogether),
            Some(s @ ("also_viewed" | "bought_together")) => {
                return Err(bad("strategy", format!("strategy={s} is for placement=product")))
            }
            Some(other) => {
                return Err(bad(
                    "strategy",
                    format!("unknown strategy {other:?}; expected trending, also_viewed or bought_together"),
                ))
            }
        };
        match placement {
            Placement::Product if sku.is_none() => return Err(bad("sku", "required for placement=product")),
            Placement::Home | Placement::Cart if anonymous_id.is_none() && user_id.is_none() => {
                return Err(bad(
                    "anonymous_id",
                    format!("anonymous_id or user_id is required for placement={}", placement.as_str()),
                ))
            }
            _ => {}
        }
        Ok(RecRequest { placement, anonymous_id, user_id, sku, limit, strategy })
    }
}

fn param_name(name: &str) -> &'static str {
    match name {
        "placement" => "placement",
        "anonymous_id" => "anonymous_id",
        "user_id" => "user_id",
        "sku" => "sku",
        "strategy" => "strategy",
        _ => "limit",
    }
}

/// One recommended item.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecItem {
    pub sku: String,
    pub score: f64,
    #[serde(flatten)]
    pub info: ItemInfo,
}

/// An answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recommendations {
    /// Sent back with impressions and clicks, so click-through is measured per strategy.
    pub recommendation_id: String,
    pub placement: Placement,
    pub strategy: Strategy,
    pub items: Vec<RecItem>,
    pub generated_at: Timestamp,
}

#[derive(Clone)]
pub struct Recommender {
    store: Arc<dyn StateStore>,
    clock: Arc<dyn Clock>,
    items: Option<Arc<ItemCache>>,
}

/// An item as read, and when (`None`: the item does not exist).
type Cached = (i64, Option<Arc<Item>>);

/// Items read, by SKU.
struct ItemCache {
    ttl_ms: i64,
    entries: Mutex<HashMap<String, Cached>>,
}

impl Recommender {
    pub fn new(store: Arc<dyn StateStore>, clock: Arc<dyn Clock>) -> Self {
        Recommender { store, clock, items: None }
    }

    /// Keeps each item read for `ttl` (by this recommender's clock), at most
    /// [`ITEM_CACHE_MAX_ITEMS`] of them. Profiles and trending lists are always read.
    pub fn with_item_cache(mut self, ttl: Duration) -> Self {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        self.items = Some(Arc::new(ItemCache { ttl_ms, entries: Mutex::new(HashMap::new()) }));
        self
    }

    pub async fn recommend(&self, req: &RecRequest) -> Result<Recommendations, StoreError> {
        let now = self.clock.now();
        let mut ranked = Ranked::new(req.limit);
        let primary = match (req.placement, req.strategy) {
            (Placement::Product, _) => self.product(req, &mut ranked).await?,
            (_, Some(Strategy::Trending)) => None,
            (Placement::Home, _) => self.home(req, now.0, &mut ranked).await?,
            (Placement::Cart, _) => self.cart(req, &mut ranked).await?,
        };
        let mut strategy = primary.filter(|_| !ranked.is_empty());
        if !ranked.is_full() {
            if let Some(category) = ranked.category.clone() {
                let list = self.trending(Key::TrendingCategory(category), now.0).await?;
                if ranked.fill(list) && strategy.is_none() {
                    strategy = Some(Strategy::TrendingCategory);
                }
            }
        }
        if !ranked.is_full() {
            let list = self.trending(Key::TrendingAll, now.0).await?;
            ranked.fill(list);
        }
        let strategy = strategy.unwrap_or(Strategy::Trending);
        let items = self.describe(ranked.items).await?;
        Ok(Recommendations {
            recommendation_id: uuid::Uuid::now_v7().to_string(),
            placement: req.placement,
            strategy,
            items,
            generated_at: now,
        })
    }

    async fn product(&self, req: &RecRequest, ranked: &mut Ranked) -> Result<Option<Strategy>, StoreError> {
        let sku = req.sku.clone().unwrap_or_default();
        ranked.exclude.insert(sku.clone());
        let Some(item) = self.items(&[sku]).await?.into_iter().next() else { return Ok(None) };
        ranked.category = item.info.category.clone();
        match req.strategy {
            Some(Strategy::Trending) => return Ok(None),
            Some(only @ (Strategy::AlsoViewed | Strategy::BoughtTogether)) => {
                let list = if only == Strategy::AlsoViewed { &item.also_viewed } else { &item.bought_together };
                return Ok(ranked.fill(list.clone()).then_some(only));
            }
            _ => {}
        }
        let primary = if !item.bought_together.is_empty() {
            Strategy::BoughtTogether
        } else if !item.also_viewed.is_empty() {
            Strategy::AlsoViewed
        } else {
            return Ok(None);
        };
        ranked.fill(item.bought_together.clone());
        ranked.fill(item.also_viewed.clone());
        Ok(Some(primary))
    }

    async fn home(&self, req: &RecRequest, now: i64, ranked: &mut Ranked) -> Result<Option<Strategy>, StoreError> {
        let Some(profile) = self.profile(req).await? else { return Ok(None) };
        ranked.exclude.extend(profile.purchased.iter().cloned());
        ranked.exclude.extend(profile.cart.iter().cloned());
        ranked.category = profile.top_categories(now).into_iter().next().map(|(c, _)| c);
        let seeds: Vec<String> = profile.recent.iter().rev().take(HOME_SEEDS).map(|s| s.sku.clone()).collect();
        let items = self.items(&seeds).await?;
        let mut scores = home_scores(&items);
        // The items just seen are not news: they come after the neighbours.
        scores.retain(|s| !seeds.contains(&s.sku));
        Ok(ranked.fill(scores).then_some(Strategy::Personalized))
    }

    async fn cart(&self, req: &RecRequest, ranked: &mut Ranked) -> Result<Option<Strategy>, StoreError> {
        let Some(profile) = self.profile(req).await? else { return Ok(None) };
        ranked.exclude.extend(profile.cart.iter().cloned());
        let items = self.items(&profile.cart).await?;
        ranked.category = items.last().and_then(|i| i.info.category.clone());
        Ok(ranked.fill(cart_scores(&items)).then_some(Strategy::CartComplements))
    }

    /// The shopper's profile: the user's when a user id is given, else the anonymous one (or the
    /// user's it was merged into).
    async fn profile(&self, req: &RecRequest) -> Result<Option<Profile>, StoreError> {
        let mut keys = Vec::new();
        keys.extend(req.user_id.clone().map(Key::User));
        keys.extend(req.anonymous_id.clone().map(Key::Anonymous));
        let found = self.store.load(&keys).await?;
        let profile = |v: Option<&Versioned>| match v.map(|v| &v.value) {
            Some(Value::Profile(p)) => Some(p.clone()),
            _ => None,
        };
        for key in &keys {
            if let Some(p) = profile(found.get(key)) {
                if let Some(user) = &p.merged_into {
                    let target = Key::User(user.clone());
                    return Ok(profile(self.store.load(std::slice::from_ref(&target)).await?.get(&target)));
                }
                return Ok(Some(p));
            }
        }
        Ok(None)
    }

    /// The items that exist among `skus`, in the order asked.
    async fn items(&self, skus: &[String]) -> Result<Vec<Arc<Item>>, StoreError> {
        Ok(self.lookup(skus).await?.into_iter().flatten().collect())
    }

    /// Each of `skus`' item (`None`: no such item), from the cache while fresh, else one read.
    async fn lookup(&self, skus: &[String]) -> Result<Vec<Option<Arc<Item>>>, StoreError> {
        let now = self.clock.now().0;
        let mut known: HashMap<String, Option<Arc<Item>>> = HashMap::new();
        if let Some(cache) = &self.items {
            let entries = cache.entries.lock().unwrap_or_else(|p| p.into_inner());
            for sku in skus {
                if let Some((_, item)) = entries.get(sku).filter(|(at, _)| now - *at < cache.ttl_ms) {
                    known.insert(sku.clone(), item.clone());
                }
            }
        }
        let missing: Vec<Key> =
            skus.iter().filter(|s| !known.contains_key(s.as_str())).map(|s| Key::Item(s.clone())).collect();
        if !missing.is_empty() {
            let mut found = self.store.load(&missing).await?;
            let mut cache =
                self.items.as_ref().map(|c| (c.ttl_ms, c.entries.lock().unwrap_or_else(|p| p.into_inner())));
            if let Some((ttl_ms, entries)) = &mut cache {
                if entries.len() + missing.len() > ITEM_CACHE_MAX_ITEMS {
                    entries.retain(|_, (at, _)| now - *at < *ttl_ms);
                    if entries.len() + missing.len() > ITEM_CACHE_MAX_ITEMS {
                        entries.clear();
                    }
                }
            }
            for key in &missing {
                let Key::Item(sku) = key else { continue };
                let item = match found.remove(key).map(|v| v.value) {
                    Some(Value::Item(i)) => Some(Arc::new(*i)),
                    _ => None,
                };
                if let Some((_, entries)) = &mut cache {
                    entries.insert(sku.clone(), (now, item.clone()));
                }
                known.insert(sku.clone(), item);
            }
        }
        Ok(skus.iter().map(|s| known.get(s.as_str()).cloned().flatten()).collect())
    }

    async fn trending(&self, key: Key, now: i64) -> Result<Vec<Scored>, StoreError> {
        let found = self.store.load(std::slice::from_ref(&key)).await?;
        Ok(match found.get(&key).map(|v| &v.value) {
            Some(Value::Trending(t)) => t.ranked(now),
            _ => Vec::new(),
        })
    }

    async fn describe(&self, ranked: Vec<Scored>) -> Result<Vec<RecItem>, StoreError> {
        let skus: Vec<String> = ranked.iter().map(|s| s.sku.clone()).collect();
        let items = self.lookup(&skus).await?;
        Ok(ranked
            .into_iter()
            .zip(items)
            .map(|(s, item)| RecItem {
                sku: s.sku,
                score: round(s.score),
                info: item.map(|i| i.info.clone()).unwrap_or_default(),
            })
            .collect())
    }
}

/// `home`'s ranking: the neighbours of the shopper's recent items (`items`, most recent first),
/// each older seed weighing [`RECENCY_DECAY`] of the one before, co-view at half weight.
pub fn home_scores<I: Borrow<Item>>(items: &[I]) -> Vec<Scored> {
    let mut scores: HashMap<String, f64> = HashMap::new();
    let mut weight = 1.0;
    for item in items {
        let item = item.borrow();
        for n in &item.bought_together {
            *scores.entry(n.sku.clone()).or_default() += weight * n.score;
        }
        for n in &item.also_viewed {
            *scores.entry(n.sku.clone()).or_default() += weight * ALSO_VIEWED_WEIGHT * n.score;
        }
        weight *= RECENCY_DECAY;
    }
    sorted(scores)
}

/// `cart`'s ranking: the summed bought-together neighbours of the cart's items (co-view at half
/// weight). The caller leaves out the cart's own items. The offline evaluation scores with this.
pub fn cart_scores<I: Borrow<Item>>(items: &[I]) -> Vec<Scored> {
    let mut scores: HashMap<String, f64> = HashMap::new();
    for item in items {
        let item = item.borrow();
        for n in &item.bought_together {
            *scores.entry(n.sku.clone()).or_default() += n.score;
        }
        for n in &item.also_viewed {
            *scores.entry(n.sku.clone()).or_default() += ALSO_VIEWED_WEIGHT * n.score;
        }
    }
    sorted(scores)
}

fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn sorted(scores: HashMap<String, f64>) -> Vec<Scored> {
    let mut all: Vec<Scored> = scores.into_iter().map(|(sku, score)| Scored { sku, score }).collect();
    all.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.sku.cmp(&b.sku)));
    all
}

/// The answer being built: items in order, without repeats or exclusions, up to the limit.
struct Ranked {
    items: Vec<Scored>,
    exclude: HashSet<String>,
    limit: usize,
    /// The category trending fills from.
    category: Option<String>,
}

impl Ranked {
    fn new(limit: usize) -> Self {
        Ranked { items: Vec::new(), exclude: HashSet::new(), limit, category: None }
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn is_full(&self) -> bool {
        self.items.len() >= self.limit
    }

    /// Appends from `list` until full; whether anything was added.
    fn fill(&mut self, list: Vec<Scored>) -> bool {
        let before = self.items.len();
        for s in list {
            if self.is_full() {
                break;
            }
            if self.exclude.insert(s.sku.clone()) {
                self.items.push(s);
            }
        }
        self.items.len() > before
    }
}
