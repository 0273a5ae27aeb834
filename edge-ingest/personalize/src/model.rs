//! The state the processor keeps and the recommendations API reads: shopper profiles, item
//! statistics with their co-occurrence scores and materialised neighbours, and trending lists.
//! Every record carries a `version` for optimistic concurrency; stores keep them as JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Items a profile remembers as recently viewed (newest last).
pub const MAX_RECENT: usize = 20;
/// Purchased items a profile remembers (newest last).
pub const MAX_PURCHASED: usize = 50;
/// Items a cart holds for recommendations (the oldest is forgotten past it).
pub const MAX_CART: usize = 50;
/// Categories kept in a profile's affinity (the weakest is dropped past it).
pub const MAX_AFFINITIES: usize = 20;
/// Views, and cart adds, of the current session that pair with the next one (co-view, co-cart).
pub const SESSION_WINDOW: usize = 10;
/// Distinct items of one event that count (an order's first lines): bounds one event's writes.
pub const MAX_ITEMS_PER_EVENT: usize = 40;
/// Co-occurring items kept per item and signal (the weakest is pruned past it).
pub const MAX_CO_ITEMS: usize = 100;
/// Neighbours materialised per item and signal, so serving is a key lookup. 100 rather than 30: on the
/// offline evaluation (bench/recs-quality) a cart's answer is often a weaker neighbour of several cart
/// items at once, and the 30-cap cost 3 points of HR@20.
pub const MAX_NEIGHBOURS: usize = 100;
/// Items kept per trending list.
pub const MAX_TRENDING: usize = 50;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Half-life of co-occurrence and item counts: a pair seen a fortnight ago weighs half.
pub const CO_HALF_LIFE_MS: i64 = 14 * DAY_MS;
/// Half-life of trending (popularity) scores.
pub const TRENDING_HALF_LIFE_MS: i64 = 2 * DAY_MS;
/// Half-life of a shopper's category affinity.
pub const AFFINITY_HALF_LIFE_MS: i64 = 14 * DAY_MS;

/// A score that halves every `half_life` ms: `value` as of `at` (Unix ms).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Decayed {
    #[serde(rename = "v")]
    pub value: f64,
    pub at: i64,
}

impl Decayed {
    /// The value as of `t` (never grows when `t` is before `at`).
    pub fn value_at(&self, t: i64, half_life: i64) -> f64 {
        if t <= self.at {
            return self.value;
        }
        self.value * decay(t - self.at, half_life)
    }

    /// Adds `w` happening at `t`; an event older than the last one adds its weight decayed.
    pub fn add(&mut self, w: f64, t: i64, half_life: i64) {
        if t >= self.at {
            self.value = self.value_at(t, half_life) + w;
            self.at = t;
        } else {
            self.value += w * decay(self.at - t, half_life);
        }
    }
}

fn decay(elapsed_ms: i64, half_life: i64) -> f64 {
    (-(elapsed_ms as f64) / half_life as f64).exp2()
}

/// A store key. Profiles are per anonymous id or per verified user id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Key {
    Anonymous(String),
    User(String),
    Item(String),
    TrendingAll,
    TrendingCategory(String),
    /// One SKU's stock in one store.
    Stock {
        store: String,
        sku: String,
    },
}

impl Key {
    /// The key as stored (`p#a:..`, `p#u:..`, `i#..`, `t#all`, `t#c:..`, `s#<store's length>:<store>:<sku>`).
    pub fn to_storage(&self) -> String {
        match self {
            Key::Anonymous(id) => format!("p#a:{id}"),
            Key::User(id) => format!("p#u:{id}"),
            Key::Item(sku) => format!("i#{sku}"),
            Key::TrendingAll => "t#all".into(),
            Key::TrendingCategory(c) => format!("t#c:{c}"),
            Key::Stock { store, sku } => format!("s#{}:{store}:{sku}", store.len()),
        }
    }

    pub fn from_storage(s: &str) -> Option<Key> {
        if let Some(id) = s.strip_prefix("p#a:") {
            Some(Key::Anonymous(id.into()))
        } else if let Some(id) = s.strip_prefix("p#u:") {
            Some(Key::User(id.into()))
        } else if let Some(sku) = s.strip_prefix("i#") {
            Some(Key::Item(sku.into()))
        } else if let Some(rest) = s.strip_prefix("s#") {
            let (len, rest) = rest.split_once(':')?;
            let len: usize = len.parse().ok()?;
            let store = rest.get(..len)?;
            let sku = rest.get(len..)?.strip_prefix(':')?;
            Some(Key::Stock { store: store.into(), sku: sku.into() })
        } else if s == "t#all" {
            Some(Key::TrendingAll)
        } else {
            s.strip_prefix("t#c:").map(|c| Key::TrendingCategory(c.into()))
        }
    }
}

/// A seen item and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub sku: String,
    pub at: i64,
}

/// The current session's window, for co-view and co-cart pairs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionWindow {
    pub id: String,
    #[serde(default)]
    pub views: Vec<String>,
    #[serde(default)]
    pub carts: Vec<String>,
}

/// What is known of one shopper.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub recent: Vec<Seen>,
    #[serde(default)]
    pub cart: Vec<String>,
    #[serde(default)]
    pub purchased: Vec<String>,
    #[serde(default)]
    pub affinity: BTreeMap<String, Decayed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionWindow>,
    /// An anonymous profile merged into a user's (on a verified login): its events go there now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    #[serde(default)]
    pub last_seen: i64,
}

impl Profile {
    /// Folds `other` (an anonymous profile) into this one.
    pub fn merge(&mut self, other: &Profile) {
        for s in &other.recent {
            self.recent.retain(|r| r.sku != s.sku);
            self.recent.push(s.clone());
        }
        self.recent.sort_by_key(|s| s.at);
        trim_front(&mut self.recent, MAX_RECENT);
        for sku in &other.cart {
            push_unique(&mut self.cart, sku, MAX_CART);
        }
        for sku in &other.purchased {
            push_unique(&mut self.purchased, sku, MAX_PURCHASED);
        }
        for (category, score) in &other.affinity {
            let mine = self.affinity.entry(category.clone()).or_default();
            mine.add(score.value, score.at, AFFINITY_HALF_LIFE_MS);
        }
        trim_affinity(&mut self.affinity, self.last_seen.max(other.last_seen));
        if self.session.is_none() {
            self.session = other.session.clone();
        }
        self.last_seen = self.last_seen.max(other.last_seen);
    }

    /// Categories by affinity as of `now`, strongest first.
    pub fn top_categories(&self, now: i64) -> Vec<(String, f64)> {
        let mut all: Vec<(String, f64)> =
            self.affinity.iter().map(|(c, d)| (c.clone(), d.value_at(now, AFFINITY_HALF_LIFE_MS))).collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all
    }
}

pub(crate) fn trim_affinity(affinity: &mut BTreeMap<String, Decayed>, now: i64) {
    while affinity.len() > MAX_AFFINITIES {
        let weakest = affinity
            .iter()
            .min_by(|a, b| {
                a.1.value_at(now, AFFINITY_HALF_LIFE_MS).total_cmp(&b.1.value_at(now, AFFINITY_HALF_LIFE_MS))
            })
            .map(|(c, _)| c.clone());
        if let Some(c) = weakest {
            affinity.remove(&c);
        }
    }
}

/// Appends `sku` (moving it to the end if present), keeping at most `max` (the oldest go).
pub(crate) fn push_unique(list: &mut Vec<String>, sku: &str, max: usize) {
    list.retain(|s| s != sku);
    list.push(sku.to_string());
    trim_front(list, max);
}

pub(crate) fn trim_front<T>(list: &mut Vec<T>, max: usize) {
    if list.len() > max {
        list.drain(..list.len() - max);
    }
}

/// How often an item co-occurred with another, and that other item's own count when last seen
/// together (for the cosine normalisation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Co {
    #[serde(rename = "c")]
    pub count: Decayed,
    #[serde(rename = "n")]
    pub other: Decayed,
}

/// A neighbour or trending entry: an item and its score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub sku: String,
    pub score: f64,
}

/// Display fields from the latest event that described the item (for the widget).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
}

/// One item's counts, co-occurrences and materialised neighbours.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Item {
    #[serde(default)]
    pub info: ItemInfo,
    /// Sessions that viewed it (decayed): the co-view norm.
    #[serde(default)]
    pub views: Decayed,
    /// Cart adds (weight 1) and order lines (weight [`PURCHASE_WEIGHT`]), decayed: the co-buy norm.
    #[serde(default)]
    pub buys: Decayed,
    /// Views + carts + purchases, weighted, with the trending half-life.
    #[serde(default)]
    pub popularity: Decayed,
    #[serde(default)]
    pub co_view: BTreeMap<String, Co>,
    #[serde(default)]
    pub co_buy: BTreeMap<String, Co>,
    /// Top neighbours by co-view ("customers also viewed").
    #[serde(default)]
    pub also_viewed: Vec<Scored>,
    /// Top neighbours by co-cart and co-purchase ("frequently bought together").
    #[serde(default)]
    pub bought_together: Vec<Scored>,
}

/// A pair in the same order weighs this much more than a pair in the same cart session.
pub const PURCHASE_WEIGHT: f64 = 2.0;
/// Popularity weights (trending): a view, a cart add, a purchased line.
pub const POPULARITY_VIEW: f64 = 1.0;
pub const POPULARITY_CART: f64 = 3.0;
pub const POPULARITY_PURCHASE: f64 = 5.0;

/// How neighbours are scored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tuning {
    /// Cosine is shrunk by `c / (c + shrink)` so that one lucky co-occurrence does not make a neighbour.
    pub shrink: f64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning { shrink: 1.0 }
    }
}

impl Item {
    /// Re-derives `also_viewed` and `bought_together` from the co-occurrence maps, as of `now`.
    /// `fresh(sku)` gives another item's current (views, buys) when the caller has it: the norms
    /// kept in the maps are as of the pair's last co-occurrence, and a popular item's grows fast.
    pub fn materialise(&mut self, now: i64, tuning: &Tuning, fresh: impl Fn(&str) -> Option<(Decayed, Decayed)>) {
        self.refresh_norms(&fresh);
        self.also_viewed = neighbours(&self.co_view, self.views.value_at(now, CO_HALF_LIFE_MS), now, tuning);
        self.bought_together = neighbours(&self.co_buy, self.buys.value_at(now, CO_HALF_LIFE_MS), now, tuning);
    }

    fn refresh_norms(&mut self, fresh: &impl Fn(&str) -> Option<(Decayed, Decayed)>) {
        for (sku, co) in self.co_view.iter_mut() {
            if let Some((views, _)) = fresh(sku).filter(|(v, _)| v.at >= co.other.at) {
                co.other = views;
            }
        }
        for (sku, co) in self.co_buy.iter_mut() {
            if let Some((_, buys)) = fresh(sku).filter(|(_, b)| b.at >= co.other.at) {
                co.other = buys;
            }
        }
    }
}

/// Cosine similarity (Linden, Smith and York's item-to-item measure) over decayed counts, shrunk.
fn neighbours(co: &BTreeMap<String, Co>, own: f64, now: i64, tuning: &Tuning) -> Vec<Scored> {
    let mut all: Vec<Scored> = co
        .iter()
        .filter_map(|(sku, c)| {
            let count = c.count.value_at(now, CO_HALF_LIFE_MS);
            let other = c.other.value_at(now, CO_HALF_LIFE_MS);
            let norm = (own * other).sqrt();
            (count > 0.0 && norm > 0.0)
                .then(|| Scored { sku: sku.clone(), score: (count / norm).min(1.0) * count / (count + tuning.shrink) })
        })
        .collect();
    all.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.sku.cmp(&b.sku)));
    all.truncate(MAX_NEIGHBOURS);
    all
}

/// Keeps the `MAX_CO_ITEMS` strongest co-occurrences as of `now` (ties: the larger sku goes first).
pub(crate) fn prune_co(co: &mut BTreeMap<String, Co>, now: i64) {
    if co.len() <= MAX_CO_ITEMS {
        return;
    }
    let weaker = |a: (f64, &String), b: (f64, &String)| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)).is_lt();
    if co.len() == MAX_CO_ITEMS + 1 {
        // The common case once an item is popular: one new pair pushes out the single weakest, found in
        // one pass without copying the keys.
        let mut weakest: Option<(f64, &String)> = None;
        for (sku, c) in co.iter() {
            let here = (c.count.value_at(now, CO_HALF_LIFE_MS), sku);
            if weakest.is_none_or(|w| weaker(here, w)) {
                weakest = Some(here);
            }
        }
        if let Some((_, sku)) = weakest {
            let sku = sku.clone();
            co.remove(&sku);
        }
        return;
    }
    let mut scores: Vec<(f64, String)> =
        co.iter().map(|(sku, c)| (c.count.value_at(now, CO_HALF_LIFE_MS), sku.clone())).collect();
    scores.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
    for (_, sku) in scores.into_iter().take(co.len() - MAX_CO_ITEMS) {
        co.remove(&sku);
    }
}

/// A trending list: items and their popularity as last seen.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Trending {
    #[serde(default)]
    pub items: Vec<TrendingEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrendingEntry {
    pub sku: String,
    pub popularity: Decayed,
}

impl Trending {
    /// Puts `sku` in with its current popularity, keeping the [`MAX_TRENDING`] most popular as of `now`.
    pub fn upsert(&mut self, sku: &str, popularity: Decayed, now: i64) {
        self.items.retain(|e| e.sku != sku);
        self.items.push(TrendingEntry { sku: sku.to_string(), popularity });
        self.items.sort_by(|a, b| {
            b.popularity
                .value_at(now, TRENDING_HALF_LIFE_MS)
                .total_cmp(&a.popularity.value_at(now, TRENDING_HALF_LIFE_MS))
                .then_with(|| a.sku.cmp(&b.sku))
        });
        self.items.truncate(MAX_TRENDING);
    }

    /// The list ranked as of `now`.
    pub fn ranked(&self, now: i64) -> Vec<Scored> {
        let mut all: Vec<Scored> = self
            .items
            .iter()
            .map(|e| Scored { sku: e.sku.clone(), score: e.popularity.value_at(now, TRENDING_HALF_LIFE_MS) })
            .collect();
        all.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.sku.cmp(&b.sku)));
        all
    }
}

/// A stored record's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Profile(Profile),
    Item(Box<Item>),
    Trending(Trending),
    Stock(crate::inventory::Stock),
}

/// A record and the version it was read at (0: it did not exist).
#[derive(Clone, Debug, PartialEq)]
pub struct Versioned {
    pub version: u64,
    pub value: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decayed_scores_halve_every_half_life_and_take_late_events() {
        let mut d = Decayed::default();
        d.add(4.0, 1_000, 100);
        assert_eq!(d.value_at(1_100, 100), 2.0);
        assert_eq!(d.value_at(900, 100), 4.0, "never grows backwards");
        d.add(1.0, 900, 100); // a late event: weighs half, as of 1_000
        assert_eq!((d.value, d.at), (4.5, 1_000));
        d.add(1.0, 1_200, 100);
        assert_eq!((d.value, d.at), (4.5 / 4.0 + 1.0, 1_200));
    }

    #[test]
    fn keys_round_trip_through_their_stored_form() {
        for key in [
            Key::Anonymous("a-1".into()),
            Key::User("u:1".into()),
            Key::Item("SKU#1".into()),
            Key::TrendingAll,
            Key::TrendingCategory("shoes".into()),
            Key::Stock { store: "s:1".into(), sku: "a:b".into() },
            Key::Stock { store: String::new(), sku: "x".into() },
        ] {
            assert_eq!(Key::from_storage(&key.to_storage()), Some(key));
        }
        assert_eq!(Key::from_storage("x#1"), None);
    }

    #[test]
    fn cosine_favours_specific_pairs_over_popular_ones() {
        let at = 0;
        let d = |v| Decayed { value: v, at };
        let mut item = Item { views: d(10.0), ..Item::default() };
        // "popular" co-occurs 5 times but is viewed 1000 times; "niche" 4 times out of 5.
        item.co_view.insert("popular".into(), Co { count: d(5.0), other: d(1000.0) });
        item.co_view.insert("niche".into(), Co { count: d(4.0), other: d(5.0) });
        item.co_view.insert("once".into(), Co { count: d(1.0), other: d(1.0) });
        item.materialise(at, &Tuning::default(), |_| None);
        let order: Vec<&str> = item.also_viewed.iter().map(|s| s.sku.as_str()).collect();
        assert_eq!(order, ["niche", "once", "popular"]);
        assert!(item.also_viewed[0].score <= 1.0);
    }

    #[test]
    fn co_occurrences_and_lists_are_bounded() {
        let mut co = BTreeMap::new();
        for i in 0..(MAX_CO_ITEMS + 5) {
            co.insert(format!("s{i:03}"), Co { count: Decayed { value: i as f64, at: 0 }, other: Decayed::default() });
        }
        prune_co(&mut co, 0);
        assert_eq!(co.len(), MAX_CO_ITEMS);
        assert!(!co.contains_key("s000") && co.contains_key("s104"), "the weakest go");

        // One over (the fast path): the weakest goes, and of two equally weak the larger sku.
        co.insert("s001".into(), Co { count: Decayed { value: 4.5, at: 0 }, other: Decayed::default() });
        prune_co(&mut co, 0);
        assert_eq!(co.len(), MAX_CO_ITEMS);
        assert!(!co.contains_key("s001") && co.contains_key("s005"), "the one weakest goes");
        co.insert("s000".into(), Co { count: Decayed { value: 5.0, at: 0 }, other: Decayed::default() });
        prune_co(&mut co, 0);
        assert_eq!(co.len(), MAX_CO_ITEMS);
        assert!(co.contains_key("s000") && !co.contains_key("s005"), "ties: the larger sku goes");

        let mut t = Trending::default();
        for i in 0..(MAX_TRENDING + 3) {
            t.upsert(&format!("s{i}"), Decayed { value: i as f64, at: 0 }, 0);
        }
        assert_eq!(t.items.len(), MAX_TRENDING);
        assert_eq!(t.ranked(0)[0].sku, format!("s{}", MAX_TRENDING + 2));
        t.upsert("s52", Decayed { value: 0.5, at: 0 }, 0);
        assert_eq!(t.items.iter().filter(|e| e.sku == "s52").count(), 1, "an upsert replaces");
    }

    #[test]
    fn merging_an_anonymous_profile_keeps_both_histories() {
        let mut user = Profile { cart: vec!["a".into()], last_seen: 10, ..Profile::default() };
        user.recent.push(Seen { sku: "x".into(), at: 5 });
        let mut anon =
            Profile { cart: vec!["b".into(), "a".into()], purchased: vec!["p".into()], ..Profile::default() };
        anon.recent.push(Seen { sku: "y".into(), at: 7 });
        anon.recent.push(Seen { sku: "x".into(), at: 8 });
        anon.affinity.insert("shoes".into(), Decayed { value: 2.0, at: 8 });
        user.merge(&anon);
        assert_eq!(user.recent.iter().map(|s| s.sku.as_str()).collect::<Vec<_>>(), ["y", "x"]);
        assert_eq!(user.cart, ["b", "a"]);
        assert_eq!(user.purchased, ["p"]);
        assert_eq!(user.top_categories(8)[0], ("shoes".to_string(), 2.0));
    }
}
