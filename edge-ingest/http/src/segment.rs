//! Segment-compatible ingest: the HTTP Tracking API's routes, so a shop that already uses
//! `@segment/analytics-next` (or any Segment library) points it at Shopstream by changing only its
//! `apiHost`.
//!
//! # Routes
//!
//! `POST /v1/batch` takes `{"batch": [message, ...], "sentAt"?, "context"?, "writeKey"?}`;
//! `POST /v1/track`, `/v1/page`, `/v1/identify` and `/v1/screen` take one message each (the path
//! decides its type). `analytics-next` posts to the one-letter forms `/v1/b`, `/v1/t`, `/v1/p`,
//! `/v1/i`, `/v1/s`, which are the same routes. `/v1/group` and `/v1/alias` (`/v1/g`, `/v1/a`) exist
//! so those calls get an answer with a reason rather than a `404`: the schema has no such events, so
//! each message is refused (`unknown_event_type`), and a Segment client drops it instead of retrying.
//!
//! # Write key
//!
//! The key is read by the same [`crate::access`] middleware as on `/v1/events`: `X-Write-Key`, the
//! `write_key` query parameter, or the Basic auth user (which is how Segment's libraries send it).
//! A Segment body may instead carry it as `writeKey`. For that case [`write_key_from_body`], a
//! middleware in front of the access check on these routes only, peeks: when the policy needs a key
//! ([`Access::WriteKeys`]) and the request carries no `X-Write-Key`, no `write_key` parameter and no
//! Basic `Authorization`, it reads the body (bounded, decompressed) and, if the body names a
//! `writeKey`, presents it to the access check as `X-Write-Key`. The access check then judges it like
//! any other key (unknown: `403`; origin checked against that key's site), so there is one policy and
//! one place that applies it. The body it read is handed to the handler in a request extension, so it
//! is read once. A key in the request wins over one in the body. With [`Access::Open`] nothing is
//! peeked.
//!
//! # Translation (Segment message → one wire-format event)
//!
//! Every message becomes one event of `event-schema`'s wire format, and the whole request goes
//! through [`Ingest::ingest`] like a `/v1/events` batch: validation, enrichment, deduplication and
//! the bad-events sink apply unchanged. The translation itself refuses nothing: what does not fit is
//! passed on for the validator to refuse with its field path and reason (so a refused message also
//! lands in the bad-events sink). Paths in those reasons name the translated event's fields
//! (`properties.items[0].price` for `properties.products[0].price`).
//!
//! | Segment | Shopstream |
//! |---|---|
//! | `messageId` | `event_id`: kept when it is already a UUIDv7, else [`event_id`] derives one |
//! | `anonymousId` (else `userId`) | `anonymous_id` (numbers become strings) |
//! | `userId` | `user_id` (kept by the domain as `claimed_user_id` unless a verified token says so) |
//! | `timestamp`, else `originalTimestamp`, else the request's `sent_at` | `occurred_at` |
//! | `sentAt` of the batch (or of the single message), else now (server clock) | `sent_at` |
//! | `context.sessionId`, else `properties.session_id`, else [`derived_session_id`] | `session_id` |
//! | `context.page.{url,path,referrer,title,search}`; for `page`, its `properties.*` first | `context.page` |
//! | `context.locale`, `context.timezone`, `context.screen.{width,height,density}` | same names |
//! | `context.campaign.{source,medium,name,term,content}` | `context.campaign` |
//! | `context.userAgent`, `context.library.{name,version}` | `context.user_agent`, `context.library` |
//! | `page` / `screen` (`name`, `category`) | `page_view` (`name`, `category`) |
//! | `identify` (`traits`, else `context.traits`) | `identify` (`properties.traits`) |
//! | `track` "Product Viewed" | `product_view` |
//! | `track` "Product Added" / "Product Removed" | `add_to_cart` / `remove_from_cart` (+ `cart_id`) |
//! | `track` "Product List Viewed" (`list_id`, `category`, `products`) | `product_list_view` |
//! | `track` "Products Searched" (`query`, `results`) | `search` |
//! | `track` "Checkout Started" | `checkout_started` |
//! | `track` "Order Completed" | `purchase` |
//! | any other `track` | `custom`, `name` = the event name as sent, properties kept as sent |
//! | `group`, `alias`, unknown types | refused per message (`unknown_event_type`) |
//!
//! E-commerce names are matched without regard to case. Products and line items keep Segment's
//! v2 names (`product_id`, `sku`, `name`, `category`, `brand`, `variant`, `price`, `currency`,
//! `quantity`, `coupon`, `position`, `url`, `image_url`); `sku` falls back to `product_id` (the
//! schema requires a `sku`), and numeric ids become strings. An order's `products[]` become `items[]`
//! (a line item's `quantity` defaults to 1; its `price` is required). An order's `revenue` is
//! `revenue`, else `subtotal`, else `total`, else `value`, else the sum of its items' `price ×
//! quantity`; `currency` defaults to `USD`, as Segment assumes; `order_id` falls back to
//! `checkout_id`; `shipping`, `tax`, `discount`, `coupon`, `affiliation` and `store_id` are kept. A
//! custom event's own `properties.name` (which would collide with the event name) is kept as
//! `property_name`.
//!
//! Not mapped: other properties of the typed events (the schema has no field for them), and
//! `context` fields other than the ones above (`ip`, `device`, `os`, `app`, `network`, `location`,
//! `userAgentData`, `groupId`, ...): the edge derives network, browser and country from the request
//! itself. A context value that does not fit the schema (a URL over its length limit, a screen width
//! that is not a whole number) is left out rather than costing the event: it is the library's
//! metadata, not the shop's data.
//!
//! ## `event_id`
//!
//! A Segment client resends a message with the same `messageId`; the ingest deduplicates on
//! `event_id`, so the mapping must be a function of the message: [`event_id`] builds a UUIDv7 whose 48
//! time bits are the message's `timestamp` (milliseconds; 0 when it has none, so the id stays
//! deterministic) and whose remaining 74 bits come from a stable 128-bit hash (FNV-1a, then mixed) of
//! the `messageId`. A message without a `messageId` is hashed from its JSON text as sent, so an exact
//! resend still deduplicates.
//!
//! ## Session
//!
//! Segment has no session in its spec. `context.sessionId` or `properties.session_id` (a string or
//! a number, as Amplitude-style session ids are) is used when present; otherwise
//! [`derived_session_id`] is a stable function of the `anonymous_id`: one session per device, so a
//! downstream sessionisation (by inactivity) should split it.
//!
//! # Limits
//!
//! As Segment documents them: [`MAX_REQUEST_BYTES`] (500 KiB) per request, compressed or inflated:
//! above it the request is refused with `413`. [`MAX_MESSAGE_BYTES`] (32 KiB, the schema's own
//! per-event limit) per message as sent: above it that message is refused in the `200` answer with
//! `event_too_large` and its size, and the others of its batch are kept (as `/v1/events` does for
//! events). The translated event must also fit the schema's 32 KiB; as translation drops Segment's
//! envelope fields this only matters for a message within ~150 bytes of the limit whose every byte is
//! kept. A batch of more than the schema's 500 events or 1 MiB is ingested in several parts; a part
//! that fails makes the answer a `503` and the client retries the whole request, which the
//! deterministic `event_id`s make safe.
//!
//! # Answers
//!
//! `200 {"success": true, "accepted": N, "rejected": [{index, message_id, event_id, errors}]}` with
//! `index` the message's position in the request; `400` with a reason for a body that is not JSON
//! or not the Segment shape; `413` over the size limit; `415` for an unknown encoding; domain errors
//! (`401`, `503`) exactly as on `/v1/events`.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use event_schema::limits::{MAX_BATCH_BYTES, MAX_EVENTS_PER_BATCH, MAX_EVENT_BYTES};
use event_schema::limits::{MAX_ID_BYTES, MAX_TEXT_BYTES, MAX_URL_BYTES};
use event_schema::validate::{FieldError, Problem};
use event_schema::{Timestamp, SCHEMA_VERSION};
use http_body_util::{BodyExt, Limited};
use ingest_domain::Ingest;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::access::WRITE_KEY_HEADER;
use crate::{Access, ApiError, BatchSummary, ClientIp, SiteName};

/// Largest request body, compressed or decompressed (Segment's 500 KB per batch request): `413`
/// above it.
pub const MAX_REQUEST_BYTES: usize = 500 * 1024;
/// Largest single message, in bytes of its JSON text as sent (Segment's 32 KB per call): that
/// message is refused (`event_too_large`) above it.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;

// An oversized message is handed to the validator as sent, which refuses it by the schema's own
// limit: the two must be the same number.
const _: () = assert!(MAX_MESSAGE_BYTES == MAX_EVENT_BYTES);

/// What a route receives: a batch, or one message of the route's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Batch,
    Single(&'static str),
}

/// The Segment routes: the HTTP Tracking API's names and the one-letter forms analytics.js uses.
const ROUTES: [(&str, Call); 14] = [
    ("/v1/batch", Call::Batch),
    ("/v1/b", Call::Batch),
    ("/v1/track", Call::Single("track")),
    ("/v1/t", Call::Single("track")),
    ("/v1/page", Call::Single("page")),
    ("/v1/p", Call::Single("page")),
    ("/v1/identify", Call::Single("identify")),
    ("/v1/i", Call::Single("identify")),
    ("/v1/screen", Call::Single("screen")),
    ("/v1/s", Call::Single("screen")),
    ("/v1/group", Call::Single("group")),
    ("/v1/g", Call::Single("group")),
    ("/v1/alias", Call::Single("alias")),
    ("/v1/a", Call::Single("alias")),
];

/// The Segment routes, to be merged in front of the access middleware (see the module docs).
pub(crate) fn routes() -> Router<Ingest> {
    ROUTES.iter().fold(Router::new(), |router, &(path, call)| {
        router.route(path, post(move |State(ingest): State<Ingest>, request: Request| handle(call, ingest, request)))
    })
}

fn is_segment_route(path: &str) -> bool {
    ROUTES.iter().any(|(p, _)| *p == path)
}

// ---- the body's write key ----------------------------------------------------------------------

/// The body as [`write_key_from_body`] read it, for the handler (read once).
#[derive(Clone)]
struct PreRead(Result<Bytes, BodyError>);

/// Lets a Segment body's `writeKey` through the access check: placed outside [`crate::access`]'s
/// middleware, it presents the body's key as `X-Write-Key` when the request carries none of its
/// own (see the module docs). Every other request passes untouched.
pub(crate) async fn write_key_from_body(State(access): State<Access>, request: Request, next: Next) -> Response {
    let needs_peek = matches!(access, Access::WriteKeys(_))
        && request.method() == Method::POST
        && is_segment_route(request.uri().path())
        && !carries_write_key(request.uri(), request.headers());
    if !needs_peek {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let read = read_body(&parts.uri, &parts.headers, body).await;
    let key = read.as_ref().ok().and_then(|bytes| body_write_key(bytes));
    if let Some(value) = key.and_then(|k| HeaderValue::from_str(k.trim()).ok()) {
        parts.headers.insert(WRITE_KEY_HEADER, value);
    }
    parts.extensions.insert(PreRead(read));
    next.run(Request::from_parts(parts, Body::empty())).await
}

/// Whether the request names a key where [`crate::access`] looks for one.
fn carries_write_key(uri: &Uri, headers: &HeaderMap) -> bool {
    let in_query = uri.query().into_iter().flat_map(|q| q.split('&')).any(|p| p.starts_with("write_key="));
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Basic ") || v.starts_with("basic "));
    headers.contains_key(WRITE_KEY_HEADER) || in_query || basic
}

/// The `writeKey` of a Segment body (a batch's, or a single message's), if it has one.
fn body_write_key(bytes: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct KeyOnly {
        #[serde(rename = "writeKey")]
        write_key: Option<Value>,
    }
    let KeyOnly { write_key } = serde_json::from_slice(bytes).ok()?;
    write_key?.as_str().filter(|k| !k.trim().is_empty()).map(str::to_string)
}

// ---- reading the body ----------------------------------------------------------------------------

/// Why a body could not be read (cloneable, as it travels in a request extension).
#[derive(Clone, Debug)]
enum BodyError {
    TooLarge,
    Bad(String),
    Encoding(String),
}

/// Reads at most [`MAX_REQUEST_BYTES`], inflating gzip (said by `Content-Encoding` or
/// `?compression=gzip`, as on `/v1/events`) with the same bound.
async fn read_body(uri: &Uri, headers: &HeaderMap, body: Body) -> Result<Bytes, BodyError> {
    let gzip = match crate::body_encoding(uri, headers) {
        Ok(crate::Encoding::Identity) => false,
        Ok(crate::Encoding::Gzip) => true,
        Err(ApiError::UnsupportedEncoding(e)) => return Err(BodyError::Encoding(e)),
        Err(e) => return Err(BodyError::Bad(format!("{e:?}"))),
    };
    let bytes = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(BodyError::TooLarge),
        Err(e) => return Err(BodyError::Bad(e.to_string())),
    };
    if !gzip {
        return Ok(bytes);
    }
    match crate::gunzip_bounded(&bytes, MAX_REQUEST_BYTES) {
        Ok(inflated) => Ok(Bytes::from(inflated)),
        Err(ApiError::TooLarge) => Err(BodyError::TooLarge),
        Err(ApiError::BadBody(reason)) => Err(BodyError::Bad(reason)),
        Err(e) => Err(BodyError::Bad(format!("{e:?}"))),
    }
}

// ---- the handler ---------------------------------------------------------------------------------

/// The answer to a Segment request that was taken.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SegmentReport {
    /// Always `true`: Segment's clients read it.
    pub success: bool,
    pub accepted: usize,
    pub rejected: Vec<SegmentRejection>,
}

/// A refused message, by its position in the request.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SegmentRejection {
    pub index: usize,
    /// The message's `messageId` as sent (a string or a number), so the client can match it.
    pub message_id: Option<String>,
    /// The `event_id` it was given, when it got that far.
    pub event_id: Option<String>,
    pub errors: Vec<FieldError>,
}

/// The errors of these routes: [`ApiError`], except the size limit, which is this API's own.
#[derive(Debug)]
pub enum SegmentError {
    TooLarge,
    Api(ApiError),
}

impl From<ApiError> for SegmentError {
    fn from(e: ApiError) -> Self {
        SegmentError::Api(e)
    }
}

impl From<BodyError> for SegmentError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => SegmentError::TooLarge,
            BodyError::Bad(reason) => SegmentError::Api(ApiError::BadBody(reason)),
            BodyError::Encoding(e) => SegmentError::Api(ApiError::UnsupportedEncoding(e)),
        }
    }
}

impl IntoResponse for SegmentError {
    fn into_response(self) -> Response {
        match self {
            SegmentError::TooLarge => {
                let reason = format!(
                    "the body (or its decompressed form) is larger than {MAX_REQUEST_BYTES} bytes, \
                     Segment's limit per request; send smaller batches"
                );
                let body = json!({"error": "too_large", "reason": reason, "limit_bytes": MAX_REQUEST_BYTES});
                (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
            }
            SegmentError::Api(e) => e.into_response(),
        }
    }
}

async fn handle(call: Call, ingest: Ingest, request: Request) -> Result<Response, SegmentError> {
    let (parts, body) = request.into_parts();
    let bytes = match parts.extensions.get::<PreRead>() {
        Some(PreRead(read)) => read.clone(),
        None => read_body(&parts.uri, &parts.headers, body).await,
    }?;
    let client_ip = parts.extensions.get::<ClientIp>().map(|ip| ip.0);
    let site = parts.extensions.get::<SiteName>().map(|s| s.0.clone());
    let context = crate::request_context(&parts.headers, client_ip, site);
    let request = match parse(call, &bytes, ingest.now()) {
        Ok(request) => request,
        Err(e) => {
            // The operator sees refused bodies in the bad-events sink, as for `/v1/events`.
            let errors = match &e {
                ApiError::NotJson(reason) => {
                    vec![FieldError { path: "$".into(), problem: Problem::NotJson(reason.clone()) }]
                }
                ApiError::InvalidBatch(errors) => errors.clone(),
                _ => Vec::new(),
            };
            if !errors.is_empty() {
                ingest.reject_request(&bytes, errors).await;
            }
            return Err(e.into());
        }
    };
    let report = ingest_translated(&ingest, &request, &context).await?;
    // The same summary `/v1/events` leaves for metrics and logs.
    let summary = BatchSummary::new(report.accepted, report.rejected.iter().map(|r| r.errors.as_slice()));
    let mut response = Json(report).into_response();
    response.extensions_mut().insert(summary);
    Ok(response)
}

/// One message, translated: the event's JSON text, and the `messageId` it came from.
struct Item {
    message_id: Option<String>,
    json: String,
}

/// A request, translated.
struct Translated {
    sent_at: Timestamp,
    items: Vec<Item>,
}

/// The batch body's fields this API reads (`writeKey` is the access check's, the rest is ignored).
#[derive(Deserialize)]
struct BatchBody<'a> {
    #[serde(borrow)]
    batch: Option<&'a RawValue>,
    #[serde(rename = "sentAt")]
    sent_at: Option<Value>,
    context: Option<Value>,
}

fn shape_error(path: &str, problem: Problem) -> ApiError {
    ApiError::InvalidBatch(vec![FieldError { path: path.into(), problem }])
}

/// Parses a request body and translates its messages; `Err` refuses the request as a whole.
fn parse(call: Call, bytes: &[u8], now: Timestamp) -> Result<Translated, ApiError> {
    let root: &RawValue = serde_json::from_slice(bytes).map_err(|e| ApiError::NotJson(e.to_string()))?;
    let object_expected = || shape_error("$", Problem::WrongType { expected: "a JSON object" });
    if !root.get().starts_with('{') {
        return Err(object_expected());
    }
    match call {
        Call::Single(kind) => {
            let message: Map<String, Value> = serde_json::from_str(root.get()).map_err(|_| object_expected())?;
            let sent_at = sent_at(message.get("sentAt"), now, "sentAt")?;
            let item = if root.get().len() > MAX_MESSAGE_BYTES {
                oversized(&message, root.get())
            } else {
                translate(&message, Some(kind), None, sent_at, root.get())
            };
            Ok(Translated { sent_at, items: vec![item] })
        }
        Call::Batch => {
            let body: BatchBody<'_> = serde_json::from_str(root.get()).map_err(|_| object_expected())?;
            let sent_at = sent_at(body.sent_at.as_ref(), now, "sentAt")?;
            let batch_context = match body.context {
                None | Some(Value::Null) => None,
                Some(Value::Object(c)) => Some(c),
                Some(_) => return Err(shape_error("context", Problem::WrongType { expected: "an object" })),
            };
            let Some(raw_batch) = body.batch else { return Err(shape_error("batch", Problem::Missing)) };
            let messages: Vec<&RawValue> = serde_json::from_str(raw_batch.get())
                .map_err(|_| shape_error("batch", Problem::WrongType { expected: "an array of messages" }))?;
            let items = messages
                .into_iter()
                .map(|raw| {
                    let text = raw.get();
                    match serde_json::from_str::<Map<String, Value>>(text) {
                        Ok(message) if text.len() > MAX_MESSAGE_BYTES => oversized(&message, text),
                        Ok(message) => translate(&message, None, batch_context.as_ref(), sent_at, text),
                        // Not an object: the validator says so ("$ must be an object").
                        Err(_) => Item { message_id: None, json: text.to_string() },
                    }
                })
                .collect();
            Ok(Translated { sent_at, items })
        }
    }
}

/// A message over [`MAX_MESSAGE_BYTES`] goes to the validator as sent, which refuses it by size.
fn oversized(message: &Map<String, Value>, text: &str) -> Item {
    Item { message_id: message.get("messageId").and_then(id_text), json: text.to_string() }
}

fn sent_at(value: Option<&Value>, now: Timestamp, path: &str) -> Result<Timestamp, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(now),
        Some(v) => {
            v.as_str().and_then(Timestamp::parse_rfc3339).ok_or_else(|| shape_error(path, Problem::NotTimestamp))
        }
    }
}

/// Ingests the translated events, in parts that fit the schema's batch limits (count and bytes).
async fn ingest_translated(
    ingest: &Ingest,
    request: &Translated,
    context: &ingest_domain::RequestContext,
) -> Result<SegmentReport, ApiError> {
    let head =
        format!(r#"{{"schema_version":{SCHEMA_VERSION},"sent_at":"{}","events":["#, request.sent_at.to_rfc3339());
    let items = &request.items;
    let mut report = SegmentReport { success: true, accepted: 0, rejected: Vec::new() };
    let mut start = 0;
    loop {
        let mut body = head.clone();
        let mut end = start;
        while end < items.len() && end - start < MAX_EVENTS_PER_BATCH {
            let json = &items[end].json;
            if end > start && body.len() + json.len() + 3 > MAX_BATCH_BYTES {
                break;
            }
            if end > start {
                body.push(',');
            }
            body.push_str(json);
            end += 1;
        }
        body.push_str("]}");
        let part = ingest.ingest(body.as_bytes(), context).await?;
        report.accepted += part.accepted;
        report.rejected.extend(part.rejected.into_iter().map(|r| {
            let index = start + r.index;
            SegmentRejection {
                index,
                message_id: items[index].message_id.clone(),
                event_id: r.event_id,
                errors: r.errors,
            }
        }));
        start = end;
        if start >= items.len() {
            return Ok(report);
        }
    }
}

// ---- translation ---------------------------------------------------------------------------------

/// Translates one message (see the module docs). `kind` is the route's type, which wins over the
/// message's own `type`; `batch_context` is the batch's `context`, under the message's own.
fn translate(
    message: &Map<String, Value>,
    kind: Option<&str>,
    batch_context: Option<&Map<String, Value>>,
    sent_at: Timestamp,
    text: &str,
) -> Item {
    let field = |key: &str| message.get(key).filter(|v| !v.is_null());
    let kind = kind.or_else(|| field("type").and_then(Value::as_str));
    let mut context = batch_context.cloned().unwrap_or_default();
    if let Some(Value::Object(own)) = field("context") {
        context.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let props = match field("properties") {
        None => None,
        Some(Value::Object(p)) => Some(p),
        // Not an object: passed on below for the validator to refuse.
        Some(_) => None,
    };
    let empty = Map::new();
    let p = props.unwrap_or(&empty);

    let timestamp = field("timestamp").or_else(|| field("originalTimestamp"));
    let timestamp_ms = timestamp.and_then(Value::as_str).and_then(Timestamp::parse_rfc3339);
    let message_id = field("messageId").and_then(id_text);
    let event_id = event_id(message_id.as_deref().unwrap_or(text), timestamp_ms);

    let user_id = field("userId").map(id_value);
    let anonymous_id = field("anonymousId")
        .filter(|v| v.as_str().is_none_or(|s| !s.trim().is_empty()))
        .map(id_value)
        .or_else(|| user_id.clone());
    let session_id = context
        .get("sessionId")
        .or_else(|| p.get("session_id"))
        .filter(|v| !v.is_null())
        .map(id_value)
        .or_else(|| anonymous_id.as_ref().and_then(Value::as_str).map(|a| Value::String(derived_session_id(a))));

    let mut event = Map::new();
    event.insert("event_id".into(), Value::String(event_id.clone()));
    let (event_type, properties) = match kind {
        Some("track") => track(field("event"), p),
        Some("page") | Some("screen") => {
            let mut out = Map::new();
            put(&mut out, "name", field("name").or_else(|| p.get("name")).cloned());
            put(&mut out, "category", field("category").or_else(|| p.get("category")).cloned());
            (Value::from("page_view"), out)
        }
        Some("identify") => {
            let mut out = Map::new();
            let traits = field("traits").or_else(|| context.get("traits")).filter(|v| !v.is_null());
            put(&mut out, "traits", traits.cloned());
            (Value::from("identify"), out)
        }
        // `group`, `alias` or anything else: the validator refuses the type by name.
        Some(other) => (Value::from(other), Map::new()),
        None => (Value::Null, Map::new()),
    };
    put(&mut event, "type", Some(event_type).filter(|t| !t.is_null()));
    let occurred_at = timestamp.cloned().unwrap_or_else(|| Value::String(sent_at.to_rfc3339()));
    event.insert("occurred_at".into(), occurred_at);
    put(&mut event, "anonymous_id", anonymous_id);
    put(&mut event, "user_id", user_id);
    put(&mut event, "session_id", session_id);
    let page_props = (kind == Some("page")).then_some(p);
    let context = translate_context(&context, page_props);
    if !context.is_empty() {
        event.insert("context".into(), Value::Object(context));
    }
    match field("properties") {
        Some(v) if !v.is_object() => {
            event.insert("properties".into(), v.clone());
        }
        _ => {
            event.insert("properties".into(), Value::Object(properties));
        }
    }
    Item { message_id, json: Value::Object(event).to_string() }
}

/// A `track` call: its e-commerce v2 name decides the type; any other name is `custom`.
fn track(name: Option<&Value>, p: &Map<String, Value>) -> (Value, Map<String, Value>) {
    let lower = name.and_then(Value::as_str).map(|n| n.trim().to_ascii_lowercase());
    let typed = |t: &str, props: Map<String, Value>| (Value::from(t), props);
    match lower.as_deref() {
        Some("product viewed") => typed("product_view", product(p)),
        Some("product added") | Some("product removed") => {
            let mut props = product(p);
            put(&mut props, "cart_id", p.get("cart_id").map(id_value));
            typed(if lower.as_deref() == Some("product added") { "add_to_cart" } else { "remove_from_cart" }, props)
        }
        Some("product list viewed") => {
            let mut props = Map::new();
            put(&mut props, "list_id", p.get("list_id").map(id_value));
            copy(&mut props, p, &["category"]);
            put(&mut props, "products", p.get("products").map(|v| each_object(v, product)));
            typed("product_list_view", props)
        }
        Some("products searched") => {
            let mut props = Map::new();
            copy(&mut props, p, &["query", "results"]);
            typed("search", props)
        }
        Some("checkout started") => {
            let mut props = order(p);
            put(&mut props, "checkout_id", p.get("checkout_id").map(id_value));
            put(&mut props, "order_id", p.get("order_id").map(id_value));
            typed("checkout_started", props)
        }
        Some("order completed") => {
            let mut props = order(p);
            put(&mut props, "order_id", p.get("order_id").or_else(|| p.get("checkout_id")).map(id_value));
            copy(&mut props, p, &["shipping", "tax", "discount", "affiliation"]);
            put(&mut props, "store_id", p.get("store_id").map(id_value));
            typed("purchase", props)
        }
        _ => {
            let mut props = p.clone();
            if let Some(own) = props.remove("name") {
                props.insert("property_name".into(), own);
            }
            put(&mut props, "name", name.cloned());
            typed("custom", props)
        }
    }
}

/// A Segment v2 product as the schema's product (`sku` falls back to `product_id`).
fn product(p: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    put(&mut out, "sku", p.get("sku").or_else(|| p.get("product_id")).map(id_value));
    put(&mut out, "product_id", p.get("product_id").map(id_value));
    let kept = ["name", "category", "brand", "variant", "price", "currency", "quantity", "coupon", "position"];
    copy(&mut out, p, &kept);
    copy(&mut out, p, &["url", "image_url"]);
    out
}

/// A Segment v2 order product as the schema's line item (`quantity` defaults to 1).
fn line_item(p: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    put(&mut out, "sku", p.get("sku").or_else(|| p.get("product_id")).map(id_value));
    put(&mut out, "quantity", Some(p.get("quantity").filter(|q| !q.is_null()).cloned().unwrap_or(json!(1))));
    copy(&mut out, p, &["price", "name", "category", "brand", "variant"]);
    put(&mut out, "product_id", p.get("product_id").map(id_value));
    out
}

/// What `checkout_started` and `purchase` share: revenue, currency, coupon and the line items.
fn order(p: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let items = p.get("products").filter(|v| !v.is_null()).map(|v| each_object(v, line_item));
    let stated = ["revenue", "subtotal", "total", "value"].iter().find_map(|k| p.get(*k).filter(|v| !v.is_null()));
    let revenue = stated.cloned().or_else(|| items.as_ref().and_then(items_total));
    put(&mut out, "revenue", revenue);
    put(&mut out, "currency", Some(p.get("currency").filter(|c| !c.is_null()).cloned().unwrap_or(json!("USD"))));
    copy(&mut out, p, &["coupon"]);
    put(&mut out, "items", items);
    out
}

/// The sum of `price × quantity` over well-formed line items (rounded to 1e-6 against float noise).
fn items_total(items: &Value) -> Option<Value> {
    let mut total = 0.0;
    for item in items.as_array()? {
        total += item.get("price")?.as_f64()? * item.get("quantity")?.as_f64()?;
    }
    Some(json!((total * 1e6).round() / 1e6))
}

/// Maps each object of an array with `f`; anything else is passed on as it is for the validator.
fn each_object(v: &Value, f: fn(&Map<String, Value>) -> Map<String, Value>) -> Value {
    match v.as_array() {
        Some(list) => Value::Array(
            list.iter().map(|item| item.as_object().map_or_else(|| item.clone(), |o| Value::Object(f(o)))).collect(),
        ),
        None => v.clone(),
    }
}

/// The Segment context's fields that the schema has, where they fit its limits. A `page` call's
/// properties describe its page (the shop's overrides of what the library read from the document),
/// so they come before `context.page`.
fn translate_context(c: &Map<String, Value>, page_props: Option<&Map<String, Value>>) -> Map<String, Value> {
    let mut out = Map::new();
    let empty = Map::new();
    let obj = |key: &str| c.get(key).and_then(Value::as_object).unwrap_or(&empty);

    let (page, props) = (obj("page"), page_props.unwrap_or(&empty));
    let mut page_out = Map::new();
    let limits = [
        ("url", MAX_URL_BYTES),
        ("path", MAX_URL_BYTES),
        ("referrer", MAX_URL_BYTES),
        ("title", MAX_TEXT_BYTES),
        ("search", MAX_URL_BYTES),
    ];
    for (key, max) in limits {
        put(&mut page_out, key, fitting_text(props.get(key), max).or_else(|| fitting_text(page.get(key), max)));
    }
    put_object(&mut out, "page", page_out);
    put(&mut out, "locale", fitting_id(c.get("locale")));
    put(&mut out, "timezone", fitting_id(c.get("timezone")));

    let screen = obj("screen");
    let mut screen_out = Map::new();
    for key in ["width", "height"] {
        let pixels =
            screen.get(key).and_then(Value::as_f64).filter(|n| n.fract() == 0.0 && (0.0..=100_000.0).contains(n));
        put(&mut screen_out, key, pixels.map(|n| json!(n as u32)));
    }
    let density = screen.get("density").and_then(Value::as_f64).filter(|d| d.is_finite() && *d >= 0.0);
    put(&mut screen_out, "density", density.map(|d| json!(d)));
    put_object(&mut out, "screen", screen_out);

    let campaign = obj("campaign");
    let mut campaign_out = Map::new();
    for key in ["source", "medium", "name", "term", "content"] {
        put(&mut campaign_out, key, fitting_text(campaign.get(key), MAX_TEXT_BYTES));
    }
    put_object(&mut out, "campaign", campaign_out);

    put(&mut out, "user_agent", fitting_text(c.get("userAgent"), MAX_TEXT_BYTES));
    let library = obj("library");
    if let Some(name) = fitting_id(library.get("name")) {
        let mut library_out = Map::new();
        library_out.insert("name".into(), name);
        put(&mut library_out, "version", fitting_id(library.get("version")));
        out.insert("library".into(), Value::Object(library_out));
    }
    out
}

fn fitting_text(v: Option<&Value>, max: usize) -> Option<Value> {
    v.and_then(Value::as_str).filter(|s| s.len() <= max).map(Value::from)
}

fn fitting_id(v: Option<&Value>) -> Option<Value> {
    v.and_then(Value::as_str).filter(|s| s.len() <= MAX_ID_BYTES && !s.trim().is_empty()).map(Value::from)
}

/// Inserts `value` unless it is absent or `null`.
fn put(out: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value.filter(|v| !v.is_null()) {
        out.insert(key.into(), v);
    }
}

fn put_object(out: &mut Map<String, Value>, key: &str, object: Map<String, Value>) {
    if !object.is_empty() {
        out.insert(key.into(), Value::Object(object));
    }
}

/// Copies `keys` of `from` as they are (the validator judges them).
fn copy(out: &mut Map<String, Value>, from: &Map<String, Value>, keys: &[&str]) {
    for key in keys {
        put(out, key, from.get(*key).cloned());
    }
}

/// An identifier: a number becomes its decimal string; anything else is passed on as it is.
fn id_value(v: &Value) -> Value {
    match v {
        Value::Number(n) => Value::String(n.to_string()),
        other => other.clone(),
    }
}

/// An identifier's text, when it is a non-empty string or a number.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

// ---- identifiers -----------------------------------------------------------------------------------

/// The `event_id` of a message: its `messageId` when that already is a UUIDv7 (lower-cased), else
/// a UUIDv7 with the message's `timestamp` (0 without one) in its 48 time bits and a stable hash
/// of the `messageId` in its other 74 bits. The same message always gets the same id.
pub fn event_id(message_id: &str, timestamp: Option<Timestamp>) -> String {
    if is_uuid_v7(message_id) {
        return message_id.to_ascii_lowercase();
    }
    let ms = timestamp.map_or(0, |t| t.unix_ms()).clamp(0, (1 << 48) - 1) as u128;
    let hash = stable_hash(message_id.as_bytes());
    let mut v = (ms << 80) | (hash & ((1u128 << 80) - 1));
    v = (v & !(0xF << 76)) | (0x7 << 76); // version 7
    v = (v & !(0x3 << 62)) | (0x2 << 62); // RFC 9562 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        v >> 96,
        (v >> 80) & 0xFFFF,
        (v >> 64) & 0xFFFF,
        (v >> 48) & 0xFFFF,
        v & 0xFFFF_FFFF_FFFF
    )
}

/// The session of a message that names none: `seg-` and 16 hex digits of a stable hash of its
/// `anonymous_id`, so every event of a device shares it (Segment has no sessions of its own).
pub fn derived_session_id(anonymous_id: &str) -> String {
    format!("seg-{:016x}", stable_hash(anonymous_id.as_bytes()) as u64)
}

fn is_uuid_v7(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, &c)| if matches!(i, 8 | 13 | 18 | 23) { c == b'-' } else { c.is_ascii_hexdigit() })
        && b[14] == b'7'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B')
}

/// FNV-1a (128 bits), its halves then mixed (SplitMix64's finaliser) so every input bit reaches
/// every output bit. Stable across builds and platforms, unlike `std`'s `DefaultHasher`; not
/// cryptographic (a sender can choose its own `event_id`s on `/v1/events` anyway).
fn stable_hash(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62272e_07bb0142_62b82175_6295c58d;
    const PRIME: u128 = 0x00000000_01000000_00000000_0000013b;
    let h = bytes.iter().fold(OFFSET, |h, &b| (h ^ u128::from(b)).wrapping_mul(PRIME));
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let lo = mix(h as u64 ^ ((h >> 64) as u64).rotate_left(32));
    let hi = mix((h >> 64) as u64 ^ lo);
    (u128::from(hi) << 64) | u128::from(lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_uuid_v7_deterministic_and_time_ordered() {
        let t = Timestamp::parse_rfc3339("2026-11-22T10:00:00.000Z").unwrap();
        let a = event_id("ajs-next-1700000000000-3f1c", Some(t));
        assert_eq!(a, event_id("ajs-next-1700000000000-3f1c", Some(t)));
        assert!(is_uuid_v7(&a), "{a}");
        assert_ne!(a, event_id("ajs-next-1700000000000-3f1d", Some(t)));
        // The time bits are the timestamp's milliseconds.
        let ms = u64::from_str_radix(&a[..8], 16).unwrap() << 16 | u64::from_str_radix(&a[9..13], 16).unwrap();
        assert_eq!(ms as i64, t.unix_ms());
        let later = event_id("m", Some(Timestamp(t.unix_ms() + 1)));
        assert!(later > event_id("m", Some(t)));
        assert!(event_id("m", None).starts_with("00000000-0000-7"));
        let v7 = "019AB2C4-7E10-7001-8001-000000000001";
        assert_eq!(event_id(v7, Some(t)), v7.to_ascii_lowercase());
        let v4 = "0192f3a0-8b7c-4d2e-9f10-0123456789ab";
        assert!(is_uuid_v7(&event_id(v4, Some(t))) && event_id(v4, Some(t)) != v4);
    }

    #[test]
    fn the_hash_spreads_single_bit_changes() {
        let a = stable_hash(b"ajs-next-1");
        let b = stable_hash(b"ajs-next-0");
        assert!((a ^ b).count_ones() > 32, "{:x} {:x}", a, b);
        assert_eq!(derived_session_id("anon-1"), derived_session_id("anon-1"));
        assert_ne!(derived_session_id("anon-1"), derived_session_id("anon-2"));
        assert_eq!(derived_session_id("anon-1").len(), 20);
    }

    #[test]
    fn routes_are_recognised_by_path() {
        assert!(is_segment_route("/v1/batch") && is_segment_route("/v1/t"));
        assert!(!is_segment_route("/v1/events") && !is_segment_route("/v1/m"));
    }
}
