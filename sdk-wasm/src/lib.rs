//! The Shopstream tracker. Kept free of serde and `core::fmt` for size: events are built as JS
//! objects and `JSON.stringify` writes the wire body. The JS entry (`js/index.js`) loads this module
//! and queues calls made before it is ready.

use std::cell::RefCell;

use event_schema::{EventType, SCHEMA_VERSION};
use js_sys::{Array, Date, Object, Promise, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

const LIBRARY: &str = "shopstream-sdk";
const VERSION: &str = env!("CARGO_PKG_VERSION");
const ANON_KEY: &str = "shopstream:aid";
const SESSION_KEY: &str = "shopstream:sid";
/// Default: send when this many events are queued...
const DEFAULT_FLUSH_AT: u32 = 20;
/// ...or this long after the first queued event.
const DEFAULT_FLUSH_INTERVAL_MS: u32 = 1000;
/// Browsers refuse `keepalive` requests whose bodies exceed 64 KiB in total.
const KEEPALIVE_MAX_BYTES: u32 = 64 * 1024;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with(url: &str, init: &Object) -> Promise;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &JsValue, ms: u32) -> f64;
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
    #[wasm_bindgen(js_namespace = localStorage, js_name = getItem, catch)]
    fn local_get(key: &str) -> Result<Option<String>, JsValue>;
    #[wasm_bindgen(js_namespace = localStorage, js_name = setItem, catch)]
    fn local_set(key: &str, value: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(js_namespace = sessionStorage, js_name = getItem, catch)]
    fn session_get(key: &str) -> Result<Option<String>, JsValue>;
    #[wasm_bindgen(js_namespace = sessionStorage, js_name = setItem, catch)]
    fn session_set(key: &str, value: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn warn(message: &str, detail: &JsValue);
    #[wasm_bindgen(js_name = addEventListener)]
    fn add_event_listener(kind: &str, listener: &JsValue);
}

struct Tracker {
    endpoint: String,
    flush_at: u32,
    flush_interval_ms: u32,
    anonymous_id: String,
    session_id: String,
    queue: Vec<JsValue>,
    timer_armed: bool,
}

thread_local! {
    static TRACKER: RefCell<Option<Tracker>> = const { RefCell::new(None) };
}

/// `init({endpoint, flushAt?, flushIntervalMs?})`. Throws on invalid options.
#[wasm_bindgen]
pub fn init(options: &JsValue) -> Result<(), JsValue> {
    let endpoint = get(options, "endpoint")
        .as_string()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| JsValue::from_str("shopstream init: `endpoint` (a URL string) is required"))?;
    let flush_at = positive(options, "flushAt", DEFAULT_FLUSH_AT, 500)?;
    let flush_interval_ms = positive(options, "flushIntervalMs", DEFAULT_FLUSH_INTERVAL_MS, 600_000)?;
    let anonymous_id = stored_id(local_get, local_set, ANON_KEY);
    let session_id = stored_id(session_get, session_set, SESSION_KEY);
    TRACKER.with_borrow_mut(|t| {
        *t = Some(Tracker {
            endpoint,
            flush_at,
            flush_interval_ms,
            anonymous_id,
            session_id,
            queue: Vec::new(),
            timer_armed: false,
        })
    });
    // Deliver what is queued when the page goes away (keepalive lets the request outlive it).
    add_event_listener("pagehide", &Closure::<dyn FnMut()>::new(|| drop(flush())).into_js_value());
    Ok(())
}

fn positive(options: &JsValue, key: &str, default: u32, max: u32) -> Result<u32, JsValue> {
    let v = get(options, key);
    if v.is_undefined() {
        return Ok(default);
    }
    match v.as_f64() {
        Some(n) if n >= 1.0 && n <= max as f64 && n.fract() == 0.0 => Ok(n as u32),
        _ => Err(JsValue::from_str("shopstream init: flushAt and flushIntervalMs must be positive integers")),
    }
}

/// `track(type, properties)`: queues an event; never throws.
#[wasm_bindgen]
pub fn track(event_type: &str, properties: JsValue) {
    let Some(kind) = EventType::from_wire(event_type) else {
        warn("shopstream: unknown event type, event dropped:", &JsValue::from_str(event_type));
        return;
    };
    // What to do after queueing: send now, arm the timer (with its delay), or nothing.
    enum Next {
        FlushNow,
        ArmTimer(u32),
        Wait,
    }
    let next = TRACKER.with_borrow_mut(|t| {
        let Some(t) = t.as_mut() else {
            warn("shopstream: track() before init(), event dropped:", &JsValue::from_str(event_type));
            return Next::Wait;
        };
        let event = build_event(t, kind, properties);
        t.queue.push(event.into());
        if t.queue.len() as u32 >= t.flush_at {
            Next::FlushNow
        } else if !t.timer_armed {
            t.timer_armed = true;
            Next::ArmTimer(t.flush_interval_ms)
        } else {
            Next::Wait
        }
    });
    match next {
        Next::FlushNow => drop(flush()),
        Next::ArmTimer(ms) => {
            set_timeout(&Closure::once_into_js(|| drop(flush())), ms);
        }
        Next::Wait => {}
    }
}

/// `flush()`: sends everything queued; resolves when the server has answered.
#[wasm_bindgen]
pub fn flush() -> Promise {
    let taken = TRACKER.with_borrow_mut(|t| {
        let t = t.as_mut()?;
        t.timer_armed = false;
        if t.queue.is_empty() {
            return None;
        }
        Some((t.endpoint.clone(), std::mem::take(&mut t.queue)))
    });
    let Some((endpoint, events)) = taken else {
        return Promise::resolve(&JsValue::UNDEFINED);
    };
    wasm_bindgen_futures::future_to_promise(async move {
        let list: Array = events.iter().collect();
        let batch = Object::new();
        set(&batch, "schema_version", &JsValue::from(SCHEMA_VERSION));
        set(&batch, "sent_at", &Date::new_0().to_iso_string());
        set(&batch, "events", &list);
        let body = JSON::stringify(&batch)?;
        let init = Object::new();
        set(&init, "method", &JsValue::from_str("POST"));
        set(&init, "body", &body);
        set(&init, "keepalive", &JsValue::from(body.length() < KEEPALIVE_MAX_BYTES));
        let headers = Object::new();
        set(&headers, "content-type", &JsValue::from_str("application/json"));
        set(&init, "headers", &headers);
        let delivered = match JsFuture::from(fetch_with(&endpoint, &init)).await {
            Ok(response) => {
                let status = get(&response, "status").as_f64().unwrap_or(0.0);
                // 2xx: stored. Other 4xx (but 429): the server will never take it; do not loop.
                (200.0..300.0).contains(&status) || ((400.0..500.0).contains(&status) && status != 429.0)
            }
            Err(_) => false,
        };
        if !delivered {
            // Keep the events (front of the queue, same ids) for the next flush.
            TRACKER.with_borrow_mut(|t| {
                if let Some(t) = t.as_mut() {
                    let later = std::mem::replace(&mut t.queue, events);
                    t.queue.extend(later);
                }
            });
            return Err(JsValue::from_str("shopstream: delivery failed; events kept for the next flush"));
        }
        Ok(JsValue::UNDEFINED)
    })
}

fn build_event(t: &Tracker, kind: EventType, properties: JsValue) -> Object {
    let e = Object::new();
    set(&e, "event_id", &JsValue::from_str(&uuid_v7()));
    set(&e, "type", &JsValue::from_str(kind.as_str()));
    set(&e, "occurred_at", &Date::new_0().to_iso_string());
    set(&e, "anonymous_id", &JsValue::from_str(&t.anonymous_id));
    set(&e, "session_id", &JsValue::from_str(&t.session_id));
    set(&e, "context", &context());
    let props = if properties.is_object() { properties } else { Object::new().into() };
    set(&e, "properties", &props);
    e
}

fn context() -> Object {
    let global = js_sys::global();
    let location = get(&global, "location");
    let document = get(&global, "document");
    let page = Object::new();
    set(&page, "url", &get(&location, "href"));
    set(&page, "path", &get(&location, "pathname"));
    set(&page, "referrer", &get(&document, "referrer"));
    set(&page, "title", &get(&document, "title"));
    let screen = Object::new();
    let s = get(&global, "screen");
    set(&screen, "width", &get(&s, "width"));
    set(&screen, "height", &get(&s, "height"));
    let library = Object::new();
    set(&library, "name", &JsValue::from_str(LIBRARY));
    set(&library, "version", &JsValue::from_str(VERSION));
    let ctx = Object::new();
    set(&ctx, "page", &page);
    set(&ctx, "locale", &get(&get(&global, "navigator"), "language"));
    set(&ctx, "screen", &screen);
    set(&ctx, "library", &library);
    ctx
}

fn get(target: &JsValue, key: &str) -> JsValue {
    if target.is_undefined() || target.is_null() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn set(target: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// An id kept in web storage; a fresh one (not stored) when storage is unavailable.
fn stored_id(
    read: fn(&str) -> Result<Option<String>, JsValue>,
    write: fn(&str, &str) -> Result<(), JsValue>,
    key: &str,
) -> String {
    if let Ok(Some(id)) = read(key) {
        if !id.is_empty() && id.len() <= 128 {
            return id;
        }
    }
    let id = uuid_v7();
    let _ = write(key, &id);
    id
}

/// A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, variant 10, 74 random bits.
fn uuid_v7() -> String {
    let mut b = [0u8; 16];
    get_random_values(&mut b[6..]);
    let ms = Date::now() as u64;
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6] = 0x70 | (b[6] & 0x0f);
    b[8] = 0x80 | (b[8] & 0x3f);
    format_uuid(&b)
}

fn format_uuid(b: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(HEX[(byte >> 4) as usize] as char);
        s.push(HEX[(byte & 0xf) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::format_uuid;

    #[test]
    fn formats_uuid_bytes_in_hyphenated_lower_case() {
        let b = [0x01, 0x9a, 0xb2, 0xc4, 0x7e, 0x10, 0x7a, 0xbc, 0x8d, 0xef, 0, 1, 2, 3, 4, 0xff];
        assert_eq!(format_uuid(&b), "019ab2c4-7e10-7abc-8def-0001020304ff");
    }
}
