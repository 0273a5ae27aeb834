//! Every limit the schema enforces, by name. Each one is tested at its edge and one past it.

/// Largest request body, in bytes, before anything is parsed (HTTP 413 above it).
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// Most events in one batch.
pub const MAX_EVENTS_PER_BATCH: usize = 500;
/// Largest single event, in bytes of its JSON text as sent.
pub const MAX_EVENT_BYTES: usize = 32 * 1024;

/// Identifiers: `anonymous_id`, `user_id`, `session_id`, `sku`, `order_id`, ... (UTF-8 bytes).
pub const MAX_ID_BYTES: usize = 128;
/// Free text: names, titles, queries, categories, ... (UTF-8 bytes).
pub const MAX_TEXT_BYTES: usize = 1024;
/// URLs: `context.page.url`, `referrer`, product `url` and `image_url` (UTF-8 bytes).
pub const MAX_URL_BYTES: usize = 2048;
/// Object keys in free-form properties (`custom`, `identify` traits) (UTF-8 bytes).
pub const MAX_KEY_BYTES: usize = 128;

/// Line items in one `purchase` or `checkout_started`.
pub const MAX_LINE_ITEMS: usize = 200;
/// Stock counts in one `inventory_snapshot`: a store sends a full count as several events. 50 keeps
/// one snapshot's stock updates within one state-store transaction (DynamoDB: 100 actions).
pub const MAX_STOCK_COUNTS: usize = 50;
/// Products in one `product_list_view`, SKUs in one `recommendation_impression`, and elements of
/// any array inside free-form properties.
pub const MAX_ARRAY_LEN: usize = 100;
/// Keys in one object inside free-form properties.
pub const MAX_OBJECT_KEYS: usize = 100;
/// Nesting depth of free-form properties: `{"a": 1}` is depth 1, `{"a": {"b": 1}}` depth 2.
pub const MAX_PROPERTY_DEPTH: usize = 5;

/// Smallest and largest `quantity` of a product or line item.
pub const MIN_QUANTITY: u64 = 1;
pub const MAX_QUANTITY: u64 = 10_000;
/// Largest `on_hand` and `reorder_point` of a stock count in an `inventory_snapshot` (0 is allowed).
pub const MAX_STOCK_UNITS: u64 = 1_000_000;

/// How far `occurred_at` may lie before the receive time (30 days, in ms).
pub const MAX_EVENT_AGE_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// How far `occurred_at` may lie after the receive time, for clients with fast clocks (24 h, in ms).
pub const MAX_FUTURE_SKEW_MS: i64 = 24 * 60 * 60 * 1000;
