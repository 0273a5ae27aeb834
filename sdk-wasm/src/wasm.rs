//! The wasm surface: numbers and strings only, each function a few lines over the engine.

use alloc::string::String;
use core::cell::{Cell, RefCell};

use event_schema::limits::MAX_EVENT_BYTES;
use event_schema::EventType;
use wasm_bindgen::prelude::*;

use crate::engine::{Config, Pipeline, UuidV7Generator, Verdict};

// wasm32-unknown-unknown without the `atomics` feature has one thread: a free-list allocator
// that assumes so is sound, and much smaller than dlmalloc.
#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    // SAFETY: single-threaded target (see above).
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

/// A panic is a bug; trapping keeps `core::fmt` and std's panic machinery out of the bundle.
/// The JS shell isolates each call, so a trap costs one event or batch, not the tracker.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

struct State {
    pipeline: RefCell<Pipeline>,
    /// (id, events) of the batch last returned by `next_batch`.
    last_batch: Cell<(u32, u32)>,
    /// Events concerned by the last `settle`.
    last_settled: Cell<u32>,
    /// Event ids of the batch last returned by `next_batch`.
    last_batch_ids: Cell<String>,
    /// Event ids, increasing in the order the events were tracked.
    ids: Cell<UuidV7Generator>,
}

// SAFETY: one thread on this target (no `atomics`), so the state is never shared across threads.
#[cfg(not(target_feature = "atomics"))]
unsafe impl Sync for State {}

static STATE: State = State {
    pipeline: RefCell::new(Pipeline::new(Config::DEFAULT)),
    last_batch: Cell::new((0, 0)),
    last_settled: Cell::new(0),
    last_batch_ids: Cell::new(String::new()),
    ids: Cell::new(UuidV7Generator::new()),
};

fn with<R>(f: impl FnOnce(&mut Pipeline) -> R) -> R {
    // `try_borrow_mut`: the panicking `borrow_mut` would pull formatting code in.
    match STATE.pipeline.try_borrow_mut() {
        Ok(mut p) => f(&mut p),
        Err(_) => core::arch::wasm32::unreachable(),
    }
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
    with(|p| *p = Pipeline::new(config));
    Ok(())
}

#[wasm_bindgen]
pub fn flush_interval_ms() -> u32 {
    with(|p| p.config().flush_interval_ms)
}

#[wasm_bindgen]
pub fn max_batch_bytes() -> u32 {
    with(|p| p.config().max_batch_bytes)
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
    let mut ids = STATE.ids.get();
    let id = ids.next(unix_ms, &random);
    STATE.ids.set(ids);
    id
}

/// Queues an event (its id and JSON). Returns how many old events were dropped for room (their ids:
/// `take_dropped_ids()`), or -1 when this event is larger than the ingest's per-event limit (it is
/// not queued).
#[wasm_bindgen]
pub fn push(event_id: String, event_json: String) -> i32 {
    if event_json.len() > MAX_EVENT_BYTES {
        return -1;
    }
    with(|p| p.push(event_id, event_json) as i32)
}

/// Ids of the events dropped for room since the last call, comma-separated.
#[wasm_bindgen]
pub fn take_dropped_ids() -> String {
    join(&with(|p| p.take_dropped_ids()))
}

fn join(ids: &[String]) -> String {
    let mut out = String::with_capacity(ids.len() * 37);
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(id);
    }
    out
}

#[wasm_bindgen]
pub fn waiting() -> u32 {
    with(|p| p.waiting() as u32)
}

#[wasm_bindgen]
pub fn full_batch_waiting() -> bool {
    with(|p| p.full_batch_waiting())
}

#[wasm_bindgen]
pub fn backing_off(now_ms: f64) -> bool {
    with(|p| p.backing_off(now_ms))
}

/// The next batch body (at most `max_bytes`), or `undefined`; its id and event count are then
/// `batch_id()` and `batch_events()`.
#[wasm_bindgen]
pub fn next_batch(sent_at: &str, max_bytes: u32) -> Option<String> {
    let batch = with(|p| p.next_batch(sent_at, max_bytes))?;
    STATE.last_batch.set((batch.id, batch.events));
    STATE.last_batch_ids.set(join(&batch.event_ids));
    Some(batch.body)
}

/// The event ids of the batch last returned by `next_batch`, comma-separated.
#[wasm_bindgen]
pub fn batch_event_ids() -> String {
    STATE.last_batch_ids.take()
}

#[wasm_bindgen]
pub fn batch_id() -> u32 {
    STATE.last_batch.get().0
}

#[wasm_bindgen]
pub fn batch_events() -> u32 {
    STATE.last_batch.get().1
}

/// Settles batch `id` (`retry_after_ms`: the `Retry-After` header in ms from now): -1 delivered,
/// -2 dropped, -3 unauthorized (events kept), or the retry delay in ms (events kept). The number of
/// events concerned is then `settled_events()`.
#[wasm_bindgen]
pub fn settle(id: u32, status: u16, retry_after_ms: Option<f64>, now_ms: f64, random: f64) -> f64 {
    let (verdict, n) = with(|p| p.settle(id, status, retry_after_ms, now_ms, random));
    STATE.last_settled.set(n);
    match verdict {
        Verdict::Delivered => -1.0,
        Verdict::Dropped => -2.0,
        Verdict::Unauthorized => -3.0,
        Verdict::RetryIn(ms) => f64::from(ms),
    }
}

#[wasm_bindgen]
pub fn settled_events() -> u32 {
    STATE.last_settled.get()
}

/// Ends a failure's backoff now (the browser says it is back online).
#[wasm_bindgen]
pub fn clear_backoff() {
    with(|p| p.clear_backoff());
}

/// Drops the `n` oldest waiting events (after an unauthorized batch that cannot be re-sent).
#[wasm_bindgen]
pub fn discard_oldest(n: u32) {
    with(|p| p.discard_oldest(n as usize));
}

#[wasm_bindgen]
pub fn session_expired(last_activity_ms: f64, now_ms: f64) -> bool {
    crate::engine::session_expired(last_activity_ms, now_ms)
}
