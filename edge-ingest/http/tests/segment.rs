//! The Segment-compatible routes through the router with no socket: each endpoint, each e-commerce
//! mapping, the write key by Basic auth and by body, the limits, malformed input, and that what the
//! domain does (validation, dedupe, enrichment, the bad-events sink, its errors) applies unchanged.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::{to_bytes, Body};
use axum::http::{HeaderMap, Request, StatusCode};
use event_schema::limits::MAX_EVENTS_PER_BATCH;
use event_schema::Timestamp;
use ingest_domain::{
    AuthError, EnrichedEvent, EventSink, FixedClock, Ingest, RejectedEventSink, RejectedRecord, SinkError,
    TokenVerifier, VerifiedIdentity,
};
use ingest_http::segment::{derived_session_id, event_id, MAX_MESSAGE_BYTES, MAX_REQUEST_BYTES};
use ingest_http::{Access, BatchSummary, Site};
use serde_json::{json, Value};
use tower::ServiceExt;

/// The sink: keeps what it is given; with `dedupe`, idempotent on `event_id` like `SqliteEventLog`.
#[derive(Default)]
struct Memory {
    events: Mutex<Vec<EnrichedEvent>>,
    rejected: Mutex<Vec<RejectedRecord>>,
    writes: Mutex<usize>,
    dedupe: bool,
    fail: bool,
}

#[async_trait]
impl EventSink for Memory {
    async fn write(&self, events: &[EnrichedEvent]) -> Result<(), SinkError> {
        if self.fail {
            return Err(SinkError::new("disk full", std::io::Error::other("ENOSPC")));
        }
        *self.writes.lock().unwrap() += 1;
        let mut stored = self.events.lock().unwrap();
        for e in events {
            if !(self.dedupe && stored.iter().any(|s| s.event.event_id == e.event.event_id)) {
                stored.push(e.clone());
            }
        }
        Ok(())
    }
    async fn ready(&self) -> Result<(), SinkError> {
        Ok(())
    }
}

#[async_trait]
impl RejectedEventSink for Memory {
    async fn write_rejected(&self, records: &[RejectedRecord]) -> Result<(), SinkError> {
        self.rejected.lock().unwrap().extend_from_slice(records);
        Ok(())
    }
}

/// Accepts `good-<sub>`, refuses anything else.
struct StubVerifier;

#[async_trait]
impl TokenVerifier for StubVerifier {
    async fn verify(&self, token: &str) -> Result<VerifiedIdentity, AuthError> {
        token
            .strip_prefix("good-")
            .map(|sub| VerifiedIdentity { subject: sub.into() })
            .ok_or_else(|| AuthError::Invalid("signature does not verify".into()))
    }
}

const NOW: &str = "2026-11-22T10:00:05.000Z";
/// The device clock is 4 s behind: it sent at 10:00:01 what the server received at 10:00:05.
const SENT_AT: &str = "2026-11-22T10:00:01.000Z";
const AT: &str = "2026-11-22T10:00:00.000Z";
const SHOP: &str = "https://shop.example";
/// "wk_shop:" in base64: the write key as the Basic auth user, as Segment's libraries send it.
const BASIC_WK_SHOP: &str = "Basic d2tfc2hvcDo=";

fn ingest(memory: &Arc<Memory>) -> Ingest {
    Ingest::new(memory.clone(), Arc::new(FixedClock(Timestamp::parse_rfc3339(NOW).unwrap())))
        .with_token_verifier(Arc::new(StubVerifier))
        .with_rejected_sink(memory.clone())
}

fn open(memory: &Arc<Memory>) -> axum::Router {
    ingest_http::router(ingest(memory))
}

fn keyed(memory: &Arc<Memory>) -> axum::Router {
    let access =
        Access::write_keys([("wk_shop".to_string(), Site { name: "shop".into(), allowed_origins: vec![SHOP.into()] })]);
    ingest_http::router_with_access(ingest(memory), access)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    summary: Option<BatchSummary>,
}

async fn send(app: axum::Router, req: Request<Body>) -> Answer {
    let res = app.oneshot(req).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let summary = res.extensions().get::<BatchSummary>().cloned();
    let bytes = to_bytes(res.into_body(), usize::MAX).await.unwrap();
    Answer { status, headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null), summary }
}

/// A POST as analytics.js sends it: `text/plain`, so a cross-origin call needs no preflight.
fn post(uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri).header("content-type", "text/plain").body(body.into()).unwrap()
}

async fn post_json(app: axum::Router, uri: &str, body: &Value) -> Answer {
    send(app, post(uri, body.to_string())).await
}

/// A track message as analytics-next sends it (trimmed of what is not read).
fn track(message_id: &str, event: &str, properties: Value) -> Value {
    json!({
        "type": "track", "event": event, "properties": properties, "messageId": message_id,
        "anonymousId": "anon-1", "timestamp": AT, "sentAt": SENT_AT,
        "context": {"page": {"url": "https://shop.example/p/sku-1", "path": "/p/sku-1", "title": "Trail Shoe"}},
        "integrations": {}, "_metadata": {"bundled": ["Segment.io"]}
    })
}

fn batch(messages: Vec<Value>) -> Value {
    json!({"batch": messages, "sentAt": SENT_AT})
}

/// The stored events as their JSON lines.
fn stored(memory: &Memory) -> Vec<Value> {
    memory.events.lock().unwrap().iter().map(|e| serde_json::from_str(&e.to_json().unwrap()).unwrap()).collect()
}

/// Sends one track call and returns what was stored for it.
async fn stored_track(event: &str, properties: Value) -> Value {
    let memory = Arc::new(Memory::default());
    let answer = post_json(open(&memory), "/v1/track", &track("m-1", event, properties)).await;
    assert_eq!((answer.status, answer.body["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{}", answer.body);
    stored(&memory).remove(0)
}

// ---- endpoints -------------------------------------------------------------------------------------

#[tokio::test]
async fn each_endpoint_and_its_analytics_js_alias_takes_its_message_type() {
    let page = json!({"type": "page", "name": "Home", "category": "Landing", "anonymousId": "anon-1",
        "messageId": "m-page", "timestamp": AT, "sentAt": SENT_AT,
        "properties": {"url": "https://shop.example/?utm_source=news", "path": "/", "title": "Home"}});
    let identify = json!({"type": "identify", "userId": "user-1", "anonymousId": "anon-1", "messageId": "m-id",
        "timestamp": AT, "traits": {"plan": "gold", "email_opt_in": true}});
    let cases = [
        ("/v1/track", track("m-track", "Newsletter Signup", json!({"source": "footer"})), "custom"),
        ("/v1/t", track("m-t", "Product Viewed", json!({"sku": "sku-1"})), "product_view"),
        ("/v1/page", page.clone(), "page_view"),
        ("/v1/p", page, "page_view"),
        ("/v1/identify", identify.clone(), "identify"),
        ("/v1/i", identify, "identify"),
        (
            "/v1/screen",
            json!({"name": "Cart", "anonymousId": "anon-1", "messageId": "m-s", "timestamp": AT}),
            "page_view",
        ),
    ];
    for (uri, message, expected) in cases {
        let memory = Arc::new(Memory::default());
        let answer = post_json(open(&memory), uri, &message).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}: {}", answer.body);
        assert_eq!(answer.body, json!({"success": true, "accepted": 1, "rejected": []}), "{uri}");
        let events = stored(&memory);
        assert_eq!(events.len(), 1, "{uri}");
        assert_eq!(events[0]["type"], expected, "{uri}");
    }

    // The path decides the type of a single call, whatever the body says.
    let memory = Arc::new(Memory::default());
    let mut message = track("m-x", "Newsletter Signup", json!({}));
    message["type"] = json!("identify");
    assert_eq!(post_json(open(&memory), "/v1/track", &message).await.status, StatusCode::OK);
    assert_eq!(stored(&memory)[0]["type"], "custom");
}

#[tokio::test]
async fn a_batch_takes_every_message_type_in_order() {
    let memory = Arc::new(Memory::default());
    let messages = vec![
        json!({"type": "page", "anonymousId": "anon-1", "messageId": "b-1", "timestamp": AT, "name": "Home"}),
        track("b-2", "Product Viewed", json!({"sku": "sku-1", "price": 89.9, "currency": "EUR"})),
        json!({"type": "identify", "anonymousId": "anon-1", "userId": "user-1", "messageId": "b-3", "timestamp": AT}),
        json!({"type": "screen", "anonymousId": "anon-1", "messageId": "b-4", "timestamp": AT, "name": "Cart"}),
        track("b-5", "Video Played", json!({"seconds": 3})),
    ];
    for uri in ["/v1/batch", "/v1/b"] {
        let answer = post_json(open(&memory), uri, &batch(messages.clone())).await;
        assert_eq!((answer.status, answer.body["accepted"].as_u64()), (StatusCode::OK, Some(5)), "{}", answer.body);
        assert_eq!(answer.body["success"], true);
        let summary = answer.summary.expect("the batch summary is left for metrics");
        assert_eq!((summary.accepted, summary.rejected), (5, 0));
    }
    let types: Vec<String> = stored(&memory).iter().map(|e| e["type"].as_str().unwrap().to_string()).collect();
    let once = ["page_view", "product_view", "identify", "page_view", "custom"];
    assert_eq!(types, [once, once].concat());
    assert_eq!(stored(&memory)[3]["properties"]["name"], "Cart", "a screen is a page view of that name");
}

// ---- e-commerce v2 mappings -----------------------------------------------------------------------------

fn segment_product() -> Value {
    json!({"product_id": "p-1", "sku": "sku-1", "name": "Trail Shoe", "category": "Shoes", "brand": "Acme",
        "variant": "blue", "price": 89.9, "currency": "EUR", "quantity": 2, "coupon": "SHOE10", "position": 3,
        "url": "https://shop.example/p/sku-1", "image_url": "https://shop.example/img/sku-1.svg",
        "value": 179.8, "description": "not in the schema"})
}

fn our_product() -> Value {
    json!({"sku": "sku-1", "product_id": "p-1", "name": "Trail Shoe", "category": "Shoes", "brand": "Acme",
        "variant": "blue", "price": 89.9, "currency": "EUR", "quantity": 2, "coupon": "SHOE10", "position": 3,
        "url": "https://shop.example/p/sku-1", "image_url": "https://shop.example/img/sku-1.svg"})
}

#[tokio::test]
async fn product_viewed_is_product_view_with_segments_product_fields() {
    let event = stored_track("Product Viewed", segment_product()).await;
    assert_eq!(event["type"], "product_view");
    assert_eq!(event["properties"], our_product(), "Segment's names are kept; what the schema lacks is dropped");
    // The schema requires a sku: Segment's product_id stands in, numeric ids become strings.
    let event = stored_track("product viewed", json!({"product_id": 507, "price": 10})).await;
    assert_eq!(event["type"], "product_view", "names match without regard to case");
    assert_eq!(event["properties"], json!({"sku": "507", "product_id": "507", "price": 10.0}));
}

#[tokio::test]
async fn product_added_and_removed_are_cart_changes_with_the_cart_id() {
    let mut props = segment_product();
    props["cart_id"] = json!("cart-9");
    let mut expected = our_product();
    expected["cart_id"] = json!("cart-9");
    let added = stored_track("Product Added", props.clone()).await;
    assert_eq!((added["type"].as_str(), &added["properties"]), (Some("add_to_cart"), &expected));
    let removed = stored_track("Product Removed", props).await;
    assert_eq!((removed["type"].as_str(), &removed["properties"]), (Some("remove_from_cart"), &expected));
}

#[tokio::test]
async fn product_list_viewed_and_products_searched() {
    let list = stored_track(
        "Product List Viewed",
        json!({"list_id": "shoes", "category": "Shoes", "products": [segment_product(), {"product_id": "p-2", "position": 2}]}),
    )
    .await;
    assert_eq!(list["type"], "product_list_view");
    assert_eq!(
        list["properties"],
        json!({"list_id": "shoes", "category": "Shoes", "products": [our_product(), {"sku": "p-2", "product_id": "p-2", "position": 2}]})
    );
    let search = stored_track("Products Searched", json!({"query": "running shoes", "results": 42})).await;
    assert_eq!(search["type"], "search");
    assert_eq!(search["properties"], json!({"query": "running shoes", "results": 42}));
}

fn order_products() -> Value {
    json!([{"product_id": "p-1", "sku": "sku-1", "name": "Trail Shoe", "price": 89.9, "quantity": 2, "category": "Shoes",
            "brand": "Acme", "variant": "blue"},
           {"product_id": "p-2", "price": 12.5}])
}

fn our_items() -> Value {
    json!([{"sku": "sku-1", "quantity": 2, "price": 89.9, "product_id": "p-1", "name": "Trail Shoe", "category": "Shoes",
            "brand": "Acme", "variant": "blue"},
           {"sku": "p-2", "quantity": 1, "price": 12.5, "product_id": "p-2"}])
}

#[tokio::test]
async fn order_completed_is_purchase_with_products_as_line_items() {
    let event = stored_track(
        "Order Completed",
        json!({"order_id": "o-1001", "checkout_id": "co-1", "affiliation": "Web", "total": 227.39, "subtotal": 190.0,
            "revenue": 192.3, "shipping": 4.99, "tax": 30.1, "discount": 0, "coupon": "WELCOME", "currency": "EUR",
            "products": order_products()}),
    )
    .await;
    assert_eq!(event["type"], "purchase");
    assert_eq!(
        event["properties"],
        json!({"order_id": "o-1001", "revenue": 192.3, "currency": "EUR", "items": our_items(), "shipping": 4.99,
            "tax": 30.1, "discount": 0.0, "coupon": "WELCOME", "affiliation": "Web"})
    );

    // Revenue falls back to subtotal, then total; the currency to USD, as Segment assumes.
    let event = stored_track(
        "Order Completed",
        json!({"order_id": 1001, "subtotal": 190.0, "total": 227.39, "products": order_products()}),
    )
    .await;
    assert_eq!(
        (event["properties"]["revenue"].as_f64(), event["properties"]["currency"].as_str()),
        (Some(190.0), Some("USD"))
    );
    assert_eq!(event["properties"]["order_id"], "1001");
    let event =
        stored_track("Order Completed", json!({"order_id": "o-2", "total": 227.39, "products": order_products()}))
            .await;
    assert_eq!(event["properties"]["revenue"], 227.39);
    // Without any amount: the sum of the line items.
    let event =
        stored_track("Order Completed", json!({"order_id": "o-3", "currency": "EUR", "products": order_products()}))
            .await;
    assert_eq!(event["properties"]["revenue"], 192.3);
}

#[tokio::test]
async fn checkout_started_is_checkout_started() {
    let event = stored_track(
        "Checkout Started",
        json!({"checkout_id": "co-1", "order_id": "o-1001", "value": 192.3, "currency": "EUR", "coupon": "WELCOME",
            "products": order_products()}),
    )
    .await;
    assert_eq!(event["type"], "checkout_started");
    assert_eq!(
        event["properties"],
        json!({"checkout_id": "co-1", "order_id": "o-1001", "revenue": 192.3, "currency": "EUR", "coupon": "WELCOME",
            "items": our_items()})
    );
}

#[tokio::test]
async fn unknown_names_are_custom_events_with_the_name_as_sent() {
    let event =
        stored_track("Newsletter Signup", json!({"source": "footer", "tags": ["a", "b"], "meta": {"n": 1}})).await;
    assert_eq!(event["type"], "custom");
    assert_eq!(
        event["properties"],
        json!({"name": "Newsletter Signup", "source": "footer", "tags": ["a", "b"], "meta": {"n": 1}})
    );
    // Segment e-commerce names the schema has no type for are custom too; a `name` property survives.
    let event = stored_track("Product Clicked", json!({"name": "Trail Shoe", "sku": "sku-1"})).await;
    assert_eq!(event["type"], "custom");
    assert_eq!(event["properties"], json!({"name": "Product Clicked", "property_name": "Trail Shoe", "sku": "sku-1"}));
}

#[tokio::test]
async fn an_order_the_schema_refuses_is_rejected_with_the_validators_reason() {
    let memory = Arc::new(Memory::default());
    let bad = track("m-bad", "Order Completed", json!({"order_id": "o-1", "revenue": 10, "products": [{"sku": "s"}]}));
    let good = track("m-good", "Product Viewed", json!({"sku": "sku-1"}));
    let answer = post_json(open(&memory), "/v1/batch", &batch(vec![good, bad])).await;
    assert_eq!((answer.status, answer.body["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{}", answer.body);
    let rejected = &answer.body["rejected"][0];
    assert_eq!((rejected["index"].as_u64(), rejected["message_id"].as_str()), (Some(1), Some("m-bad")));
    assert_eq!(rejected["event_id"], event_id("m-bad", Timestamp::parse_rfc3339(AT)));
    assert_eq!(rejected["errors"][0]["path"], "properties.items[0].price");
    assert_eq!(rejected["errors"][0]["code"], "missing");
    // ... and the bad-events sink has it, as sent to the validator.
    let quarantined = memory.rejected.lock().unwrap();
    assert_eq!((quarantined.len(), quarantined[0].index), (1, Some(1)));
    assert!(quarantined[0].raw.contains("\"purchase\""), "{}", quarantined[0].raw);
}

// ---- identity, time, context --------------------------------------------------------------------------------

#[tokio::test]
async fn ids_times_and_context_are_mapped() {
    let memory = Arc::new(Memory::default());
    let message = json!({
        "type": "page", "name": "Home", "category": "Landing", "messageId": "ajs-next-1700000000000-abc",
        "anonymousId": "anon-1", "userId": "user-42", "timestamp": AT, "sentAt": SENT_AT,
        "properties": {"url": "https://shop.example/?utm_source=news", "path": "/", "referrer": "", "title": "Home"},
        "context": {
            "locale": "de-DE", "timezone": "Europe/Berlin", "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
            "screen": {"width": 1280, "height": 800, "density": 2},
            "campaign": {"source": "news", "medium": "email", "name": "nov", "term": "shoes", "content": "hero"},
            "library": {"name": "analytics.js", "version": "npm:next-1.84.3"},
            "page": {"title": "Home page", "referrer": "https://www.google.com/", "search": "?utm_source=news"},
            "ip": "203.0.113.9", "userAgentData": {"mobile": false}, "os": {"name": "Linux"}
        }
    });
    assert_eq!(post_json(open(&memory), "/v1/page", &message).await.status, StatusCode::OK);
    let event = &stored(&memory)[0];
    assert_eq!(event["event_id"], event_id("ajs-next-1700000000000-abc", Timestamp::parse_rfc3339(AT)));
    assert_eq!(event["anonymous_id"], "anon-1");
    assert_eq!(event["claimed_user_id"], "user-42", "an unverified userId is only claimed");
    assert!(event.get("user_id").is_none());
    assert_eq!(event["session_id"], derived_session_id("anon-1"));
    assert_eq!(event["client_occurred_at"], AT);
    assert_eq!(event["sent_at"], SENT_AT);
    assert_eq!(event["occurred_at"], "2026-11-22T10:00:04.000Z", "corrected by the device's 4 s skew");
    assert_eq!(event["properties"], json!({"name": "Home", "category": "Landing"}));
    assert_eq!(
        event["context"],
        json!({
            // The page call's properties first, context.page where they have nothing.
            "page": {"url": "https://shop.example/?utm_source=news", "path": "/", "referrer": "", "title": "Home",
                     "search": "?utm_source=news"},
            "locale": "de-DE", "timezone": "Europe/Berlin", "screen": {"width": 1280, "height": 800, "density": 2.0},
            "campaign": {"source": "news", "medium": "email", "name": "nov", "term": "shoes", "content": "hero"},
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
            "library": {"name": "analytics.js", "version": "npm:next-1.84.3"}
        })
    );
    assert_eq!(event["edge"]["os"]["name"], "Linux", "the edge reads the message's user agent");
}

#[tokio::test]
async fn a_verified_token_sets_user_id_and_an_identify_keeps_its_traits() {
    let memory = Arc::new(Memory::default());
    let identify = json!({"type": "identify", "userId": "user-1", "anonymousId": "anon-1", "messageId": "m-1",
        "timestamp": AT, "sentAt": SENT_AT, "context": {"traits": {"ignored": true}}, "traits": {"plan": "gold"}});
    let req = Request::post("/v1/identify")
        .header("authorization", "Bearer good-user-1")
        .body(Body::from(identify.to_string()));
    assert_eq!(send(open(&memory), req.unwrap()).await.status, StatusCode::OK);
    let event = &stored(&memory)[0];
    assert_eq!((event["type"].as_str(), event["user_id"].as_str()), (Some("identify"), Some("user-1")));
    assert!(event.get("claimed_user_id").is_none());
    assert_eq!(event["properties"], json!({"traits": {"plan": "gold"}}));

    // A forged token is the domain's 401, nothing stored.
    let req =
        Request::post("/v1/identify").header("authorization", "Bearer forged").body(Body::from(identify.to_string()));
    let answer = send(open(&memory), req.unwrap()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.body["reason"].as_str().unwrap().contains("signature does not verify"));
    assert_eq!(stored(&memory).len(), 1);

    // An identify without a userId is refused by the schema's rule; traits from context.traits otherwise.
    let mut anonymous = identify.clone();
    anonymous.as_object_mut().unwrap().remove("userId");
    let answer = post_json(open(&memory), "/v1/identify", &anonymous).await;
    assert_eq!(answer.body["rejected"][0]["errors"][0]["path"], "user_id", "{}", answer.body);
    let mut context_traits = identify;
    context_traits.as_object_mut().unwrap().remove("traits");
    context_traits["messageId"] = json!("m-2");
    post_json(open(&memory), "/v1/identify", &context_traits).await;
    assert_eq!(stored(&memory)[1]["properties"], json!({"traits": {"ignored": true}}));
}

#[tokio::test]
async fn sessions_come_from_the_message_or_are_derived_from_the_anonymous_id() {
    let memory = Arc::new(Memory::default());
    let mut from_context = track("s-1", "A", json!({}));
    from_context["context"]["sessionId"] = json!("sess-ctx");
    let from_props = track("s-2", "B", json!({"session_id": 1732269600000u64}));
    let derived = track("s-3", "C", json!({}));
    let mut only_user = track("s-4", "D", json!({}));
    only_user.as_object_mut().unwrap().remove("anonymousId");
    only_user["userId"] = json!("user-9");
    let answer =
        post_json(open(&memory), "/v1/batch", &batch(vec![from_context, from_props, derived, only_user])).await;
    assert_eq!(answer.body["accepted"], 4, "{}", answer.body);
    let events = stored(&memory);
    let sessions: Vec<&str> = events.iter().map(|e| e["session_id"].as_str().unwrap()).collect();
    let anon_session = derived_session_id("anon-1");
    let user_session = derived_session_id("user-9");
    assert_eq!(sessions, ["sess-ctx", "1732269600000", anon_session.as_str(), user_session.as_str()]);
    // A server-side message with only a userId: it is the device key too.
    assert_eq!(
        (events[3]["anonymous_id"].as_str(), events[3]["claimed_user_id"].as_str()),
        (Some("user-9"), Some("user-9"))
    );

    // Neither anonymousId nor userId: refused by the schema, with the reason.
    let mut nobody = track("s-5", "E", json!({}));
    nobody.as_object_mut().unwrap().remove("anonymousId");
    let answer = post_json(open(&memory), "/v1/track", &nobody).await;
    let paths: Vec<&str> =
        answer.body["rejected"][0]["errors"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"anonymous_id"), "{}", answer.body);
}

#[tokio::test]
async fn without_a_timestamp_or_sent_at_the_server_clock_stands_in() {
    let memory = Arc::new(Memory::default());
    let mut message = track("t-1", "A", json!({}));
    let body = message.as_object_mut().unwrap();
    body.remove("timestamp");
    body.remove("sentAt");
    assert_eq!(post_json(open(&memory), "/v1/track", &message).await.status, StatusCode::OK);
    let event = &stored(&memory)[0];
    // The ingest's own clock (fixed in these tests) stands in for the missing sentAt.
    assert_eq!(event["sent_at"], event["received_at"], "{event}");
    assert_eq!(event["client_occurred_at"], event["sent_at"], "without a timestamp it happened when sent");
    // originalTimestamp is the fallback for timestamp.
    let mut original = track("t-2", "A", json!({}));
    original.as_object_mut().unwrap().remove("timestamp");
    original["originalTimestamp"] = json!("2026-11-22T09:59:00.000Z");
    post_json(open(&memory), "/v1/track", &original).await;
    assert_eq!(stored(&memory)[1]["client_occurred_at"], "2026-11-22T09:59:00.000Z");
}

#[tokio::test]
async fn overlong_context_values_are_left_out_not_the_event() {
    let memory = Arc::new(Memory::default());
    let mut message = track("c-1", "A", json!({}));
    message["context"]["page"]["url"] = json!(format!("https://shop.example/?q={}", "x".repeat(3000)));
    message["context"]["screen"] = json!({"width": 12.5, "height": 800});
    let answer = post_json(open(&memory), "/v1/track", &message).await;
    assert_eq!(answer.body["accepted"], 1, "{}", answer.body);
    let context = &stored(&memory)[0]["context"];
    assert_eq!(context["page"], json!({"path": "/p/sku-1", "title": "Trail Shoe"}));
    assert_eq!(context["screen"], json!({"height": 800}));
}

// ---- event_id ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_resent_message_gets_the_same_event_id_and_is_stored_once() {
    let memory = Arc::new(Memory { dedupe: true, ..Default::default() });
    let message = track("ajs-next-1732269600000-5f0c", "Product Viewed", json!({"sku": "sku-1"}));
    let first = post_json(open(&memory), "/v1/track", &message).await;
    let mut retry = message.clone();
    retry["sentAt"] = json!("2026-11-22T10:00:03.000Z");
    retry["_metadata"] = json!({"retryCount": 2});
    let second = post_json(open(&memory), "/v1/track", &retry).await;
    assert_eq!((first.body["accepted"].as_u64(), second.body["accepted"].as_u64()), (Some(1), Some(1)));
    let events = stored(&memory);
    assert_eq!(events.len(), 1, "the retry maps to the stored event_id");
    let id = events[0]["event_id"].as_str().unwrap();
    assert_eq!(id, event_id("ajs-next-1732269600000-5f0c", Timestamp::parse_rfc3339(AT)));
    assert_eq!(&id[14..15], "7", "a UUIDv7: {id}");
    let time_bits = i64::from_str_radix(&id[..13].replace('-', ""), 16).unwrap();
    assert_eq!(time_bits, Timestamp::parse_rfc3339(AT).unwrap().unix_ms(), "its time bits are the timestamp: {id}");

    // Twice in one batch: the domain keeps the first and says why it refused the second.
    let memory = Arc::new(Memory::default());
    let answer = post_json(open(&memory), "/v1/batch", &batch(vec![message.clone(), message])).await;
    assert_eq!(answer.body["accepted"], 1);
    assert_eq!(answer.body["rejected"][0]["errors"][0]["code"], "duplicate_event_id");
    assert_eq!(answer.body["rejected"][0]["index"], 1);

    // A messageId that already is a UUIDv7 is the event_id; one without a messageId is hashed from its text.
    let memory = Arc::new(Memory::default());
    let v7 = track("019AB2C4-7E10-7001-8001-0000000000AA", "A", json!({}));
    let mut anonymous = track("unused", "A", json!({"n": 1}));
    anonymous.as_object_mut().unwrap().remove("messageId");
    let answer = post_json(open(&memory), "/v1/batch", &batch(vec![v7, anonymous.clone(), anonymous])).await;
    assert_eq!(answer.body["accepted"], 2, "the exact resend without a messageId is a duplicate");
    assert_eq!(stored(&memory)[0]["event_id"], "019ab2c4-7e10-7001-8001-0000000000aa");
}

// ---- write keys -----------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_write_key_is_the_basic_auth_user_or_the_bodys_write_key() {
    let memory = Arc::new(Memory::default());
    let message = track("k-1", "A", json!({}));

    // Missing, or unknown in either place: 403 and nothing stored.
    let answer = post_json(keyed(&memory), "/v1/track", &message).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.body["reason"].as_str().unwrap().contains("write key is required"), "{}", answer.body);
    let mut unknown = message.clone();
    unknown["writeKey"] = json!("wk_nope");
    let answer = post_json(keyed(&memory), "/v1/track", &unknown).await;
    assert_eq!((answer.status, answer.body["reason"].as_str()), (StatusCode::FORBIDDEN, Some("unknown write key")));
    let req = Request::post("/v1/batch")
        .header("authorization", "Basic d2tfbm9wZTo=")
        .body(Body::from(batch(vec![message.clone()]).to_string()));
    assert_eq!(send(keyed(&memory), req.unwrap()).await.status, StatusCode::FORBIDDEN, "Basic wk_nope:");
    assert!(stored(&memory).is_empty());

    // As the Basic auth user (analytics.js), in a single message, in a batch body, or gzipped.
    let by_basic =
        Request::post("/v1/t").header("authorization", BASIC_WK_SHOP).body(Body::from(message.to_string())).unwrap();
    let mut keyed_message = message.clone();
    keyed_message["writeKey"] = json!("wk_shop");
    let by_message = post("/v1/track", keyed_message.to_string());
    let mut keyed_batch = batch(vec![message.clone()]);
    keyed_batch["writeKey"] = json!("wk_shop");
    let by_batch = post("/v1/batch", keyed_batch.to_string());
    let gzipped = Request::post("/v1/batch")
        .header("content-encoding", "gzip")
        .body(Body::from(gzip(keyed_batch.to_string().as_bytes())));
    for req in [by_basic, by_message, by_batch, gzipped.unwrap()] {
        let answer = send(keyed(&memory), req).await;
        assert_eq!((answer.status, answer.body["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{}", answer.body);
    }
    let events = stored(&memory);
    assert_eq!(events.len(), 4);
    assert!(events.iter().all(|e| e["edge"]["site"] == "shop"), "tagged with the key's site");

    // A key in the request wins over the body's: a wrong header key is not rescued by a good body key.
    let req = Request::post("/v1/track").header("x-write-key", "wk_nope").body(Body::from(keyed_message.to_string()));
    assert_eq!(send(keyed(&memory), req.unwrap()).await.status, StatusCode::FORBIDDEN);

    // The body's key is judged like any other: its site's origins only.
    let evil =
        Request::post("/v1/track").header("origin", "https://evil.example").body(Body::from(keyed_message.to_string()));
    let answer = send(keyed(&memory), evil.unwrap()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.body["reason"].as_str().unwrap().contains("not allowed"), "{}", answer.body);
    let shop = Request::post("/v1/track").header("origin", SHOP).body(Body::from(keyed_message.to_string()));
    let answer = send(keyed(&memory), shop.unwrap()).await;
    assert_eq!(
        (answer.status, answer.headers["access-control-allow-origin"].to_str().unwrap()),
        (StatusCode::OK, SHOP)
    );
    assert_eq!(stored(&memory).len(), 5);
}

#[tokio::test]
async fn a_cors_preflight_for_the_segment_routes_is_answered_by_the_access_check() {
    let memory = Arc::new(Memory::default());
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/v1/t")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .body(Body::empty())
            .unwrap()
    };
    let answer = send(keyed(&memory), preflight(SHOP)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(answer.headers["access-control-allow-origin"], SHOP);
    assert!(answer.headers["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    assert_eq!(send(keyed(&memory), preflight("https://evil.example")).await.status, StatusCode::FORBIDDEN);
}

// ---- limits ---------------------------------------------------------------------------------------------------------

/// A track message padded (in a field the translation drops) to exactly `bytes` of JSON.
fn message_of(bytes: usize, message_id: &str) -> Value {
    let mut message = track(message_id, "Padded", json!({}));
    message["integrations"] = json!({"pad": ""});
    let pad = bytes - message.to_string().len();
    message["integrations"]["pad"] = json!("x".repeat(pad));
    assert_eq!(message.to_string().len(), bytes);
    message
}

#[tokio::test]
async fn a_message_over_32_kib_is_refused_with_its_size_and_its_batch_kept() {
    let memory = Arc::new(Memory::default());
    let at_limit = message_of(MAX_MESSAGE_BYTES, "at-limit");
    let over = message_of(MAX_MESSAGE_BYTES + 1, "over");
    let answer = post_json(open(&memory), "/v1/batch", &batch(vec![at_limit.clone(), over.clone()])).await;
    assert_eq!((answer.status, answer.body["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{}", answer.body);
    let rejected = &answer.body["rejected"][0];
    assert_eq!((rejected["index"].as_u64(), rejected["message_id"].as_str()), (Some(1), Some("over")));
    assert_eq!(rejected["errors"][0]["code"], "event_too_large");
    let reason = rejected["errors"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&(MAX_MESSAGE_BYTES + 1).to_string()) && reason.contains(&MAX_MESSAGE_BYTES.to_string()),
        "{reason}"
    );
    assert_eq!(memory.rejected.lock().unwrap()[0].raw, over.to_string(), "the bad-events sink keeps it as sent");

    // The same for a single call.
    let answer = post_json(open(&memory), "/v1/track", &over).await;
    assert_eq!((answer.status, answer.body["accepted"].as_u64()), (StatusCode::OK, Some(0)));
    assert_eq!(answer.body["rejected"][0]["errors"][0]["code"], "event_too_large");
    let answer = post_json(open(&memory), "/v1/track", &message_of(MAX_MESSAGE_BYTES, "single-at-limit")).await;
    assert_eq!(answer.body["accepted"], 1, "{}", answer.body);
}

/// A valid batch padded with whitespace to exactly `bytes`.
fn body_of(bytes: usize) -> Vec<u8> {
    let mut body = batch(vec![track("big", "A", json!({}))]).to_string().into_bytes();
    body.resize(bytes, b' ');
    body
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[tokio::test]
async fn a_request_over_500_kib_is_413_compressed_or_inflated() {
    assert_eq!(MAX_REQUEST_BYTES, 512_000);
    let memory = Arc::new(Memory::default());
    let answer = send(open(&memory), post("/v1/batch", body_of(MAX_REQUEST_BYTES))).await;
    assert_eq!((answer.status, answer.body["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{}", answer.body);
    let answer = send(open(&memory), post("/v1/batch", body_of(MAX_REQUEST_BYTES + 1))).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        (answer.body["error"].as_str(), answer.body["limit_bytes"].as_u64()),
        (Some("too_large"), Some(512_000))
    );

    // Gzipped: the inflated size counts, by header or by query parameter.
    let small_but_big = gzip(&body_of(MAX_REQUEST_BYTES + 1));
    assert!(small_but_big.len() < 10_000);
    let req = Request::post("/v1/batch").header("content-encoding", "gzip").body(Body::from(small_but_big.clone()));
    assert_eq!(send(open(&memory), req.unwrap()).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    let answer = send(open(&memory), post("/v1/b?compression=gzip", gzip(&body_of(MAX_REQUEST_BYTES)))).await;
    assert_eq!(answer.body["accepted"], 1, "{}", answer.body);
    // Over the limit with the key in the body: the peek is bounded too (403 here: the key was not read).
    assert_eq!(
        send(keyed(&memory), post("/v1/batch", body_of(MAX_REQUEST_BYTES + 1))).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(stored(&memory).len(), 2);
}

#[tokio::test]
async fn a_batch_beyond_the_schemas_500_events_is_ingested_in_parts() {
    let memory = Arc::new(Memory::default());
    let mut messages: Vec<Value> =
        (0..MAX_EVENTS_PER_BATCH + 20).map(|i| track(&format!("n-{i}"), "A", json!({}))).collect();
    messages[MAX_EVENTS_PER_BATCH + 5]["properties"] = json!("not an object");
    let answer = post_json(open(&memory), "/v1/batch", &batch(messages)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["accepted"], MAX_EVENTS_PER_BATCH + 19);
    let rejected = &answer.body["rejected"][0];
    assert_eq!(rejected["index"], MAX_EVENTS_PER_BATCH + 5, "the index is the message's place in the request");
    assert_eq!(rejected["message_id"], format!("n-{}", MAX_EVENTS_PER_BATCH + 5));
    assert_eq!(rejected["errors"][0]["path"], "properties");
    assert_eq!(*memory.writes.lock().unwrap(), 2);
    assert_eq!(stored(&memory).len(), MAX_EVENTS_PER_BATCH + 19);
}

// ---- malformed input and domain errors ---------------------------------------------------------------------------

#[tokio::test]
async fn malformed_bodies_are_400_with_a_reason() {
    let memory = Arc::new(Memory::default());
    let cases: [(&str, &str, &str, Option<&str>); 8] = [
        ("/v1/batch", "{not json", "not_json", None),
        ("/v1/track", "", "not_json", None),
        ("/v1/batch", "[1, 2]", "invalid_batch", Some("$")),
        ("/v1/track", "\"track\"", "invalid_batch", Some("$")),
        ("/v1/batch", r#"{"sentAt": "2026-11-22T10:00:01Z"}"#, "invalid_batch", Some("batch")),
        ("/v1/batch", r#"{"batch": {"type": "track"}}"#, "invalid_batch", Some("batch")),
        ("/v1/batch", r#"{"batch": [], "sentAt": "yesterday"}"#, "invalid_batch", Some("sentAt")),
        ("/v1/batch", r#"{"batch": [], "context": "web"}"#, "invalid_batch", Some("context")),
    ];
    for (uri, body, error, path) in cases {
        let answer = send(open(&memory), post(uri, body)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{uri} {body}: {}", answer.body);
        assert_eq!(answer.body["error"], error, "{body}");
        assert!(!answer.body["reason"].as_str().unwrap_or("").is_empty(), "{body}");
        if let Some(path) = path {
            assert_eq!(answer.body["errors"][0]["path"], path, "{body}");
        }
        // The operator finds the refused body, as sent, with the same reason in the bad-events sink.
        let record = memory.rejected.lock().unwrap().pop().unwrap_or_else(|| panic!("{body} not quarantined"));
        assert_eq!((record.scope, record.raw.as_str()), ("batch", body));
        let expected_path = path.unwrap_or("$");
        assert_eq!(record.errors[0].path, expected_path, "{body}");
        if error == "not_json" {
            assert_eq!(record.errors[0].problem.code(), "not_json", "{body}");
        }
    }
    let bad_gzip = Request::post("/v1/batch").header("content-encoding", "gzip").body(Body::from("not gzip")).unwrap();
    let answer = send(open(&memory), bad_gzip).await;
    assert!(answer.body["reason"].as_str().unwrap().contains("invalid gzip"), "{}", answer.body);
    let brotli = Request::post("/v1/batch").header("content-encoding", "br").body(Body::from("x")).unwrap();
    assert_eq!(send(open(&memory), brotli).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(stored(&memory).is_empty());

    // An empty batch is fine.
    let answer = post_json(open(&memory), "/v1/batch", &json!({"batch": []})).await;
    assert_eq!(answer.body, json!({"success": true, "accepted": 0, "rejected": []}));
}

#[tokio::test]
async fn messages_the_schema_cannot_take_are_refused_one_by_one() {
    let memory = Arc::new(Memory::default());
    let group = json!({"type": "group", "groupId": "g-1", "anonymousId": "anon-1", "messageId": "g", "timestamp": AT});
    let alias = json!({"type": "alias", "previousId": "anon-1", "userId": "u-1", "messageId": "a", "timestamp": AT});
    let untyped = json!({"anonymousId": "anon-1", "messageId": "u", "timestamp": AT});
    let too_old = json!({"type": "track", "event": "A", "anonymousId": "anon-1", "messageId": "o",
        "timestamp": "2026-09-01T00:00:00.000Z"});
    let messages = vec![track("ok", "A", json!({})), json!(42), group, alias, untyped, too_old];
    let answer = post_json(open(&memory), "/v1/batch", &batch(messages)).await;
    assert_eq!((answer.status, answer.body["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{}", answer.body);
    let got: Vec<(u64, String, String)> = answer.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let e = &r["errors"][0];
            (r["index"].as_u64().unwrap(), e["path"].as_str().unwrap().into(), e["code"].as_str().unwrap().into())
        })
        .collect();
    let expected = [
        (1, "$", "wrong_type"),
        (2, "type", "unknown_event_type"),
        (3, "type", "unknown_event_type"),
        (4, "type", "missing"),
        (5, "occurred_at", "too_old"),
    ];
    let expected: Vec<(u64, String, String)> =
        expected.iter().map(|(i, p, c)| (*i, p.to_string(), c.to_string())).collect();
    assert_eq!(got, expected);
    assert!(answer.body["rejected"][1]["errors"][0]["reason"].as_str().unwrap().contains("group"));
    // The single group and alias routes answer the same way instead of a 404.
    for uri in ["/v1/group", "/v1/a"] {
        let answer =
            post_json(open(&memory), uri, &json!({"anonymousId": "anon-1", "userId": "u", "timestamp": AT})).await;
        assert_eq!((answer.status, answer.body["accepted"].as_u64()), (StatusCode::OK, Some(0)), "{uri}");
        assert_eq!(answer.body["rejected"][0]["errors"][0]["code"], "unknown_event_type");
    }
    assert_eq!(memory.rejected.lock().unwrap().len(), 7, "every refusal reached the bad-events sink");
}

#[tokio::test]
async fn a_failing_sink_is_503_with_retry_after_as_on_v1_events() {
    let memory = Arc::new(Memory { fail: true, ..Default::default() });
    let answer = post_json(open(&memory), "/v1/batch", &batch(vec![track("f", "A", json!({}))])).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.headers["retry-after"], "1");
    assert_eq!(answer.body["error"], "unavailable");
}
