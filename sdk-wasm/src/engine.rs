//! The tracker's logic, in plain Rust with no JavaScript types, tested natively: the bounded queue,
//! batching by count and bytes, what a response means (deliver, retry, drop), exponential backoff
//! with full jitter and `Retry-After`, UUIDv7 and the session timeout. The wasm layer only moves
//! strings and numbers between this core and the JS shell that does the I/O.
//!
//! No `core::fmt`, no serde: the tracker has a size budget. Events are JSON text made by
//! `JSON.stringify` in the shell; the core concatenates them into a batch body.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use event_schema::limits::{MAX_BATCH_BYTES, MAX_EVENTS_PER_BATCH, MAX_EVENT_BYTES};
use event_schema::SCHEMA_VERSION;

/// Send when this many events are waiting (option `flushAt`).
pub const DEFAULT_FLUSH_AT: u32 = 20;
/// ...or this long after the first one was queued (option `flushIntervalMs`).
pub const DEFAULT_FLUSH_INTERVAL_MS: u32 = 1000;
/// Largest batch body sent (option `maxBatchBytes`); the ingest takes up to `MAX_BATCH_BYTES`.
pub const DEFAULT_MAX_BATCH_BYTES: u32 = 256 * 1024;
/// Events kept waiting at most (option `maxQueueEvents`); beyond it the oldest are dropped and
/// counted. Large enough for a burst of 10,000 `track()` calls.
pub const DEFAULT_MAX_QUEUE_EVENTS: u32 = 20_000;
/// Browsers refuse `keepalive` requests once their bodies in flight exceed 64 KiB.
pub const KEEPALIVE_MAX_BYTES: u32 = 64 * 1024;
/// First retry waits up to this long (full jitter: uniformly between 0 and the cap)...
pub const RETRY_BASE_MS: u32 = 1000;
/// ...doubling per failed attempt, up to this cap.
pub const RETRY_MAX_MS: u32 = 60_000;
/// A server's `Retry-After` is honoured up to this long.
pub const MAX_RETRY_AFTER_MS: u32 = 10 * 60 * 1000;
/// A session ends after this long without an event (analytics.js and GA use 30 minutes).
pub const SESSION_TIMEOUT_MS: f64 = 30.0 * 60.0 * 1000.0;

/// Options, validated by [`Config::new`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    pub flush_at: u32,
    pub flush_interval_ms: u32,
    pub max_batch_bytes: u32,
    pub max_queue_events: u32,
}

/// Which option is out of range (the shell turns it into a message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    FlushAt,
    FlushIntervalMs,
    MaxBatchBytes,
    MaxQueueEvents,
}

impl ConfigError {
    pub fn message(self) -> &'static str {
        match self {
            ConfigError::FlushAt => "shopstream init: flushAt must be an integer from 1 to 500",
            ConfigError::FlushIntervalMs => "shopstream init: flushIntervalMs must be an integer from 1 to 600000",
            ConfigError::MaxBatchBytes => {
                "shopstream init: maxBatchBytes must be an integer from 32768 (one event) to 1048576 (the ingest's limit)"
            }
            ConfigError::MaxQueueEvents => "shopstream init: maxQueueEvents must be an integer from 1 to 1000000",
        }
    }
}

impl Config {
    /// `None` means "not given": the default.
    pub fn new(
        flush_at: Option<f64>,
        flush_interval_ms: Option<f64>,
        max_batch_bytes: Option<f64>,
        max_queue_events: Option<f64>,
    ) -> Result<Config, ConfigError> {
        fn pick(v: Option<f64>, default: u32, min: u32, max: u32, e: ConfigError) -> Result<u32, ConfigError> {
            match v {
                None => Ok(default),
                // `n as u32` saturates and maps NaN to 0, so equality means "a whole number in range".
                Some(n) if n >= f64::from(min) && n <= f64::from(max) && f64::from(n as u32) == n => Ok(n as u32),
                Some(_) => Err(e),
            }
        }
        Ok(Config {
            flush_at: pick(flush_at, DEFAULT_FLUSH_AT, 1, MAX_EVENTS_PER_BATCH as u32, ConfigError::FlushAt)?,
            flush_interval_ms: pick(
                flush_interval_ms,
                DEFAULT_FLUSH_INTERVAL_MS,
                1,
                600_000,
                ConfigError::FlushIntervalMs,
            )?,
            max_batch_bytes: pick(
                max_batch_bytes,
                DEFAULT_MAX_BATCH_BYTES,
                MAX_EVENT_BYTES as u32,
                MAX_BATCH_BYTES as u32,
                ConfigError::MaxBatchBytes,
            )?,
            max_queue_events: pick(
                max_queue_events,
                DEFAULT_MAX_QUEUE_EVENTS,
                1,
                1_000_000,
                ConfigError::MaxQueueEvents,
            )?,
        })
    }
}

impl Config {
    pub const DEFAULT: Config = Config {
        flush_at: DEFAULT_FLUSH_AT,
        flush_interval_ms: DEFAULT_FLUSH_INTERVAL_MS,
        max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
        max_queue_events: DEFAULT_MAX_QUEUE_EVENTS,
    };
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}

/// What a response means for the batch that was sent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    /// 2xx: stored by the server (events it rejected are reported by the shell from the body).
    Delivered,
    /// Network error (status 0), 408, 429 or 5xx: send again after this many ms.
    RetryIn(u32),
    /// 401: the auth token is refused (the shell may refresh it once and send again).
    Unauthorized,
    /// Any other status: the server will never take this batch; drop it and report.
    Dropped,
}

/// One batch on its way.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub id: u32,
    pub body: String,
    pub events: u32,
    /// The `event_id`s it carries (the shell deletes them from storage once the batch is settled).
    pub event_ids: Vec<String>,
}

/// A queued event: its id and its JSON.
type Queued = (String, String);

/// The queue and the delivery state.
#[derive(Debug)]
pub struct Pipeline {
    config: Config,
    /// Events waiting to be sent, oldest first.
    waiting: VecDeque<Queued>,
    /// Batches sent and not yet answered, by id, with their events (to put back on a retry).
    in_flight: Vec<(u32, Vec<Queued>)>,
    next_batch_id: u32,
    /// Consecutive failed attempts (resets on a delivery).
    failures: u32,
    /// No new batch before this time (ms), after a failure.
    not_before_ms: f64,
    /// Events dropped because the queue was full, since the start.
    pub dropped_overflow: u64,
    /// Ids of events dropped for room and not yet taken by [`Pipeline::take_dropped_ids`].
    dropped_ids: Vec<String>,
}

impl Pipeline {
    pub const fn new(config: Config) -> Self {
        Pipeline {
            config,
            waiting: VecDeque::new(),
            in_flight: Vec::new(),
            next_batch_id: 1,
            failures: 0,
            not_before_ms: 0.0,
            dropped_overflow: 0,
            dropped_ids: Vec::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Events waiting (not in flight).
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Queues one event (its id and JSON). Returns how many old events were dropped to make room
    /// (their ids are then in [`Pipeline::take_dropped_ids`]).
    pub fn push(&mut self, event_id: String, event_json: String) -> u32 {
        let mut dropped = 0;
        let in_flight: usize = self.in_flight.iter().map(|(_, e)| e.len()).sum();
        while self.waiting.len() + in_flight >= self.config.max_queue_events as usize {
            let Some((id, _)) = self.waiting.pop_front() else { break };
            self.dropped_ids.push(id);
            dropped += 1;
        }
        self.dropped_overflow += u64::from(dropped);
        self.waiting.push_back((event_id, event_json));
        dropped
    }

    /// The ids of events dropped for room since the last call.
    pub fn take_dropped_ids(&mut self) -> Vec<String> {
        core::mem::take(&mut self.dropped_ids)
    }

    /// Drops the `n` oldest waiting events.
    pub fn discard_oldest(&mut self, n: usize) {
        let n = n.min(self.waiting.len());
        self.waiting.drain(..n);
    }

    /// Whether enough is waiting to send now without waiting for the timer.
    pub fn full_batch_waiting(&self) -> bool {
        self.waiting.len() >= self.config.flush_at as usize
    }

    /// Ends a failure's backoff (not the failure count: the next failure still backs off longer).
    pub fn clear_backoff(&mut self) {
        self.not_before_ms = 0.0;
    }

    /// Whether a failure's backoff still holds at `now_ms`.
    pub fn backing_off(&self, now_ms: f64) -> bool {
        now_ms < self.not_before_ms
    }

    /// Takes the next batch (oldest events first) of at most `max_bytes` body bytes and
    /// `MAX_EVENTS_PER_BATCH` events; `None` when nothing waits. `sent_at` is RFC 3339.
    pub fn next_batch(&mut self, sent_at: &str, max_bytes: u32) -> Option<Batch> {
        let head = batch_head(sent_at);
        let mut bytes = head.len() + BATCH_TAIL.len();
        let mut count = 0;
        for (_, e) in &self.waiting {
            let add = e.len() + usize::from(count > 0);
            if count == MAX_EVENTS_PER_BATCH || (count > 0 && bytes + add > max_bytes as usize) {
                break;
            }
            bytes += add;
            count += 1;
        }
        if count == 0 {
            return None;
        }
        let events: Vec<Queued> = self.waiting.drain(..count).collect();
        let mut body = String::with_capacity(bytes);
        body.push_str(&head);
        for (i, (_, e)) in events.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(e);
        }
        body.push_str(BATCH_TAIL);
        let id = self.next_batch_id;
        self.next_batch_id = self.next_batch_id.wrapping_add(1);
        let event_ids = events.iter().map(|(id, _)| id.clone()).collect();
        self.in_flight.push((id, events));
        Some(Batch { id, body, events: count as u32, event_ids })
    }

    /// Settles batch `id` with the response's `status` (0 for a network error) and its
    /// `Retry-After` in ms from now (the shell parses the header: seconds or an HTTP date).
    /// `random` is uniform in [0, 1) (the jitter). Returns the verdict and the number of events it
    /// concerned.
    pub fn settle(
        &mut self,
        id: u32,
        status: u16,
        retry_after_ms: Option<f64>,
        now_ms: f64,
        random: f64,
    ) -> (Verdict, u32) {
        let Some(at) = self.in_flight.iter().position(|(b, _)| *b == id) else {
            return (Verdict::Dropped, 0);
        };
        let (_, events) = self.in_flight.remove(at);
        let n = events.len() as u32;
        let verdict = classify(status);
        match verdict {
            Verdict::Delivered | Verdict::Dropped => {
                if verdict == Verdict::Delivered {
                    self.failures = 0;
                    self.not_before_ms = 0.0;
                }
                (verdict, n)
            }
            Verdict::RetryIn(_) | Verdict::Unauthorized => {
                // Back at the front, in their order, with their ids: the server deduplicates.
                for e in events.into_iter().rev() {
                    self.waiting.push_front(e);
                }
                if verdict == Verdict::Unauthorized {
                    return (verdict, n);
                }
                // NaN or negative (an unparsable or past date) means "no floor"; `as` saturates.
                let floor = retry_after_ms.filter(|ms| *ms > 0.0).map(|ms| ms as u32);
                let delay = retry_delay_ms(self.failures, random, floor);
                self.failures = self.failures.saturating_add(1);
                self.not_before_ms = now_ms + f64::from(delay);
                (Verdict::RetryIn(delay), n)
            }
        }
    }
}

const BATCH_TAIL: &str = "]}";

fn batch_head(sent_at: &str) -> String {
    let mut s = String::with_capacity(64);
    s.push_str("{\"schema_version\":");
    push_u64(&mut s, u64::from(SCHEMA_VERSION));
    s.push_str(",\"sent_at\":\"");
    s.push_str(sent_at);
    s.push_str("\",\"events\":[");
    s
}

fn push_u64(s: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        s.push(d as char);
    }
}

/// What a status means, before backoff is applied.
pub fn classify(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        0 | 408 | 429 | 500..=599 => Verdict::RetryIn(0),
        401 => Verdict::Unauthorized,
        _ => Verdict::Dropped,
    }
}

/// Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): uniform in
/// [0, min(cap, base * 2^failures)], but never sooner than the server's `Retry-After`.
pub fn retry_delay_ms(failures: u32, random: f64, retry_after_ms: Option<u32>) -> u32 {
    let ceiling = (u64::from(RETRY_BASE_MS) << failures.min(32)).min(u64::from(RETRY_MAX_MS));
    let jittered = (random.clamp(0.0, 1.0) * ceiling as f64) as u32;
    jittered.max(retry_after_ms.unwrap_or(0).min(MAX_RETRY_AFTER_MS))
}

/// UUIDv7s (RFC 9562: 48-bit Unix ms, version 7, variant 10) that strictly increase within one tab
/// (§6.2, method 2: "monotonic random"). Several events are often tracked in the same millisecond,
/// and the persistent queue is read back in id order after a reload: the ids must sort in the order
/// the events were tracked. Within a millisecond (or when the clock steps back) the 74 random bits
/// of the previous id (rand_a: 12, rand_b: 62) are incremented by one; when they overflow, the
/// timestamp moves on by one millisecond.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidV7Generator {
    /// The last id as two numbers: ms (48 bits), version (4), rand_a (12); variant (2), rand_b (62).
    last: (u64, u64),
}

const RAND_A: u64 = 0x0fff;
const RAND_B: u64 = (1 << 62) - 1;
const VERSION_7: u64 = 0x7000;
const VARIANT: u64 = 0b10 << 62;

impl UuidV7Generator {
    pub const fn new() -> Self {
        Self { last: (0, 0) }
    }

    pub fn next(&mut self, unix_ms: f64, random: &[u8; 10]) -> String {
        let ms = unix_ms.max(0.0) as u64;
        let (hi, lo) = self.last;
        self.last = if ms > hi >> 16 {
            // A fresh millisecond: random bits, the highest one clear so that there is room to count.
            let [a0, a1, b @ ..] = *random;
            let rand_a = u64::from(u16::from_be_bytes([a0, a1])) & (RAND_A >> 1);
            ((ms << 16) | VERSION_7 | rand_a, VARIANT | (u64::from_be_bytes(b) & RAND_B))
        } else if lo & RAND_B != RAND_B {
            (hi, lo + 1)
        } else if hi & RAND_A != RAND_A {
            (hi + 1, VARIANT)
        } else {
            ((((hi >> 16) + 1) << 16) | VERSION_7, VARIANT)
        };
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.last.0.to_be_bytes());
        bytes[8..].copy_from_slice(&self.last.1.to_be_bytes());
        format_uuid(&bytes)
    }
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

/// Whether a session last active at `last_activity_ms` has ended by `now_ms`.
pub fn session_expired(last_activity_ms: f64, now_ms: f64) -> bool {
    // NaN (an unreadable stored time) compares as "not less": the session ends.
    !matches!((now_ms - last_activity_ms).partial_cmp(&SESSION_TIMEOUT_MS), Some(core::cmp::Ordering::Less))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(i: usize) -> String {
        let mut s = String::from("{\"n\":");
        push_u64(&mut s, i as u64);
        s.push('}');
        s
    }

    fn id(i: usize) -> String {
        let mut s = String::from("id-");
        push_u64(&mut s, i as u64);
        s
    }

    /// Pushes event `i` (id `id-i`, JSON `{"n":i}`).
    fn push(p: &mut Pipeline, i: usize) -> u32 {
        p.push(id(i), json(i))
    }

    #[test]
    fn options_are_validated_with_their_defaults() {
        assert_eq!(Config::new(None, None, None, None), Ok(Config::default()));
        assert_eq!(Config::new(Some(500.0), Some(1.0), Some(32768.0), Some(1.0)).map(|c| c.flush_at), Ok(500));
        assert_eq!(Config::new(Some(0.0), None, None, None), Err(ConfigError::FlushAt));
        assert_eq!(Config::new(Some(501.0), None, None, None), Err(ConfigError::FlushAt));
        assert_eq!(Config::new(Some(2.5), None, None, None), Err(ConfigError::FlushAt));
        assert_eq!(Config::new(None, Some(f64::NAN), None, None), Err(ConfigError::FlushIntervalMs));
        assert_eq!(Config::new(None, None, Some(1_048_577.0), None), Err(ConfigError::MaxBatchBytes));
        assert_eq!(Config::new(None, None, None, Some(0.0)), Err(ConfigError::MaxQueueEvents));
        assert!(ConfigError::MaxBatchBytes.message().contains("maxBatchBytes"));
    }

    #[test]
    fn batches_are_wire_format_json_in_order() {
        let mut p = Pipeline::new(Config::default());
        for i in 0..3 {
            push(&mut p, i);
        }
        let b = p.next_batch("2026-11-22T10:00:00.000Z", KEEPALIVE_MAX_BYTES).unwrap();
        assert_eq!(
            b.body,
            r#"{"schema_version":1,"sent_at":"2026-11-22T10:00:00.000Z","events":[{"n":0},{"n":1},{"n":2}]}"#
        );
        assert_eq!(b.events, 3);
        assert_eq!(b.event_ids, [id(0), id(1), id(2)]);
        assert_eq!(p.waiting(), 0);
        assert_eq!(p.next_batch("x", KEEPALIVE_MAX_BYTES), None);
    }

    #[test]
    fn batches_respect_the_event_count_limit() {
        let mut p = Pipeline::new(Config::default());
        for i in 0..(MAX_EVENTS_PER_BATCH + 1) {
            push(&mut p, i);
        }
        assert_eq!(p.next_batch("t", MAX_BATCH_BYTES as u32).unwrap().events, MAX_EVENTS_PER_BATCH as u32);
        assert_eq!(p.next_batch("t", MAX_BATCH_BYTES as u32).unwrap().events, 1);
    }

    #[test]
    fn batches_respect_the_byte_limit_exactly() {
        let mut p = Pipeline::new(Config::default());
        let event = "x".repeat(100);
        for _ in 0..10 {
            p.push(id(0), event.clone());
        }
        let head = batch_head("t").len() + BATCH_TAIL.len();
        // Room for exactly 3 events (100 + 1 + 100 + 1 + 100).
        let limit = (head + 302) as u32;
        let b = p.next_batch("t", limit).unwrap();
        assert_eq!((b.events, b.body.len()), (3, limit as usize));
        let b = p.next_batch("t", limit - 1).unwrap();
        assert_eq!(b.events, 2);
        // One event larger than the limit still goes alone (the ingest's per-event limit is lower).
        assert_eq!(p.next_batch("t", 10).unwrap().events, 1);
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts() {
        let config = Config { max_queue_events: 3, ..Config::default() };
        let mut p = Pipeline::new(config);
        for i in 0..3 {
            assert_eq!(push(&mut p, i), 0);
        }
        assert_eq!(push(&mut p, 3), 1);
        assert_eq!(push(&mut p, 4), 1);
        assert_eq!(p.take_dropped_ids(), [id(0), id(1)]);
        assert!(p.take_dropped_ids().is_empty(), "taken once");
        assert_eq!(p.dropped_overflow, 2);
        let b = p.next_batch("t", 1 << 20).unwrap();
        assert!(b.body.ends_with(r#"[{"n":2},{"n":3},{"n":4}]}"#), "{}", b.body);
    }

    #[test]
    fn the_flush_threshold() {
        let mut p = Pipeline::new(Config { flush_at: 2, ..Config::default() });
        push(&mut p, 0);
        assert!(!p.full_batch_waiting());
        push(&mut p, 1);
        assert!(p.full_batch_waiting());
    }

    #[test]
    fn statuses_are_classified() {
        for s in [200, 201, 204, 299] {
            assert_eq!(classify(s), Verdict::Delivered, "{s}");
        }
        for s in [0, 408, 429, 500, 502, 503, 599] {
            assert_eq!(classify(s), Verdict::RetryIn(0), "{s}");
        }
        assert_eq!(classify(401), Verdict::Unauthorized);
        for s in [400, 403, 404, 413, 422] {
            assert_eq!(classify(s), Verdict::Dropped, "{s}");
        }
    }

    #[test]
    fn a_retry_puts_the_events_back_in_order_and_backs_off() {
        let mut p = Pipeline::new(Config::default());
        for i in 0..3 {
            push(&mut p, i);
        }
        let first = p.next_batch("t", 1 << 20).unwrap();
        push(&mut p, 3);
        let (verdict, n) = p.settle(first.id, 503, None, 1000.0, 0.5);
        assert_eq!((verdict, n), (Verdict::RetryIn(500), 3));
        assert!(p.backing_off(1499.0) && !p.backing_off(1500.0));
        p.clear_backoff();
        assert!(!p.backing_off(1000.0));
        let again = p.next_batch("t", 1 << 20).unwrap();
        assert_eq!(again.body, first.body.replace("]}", r#",{"n":3}]}"#), "same events, same order, then the new one");
        // The second failure doubles the ceiling; a delivery resets it.
        assert_eq!(p.settle(again.id, 0, None, 2000.0, 0.5).0, Verdict::RetryIn(1000));
        let third = p.next_batch("t", 1 << 20).unwrap();
        assert_eq!(p.settle(third.id, 200, None, 3000.0, 0.5), (Verdict::Delivered, 4));
        assert!(!p.backing_off(3000.0));
        assert_eq!(p.waiting(), 0);
    }

    #[test]
    fn retry_after_is_a_floor_on_the_backoff() {
        let mut p = Pipeline::new(Config::default());
        push(&mut p, 0);
        let b = p.next_batch("t", 1 << 20).unwrap();
        assert_eq!(p.settle(b.id, 429, Some(5000.0), 0.0, 0.0).0, Verdict::RetryIn(5000));
        let b = p.next_batch("t", 1 << 20).unwrap();
        assert_eq!(p.settle(b.id, 429, Some(-3.0), 0.0, 0.0).0, Verdict::RetryIn(0), "a date in the past");
        let b = p.next_batch("t", 1 << 20).unwrap();
        assert_eq!(p.settle(b.id, 503, Some(f64::NAN), 0.0, 0.0).0, Verdict::RetryIn(0), "unparsable");
        let b = p.next_batch("t", 1 << 20).unwrap();
        assert_eq!(p.settle(b.id, 503, Some(1e12), 0.0, 0.0).0, Verdict::RetryIn(MAX_RETRY_AFTER_MS), "capped");
    }

    #[test]
    fn a_client_error_drops_the_batch() {
        let mut p = Pipeline::new(Config::default());
        push(&mut p, 0);
        let b = p.next_batch("t", 1 << 20).unwrap();
        assert_eq!(p.settle(b.id, 400, None, 0.0, 0.5), (Verdict::Dropped, 1));
        assert_eq!(p.waiting(), 0);
        assert_eq!(p.settle(b.id, 200, None, 0.0, 0.5), (Verdict::Dropped, 0), "unknown batch ids are inert");
    }

    #[test]
    fn an_unauthorized_batch_waits_for_a_new_token_without_backoff() {
        let mut p = Pipeline::new(Config::default());
        push(&mut p, 0);
        let b = p.next_batch("t", 1 << 20).unwrap();
        assert_eq!(p.settle(b.id, 401, None, 0.0, 0.5), (Verdict::Unauthorized, 1));
        assert_eq!(p.waiting(), 1);
        assert!(!p.backing_off(0.0));
        p.discard_oldest(5);
        assert_eq!(p.waiting(), 0);
    }

    #[test]
    fn full_jitter_with_a_cap_and_retry_after_as_a_floor() {
        assert_eq!(retry_delay_ms(0, 0.0, None), 0);
        assert_eq!(retry_delay_ms(0, 1.0, None), RETRY_BASE_MS);
        assert_eq!(retry_delay_ms(3, 1.0, None), RETRY_BASE_MS * 8);
        assert_eq!(retry_delay_ms(20, 1.0, None), RETRY_MAX_MS, "capped");
        assert_eq!(retry_delay_ms(100, 0.5, None), RETRY_MAX_MS / 2, "no overflow");
        assert_eq!(retry_delay_ms(0, 0.1, Some(5000)), 5000, "never sooner than Retry-After");
        assert_eq!(retry_delay_ms(0, 0.1, Some(u32::MAX)), MAX_RETRY_AFTER_MS, "a huge Retry-After is capped");
    }

    #[test]
    fn uuid_v7_layout() {
        let id = UuidV7Generator::new().next(1_795_341_600_123.0, &[0xff; 10]);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[..13], "01a202b2-c57b");
        assert_eq!(&id[14..15], "7", "version");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "variant: {id}");
        assert_eq!(
            format_uuid(&[0x01, 0x9a, 0xb2, 0xc4, 0x7e, 0x10, 0x7a, 0xbc, 0x8d, 0xef, 0, 1, 2, 3, 4, 0xff]),
            "019ab2c4-7e10-7abc-8def-0001020304ff"
        );
    }

    #[test]
    fn uuid_v7_ids_increase_within_a_millisecond_and_when_the_clock_steps_back() {
        let mut ids = UuidV7Generator::new();
        let mut previous = ids.next(1_000.0, &[0xff; 10]);
        assert_eq!(&previous[..13], "00000000-03e8", "the timestamp is the event's millisecond");
        // Random bytes that would sort lower every time: the ids must still increase.
        for (i, ms) in [1_000.0, 1_000.0, 999.0, 1_000.0, 1_001.0, 1_001.0, 500.0].into_iter().enumerate() {
            let id = ids.next(ms, &[(200 - i * 20) as u8; 10]);
            assert!(id > previous, "{id} after {previous}");
            assert_eq!(&id[14..15], "7", "version");
            assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "variant: {id}");
            previous = id;
        }
        assert_eq!(&previous[..13], "00000000-03e9", "a clock stepping back keeps the last millisecond");
    }

    #[test]
    fn uuid_v7_counter_overflow_moves_to_the_next_millisecond() {
        let mut ids = UuidV7Generator { last: ((1_000 << 16) | VERSION_7 | 5, VARIANT | RAND_B) };
        assert_eq!(ids.next(1_000.0, &[0; 10]), "00000000-03e8-7006-8000-000000000000", "rand_b carries into rand_a");
        let mut ids = UuidV7Generator { last: ((1_000 << 16) | VERSION_7 | RAND_A, VARIANT | RAND_B) };
        assert_eq!(ids.next(1_000.0, &[0; 10]), "00000000-03e9-7000-8000-000000000000");
        let fresh = UuidV7Generator::new().next(1_000.0, &[0xff; 10]);
        assert_eq!(fresh, "00000000-03e8-77ff-bfff-ffffffffffff", "a fresh millisecond leaves room to count");
    }

    #[test]
    fn sessions_time_out_after_thirty_minutes_of_inactivity() {
        assert!(!session_expired(0.0, SESSION_TIMEOUT_MS - 1.0));
        assert!(session_expired(0.0, SESSION_TIMEOUT_MS));
        assert!(session_expired(0.0, f64::NAN), "an unreadable last activity starts a new session");
    }
}
