//! Next-item prediction cases on the test orders, and the rankings scored on them.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use personalize::model::{Item, MAX_CART};
use personalize::recommend::cart_scores;

use crate::data::{Order, Timed};
use crate::replay::{product, Model};

/// Items each ranking keeps: enough for HR@20 and MRR@20.
pub const TOP_N: usize = 20;

/// Given the first `k` items of a test order (the cart), which item comes next.
pub struct Case {
    pub id: usize,
    pub order: u64,
    pub user: u64,
    pub k: usize,
    pub target: u64,
    pub cart: Vec<u64>,
}

/// For each test order of n ≥ 2 items, the cases k = 1..n-1.
pub fn cases(test: &[Order]) -> Vec<Case> {
    let mut out = Vec::new();
    for o in test {
        for k in 1..o.products.len() {
            out.push(Case {
                id: out.len(),
                order: o.id,
                user: o.user,
                k,
                target: o.products[k],
                cart: o.products[..k].to_vec(),
            });
        }
    }
    out
}

/// Products by the number of training orders that hold them (ties: the smaller id first).
pub fn popularity(train: &[Timed]) -> Vec<(u64, usize)> {
    let mut counts: HashMap<u64, usize> = HashMap::new();
    for t in train {
        for p in &t.order.products {
            *counts.entry(*p).or_default() += 1;
        }
    }
    let mut all: Vec<(u64, usize)> = counts.into_iter().collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    all
}

/// Appends `list`'s items that are not in the cart nor already ranked, up to [`TOP_N`].
fn fill(ranked: &mut Vec<u64>, cart: &HashSet<u64>, list: impl IntoIterator<Item = u64>) {
    for p in list {
        if ranked.len() >= TOP_N {
            break;
        }
        if !cart.contains(&p) && !ranked.contains(&p) {
            ranked.push(p);
        }
    }
}

pub fn rank_popularity(case: &Case, popular: &[(u64, usize)]) -> Vec<u64> {
    let cart: HashSet<u64> = case.cart.iter().copied().collect();
    let mut ranked = Vec::with_capacity(TOP_N);
    fill(&mut ranked, &cart, popular.iter().map(|(p, _)| *p));
    ranked
}

/// The `cart` placement's ranking: `cart_scores` over the stored records of the cart's items (the
/// last [`MAX_CART`], as a profile keeps them), the cart left out; with `trending` (the overall
/// trending list as of the cut), topped up from it as the recommender does when neighbours run short.
pub fn rank_personalize(case: &Case, model: &Model, trending: Option<&[u64]>) -> Vec<u64> {
    let cart: HashSet<u64> = case.cart.iter().copied().collect();
    let recent = &case.cart[case.cart.len().saturating_sub(MAX_CART)..];
    // Only the neighbour lists are read: the co-occurrence maps are left behind, not cloned.
    let items: Vec<Item> = recent
        .iter()
        .filter_map(|p| model.items.get(&format!("p{p}")))
        .map(|i| Item {
            bought_together: i.bought_together.clone(),
            also_viewed: i.also_viewed.clone(),
            ..Item::default()
        })
        .collect();
    let mut ranked = Vec::with_capacity(TOP_N);
    fill(&mut ranked, &cart, cart_scores(&items).iter().filter_map(|s| product(&s.sku)));
    if let Some(list) = trending {
        fill(&mut ranked, &cart, list.iter().copied());
    }
    ranked
}

/// Writes `case,ranked products (space-separated)` lines.
pub fn write_ranked(path: &Path, ranked: &[Vec<u64>]) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).with_context(|| path.display().to_string())?);
    writeln!(f, "case,ranked")?;
    for (case, list) in ranked.iter().enumerate() {
        let list: Vec<String> = list.iter().map(u64::to_string).collect();
        writeln!(f, "{case},{}", list.join(" "))?;
    }
    Ok(f.flush()?)
}

pub fn write_cases(path: &Path, cases: &[Case]) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).with_context(|| path.display().to_string())?);
    writeln!(f, "case,order_id,user_id,k,target,cart")?;
    for c in cases {
        let cart: Vec<String> = c.cart.iter().map(u64::to_string).collect();
        writeln!(f, "{},{},{},{},{},{}", c.id, c.order, c.user, c.k, c.target, cart.join(" "))?;
    }
    Ok(f.flush()?)
}

/// The training orders, one line per order line: what the Python baseline fits on.
pub fn write_train(path: &Path, train: &[Timed]) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).with_context(|| path.display().to_string())?);
    writeln!(f, "order_id,user_id,at_ms,add_to_cart_order,product_id")?;
    for t in train {
        for (i, p) in t.order.products.iter().enumerate() {
            writeln!(f, "{},{},{},{},{p}", t.order.id, t.order.user, t.at, i + 1)?;
        }
    }
    Ok(f.flush()?)
}

pub fn write_popularity(path: &Path, popular: &[(u64, usize)]) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).with_context(|| path.display().to_string())?);
    writeln!(f, "product_id,orders")?;
    for (p, n) in popular {
        writeln!(f, "{p},{n}")?;
    }
    Ok(f.flush()?)
}
