//! The wasm surface of the tracker: a thin layer that moves strings and numbers between the JS
//! shell (`js/index.js`, which does all I/O: fetch, storage, timers, listeners) and the core
//! ([`core`], plain Rust, tested natively). No serde, no `core::fmt`, no futures: size budget.

pub mod core;

use std::cell::RefCell;

use event_schema::limits::MAX_EVENT_BYTES;
use event_schema::EventType;
use wasm_bindgen::prelude::*;

use crate::core::{Config, Pipeline, Verdict};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

thread_local! {
    static PIPELINE: RefCell<Pipeline> = RefCell::new(Pipeline::new(Config::default()));
    /// (id, events) of the batch last returned by `next_batch`, and the event count last settled.
    static LAST: RefCell<(u32, u32, u32)> = const { RefCell::new((0, 0, 0)) };
}

/// Validates the numeric options (`undefined` = default) and resets the queue. Throws a message.
#[wasm_bindgen]
pub fn configure(
    flush_at: Option<f64>,
    flush_interval_ms: Option<f64>,
    max_batch_bytes: Option<f64>,
    max_queue_events: Option<f64>,
) -> Result<(), JsError> {
    let config = Config::new(flush_at, flush_interval_ms, max_batch_bytes, max_queue_events)
        .map_err(|e| JsError::new(e.message()))?;
    PIPELINE.with_borrow_mut(|p| *p = Pipeline::new(config));
    Ok(())
}

#[wasm_bindgen]
pub fn flush_interval_ms() -> u32 {
    PIPELINE.with_borrow(|p| p.config().flush_interval_ms)
}

#[wasm_bindgen]
pub fn max_batch_bytes() -> u32 {
    PIPELINE.with_borrow(|p| p.config().max_batch_bytes)
}

/// Whether `name` is an event type of the schema.
#[wasm_bindgen]
pub fn is_event_type(name: &str) -> bool {
    EventType::from_wire(name).is_some()
}

/// A fresh UUIDv7 for an event that happened at `unix_ms`.
#[wasm_bindgen]
pub fn new_event_id(unix_ms: f64) -> String {
    let mut random = [0u8; 10];
    get_random_values(&mut random);
    core::uuid_v7(unix_ms, &random)
}

/// Queues an event's JSON. Returns how many old events were dropped for room (0 or 1), or -1 when
/// this event is larger than the ingest's per-event limit (it is not queued).
#[wasm_bindgen]
pub fn push(event_json: String) -> i32 {
    if event_json.len() > MAX_EVENT_BYTES {
        return -1;
    }
    PIPELINE.with_borrow_mut(|p| p.push(event_json) as i32)
}

#[wasm_bindgen]
pub fn waiting() -> u32 {
    PIPELINE.with_borrow(|p| p.waiting() as u32)
}

#[wasm_bindgen]
pub fn full_batch_waiting() -> bool {
    PIPELINE.with_borrow(|p| p.full_batch_waiting())
}

#[wasm_bindgen]
pub fn backing_off(now_ms: f64) -> bool {
    PIPELINE.with_borrow(|p| p.backing_off(now_ms))
}

/// The next batch body (at most `max_bytes`), or `undefined`; its id and event count are then
/// `batch_id()` and `batch_events()`.
#[wasm_bindgen]
pub fn next_batch(sent_at: &str, max_bytes: u32) -> Option<String> {
    let batch = PIPELINE.with_borrow_mut(|p| p.next_batch(sent_at, max_bytes))?;
    LAST.with_borrow_mut(|l| (l.0, l.1) = (batch.id, batch.events));
    Some(batch.body)
}

#[wasm_bindgen]
pub fn batch_id() -> u32 {
    LAST.with_borrow(|l| l.0)
}

#[wasm_bindgen]
pub fn batch_events() -> u32 {
    LAST.with_borrow(|l| l.1)
}

/// Settles batch `id`: -1 delivered, -2 dropped, -3 unauthorized (events kept), or the retry delay
/// in ms (events kept). The number of events concerned is then `settled_events()`.
#[wasm_bindgen]
pub fn settle(id: u32, status: u16, retry_after: Option<String>, now_ms: f64, random: f64) -> f64 {
    let (verdict, n) = PIPELINE.with_borrow_mut(|p| p.settle(id, status, retry_after.as_deref(), now_ms, random));
    LAST.with_borrow_mut(|l| l.2 = n);
    match verdict {
        Verdict::Delivered => -1.0,
        Verdict::Dropped => -2.0,
        Verdict::Unauthorized => -3.0,
        Verdict::RetryIn(ms) => f64::from(ms),
    }
}

#[wasm_bindgen]
pub fn settled_events() -> u32 {
    LAST.with_borrow(|l| l.2)
}

/// Drops the `n` oldest waiting events (after an unauthorized batch that cannot be re-sent).
#[wasm_bindgen]
pub fn discard_oldest(n: u32) {
    PIPELINE.with_borrow_mut(|p| p.discard_oldest(n as usize));
}

#[wasm_bindgen]
pub fn session_expired(last_activity_ms: f64, now_ms: f64) -> bool {
    core::session_expired(last_activity_ms, now_ms)
}
