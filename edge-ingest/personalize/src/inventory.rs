//! Stock per SKU and store, and the low-stock alerts the processor raises from it.
//!
//! Stock starts from what the catalog says ([`StartingStock`]); a `purchase` takes its quantities
//! off the store's stock (an order without `store_id` is the online store's, [`ONLINE_STORE_ID`]);
//! an `inventory_snapshot` from a store system sets it. When a change takes the stock from at or
//! above the reorder point to below it, one [`StockAlert`] is raised; the next one needs the stock to
//! be back at or above the point first (a new crossing). The state that says "alerted" is committed
//! with the event's marker, so a redelivered event raises nothing.
//!
//! Alerts are published through the [`AlertSink`] port before that commit: at least once. A crash
//! between the two sends the alert again with the same [`StockAlert::alert_id`] (the receiver, or an
//! SNS FIFO topic's deduplication, drops it); a failed publish fails the batch, which is retried.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use event_schema::ONLINE_STORE_ID;

/// What a store starts with for a SKU before any snapshot: (units on hand, reorder point).
pub trait StartingStock: Send + Sync + 'static {
    fn starting(&self, sku: &str, store_id: &str) -> Option<(i64, i64)>;
}

/// No starting stock: levels are known only from snapshots.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoStartingStock;

impl StartingStock for NoStartingStock {
    fn starting(&self, _sku: &str, _store_id: &str) -> Option<(i64, i64)> {
        None
    }
}

/// One SKU's stock in one store, as the processor keeps it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stock {
    /// Units on hand; negative when more was sold than counted (oversold).
    pub on_hand: i64,
    /// Below this, the store should reorder. `None`: not known, no alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder_point: Option<i64>,
    /// Whether the level is below the reorder point and that was alerted.
    #[serde(default)]
    pub low: bool,
    /// Low-stock crossings so far (the alert id's last part).
    #[serde(default)]
    pub crossings: u32,
    /// When the level last changed (ms since the epoch, the event's time).
    #[serde(default)]
    pub at: i64,
}

impl Stock {
    /// Takes `units` off; returns the alert to raise if this crossed the reorder point downwards.
    pub fn sell(&mut self, units: i64, at: i64) -> bool {
        self.on_hand -= units;
        self.at = at;
        self.check()
    }

    /// Sets the level (a count), and the reorder point when the snapshot gives one.
    pub fn set(&mut self, on_hand: i64, reorder_point: Option<i64>, at: i64) -> bool {
        self.on_hand = on_hand;
        if reorder_point.is_some() {
            self.reorder_point = reorder_point;
        }
        self.at = at;
        self.check()
    }

    /// Updates `low`: true (raise an alert) only on a downward crossing.
    fn check(&mut self) -> bool {
        let below = self.reorder_point.is_some_and(|p| self.on_hand < p);
        let crossed = below && !self.low;
        if crossed {
            self.crossings += 1;
        }
        self.low = below;
        crossed
    }
}

/// What kind of alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    LowStock,
}

/// A raised alert, as sent (JSON) to the alert log or topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StockAlert {
    /// `low_stock:{store_id}:{sku}:{crossing}` (`%` and `:` in the ids written `%25` and `%3A`, so two
    /// alerts never share an id): the same for a resend, new for a new crossing.
    pub alert_id: String,
    pub kind: AlertKind,
    pub sku: String,
    pub store_id: String,
    pub on_hand: i64,
    pub reorder_point: i64,
    /// The time of the event that crossed (RFC 3339, UTC).
    pub raised_at: String,
    /// The event that crossed.
    pub event_id: String,
}

impl StockAlert {
    pub fn low_stock(sku: &str, store_id: &str, stock: &Stock, event_id: &str) -> StockAlert {
        StockAlert {
            alert_id: format!("low_stock:{}:{}:{}", id_part(store_id), id_part(sku), stock.crossings),
            kind: AlertKind::LowStock,
            sku: sku.to_string(),
            store_id: store_id.to_string(),
            on_hand: stock.on_hand,
            reorder_point: stock.reorder_point.unwrap_or(0),
            raised_at: event_schema::Timestamp(stock.at).to_rfc3339(),
            event_id: event_id.to_string(),
        }
    }

    /// A one-line summary for people (an SNS subject, a log line).
    pub fn summary(&self) -> String {
        format!(
            "Low stock: {} at store {} has {} units (reorder point {})",
            self.sku, self.store_id, self.on_hand, self.reorder_point
        )
    }
}

/// An id as a part of an alert id: `%` and `:` escaped.
fn id_part(id: &str) -> String {
    id.replace('%', "%25").replace(':', "%3A")
}

/// A failed publish: the batch is not committed and is retried.
#[derive(Debug, thiserror::Error)]
#[error("alert sink unavailable: {message}")]
pub struct AlertError {
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl AlertError {
    pub fn new(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        AlertError { message: message.into(), source: Some(Box::new(source)) }
    }
}

/// Where raised alerts go: a log the dashboard reads locally, an SNS topic in AWS. `publish`
/// returns `Ok` only once every alert is delivered (or durably queued). Receivers may see an alert
/// twice (same `alert_id`) and should drop the second.
#[async_trait]
pub trait AlertSink: Send + Sync + 'static {
    async fn publish(&self, alerts: &[StockAlert]) -> Result<(), AlertError>;
}

/// Keeps alerts in memory (tests).
#[derive(Debug, Default)]
pub struct MemoryAlertSink {
    pub alerts: std::sync::Mutex<Vec<StockAlert>>,
}

#[async_trait]
impl AlertSink for MemoryAlertSink {
    async fn publish(&self, alerts: &[StockAlert]) -> Result<(), AlertError> {
        self.alerts.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(alerts);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_is_raised_once_per_crossing() {
        let mut s = Stock { on_hand: 10, reorder_point: Some(5), ..Stock::default() };
        assert!(!s.sell(4, 1), "6 is not below 5");
        assert!(s.sell(2, 2), "4 is below 5: a crossing");
        assert!(!s.sell(1, 3), "still below: no second alert");
        assert_eq!(s.crossings, 1);
        assert!(!s.set(20, None, 4), "restocked");
        assert!(!s.low);
        assert!(s.sell(16, 5), "below again: a new crossing");
        assert_eq!(s.crossings, 2);
        let a = StockAlert::low_stock("tents-004", "web", &s, "e1");
        assert_eq!(a.alert_id, "low_stock:web:tents-004:2");
        assert_eq!(a.on_hand, 4);
        assert_eq!(a.raised_at, "1970-01-01T00:00:00.005Z");
        // Ids with the separator in them cannot make two alerts share an id.
        let x = StockAlert::low_stock("c", "a:b", &s, "e").alert_id;
        let y = StockAlert::low_stock("b:c", "a", &s, "e").alert_id;
        assert_ne!(x, y);
        assert_eq!(x, "low_stock:a%3Ab:c:2");
    }

    #[test]
    fn without_a_reorder_point_nothing_is_alerted() {
        let mut s = Stock { on_hand: 1, ..Stock::default() };
        assert!(!s.sell(5, 1));
        assert!(s.set(0, Some(3), 2), "a snapshot that brings a reorder point can cross");
    }
}
