//! The typed events that [`crate::validate`] produces. They serialise to the wire format (unknown
//! input fields are dropped, `null` optionals are omitted), so what is stored or forwarded is the
//! canonical form of what was accepted.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{EventType, Timestamp};

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

/// One validated event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// UUIDv7, lower-case hyphenated; the idempotency key.
    pub event_id: String,
    #[serde(flatten)]
    pub body: EventBody,
    pub occurred_at: Timestamp,
    pub anonymous_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub session_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
}

impl Event {
    pub fn event_type(&self) -> EventType {
        self.body.event_type()
    }
}

/// The event's `type` and its typed `properties`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", content = "properties", rename_all = "snake_case")]
pub enum EventBody {
    PageView(PageView),
    ProductListView(ProductListView),
    ProductView(Product),
    Search(Search),
    AddToCart(CartChange),
    RemoveFromCart(CartChange),
    CheckoutStarted(Checkout),
    Purchase(Purchase),
    RecommendationImpression(RecommendationImpression),
    RecommendationClick(RecommendationClick),
    InventorySnapshot(InventorySnapshot),
    Identify(Identify),
    Custom(Custom),
}

impl EventBody {
    pub fn event_type(&self) -> EventType {
        match self {
            EventBody::PageView(_) => EventType::PageView,
            EventBody::ProductListView(_) => EventType::ProductListView,
            EventBody::ProductView(_) => EventType::ProductView,
            EventBody::Search(_) => EventType::Search,
            EventBody::AddToCart(_) => EventType::AddToCart,
            EventBody::RemoveFromCart(_) => EventType::RemoveFromCart,
            EventBody::CheckoutStarted(_) => EventType::CheckoutStarted,
            EventBody::Purchase(_) => EventType::Purchase,
            EventBody::RecommendationImpression(_) => EventType::RecommendationImpression,
            EventBody::RecommendationClick(_) => EventType::RecommendationClick,
            EventBody::InventorySnapshot(_) => EventType::InventorySnapshot,
            EventBody::Identify(_) => EventType::Identify,
            EventBody::Custom(_) => EventType::Custom,
        }
    }
}

macro_rules! skip_none {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $f:ident : $t:ty,)* }) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize)]
        pub struct $name { $($(#[$fm])* pub $f: $t,)* }
    };
}

skip_none! {
    /// `context`: where and how the event happened.
    pub struct Context {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub page: Option<Page>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub locale: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub timezone: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub screen: Option<Screen>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub campaign: Option<Campaign>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub user_agent: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub library: Option<Library>,
    }
}

skip_none! {
    /// `context.page`.
    pub struct Page {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub url: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub path: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub referrer: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub title: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub search: Option<String>,
    }
}

skip_none! {
    /// `context.screen`, in CSS pixels.
    pub struct Screen {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub width: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub height: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub density: Option<f64>,
    }
}

skip_none! {
    /// `context.campaign`: the UTM parameters (`utm_source` is `source`, ...).
    pub struct Campaign {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub source: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub medium: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub term: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub content: Option<String>,
    }
}

skip_none! {
    /// `context.library`: the tracker that sent the event.
    pub struct Library {
        pub name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub version: Option<String>,
    }
}

skip_none! {
    /// `page_view` properties (the page itself is in `context.page`).
    pub struct PageView {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub category: Option<String>,
    }
}

skip_none! {
    /// A product, as in Segment e-commerce v2 (`product_view`, list entries, cart changes).
    pub struct Product {
        pub sku: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub product_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub category: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub brand: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub variant: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub price: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub currency: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub quantity: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub coupon: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub position: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub url: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub image_url: Option<String>,
    }
}

skip_none! {
    /// `product_list_view`.
    pub struct ProductListView {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub list_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub category: Option<String>,
        pub products: Vec<Product>,
    }
}

skip_none! {
    /// `search`.
    pub struct Search {
        pub query: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub results: Option<u64>,
    }
}

skip_none! {
    /// `add_to_cart` / `remove_from_cart`: the product fields plus an optional cart id.
    pub struct CartChange {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub cart_id: Option<String>,
        #[serde(flatten)]
        pub product: Product,
    }
}

skip_none! {
    /// One order line: `items[]` of `purchase` and `checkout_started`.
    pub struct LineItem {
        pub sku: String,
        pub quantity: u64,
        pub price: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub product_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub category: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub brand: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub variant: Option<String>,
    }
}

skip_none! {
    /// `checkout_started`.
    pub struct Checkout {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub checkout_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub order_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub revenue: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub currency: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub coupon: Option<String>,
        pub items: Vec<LineItem>,
    }
}

skip_none! {
    /// `purchase` (Segment's "Order Completed").
    pub struct Purchase {
        pub order_id: String,
        pub revenue: f64,
        pub currency: String,
        pub items: Vec<LineItem>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub shipping: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub tax: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub discount: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub coupon: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub affiliation: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub store_id: Option<String>,
    }
}

skip_none! {
    /// `recommendation_impression`: a widget showed these SKUs.
    pub struct RecommendationImpression {
        pub recommendation_id: String,
        pub skus: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub placement: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub strategy: Option<String>,
    }
}

skip_none! {
    /// `recommendation_click`.
    pub struct RecommendationClick {
        pub recommendation_id: String,
        pub sku: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub position: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub placement: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub strategy: Option<String>,
    }
}

skip_none! {
    /// `inventory_snapshot`: units on hand per SKU at one store at `occurred_at`, sent by the store's
    /// systems.
    pub struct InventorySnapshot {
        pub store_id: String,
        pub items: Vec<StockCount>,
    }
}

skip_none! {
    /// One SKU's count: `items[]` of `inventory_snapshot`.
    pub struct StockCount {
        pub sku: String,
        pub on_hand: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub reorder_point: Option<u64>,
    }
}

skip_none! {
    /// `identify`: the envelope's `user_id` is required; traits are free-form.
    pub struct Identify {
        #[serde(skip_serializing_if = "Map::is_empty")]
        pub traits: Map<String, Value>,
    }
}

skip_none! {
    /// `custom`: a `name` plus free-form properties, kept as sent (within the nesting limits).
    pub struct Custom {
        pub name: String,
        #[serde(flatten)]
        pub properties: Map<String, Value>,
    }
}
