//! The Instacart sample: orders with their lines in add-to-cart order, and the time-ordered split.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{bail, ensure, Context};

const HOUR_MS: i64 = 60 * 60 * 1000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Two orders of one shopper are at least this far apart (same-day orders whose hours disagree).
const MIN_ORDER_GAP_MS: i64 = 10 * 60 * 1000;

/// One order: its shopper, position in the shopper's history, and products in add-to-cart order.
#[derive(Clone, Debug)]
pub struct Order {
    pub id: u64,
    pub user: u64,
    pub number: u32,
    pub hour: u32,
    /// `None` for a shopper's first order.
    pub days_since_prior: Option<f64>,
    pub products: Vec<u64>,
}

/// The orders as read, and what was left out.
pub struct Dataset {
    pub orders: Vec<Order>,
    pub rows: usize,
    /// The file's last order, left out: the sample is a prefix of a larger file, so it may be cut short.
    pub dropped_last_order: Option<u64>,
}

/// Reads `df_sample.csv` (`,order_id,user_id,order_number,order_dow,order_hour_of_day,`
/// `days_since_prior_order,product_id,add_to_cart_order,reordered`). Columns are found by name.
pub fn read(path: &Path, max_users: Option<usize>) -> anyhow::Result<Dataset> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().context("empty file")?.split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).with_context(|| format!("no column {name:?}"));
    let (c_order, c_user, c_number) = (col("order_id")?, col("user_id")?, col("order_number")?);
    let (c_hour, c_days, c_product, c_add) =
        (col("order_hour_of_day")?, col("days_since_prior_order")?, col("product_id")?, col("add_to_cart_order")?);

    // order id -> (order, [(add_to_cart_order, product)]), and the orders in file order.
    let mut orders: HashMap<u64, (Order, Vec<(f64, u64)>)> = HashMap::new();
    let mut file_order: Vec<u64> = Vec::new();
    let mut rows = 0;
    for (n, line) in lines.enumerate() {
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        let field = |i: usize| f.get(i).copied().with_context(|| format!("line {}: too few fields", n + 2));
        let int = |i: usize| -> anyhow::Result<u64> {
            let s = field(i)?;
            s.parse::<u64>()
                .or_else(|_| s.parse::<f64>().map(|x| x as u64))
                .with_context(|| format!("line {}: {s:?}", n + 2))
        };
        let order_id = int(c_order)?;
        let days = match field(c_days)? {
            "" => None,
            s => Some(s.parse::<f64>().with_context(|| format!("line {}: days_since_prior_order {s:?}", n + 2))?),
        };
        let add: f64 = field(c_add)?.parse().with_context(|| format!("line {}: add_to_cart_order", n + 2))?;
        let entry = orders.entry(order_id).or_insert_with(|| {
            file_order.push(order_id);
            let order =
                Order { id: order_id, user: 0, number: 0, hour: 0, days_since_prior: days, products: Vec::new() };
            (order, Vec::new())
        });
        entry.0.user = int(c_user)?;
        entry.0.number = int(c_number)? as u32;
        entry.0.hour = int(c_hour)? as u32;
        entry.1.push((add, int(c_product)?));
        rows += 1;
    }
    ensure!(rows > 0, "no rows in {}", path.display());
    let dropped_last_order = file_order.last().copied();
    if let Some(last) = dropped_last_order {
        orders.remove(&last);
    }
    let mut out: Vec<Order> = orders
        .into_values()
        .map(|(mut order, mut lines)| {
            lines.sort_by(|a, b| a.0.total_cmp(&b.0));
            order.products = lines.into_iter().map(|(_, p)| p).collect();
            order.products.dedup();
            order
        })
        .collect();
    out.sort_by_key(|o| (o.user, o.number));
    if let Some(max) = max_users {
        let users: Vec<u64> = {
            let mut u: Vec<u64> = out.iter().map(|o| o.user).collect();
            u.dedup();
            u.truncate(max);
            u
        };
        let last = *users.last().unwrap_or(&0);
        out.retain(|o| o.user <= last);
    }
    Ok(Dataset { orders: out, rows, dropped_last_order })
}

/// A training order with the time its events are replayed at.
#[derive(Clone, Debug)]
pub struct Timed {
    pub order: Order,
    /// When the shopper started the order (Unix ms); its lines follow a few seconds apart.
    pub at: i64,
}

/// Each shopper's last order is the test set; everything before it is training.
pub struct Split {
    pub train: Vec<Timed>,
    pub test: Vec<Order>,
}

/// The split, on a timeline where every shopper's last order falls on the same day, the cut.
///
/// Instacart has no dates: only each order's hour of day and the days since the shopper's previous
/// order. Counting days back from each shopper's last order, with every last order on the day that
/// ends at `cut`, turns the per-shopper split into a global one: every training order happens before
/// `cut` (at its hour, on its day counted back), every test order is scored as of `cut`.
pub fn split(orders: &[Order], cut: i64) -> anyhow::Result<Split> {
    let mut by_user: BTreeMap<u64, Vec<&Order>> = BTreeMap::new();
    for o in orders {
        by_user.entry(o.user).or_default().push(o);
    }
    let mut train = Vec::new();
    let mut test = Vec::new();
    for (user, mut history) in by_user {
        history.sort_by_key(|o| o.number);
        let Some((last, before)) = history.split_last() else { bail!("user {user} without orders") };
        // Days from each order to the last one.
        let mut days_after = vec![0.0; history.len()];
        for i in (0..before.len()).rev() {
            days_after[i] = days_after[i + 1] + history[i + 1].days_since_prior.unwrap_or(0.0);
        }
        let mut next_at = cut;
        let mut timed: Vec<Timed> = Vec::with_capacity(before.len());
        for (i, order) in before.iter().enumerate().rev() {
            let at = cut - (days_after[i] * DAY_MS as f64) as i64 - (24 - i64::from(order.hour.min(23))) * HOUR_MS;
            let at = at.min(next_at - MIN_ORDER_GAP_MS);
            timed.push(Timed { order: (*order).clone(), at });
            next_at = at;
        }
        timed.reverse();
        train.extend(timed);
        test.push((*last).clone());
    }
    train.sort_by_key(|t| (t.at, t.order.id));
    Ok(Split { train, test })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: u64, user: u64, number: u32, hour: u32, days: Option<f64>, products: &[u64]) -> Order {
        Order { id, user, number, hour, days_since_prior: days, products: products.to_vec() }
    }

    #[test]
    fn each_shoppers_last_order_is_the_test_and_all_training_is_before_the_cut_in_order() {
        let cut = 1_795_305_600_000;
        let orders = [
            order(1, 7, 1, 23, None, &[1, 2]),
            order(2, 7, 2, 9, Some(0.0), &[2, 3]), // the same day as order 1, yet at an earlier hour
            order(3, 7, 3, 8, Some(0.0), &[3, 4]),
            order(4, 8, 1, 12, None, &[5]),
            order(5, 8, 2, 12, Some(30.0), &[5, 6]),
        ];
        let split = split(&orders, cut).unwrap();
        assert_eq!(split.test.iter().map(|o| o.id).collect::<Vec<_>>(), [3, 5]);
        let train: Vec<(u64, i64)> = split.train.iter().map(|t| (t.order.id, t.at)).collect();
        assert!(train.iter().all(|(_, at)| *at < cut), "{train:?}");
        let at = |id| train.iter().find(|t| t.0 == id).unwrap().1;
        assert_eq!(at(1), at(2) - MIN_ORDER_GAP_MS, "a shopper's orders keep their order when the hours disagree");
        assert_eq!(at(4), cut - 30 * DAY_MS - 12 * HOUR_MS, "30 days before the last order, at noon");
        assert!(train.windows(2).all(|w| w[0].1 <= w[1].1), "in time order");
    }
}
