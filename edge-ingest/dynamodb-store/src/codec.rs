//! How the port's data sits in the table, and DynamoDB's size rules. Pure: no I/O.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use personalize::model::{Key, Value, Versioned};
use personalize::store::APPLIED_TTL_MS;

/// The partition key (a string): [`Key::to_storage`], `e#<event id>` or `c#<consumer>`.
pub const KEY: &str = "k";
/// A record's version (a number; the first write stores 1).
pub const VERSION: &str = "ver";
/// A record's value: the JSON of [`personalize::model::Value`] (a string).
pub const BODY: &str = "body";
/// When a marker expires (a number, Unix epoch seconds): the table's TTL attribute.
pub const TTL: &str = "ttl";
/// A checkpoint's position (a number).
pub const POSITION: &str = "pos";

/// Prefix of an applied event's marker.
pub const MARKER_PREFIX: &str = "e#";
/// Prefix of a consumer's checkpoint.
pub const CHECKPOINT_PREFIX: &str = "c#";

/// DynamoDB's largest item: 400 KB, attribute names included.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB's largest TransactWriteItems request (all items together).
pub const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;
/// Actions one TransactWriteItems may hold.
pub const MAX_TRANSACTION_ACTIONS: usize = 100;
/// Keys one BatchGetItem may ask for.
pub const MAX_BATCH_GET_KEYS: usize = 100;

pub type Attrs = HashMap<String, AttributeValue>;

pub fn marker_key(event_id: &str) -> String {
    format!("{MARKER_PREFIX}{event_id}")
}

pub fn checkpoint_key(consumer: &str) -> String {
    format!("{CHECKPOINT_PREFIX}{consumer}")
}

/// When a marker written for `applied_at_ms` expires, in epoch seconds (rounded up, so a marker
/// lives at least [`APPLIED_TTL_MS`]).
pub fn marker_expiry_s(applied_at_ms: i64) -> i64 {
    applied_at_ms.saturating_add(APPLIED_TTL_MS).saturating_add(999).div_euclid(1000)
}

/// Whether a marker still counts at `now_s`: DynamoDB deletes expired items lazily (typically within
/// days), so an expired one may still be read and must be ignored.
pub fn marker_is_live(item: &Attrs, now_s: i64) -> bool {
    number(item, TTL).is_some_and(|ttl: i64| ttl >= now_s)
}

pub fn key_only(key: String) -> Attrs {
    HashMap::from([(KEY.to_string(), AttributeValue::S(key))])
}

/// A record as stored at `version`.
pub fn record_item(key: &Key, version: u64, value: &Value) -> Result<Attrs, serde_json::Error> {
    let body = serde_json::to_string(value)?;
    Ok(HashMap::from([
        (KEY.to_string(), AttributeValue::S(key.to_storage())),
        (VERSION.to_string(), AttributeValue::N(version.to_string())),
        (BODY.to_string(), AttributeValue::S(body)),
    ]))
}

pub fn marker_item(event_id: &str, applied_at_ms: i64) -> Attrs {
    HashMap::from([
        (KEY.to_string(), AttributeValue::S(marker_key(event_id))),
        (TTL.to_string(), AttributeValue::N(marker_expiry_s(applied_at_ms).to_string())),
    ])
}

pub fn checkpoint_item(consumer: &str, position: i64) -> Attrs {
    HashMap::from([
        (KEY.to_string(), AttributeValue::S(checkpoint_key(consumer))),
        (POSITION.to_string(), AttributeValue::N(position.to_string())),
    ])
}

/// The stored key of an item.
pub fn key_of(item: &Attrs) -> Option<&str> {
    item.get(KEY).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// A number attribute, parsed.
pub fn number<T: std::str::FromStr>(item: &Attrs, name: &str) -> Option<T> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

/// Reads a record back; the error says what is wrong with it.
pub fn decode_record(item: &Attrs) -> Result<(Key, Versioned), String> {
    let stored = key_of(item).ok_or("an item without a string key")?;
    let key = Key::from_storage(stored).ok_or_else(|| format!("{stored:?} is not a record key"))?;
    let version = number::<u64>(item, VERSION).ok_or_else(|| format!("{stored}: no numeric {VERSION}"))?;
    let body = item.get(BODY).and_then(|v| v.as_s().ok()).ok_or_else(|| format!("{stored}: no string {BODY}"))?;
    let value: Value = serde_json::from_str(body).map_err(|e| format!("{stored}: {BODY} is not a value: {e}"))?;
    Ok((key, Versioned { version, value }))
}

/// An item's size as DynamoDB counts it (for its 400 KB limit and capacity units): each attribute's
/// name and value in UTF-8 bytes; a number about one byte per two digits plus one.
pub fn item_bytes(item: &Attrs) -> usize {
    item.iter().map(|(name, value)| name.len() + value_bytes(value)).sum()
}

fn value_bytes(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => 1 + n.chars().filter(char::is_ascii_digit).count().div_ceil(2),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        // Not written by this adapter; counted generously.
        other => format!("{other:?}").len(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use personalize::model::*;

    use super::*;

    #[test]
    fn a_record_round_trips_with_its_version() {
        let key = Key::Item("sku-1".into());
        let value = Value::Trending(Trending::default());
        let item = record_item(&key, 7, &value).unwrap();
        assert_eq!(key_of(&item), Some("i#sku-1"));
        assert_eq!(decode_record(&item).unwrap(), (key, Versioned { version: 7, value }));
    }

    #[test]
    fn unreadable_records_say_why() {
        let mut item = record_item(&Key::TrendingAll, 1, &Value::Trending(Trending::default())).unwrap();
        item.insert(BODY.into(), AttributeValue::S("{".into()));
        assert!(decode_record(&item).unwrap_err().contains("body is not a value"));
        item.remove(VERSION);
        assert!(decode_record(&item).unwrap_err().contains("no numeric ver"));
        assert!(decode_record(&key_only("e#x".into())).unwrap_err().contains("not a record key"));
    }

    #[test]
    fn a_marker_lives_for_the_applied_ttl_and_not_a_second_more() {
        let applied_at = 1_795_341_600_123;
        let item = marker_item("e-1", applied_at);
        assert_eq!(key_of(&item), Some("e#e-1"));
        let expiry = marker_expiry_s(applied_at);
        assert_eq!(expiry, (applied_at + APPLIED_TTL_MS) / 1000 + 1, "rounded up");
        assert!(marker_is_live(&item, expiry));
        assert!(!marker_is_live(&item, expiry + 1));
        assert!(!marker_is_live(&key_only("e#e-1".into()), 0), "no ttl: not a marker this adapter wrote");
    }

    #[test]
    fn sizes_count_names_and_values() {
        let item = checkpoint_item("local", 12_345);
        // "k" + "c#local" + "pos" + (1 + 3 bytes for 5 digits)
        assert_eq!(item_bytes(&item), 1 + 7 + 3 + 4);
    }

    /// The largest record the model's bounds allow (longest identifiers and texts, every list
    /// full) fits DynamoDB's 400 KB item limit with room to spare.
    #[test]
    fn the_largest_records_the_model_allows_fit_an_item() {
        let (id, text, url) = ("x".repeat(128), "t".repeat(1024), "u".repeat(2048));
        let sku = |i: usize| format!("{i:05}{}", &id[5..]);
        let d = Decayed { value: 1.234_567_890_123_4e10, at: 1_795_341_600_123 };
        let co: BTreeMap<String, Co> = (0..MAX_CO_ITEMS).map(|i| (sku(i), Co { count: d, other: d })).collect();
        let scored: Vec<Scored> = (0..MAX_NEIGHBOURS).map(|i| Scored { sku: sku(i), score: 0.123_456_789 }).collect();
        let item = Item {
            info: ItemInfo {
                name: Some(text.clone()),
                category: Some(text.clone()),
                price: Some(1e12),
                currency: Some("EUR".into()),
                url: Some(url.clone()),
                image_url: Some(url),
            },
            views: d,
            buys: d,
            popularity: d,
            co_view: co.clone(),
            co_buy: co,
            also_viewed: scored.clone(),
            bought_together: scored,
        };
        let profile = Profile {
            recent: (0..MAX_RECENT).map(|i| Seen { sku: sku(i), at: d.at }).collect(),
            cart: (0..MAX_CART).map(sku).collect(),
            purchased: (0..MAX_PURCHASED).map(sku).collect(),
            affinity: (0..MAX_AFFINITIES).map(|i| (format!("{i:05}{}", &text[5..]), d)).collect(),
            session: Some(SessionWindow {
                id: id.clone(),
                views: (0..SESSION_WINDOW).map(sku).collect(),
                carts: (0..SESSION_WINDOW).map(sku).collect(),
            }),
            merged_into: Some(id.clone()),
            last_seen: d.at,
        };
        let trending =
            Trending { items: (0..MAX_TRENDING).map(|i| TrendingEntry { sku: sku(i), popularity: d }).collect() };
        let sizes = [
            ("item", record_item(&Key::Item(id.clone()), u64::MAX, &Value::Item(Box::new(item))).unwrap()),
            ("profile", record_item(&Key::User(id.clone()), u64::MAX, &Value::Profile(profile)).unwrap()),
            ("trending", record_item(&Key::TrendingCategory(text), u64::MAX, &Value::Trending(trending)).unwrap()),
        ]
        .map(|(what, item)| (what, item_bytes(&item)));
        for (what, bytes) in sizes {
            assert!(bytes < MAX_ITEM_BYTES / 4, "the largest {what} is {bytes} bytes");
        }
        // What the crate documentation says about transactions of such items.
        let largest = sizes[0].1;
        assert!((75_000..90_000).contains(&largest), "{largest}");
        assert!(MAX_TRANSACTION_BYTES / largest >= 50, "{largest}");
        // A full item record with short SKUs (the contract's): 100 of them fit one transaction.
        let full =
            record_item(&Key::Item("sku-1".into()), 1, &personalize::contract::large_item(MAX_CO_ITEMS)).unwrap();
        let full = item_bytes(&full);
        assert!(full < 30_000 && full * MAX_TRANSACTION_ACTIONS < MAX_TRANSACTION_BYTES, "{full}");
    }
}
