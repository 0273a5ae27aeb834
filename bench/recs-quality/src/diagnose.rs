//! Where the next items are lost: what the processor kept of the training co-occurrences, and what
//! the stored neighbour lists would rank with fresher or longer lists (diagnostics, not the placement).

use std::collections::{BTreeMap, HashMap, HashSet};

use personalize::model::{Co, Item, Tuning, MAX_NEIGHBOURS};
use serde::Serialize;

use crate::data::Timed;
use crate::eval::{rank_personalize, Case};
use crate::replay::Model;

/// Product pairs (smaller id first) that share at least one training order.
pub fn co_occurring(train: &[Timed]) -> HashSet<(u64, u64)> {
    let mut pairs = HashSet::new();
    for t in train {
        let p = &t.order.products;
        for (i, a) in p.iter().enumerate() {
            for b in &p[i + 1..] {
                pairs.insert((*a.min(b), *a.max(b)));
            }
        }
    }
    pairs
}

/// Cases whose next item passes each stage, from the data down to the top 20.
#[derive(Debug, Default, Serialize)]
pub struct Funnel {
    pub cases: usize,
    /// The next item is in some training order.
    pub in_training: usize,
    /// It shares a training order with an item of the cart: the most any co-occurrence model can reach.
    pub co_occurs_with_cart: usize,
    /// It is still in a cart item's stored co-occurrences (`co_buy`, at most `MAX_CO_ITEMS` kept).
    pub in_co_buy: usize,
    /// It is in a cart item's materialised `bought_together` (at most `MAX_NEIGHBOURS`).
    pub in_bought_together: usize,
    /// It is in the top 20 of `cart_scores`.
    pub in_top20: usize,
}

pub fn funnel(cases: &[Case], model: &Model, pairs: &HashSet<(u64, u64)>, popular: &HashSet<u64>) -> Funnel {
    let mut f = Funnel { cases: cases.len(), ..Funnel::default() };
    for c in cases {
        let target = format!("p{}", c.target);
        let items: Vec<&Item> = c.cart.iter().filter_map(|p| model.items.get(&format!("p{p}"))).collect();
        f.in_training += usize::from(popular.contains(&c.target));
        f.co_occurs_with_cart +=
            usize::from(c.cart.iter().any(|p| pairs.contains(&(*p.min(&c.target), *p.max(&c.target)))));
        f.in_co_buy += usize::from(items.iter().any(|i| i.co_buy.contains_key(&target)));
        f.in_bought_together += usize::from(items.iter().any(|i| i.bought_together.iter().any(|s| s.sku == target)));
        f.in_top20 += usize::from(rank_personalize(c, model, None).contains(&c.target));
    }
    f
}

/// The items' neighbour lists re-derived with every item's final norms by the processor's own
/// `Item::materialise`, as of `now`, or (`None`) as of each item's last update, as the processor
/// left it; `uncapped` scores every stored co-occurrence instead of the top `MAX_NEIGHBOURS` (each
/// entry's score depends on that entry alone, so the maps are materialised in slices of
/// `MAX_NEIGHBOURS` and the slices' lists joined).
pub fn rematerialised(model: &Model, tuning: &Tuning, now: Option<i64>, uncapped: bool) -> Model {
    let fresh = |sku: &str| model.items.get(sku).map(|i| (i.views, i.buys));
    let slices = |map: &BTreeMap<String, Co>| -> Vec<BTreeMap<String, Co>> {
        let entries: Vec<(String, Co)> = map.iter().map(|(k, v)| (k.clone(), *v)).collect();
        entries.chunks(MAX_NEIGHBOURS).map(|c| c.iter().cloned().collect()).collect()
    };
    let items: HashMap<String, Item> = model
        .items
        .iter()
        .map(|(sku, item)| {
            let now = now.unwrap_or(item.popularity.at);
            let base = Item { co_view: BTreeMap::new(), co_buy: BTreeMap::new(), ..item.clone() };
            let mut out = Item { bought_together: Vec::new(), also_viewed: Vec::new(), ..base.clone() };
            if uncapped {
                for co_buy in slices(&item.co_buy) {
                    let mut part = Item { co_buy, ..base.clone() };
                    part.materialise(now, tuning, fresh);
                    out.bought_together.extend(part.bought_together);
                }
                for co_view in slices(&item.co_view) {
                    let mut part = Item { co_view, ..base.clone() };
                    part.materialise(now, tuning, fresh);
                    out.also_viewed.extend(part.also_viewed);
                }
                for list in [&mut out.bought_together, &mut out.also_viewed] {
                    list.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.sku.cmp(&b.sku)));
                }
            } else {
                let mut whole = item.clone();
                whole.materialise(now, tuning, fresh);
                out.bought_together = whole.bought_together;
                out.also_viewed = whole.also_viewed;
            }
            (sku.clone(), out)
        })
        .collect();
    Model { items, trending: model.trending.clone(), commits: model.commits, seconds: 0.0 }
}

/// The top 20 of each case on `model`.
pub fn rank_all(cases: &[Case], model: &Model) -> Vec<Vec<u64>> {
    cases.iter().map(|c| rank_personalize(c, model, None)).collect()
}
