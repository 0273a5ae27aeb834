//! Validation of a batch as received: every problem is reported with its field path and a reason,
//! never a panic, and good events beside bad ones are kept.
//!
//! Paths inside an event are relative to that event (`properties.items[0].price`); `$` is the event
//! (or the batch) itself. Batch-level paths are `$`, `schema_version`, `sent_at` and `events`.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write as _;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::currency::is_iso_4217;
use crate::limits::*;
use crate::model::*;
use crate::tree::{Node, Obj};
use crate::{EventType, Timestamp, SCHEMA_VERSION};

/// What a problem is, with a stable machine-readable [`Problem::code`] and a human reason (Display).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("is required")]
    Missing,
    #[error("must be {expected}")]
    WrongType { expected: &'static str },
    #[error("must not be empty")]
    Empty,
    #[error("is {actual} bytes; at most {max} are allowed")]
    TooLong { max: usize, actual: usize },
    #[error("has {actual} elements; at most {max} are allowed")]
    TooMany { max: usize, actual: usize },
    #[error("must have at least {min} element(s)")]
    TooFew { min: usize },
    #[error("nests deeper than {max} levels")]
    TooDeep { max: usize },
    #[error("must be a finite number")]
    NotFinite,
    #[error("must not be negative")]
    Negative,
    #[error("must be an integer from {min} to {max}")]
    OutOfRange { min: u64, max: u64 },
    #[error("must be an upper-case ISO 4217 currency code, such as \"EUR\"")]
    UnknownCurrency,
    #[error("must be a UUID in the hyphenated form")]
    NotUuid,
    #[error("must be a version 7 UUID (this one is version {0})")]
    NotUuidV7(u8),
    #[error("must be an RFC 3339 timestamp, such as \"2026-11-22T10:00:00.000Z\"")]
    NotTimestamp,
    #[error("is more than {} days before the time it was received", MAX_EVENT_AGE_MS / 86_400_000)]
    TooOld,
    #[error("is more than {} hours after the time it was received", MAX_FUTURE_SKEW_MS / 3_600_000)]
    TooFarInFuture,
    #[error("is not a known event type ({0:?}); see the schema's list of types")]
    UnknownEventType(String),
    #[error("must be {SCHEMA_VERSION}; this server speaks schema version {SCHEMA_VERSION} only")]
    UnsupportedVersion,
    #[error("is {actual} bytes of JSON; at most {max} are allowed per event")]
    EventTooLarge { max: usize, actual: usize },
    #[error("is not valid JSON ({0})")]
    NotJson(String),
    #[error("repeats the event_id of events[{first}] in this batch; the first is kept")]
    DuplicateEventId { first: usize },
}

impl Problem {
    /// A stable snake_case code for programs (the reason text may change).
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Missing => "missing",
            Problem::WrongType { .. } => "wrong_type",
            Problem::Empty => "empty",
            Problem::TooLong { .. } => "too_long",
            Problem::TooMany { .. } => "too_many",
            Problem::TooFew { .. } => "too_few",
            Problem::TooDeep { .. } => "too_deep",
            Problem::NotFinite => "not_finite",
            Problem::Negative => "negative",
            Problem::OutOfRange { .. } => "out_of_range",
            Problem::UnknownCurrency => "unknown_currency",
            Problem::NotUuid => "not_uuid",
            Problem::NotUuidV7(_) => "not_uuid_v7",
            Problem::NotTimestamp => "not_timestamp",
            Problem::TooOld => "too_old",
            Problem::TooFarInFuture => "too_far_in_future",
            Problem::UnknownEventType(_) => "unknown_event_type",
            Problem::UnsupportedVersion => "unsupported_version",
            Problem::EventTooLarge { .. } => "event_too_large",
            Problem::NotJson(_) => "not_json",
            Problem::DuplicateEventId { .. } => "duplicate_event_id",
        }
    }
}

/// One problem at one field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    pub path: String,
    pub problem: Problem,
}

impl Serialize for FieldError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("FieldError", 3)?;
        st.serialize_field("path", &self.path)?;
        st.serialize_field("code", self.problem.code())?;
        st.serialize_field("reason", &self.problem.to_string())?;
        st.end()
    }
}

/// Why a whole batch was refused.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("the body is {actual} bytes; at most {limit} are allowed")]
    TooLarge { actual: usize, limit: usize },
    #[error("the body is not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("the batch envelope is invalid")]
    Envelope(Vec<FieldError>),
}

/// An event that was refused, by its position in the batch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RejectedEvent {
    pub index: usize,
    /// The `event_id` as sent, when it was a string of sane length (so clients can match it).
    pub event_id: Option<String>,
    pub errors: Vec<FieldError>,
    /// The event's JSON as sent, for the bad-events sink (never echoed to the client).
    #[serde(skip)]
    pub raw: String,
}

/// The result of a batch whose envelope was valid.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchOutcome {
    pub sent_at: Timestamp,
    /// In batch order.
    pub accepted: Vec<Event>,
    /// In batch order.
    pub rejected: Vec<RejectedEvent>,
}

/// How strict to be about time.
#[derive(Clone, Copy, Debug)]
pub struct ValidationOptions {
    /// When the server received the batch.
    pub received_at: Timestamp,
    /// Refuse `occurred_at` outside `[received_at - MAX_EVENT_AGE_MS, received_at + MAX_FUTURE_SKEW_MS]`.
    /// Off when re-validating stored events downstream.
    pub enforce_time_window: bool,
}

impl ValidationOptions {
    pub fn at(received_at: Timestamp) -> Self {
        ValidationOptions { received_at, enforce_time_window: true }
    }
}

/// The batch envelope, read in one pass over the body: the events stay unparsed texts (each is
/// parsed and validated on its own, so one bad event does not refuse the others).
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    schema_version: Option<&'a RawValue>,
    #[serde(borrow)]
    sent_at: Option<&'a RawValue>,
    #[serde(borrow)]
    events: Option<EventTexts<'a>>,
}

/// The envelope as texts only, for bodies the one pass refuses: skipping `events` unparsed, it
/// tells a body that is not JSON from an `events` that is not an array but cannot be decoded
/// either (a number out of range, a lone surrogate).
#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow)]
    schema_version: Option<&'a RawValue>,
    #[serde(borrow)]
    sent_at: Option<&'a RawValue>,
    #[serde(borrow)]
    events: Option<&'a RawValue>,
}

impl<'a> RawEnvelope<'a> {
    fn split(self) -> Envelope<'a> {
        let events = self.events.map(|raw| match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
            Ok(list) => EventTexts::Array(list),
            Err(_) => EventTexts::NotArray,
        });
        Envelope { schema_version: self.schema_version, sent_at: self.sent_at, events }
    }
}

/// The `events` member: the text of each element when it is an array, or the fact that it is not.
enum EventTexts<'a> {
    Array(Vec<&'a RawValue>),
    NotArray,
}

impl<'de: 'a, 'a> Deserialize<'de> for EventTexts<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};

        struct Texts<'a>(core::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Texts<'a> {
            type Value = EventTexts<'a>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut texts = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_EVENTS_PER_BATCH));
                while let Some(text) = seq.next_element::<&'de RawValue>()? {
                    texts.push(text);
                }
                Ok(EventTexts::Array(texts))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(EventTexts::NotArray)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(EventTexts::NotArray)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(EventTexts::NotArray)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(EventTexts::NotArray)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(EventTexts::NotArray)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(EventTexts::NotArray)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(EventTexts::NotArray)
            }
        }
        deserializer.deserialize_any(Texts(core::marker::PhantomData))
    }
}

/// Validates a request body. `Err` refuses the whole batch (413 or 400); `Ok` carries the accepted
/// events and a reason for each rejected one.
pub fn validate_batch(body: &[u8], opts: &ValidationOptions) -> Result<BatchOutcome, BatchError> {
    if body.len() > MAX_BATCH_BYTES {
        return Err(BatchError::TooLarge { actual: body.len(), limit: MAX_BATCH_BYTES });
    }
    // JSON is UTF-8: checked once here, so the parses below read a `str` and its raw values need no
    // check of their own.
    let Ok(text) = core::str::from_utf8(body) else {
        let error = serde_json::from_slice::<&RawValue>(body).err();
        return Err(BatchError::NotJson(error.unwrap_or_else(|| serde::de::Error::custom("the body is not UTF-8"))));
    };
    if !text.trim_start_matches([' ', '\t', '\n', '\r']).starts_with('{') {
        // Not an object: say whether it is JSON at all.
        serde_json::from_str::<&RawValue>(text).map_err(BatchError::NotJson)?;
        return Err(envelope_error("$", Problem::WrongType { expected: "a JSON object" }));
    }
    // One pass reads the envelope, splits `events` and checks the whole body's syntax.
    let env: Envelope<'_> = match serde_json::from_str(text) {
        Ok(env) => env,
        Err(_) => serde_json::from_str::<RawEnvelope<'_>>(text).map_err(BatchError::NotJson)?.split(),
    };

    let mut cx = Cx::default();
    let version: Option<Node<'_>> = env.schema_version.and_then(|r| serde_json::from_str(r.get()).ok());
    cx.key("schema_version", |cx| match version {
        None | Some(Node::Null) => cx.err(Problem::Missing),
        Some(v) if v.as_u64() == Some(u64::from(SCHEMA_VERSION)) => {}
        Some(_) => cx.err(Problem::UnsupportedVersion),
    });
    let sent_at: Option<Node<'_>> = env.sent_at.and_then(|r| serde_json::from_str(r.get()).ok());
    let sent_at = cx.key("sent_at", |cx| match &sent_at {
        None | Some(Node::Null) => {
            cx.err(Problem::Missing);
            None
        }
        Some(v) => timestamp(cx, v),
    });
    let raw_events: Option<Vec<&RawValue>> = cx.key("events", |cx| match env.events {
        None => {
            cx.err(Problem::Missing);
            None
        }
        Some(EventTexts::Array(list)) if list.len() > MAX_EVENTS_PER_BATCH => {
            cx.err(Problem::TooMany { max: MAX_EVENTS_PER_BATCH, actual: list.len() });
            None
        }
        Some(EventTexts::Array(list)) => Some(list),
        Some(EventTexts::NotArray) => {
            cx.err(Problem::WrongType { expected: "an array of events" });
            None
        }
    });
    let (Some(sent_at), Some(raw_events), true) = (sent_at, raw_events, cx.errors.is_empty()) else {
        return Err(BatchError::Envelope(cx.errors));
    };

    let mut outcome = BatchOutcome { sent_at, accepted: Vec::with_capacity(raw_events.len()), rejected: Vec::new() };
    // event_id (as its 128 bits) -> index of its first accepted event: a repeat within the batch is refused.
    let mut seen: BTreeMap<u128, usize> = BTreeMap::new();
    for (index, raw) in raw_events.into_iter().enumerate() {
        let reject = |event_id, errors| RejectedEvent { index, event_id, errors, raw: raw.get().into() };
        match validate_raw_event(raw.get(), opts) {
            Ok(event) => match seen.get(&uuid_bits(&event.event_id)) {
                Some(&first) => {
                    let problem = Problem::DuplicateEventId { first };
                    let errors = alloc::vec![FieldError { path: "event_id".into(), problem }];
                    outcome.rejected.push(reject(Some(event.event_id), errors));
                }
                None => {
                    seen.insert(uuid_bits(&event.event_id), index);
                    outcome.accepted.push(event);
                }
            },
            Err((event_id, errors)) => outcome.rejected.push(reject(event_id, errors)),
        }
    }
    Ok(outcome)
}

fn envelope_error(path: &str, problem: Problem) -> BatchError {
    BatchError::Envelope(alloc::vec![FieldError { path: path.into(), problem }])
}

/// Validates one event from its JSON text (size limit included). On failure returns the `event_id`
/// as sent (if any) and every problem found.
pub fn validate_raw_event(json: &str, opts: &ValidationOptions) -> Result<Event, (Option<String>, Vec<FieldError>)> {
    if json.len() > MAX_EVENT_BYTES {
        let v: Option<Node<'_>> = serde_json::from_str(json).ok();
        let id = v.as_ref().and_then(event_id_as_sent);
        let problem = Problem::EventTooLarge { max: MAX_EVENT_BYTES, actual: json.len() };
        return Err((id, alloc::vec![FieldError { path: "$".into(), problem }]));
    }
    // Parsed into the validator's own tree, not a `Value` (see `crate::tree`).
    let tree: Node<'_> = serde_json::from_str(json).map_err(|e| {
        let problem = Problem::NotJson(e.to_string());
        (None, alloc::vec![FieldError { path: "$".into(), problem }])
    })?;
    validate_tree(&tree, opts).map_err(|errors| (event_id_as_sent(&tree), errors))
}

fn event_id_as_sent(v: &Node<'_>) -> Option<String> {
    v.as_object()?.get("event_id").and_then(Node::as_str).filter(|s| s.len() <= MAX_ID_BYTES).map(String::from)
}

/// Validates one parsed event (no size check: see [`validate_raw_event`]).
pub fn validate_event(v: &Value, opts: &ValidationOptions) -> Result<Event, Vec<FieldError>> {
    validate_tree(&Node::from_value(v), opts)
}

fn validate_tree(v: &Node<'_>, opts: &ValidationOptions) -> Result<Event, Vec<FieldError>> {
    let mut cx = Cx::default();
    cx.path.push('$');
    let Some(o) = object(&mut cx, v) else {
        return Err(cx.errors);
    };
    cx.path.clear();

    let event_id = req(&mut cx, o, "event_id", uuid_v7);
    let event_type = req(&mut cx, o, "type", |cx, v| {
        let name = string(cx, v, MAX_ID_BYTES)?;
        let t = EventType::from_wire(name);
        if t.is_none() {
            cx.err(Problem::UnknownEventType(name.into()));
        }
        t
    });
    let occurred_at = req(&mut cx, o, "occurred_at", |cx, v| {
        let t = timestamp(cx, v)?;
        if opts.enforce_time_window {
            if t.0 < opts.received_at.0.saturating_sub(MAX_EVENT_AGE_MS) {
                cx.err(Problem::TooOld);
            } else if t.0 > opts.received_at.0.saturating_add(MAX_FUTURE_SKEW_MS) {
                cx.err(Problem::TooFarInFuture);
            }
        }
        Some(t)
    });
    let anonymous_id = req(&mut cx, o, "anonymous_id", id);
    let user_id = opt(&mut cx, o, "user_id", id);
    let session_id = req(&mut cx, o, "session_id", id);
    let context = opt(&mut cx, o, "context", context);
    if event_type == Some(EventType::Identify) && user_id.is_none() && field(o, "user_id").is_none() {
        cx.key("user_id", |cx| cx.err(Problem::Missing));
    }
    let empty = Obj::default();
    let body = cx.key("properties", |cx| {
        let props = match field(o, "properties") {
            None => &empty,
            Some(v) => object(cx, v)?,
        };
        event_type.and_then(|t| body(cx, t, props))
    });

    match (event_id, body, occurred_at, anonymous_id, session_id) {
        (Some(event_id), Some(body), Some(occurred_at), Some(anonymous_id), Some(session_id))
            if cx.errors.is_empty() =>
        {
            Ok(Event { event_id, body, occurred_at, anonymous_id, user_id, session_id, context })
        }
        _ => Err(cx.errors),
    }
}

fn body(cx: &mut Cx, t: EventType, p: &Obj<'_>) -> Option<EventBody> {
    Some(match t {
        EventType::PageView => {
            EventBody::PageView(PageView { name: opt(cx, p, "name", text), category: opt(cx, p, "category", text) })
        }
        EventType::ProductListView => EventBody::ProductListView(ProductListView {
            list_id: opt(cx, p, "list_id", id),
            category: opt(cx, p, "category", text),
            products: opt(cx, p, "products", |cx, v| list(cx, v, MAX_ARRAY_LEN, 0, product)).unwrap_or_default(),
        }),
        EventType::ProductView => EventBody::ProductView(product_fields(cx, p)?),
        EventType::Search => {
            EventBody::Search(Search { query: req(cx, p, "query", text)?, results: opt(cx, p, "results", count) })
        }
        EventType::AddToCart | EventType::RemoveFromCart => {
            let change = CartChange { cart_id: opt(cx, p, "cart_id", id), product: product_fields(cx, p)? };
            if t == EventType::AddToCart {
                EventBody::AddToCart(change)
            } else {
                EventBody::RemoveFromCart(change)
            }
        }
        EventType::CheckoutStarted => EventBody::CheckoutStarted(Checkout {
            checkout_id: opt(cx, p, "checkout_id", id),
            order_id: opt(cx, p, "order_id", id),
            revenue: opt(cx, p, "revenue", amount),
            currency: opt(cx, p, "currency", currency),
            coupon: opt(cx, p, "coupon", text),
            items: opt(cx, p, "items", |cx, v| list(cx, v, MAX_LINE_ITEMS, 0, line_item)).unwrap_or_default(),
        }),
        EventType::Purchase => {
            let order_id = req(cx, p, "order_id", id);
            let revenue = req(cx, p, "revenue", amount);
            let currency = req(cx, p, "currency", currency);
            let items = req(cx, p, "items", |cx, v| list(cx, v, MAX_LINE_ITEMS, 1, line_item));
            EventBody::Purchase(Purchase {
                shipping: opt(cx, p, "shipping", amount),
                tax: opt(cx, p, "tax", amount),
                discount: opt(cx, p, "discount", amount),
                coupon: opt(cx, p, "coupon", text),
                affiliation: opt(cx, p, "affiliation", text),
                store_id: opt(cx, p, "store_id", id),
                order_id: order_id?,
                revenue: revenue?,
                currency: currency?,
                items: items?,
            })
        }
        EventType::RecommendationImpression => {
            let recommendation_id = req(cx, p, "recommendation_id", id);
            let skus = req(cx, p, "skus", |cx, v| list(cx, v, MAX_ARRAY_LEN, 1, id));
            EventBody::RecommendationImpression(RecommendationImpression {
                placement: opt(cx, p, "placement", id),
                strategy: opt(cx, p, "strategy", id),
                recommendation_id: recommendation_id?,
                skus: skus?,
            })
        }
        EventType::RecommendationClick => {
            let recommendation_id = req(cx, p, "recommendation_id", id);
            let sku = req(cx, p, "sku", id);
            EventBody::RecommendationClick(RecommendationClick {
                position: opt(cx, p, "position", count),
                placement: opt(cx, p, "placement", id),
                strategy: opt(cx, p, "strategy", id),
                recommendation_id: recommendation_id?,
                sku: sku?,
            })
        }
        EventType::InventorySnapshot => {
            let store_id = req(cx, p, "store_id", id);
            let items = req(cx, p, "items", |cx, v| list(cx, v, MAX_STOCK_COUNTS, 1, stock_count));
            EventBody::InventorySnapshot(InventorySnapshot { store_id: store_id?, items: items? })
        }
        EventType::Identify => EventBody::Identify(Identify {
            traits: opt(cx, p, "traits", |cx, v| free_object(cx, v, 1)).unwrap_or_default(),
        }),
        EventType::Custom => {
            let name = req(cx, p, "name", id);
            let mut rest = p.to_map();
            rest.remove("name");
            let properties = free_map(cx, &rest, 1);
            EventBody::Custom(Custom { name: name?, properties: properties? })
        }
    })
}

fn product(cx: &mut Cx, v: &Node<'_>) -> Option<Product> {
    let o = object(cx, v)?;
    product_fields(cx, o)
}

fn product_fields(cx: &mut Cx, p: &Obj<'_>) -> Option<Product> {
    let sku = req(cx, p, "sku", id);
    Some(Product {
        product_id: opt(cx, p, "product_id", id),
        name: opt(cx, p, "name", text),
        category: opt(cx, p, "category", text),
        brand: opt(cx, p, "brand", text),
        variant: opt(cx, p, "variant", text),
        price: opt(cx, p, "price", amount),
        currency: opt(cx, p, "currency", currency),
        quantity: opt(cx, p, "quantity", quantity),
        coupon: opt(cx, p, "coupon", text),
        position: opt(cx, p, "position", count),
        url: opt(cx, p, "url", url),
        image_url: opt(cx, p, "image_url", url),
        sku: sku?,
    })
}

fn line_item(cx: &mut Cx, v: &Node<'_>) -> Option<LineItem> {
    let o = object(cx, v)?;
    let sku = req(cx, o, "sku", id);
    let quantity = req(cx, o, "quantity", quantity);
    let price = req(cx, o, "price", amount);
    Some(LineItem {
        product_id: opt(cx, o, "product_id", id),
        name: opt(cx, o, "name", text),
        category: opt(cx, o, "category", text),
        brand: opt(cx, o, "brand", text),
        variant: opt(cx, o, "variant", text),
        sku: sku?,
        quantity: quantity?,
        price: price?,
    })
}

fn stock_count(cx: &mut Cx, v: &Node<'_>) -> Option<StockCount> {
    let o = object(cx, v)?;
    let sku = req(cx, o, "sku", id);
    let on_hand = req(cx, o, "on_hand", stock_units);
    Some(StockCount { reorder_point: opt(cx, o, "reorder_point", stock_units), sku: sku?, on_hand: on_hand? })
}

fn context(cx: &mut Cx, v: &Node<'_>) -> Option<Context> {
    let o = object(cx, v)?;
    Some(Context {
        page: opt(cx, o, "page", |cx, v| {
            let p = object(cx, v)?;
            Some(Page {
                url: opt(cx, p, "url", url),
                path: opt(cx, p, "path", url),
                referrer: opt(cx, p, "referrer", url),
                title: opt(cx, p, "title", text),
                search: opt(cx, p, "search", url),
            })
        }),
        locale: opt(cx, o, "locale", id),
        timezone: opt(cx, o, "timezone", id),
        screen: opt(cx, o, "screen", |cx, v| {
            let s = object(cx, v)?;
            Some(Screen {
                width: opt(cx, s, "width", pixels),
                height: opt(cx, s, "height", pixels),
                density: opt(cx, s, "density", amount),
            })
        }),
        campaign: opt(cx, o, "campaign", |cx, v| {
            let c = object(cx, v)?;
            Some(Campaign {
                source: opt(cx, c, "source", text),
                medium: opt(cx, c, "medium", text),
                name: opt(cx, c, "name", text),
                term: opt(cx, c, "term", text),
                content: opt(cx, c, "content", text),
            })
        }),
        user_agent: opt(cx, o, "user_agent", text),
        library: opt(cx, o, "library", |cx, v| {
            let l = object(cx, v)?;
            let name = req(cx, l, "name", id);
            Some(Library { version: opt(cx, l, "version", id), name: name? })
        }),
    })
}

// ---- the walking context ---------------------------------------------------------------------

#[derive(Default)]
struct Cx {
    path: String,
    errors: Vec<FieldError>,
}

impl Cx {
    fn err(&mut self, problem: Problem) {
        let path = if self.path.is_empty() { "$".into() } else { self.path.clone() };
        self.errors.push(FieldError { path, problem });
    }

    fn key<T>(&mut self, key: &str, f: impl FnOnce(&mut Cx) -> T) -> T {
        let len = self.path.len();
        if len > 0 {
            self.path.push('.');
        }
        self.path.push_str(key);
        let out = f(self);
        self.path.truncate(len);
        out
    }

    fn index<T>(&mut self, i: usize, f: impl FnOnce(&mut Cx) -> T) -> T {
        let len = self.path.len();
        let _ = write!(self.path, "[{i}]");
        let out = f(self);
        self.path.truncate(len);
        out
    }
}

/// A field's value; `null` counts as absent, as JavaScript clients send it for unset optionals.
fn field<'v, 'a>(o: &'v Obj<'a>, key: &str) -> Option<&'v Node<'a>> {
    o.get(key).filter(|v| !v.is_null())
}

fn req<T>(cx: &mut Cx, o: &Obj<'_>, key: &str, f: impl FnOnce(&mut Cx, &Node<'_>) -> Option<T>) -> Option<T> {
    cx.key(key, |cx| match field(o, key) {
        None => {
            cx.err(Problem::Missing);
            None
        }
        Some(v) => f(cx, v),
    })
}

fn opt<T>(cx: &mut Cx, o: &Obj<'_>, key: &str, f: impl FnOnce(&mut Cx, &Node<'_>) -> Option<T>) -> Option<T> {
    cx.key(key, |cx| field(o, key).and_then(|v| f(cx, v)))
}

// ---- value checks ----------------------------------------------------------------------------

fn object<'v, 'a>(cx: &mut Cx, v: &'v Node<'a>) -> Option<&'v Obj<'a>> {
    let o = v.as_object();
    if o.is_none() {
        cx.err(Problem::WrongType { expected: "an object" });
    }
    o
}

fn string<'v>(cx: &mut Cx, v: &'v Node<'_>, max: usize) -> Option<&'v str> {
    let Some(s) = v.as_str() else {
        cx.err(Problem::WrongType { expected: "a string" });
        return None;
    };
    if s.len() > max {
        cx.err(Problem::TooLong { max, actual: s.len() });
        return None;
    }
    Some(s)
}

fn id(cx: &mut Cx, v: &Node<'_>) -> Option<String> {
    let s = string(cx, v, MAX_ID_BYTES)?;
    if s.trim().is_empty() {
        cx.err(Problem::Empty);
        return None;
    }
    Some(s.into())
}

fn text(cx: &mut Cx, v: &Node<'_>) -> Option<String> {
    string(cx, v, MAX_TEXT_BYTES).map(String::from)
}

fn url(cx: &mut Cx, v: &Node<'_>) -> Option<String> {
    string(cx, v, MAX_URL_BYTES).map(String::from)
}

fn number(cx: &mut Cx, v: &Node<'_>) -> Option<f64> {
    let Some(n) = v.as_f64() else {
        cx.err(Problem::WrongType { expected: "a number" });
        return None;
    };
    check_finite(cx, n)
}

fn check_finite(cx: &mut Cx, n: f64) -> Option<f64> {
    if n.is_finite() {
        Some(n)
    } else {
        cx.err(Problem::NotFinite);
        None
    }
}

/// Prices, revenue, tax, ...: finite and not negative.
fn amount(cx: &mut Cx, v: &Node<'_>) -> Option<f64> {
    let n = number(cx, v)?;
    if n < 0.0 {
        cx.err(Problem::Negative);
        return None;
    }
    Some(n)
}

fn integer_in(cx: &mut Cx, v: &Node<'_>, min: u64, max: u64) -> Option<u64> {
    let n = number(cx, v)?;
    match v.as_u64() {
        Some(i) if (min..=max).contains(&i) => Some(i),
        _ => {
            // A whole float such as 2.0 is an integer as far as JavaScript is concerned.
            if n.fract() == 0.0 && n >= min as f64 && n <= max as f64 {
                return Some(n as u64);
            }
            cx.err(Problem::OutOfRange { min, max });
            None
        }
    }
}

fn quantity(cx: &mut Cx, v: &Node<'_>) -> Option<u64> {
    integer_in(cx, v, MIN_QUANTITY, MAX_QUANTITY)
}

/// Units on hand and reorder points of an `inventory_snapshot` (a whole float such as 12.0 counts).
fn stock_units(cx: &mut Cx, v: &Node<'_>) -> Option<u64> {
    integer_in(cx, v, 0, MAX_STOCK_UNITS)
}

fn count(cx: &mut Cx, v: &Node<'_>) -> Option<u64> {
    integer_in(cx, v, 0, u64::from(u32::MAX))
}

fn pixels(cx: &mut Cx, v: &Node<'_>) -> Option<u32> {
    integer_in(cx, v, 0, 100_000).map(|n| n as u32)
}

fn currency(cx: &mut Cx, v: &Node<'_>) -> Option<String> {
    let s = string(cx, v, 3 + 8)?;
    if !is_iso_4217(s) {
        cx.err(Problem::UnknownCurrency);
        return None;
    }
    Some(s.into())
}

fn timestamp(cx: &mut Cx, v: &Node<'_>) -> Option<Timestamp> {
    let s = string(cx, v, 64)?;
    let t = Timestamp::parse_rfc3339(s);
    if t.is_none() {
        cx.err(Problem::NotTimestamp);
    }
    t
}

fn uuid_v7(cx: &mut Cx, v: &Node<'_>) -> Option<String> {
    let s = string(cx, v, 64)?;
    match parse_uuid(s) {
        None => {
            cx.err(Problem::NotUuid);
            None
        }
        Some((version, _)) if version != 7 => {
            cx.err(Problem::NotUuidV7(version));
            None
        }
        Some((_, canonical)) => Some(canonical),
    }
}

/// The 128 bits of a UUID that [`parse_uuid`] accepted (its 32 hex digits; the hyphens skipped).
fn uuid_bits(uuid: &str) -> u128 {
    uuid.bytes().filter_map(|b| (b as char).to_digit(16)).fold(0, |bits, digit| bits << 4 | u128::from(digit))
}

/// Parses `8-4-4-4-12` hex (any case) with the RFC 9562 variant; returns its version and the
/// lower-case form.
fn parse_uuid(s: &str) -> Option<(u8, String)> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    for (i, &c) in b.iter().enumerate() {
        let ok = if matches!(i, 8 | 13 | 18 | 23) { c == b'-' } else { c.is_ascii_hexdigit() };
        if !ok {
            return None;
        }
    }
    let version = (b[14] as char).to_digit(16)? as u8;
    let variant = (b[19] as char).to_digit(16)?;
    if variant & 0b1100 != 0b1000 {
        return None;
    }
    Some((version, s.to_ascii_lowercase()))
}

fn list<T>(
    cx: &mut Cx,
    v: &Node<'_>,
    max: usize,
    min: usize,
    mut item: impl FnMut(&mut Cx, &Node<'_>) -> Option<T>,
) -> Option<Vec<T>> {
    let Some(items) = v.as_array() else {
        cx.err(Problem::WrongType { expected: "an array" });
        return None;
    };
    if items.len() > max {
        cx.err(Problem::TooMany { max, actual: items.len() });
        return None;
    }
    if items.len() < min {
        cx.err(Problem::TooFew { min });
        return None;
    }
    let before = cx.errors.len();
    let out: Vec<T> = items.iter().enumerate().filter_map(|(i, v)| cx.index(i, |cx| item(cx, v))).collect();
    (cx.errors.len() == before && out.len() == items.len()).then_some(out)
}

fn free_object(cx: &mut Cx, v: &Node<'_>, depth: usize) -> Option<Map<String, Value>> {
    let o = object(cx, v)?.to_map();
    free_map(cx, &o, depth)
}

/// Free-form properties: any JSON within the depth, size and length limits.
fn free_map(cx: &mut Cx, o: &Map<String, Value>, depth: usize) -> Option<Map<String, Value>> {
    let before = cx.errors.len();
    check_free_map(cx, o, depth);
    (cx.errors.len() == before).then(|| o.clone())
}

fn check_free_map(cx: &mut Cx, o: &Map<String, Value>, depth: usize) {
    if depth > MAX_PROPERTY_DEPTH {
        cx.err(Problem::TooDeep { max: MAX_PROPERTY_DEPTH });
        return;
    }
    if o.len() > MAX_OBJECT_KEYS {
        cx.err(Problem::TooMany { max: MAX_OBJECT_KEYS, actual: o.len() });
        return;
    }
    for (k, v) in o {
        if k.len() > MAX_KEY_BYTES {
            let shown: String = k.chars().take(32).collect();
            cx.key(&format!("{shown}…"), |cx| cx.err(Problem::TooLong { max: MAX_KEY_BYTES, actual: k.len() }));
            continue;
        }
        cx.key(k, |cx| check_free_value(cx, v, depth));
    }
}

fn check_free_value(cx: &mut Cx, v: &Value, depth: usize) {
    match v {
        Value::Object(o) => check_free_map(cx, o, depth + 1),
        Value::Array(a) => {
            if depth + 1 > MAX_PROPERTY_DEPTH {
                cx.err(Problem::TooDeep { max: MAX_PROPERTY_DEPTH });
            } else if a.len() > MAX_ARRAY_LEN {
                cx.err(Problem::TooMany { max: MAX_ARRAY_LEN, actual: a.len() });
            } else {
                for (i, v) in a.iter().enumerate() {
                    cx.index(i, |cx| check_free_value(cx, v, depth + 1));
                }
            }
        }
        Value::String(s) if s.len() > MAX_TEXT_BYTES => {
            cx.err(Problem::TooLong { max: MAX_TEXT_BYTES, actual: s.len() })
        }
        Value::Number(n) => {
            if let Some(f) = n.as_f64() {
                check_finite(cx, f);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_parsing_checks_shape_variant_and_version() {
        assert_eq!(parse_uuid("0192F3A0-8B7C-7D2E-9F10-0123456789AB").map(|u| u.0), Some(7));
        assert_eq!(parse_uuid("0192f3a0-8b7c-4d2e-9f10-0123456789ab").map(|u| u.0), Some(4));
        assert_eq!(parse_uuid("0192f3a0-8b7c-7d2e-cf10-0123456789ab"), None, "variant 110x");
        assert_eq!(parse_uuid("0192f3a08b7c7d2e9f100123456789ab"), None, "no hyphens");
        assert_eq!(parse_uuid("0192f3a0-8b7c-7d2e-9f10-0123456789ag"), None);
    }

    /// Every shape of body gets its own answer (the envelope is read in one pass, not three).
    #[test]
    fn envelope_shapes() {
        let opts = ValidationOptions::at(Timestamp(1_763_805_600_000));
        let envelope_codes = |body: &str| match validate_batch(body.as_bytes(), &opts) {
            Err(BatchError::Envelope(errors)) => {
                errors.iter().map(|e| format!("{} {}", e.path, e.problem.code())).collect::<Vec<_>>()
            }
            other => panic!("{body}: {other:?}"),
        };
        let not_json = |body: &str| matches!(validate_batch(body.as_bytes(), &opts), Err(BatchError::NotJson(_)));
        let start = r#"{"schema_version": 1, "sent_at": "2025-11-22T10:00:00Z", "events": "#;
        for events in [r#"{"a": [1, {"b": 2}]}"#, r#""x""#, "1", "-1", "1.5", "true", "1e400", r#""\ud800""#] {
            assert_eq!(envelope_codes(&format!("{start}{events}}}")), ["events wrong_type"], "{events}");
        }
        assert_eq!(envelope_codes(&format!("{start}null}}")), ["events missing"]);
        assert_eq!(envelope_codes(" [1, 2]"), ["$ wrong_type"]);
        assert_eq!(envelope_codes("\n\"text\""), ["$ wrong_type"]);
        assert!(not_json("[1, 2"), "a malformed array is not JSON, not a wrong type");
        assert!(not_json(""));
        assert!(not_json(&format!("{start}[]}} trailing")));
        assert!(not_json(&format!("{start}[{{]}}")), "a malformed event makes the whole body malformed");
        assert!(not_json(r#"{"events": [], "events": []}"#), "a repeated member");
        let not_utf8 = |body: &[u8]| matches!(validate_batch(body, &opts), Err(BatchError::NotJson(_)));
        assert!(not_utf8(&[start.as_bytes(), b"[], \"x\": \"\xff\"}"].concat()), "bad UTF-8 in an ignored member");
        assert!(not_utf8(b"\"\xff\""), "bad UTF-8 in a body that is not an object");
        let many = alloc::vec!["{}"; MAX_EVENTS_PER_BATCH + 1].join(",");
        assert_eq!(envelope_codes(&format!("{start}[{many}]}}")), ["events too_many"]);
        let outcome =
            validate_batch(format!(" \t{start}[{{}}, 7], \"extra\": {{\"x\": [1]}}}}").as_bytes(), &opts).unwrap();
        assert_eq!(outcome.accepted.len(), 0);
        assert_eq!(outcome.rejected.iter().map(|r| r.raw.as_str()).collect::<Vec<_>>(), ["{}", "7"]);
    }

    #[test]
    fn uuid_bits_tell_ids_apart_whatever_their_case() {
        let a = "0192f3a0-8b7c-7d2e-9f10-0123456789ab";
        assert_eq!(uuid_bits(a), 0x0192f3a0_8b7c_7d2e_9f10_0123456789ab);
        assert_eq!(uuid_bits(a), uuid_bits(&a.to_ascii_uppercase()));
        assert_ne!(uuid_bits(a), uuid_bits("0192f3a0-8b7c-7d2e-9f10-0123456789ac"));
    }

    #[test]
    fn non_finite_numbers_are_refused() {
        // JSON cannot carry NaN or infinities, but the checker is also the guard for typed input.
        let mut cx = Cx::default();
        cx.path.push_str("properties.price");
        assert_eq!(check_finite(&mut cx, f64::NAN), None);
        assert_eq!(check_finite(&mut cx, f64::INFINITY), None);
        assert_eq!(check_finite(&mut cx, 1.5), Some(1.5));
        assert_eq!(cx.errors.len(), 2);
        assert!(cx.errors.iter().all(|e| e.problem == Problem::NotFinite && e.path == "properties.price"));
    }

    fn inventory_snapshot(properties: Value) -> Value {
        serde_json::json!({
            "event_id": "019ab2c4-7e10-7000-8000-000000000001", "type": "inventory_snapshot",
            "occurred_at": "2026-11-22T10:00:00Z", "anonymous_id": "store-s001", "session_id": "pos-1",
            "properties": properties
        })
    }

    fn validate_snapshot(properties: Value) -> Result<Event, Vec<FieldError>> {
        let opts = ValidationOptions::at(Timestamp::parse_rfc3339("2026-11-22T10:00:05Z").unwrap());
        validate_event(&inventory_snapshot(properties), &opts)
    }

    /// The (path, code) of every error, or an empty list when accepted.
    fn snapshot_errors(properties: Value) -> Vec<(String, &'static str)> {
        match validate_snapshot(properties) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| (e.path, e.problem.code())).collect(),
        }
    }

    fn errs(list: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        list.iter().map(|(p, c)| (String::from(*p), *c)).collect()
    }

    #[test]
    fn inventory_snapshot_is_accepted_and_typed() {
        let event = validate_snapshot(serde_json::json!({
            "store_id": "s001",
            "items": [
                {"sku": "tents-004", "on_hand": 12, "reorder_point": 5},
                {"sku": "shoes-001", "on_hand": 0, "reorder_point": null, "note": "ignored"},
                {"sku": "bags-002", "on_hand": 7.0, "reorder_point": 3.0}
            ]
        }))
        .unwrap();
        assert_eq!(event.event_type(), EventType::InventorySnapshot);
        let expected = InventorySnapshot {
            store_id: "s001".into(),
            items: alloc::vec![
                StockCount { sku: "tents-004".into(), on_hand: 12, reorder_point: Some(5) },
                StockCount { sku: "shoes-001".into(), on_hand: 0, reorder_point: None },
                StockCount { sku: "bags-002".into(), on_hand: 7, reorder_point: Some(3) },
            ],
        };
        assert_eq!(event.body, EventBody::InventorySnapshot(expected));
        // The canonical form: integers, no null optionals, unknown fields dropped.
        let wire = serde_json::to_value(&event).unwrap();
        assert_eq!(wire["type"], "inventory_snapshot");
        assert_eq!(
            wire["properties"],
            serde_json::json!({"store_id": "s001", "items": [
                {"sku": "tents-004", "on_hand": 12, "reorder_point": 5},
                {"sku": "shoes-001", "on_hand": 0},
                {"sku": "bags-002", "on_hand": 7, "reorder_point": 3}
            ]})
        );
    }

    #[test]
    fn inventory_snapshot_stock_units_at_their_edges() {
        let units = |on_hand: Value, reorder_point: Value| {
            snapshot_errors(serde_json::json!({
                "store_id": "s001", "items": [{"sku": "s", "on_hand": on_hand, "reorder_point": reorder_point}]
            }))
        };
        assert_eq!(units(0.into(), 0.into()), errs(&[]));
        assert_eq!(units(MAX_STOCK_UNITS.into(), MAX_STOCK_UNITS.into()), errs(&[]));
        assert_eq!(units(12.0.into(), 5.0.into()), errs(&[]), "whole floats count, as for quantity");
        assert_eq!(
            units((MAX_STOCK_UNITS + 1).into(), 5.into()),
            errs(&[("properties.items[0].on_hand", "out_of_range")])
        );
        assert_eq!(units((-1).into(), 5.into()), errs(&[("properties.items[0].on_hand", "out_of_range")]));
        assert_eq!(units(1.5.into(), 5.into()), errs(&[("properties.items[0].on_hand", "out_of_range")]));
        assert_eq!(units("12".into(), 5.into()), errs(&[("properties.items[0].on_hand", "wrong_type")]));
        assert_eq!(
            units(1.into(), (MAX_STOCK_UNITS + 1).into()),
            errs(&[("properties.items[0].reorder_point", "out_of_range")])
        );
        assert_eq!(units(1.into(), (-5).into()), errs(&[("properties.items[0].reorder_point", "out_of_range")]));
        assert_eq!(units(1.into(), 0.5.into()), errs(&[("properties.items[0].reorder_point", "out_of_range")]));
    }

    #[test]
    fn inventory_snapshot_requires_a_store_and_its_items() {
        let item = serde_json::json!({"sku": "s", "on_hand": 1});
        let snapshot =
            |store_id: Value, items: Value| snapshot_errors(serde_json::json!({"store_id": store_id, "items": items}));
        assert_eq!(
            snapshot_errors(serde_json::json!({})),
            errs(&[("properties.store_id", "missing"), ("properties.items", "missing")])
        );
        // `properties` null (as absent): the same two errors.
        assert_eq!(
            snapshot_errors(Value::Null),
            errs(&[("properties.store_id", "missing"), ("properties.items", "missing")])
        );
        assert_eq!(snapshot(Value::Null, serde_json::json!([item])), errs(&[("properties.store_id", "missing")]));
        assert_eq!(snapshot(" ".into(), serde_json::json!([item])), errs(&[("properties.store_id", "empty")]));
        assert_eq!(snapshot(7.into(), serde_json::json!([item])), errs(&[("properties.store_id", "wrong_type")]));
        assert_eq!(snapshot("i".repeat(MAX_ID_BYTES).into(), serde_json::json!([item])), errs(&[]));
        assert_eq!(
            snapshot("i".repeat(MAX_ID_BYTES + 1).into(), serde_json::json!([item])),
            errs(&[("properties.store_id", "too_long")])
        );
        assert_eq!(snapshot("s001".into(), serde_json::json!([])), errs(&[("properties.items", "too_few")]));
        assert_eq!(
            snapshot("s001".into(), serde_json::json!({"sku": "s"})),
            errs(&[("properties.items", "wrong_type")])
        );
        assert_eq!(snapshot("s001".into(), serde_json::json!(alloc::vec![item.clone(); MAX_STOCK_COUNTS])), errs(&[]));
        assert_eq!(
            snapshot("s001".into(), serde_json::json!(alloc::vec![item.clone(); MAX_STOCK_COUNTS + 1])),
            errs(&[("properties.items", "too_many")])
        );
    }

    #[test]
    fn inventory_snapshot_reports_every_bad_item_by_path() {
        let errors = snapshot_errors(serde_json::json!({
            "store_id": "s001",
            "items": [
                {"sku": "ok", "on_hand": 3},
                "tents-004",
                {"on_hand": 1},
                {"sku": "", "reorder_point": 2},
                {"sku": "i".repeat(MAX_ID_BYTES + 1), "on_hand": -2}
            ]
        }));
        assert_eq!(
            errors,
            errs(&[
                ("properties.items[1]", "wrong_type"),
                ("properties.items[2].sku", "missing"),
                ("properties.items[3].sku", "empty"),
                ("properties.items[3].on_hand", "missing"),
                ("properties.items[4].sku", "too_long"),
                ("properties.items[4].on_hand", "out_of_range"),
            ])
        );
        // Every error has a reason for people beside its code.
        let err = validate_snapshot(serde_json::json!({"store_id": "s001", "items": [{"sku": "s", "on_hand": -1}]}))
            .unwrap_err();
        assert_eq!(err[0].problem.to_string(), format!("must be an integer from 0 to {MAX_STOCK_UNITS}"));
    }
}
