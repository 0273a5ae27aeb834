//! Shared pieces of the ingest benchmarks (`bench/ingest/run`): tracker-like batches, an event sink
//! that encodes for Kinesis and discards, a trivial executor, medians, and the results table.
//!
//! A benchmark, not a test: nothing here asserts on timings, and CI only builds it.

pub mod table;

use std::future::Future;
use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use event_schema::Timestamp;
use ingest_domain::{EnrichedEvent, EventSink, SinkError};
use ingest_kinesis::{plan_chunks, MAX_PARTITION_KEY_CHARS};
use serde_json::json;

/// What a desktop Chrome sends; the request header every benchmark uses (parsed by `woothee`).
pub const CHROME_UA: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// Where wrk's Lua script puts a fresh `event_id` (see [`tracker_batch`]).
pub const ID_PLACEHOLDER: &str = "@@ID@@";

/// A batch as the tracker sends it (`JSON.stringify`, compact): `events` events of one shopper and
/// one session, alternating `product_view` (the 12 product properties of the golden fixture) and
/// `page_view`, each with the tracker's page context (page, locale, screen, library), `occurred_at`
/// 250 ms apart ending at `sent_at`. `event_id(i)` gives the id of the i-th event.
pub fn tracker_batch(events: usize, sent_at: Timestamp, mut event_id: impl FnMut(usize) -> String) -> String {
    let anonymous_id = "5f0c2b7e-93a4-4d1e-9c51-2f7b8e0d4a11";
    let session_id = "a3e1c9d2-6b70-4f28-8e15-7c4d0b9a2e63";
    let list: Vec<serde_json::Value> = (0..events)
        .map(|i| {
            let sku = format!("sku-{}", 100 + i % 37);
            let occurred_at = Timestamp(sent_at.0 - 250 * (events - i) as i64).to_rfc3339();
            let url = format!("https://shop.example/p/{sku}");
            let context = json!({
                "page": {
                    "url": url,
                    "path": format!("/p/{sku}"),
                    "referrer": "https://shop.example/c/shoes",
                    "title": format!("Trail Shoe {sku} | Acme Outdoor"),
                },
                "locale": "en-GB",
                "screen": {"width": 1440, "height": 900},
                "library": {"name": "shopstream-sdk", "version": "0.1.0"},
            });
            let (kind, properties) = if i % 2 == 0 {
                let properties = json!({
                    "sku": sku,
                    "product_id": format!("p-{}", 100 + i % 37),
                    "name": "Trail Shoe",
                    "category": "Shoes",
                    "brand": "Acme",
                    "variant": "blue",
                    "price": 89.9,
                    "currency": "EUR",
                    "quantity": 1,
                    "position": 1 + i % 24,
                    "url": url,
                    "image_url": format!("https://shop.example/img/{sku}.svg"),
                });
                ("product_view", properties)
            } else {
                ("page_view", json!({"name": "Product", "category": "Shoes"}))
            };
            json!({
                "event_id": event_id(i),
                "type": kind,
                "occurred_at": occurred_at,
                "anonymous_id": anonymous_id,
                "session_id": session_id,
                "context": context,
                "properties": properties,
            })
        })
        .collect();
    json!({"schema_version": 1, "sent_at": sent_at.to_rfc3339(), "events": list}).to_string()
}

/// A UUIDv7 for `at` whose random bits are `salt` (12 bits) and `n` (62 bits): unique per
/// (salt, n), valid for the ingest's validator.
pub fn uuid_v7(at: Timestamp, salt: u16, n: u64) -> String {
    let ms = at.0 as u64 & 0xffff_ffff_ffff;
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        ms >> 16,
        ms & 0xffff,
        salt & 0xfff,
        0x8000 | ((n >> 48) & 0x3fff),
        n & 0xffff_ffff_ffff
    )
}

/// The wall clock now, as the ingest's [`Timestamp`].
pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    Timestamp(ms)
}

/// The records the Kinesis sink would send for `events`, built exactly as `KinesisEventSink` does
/// (partition key checked, `to_json()` bytes as data, one `PutRecordsRequestEntry` each), and the
/// sizes its chunk planner reads.
pub fn encode_for_kinesis(events: &[EnrichedEvent]) -> Result<(Vec<PutRecordsRequestEntry>, Vec<usize>), SinkError> {
    let mut entries = Vec::with_capacity(events.len());
    let mut sizes = Vec::with_capacity(events.len());
    for enriched in events {
        let key = &enriched.event.anonymous_id;
        let chars = key.chars().count();
        if chars == 0 || chars > MAX_PARTITION_KEY_CHARS {
            return Err(SinkError::new("partition key", std::io::Error::other(format!("{chars} chars"))));
        }
        let data = enriched.to_json().map_err(|e| SinkError::new("encode", e))?.into_bytes();
        sizes.push(data.len() + key.len());
        let entry = PutRecordsRequestEntry::builder()
            .data(Blob::new(data))
            .partition_key(key.clone())
            .build()
            .map_err(|e| SinkError::new("record", e))?;
        entries.push(entry);
    }
    Ok((entries, sizes))
}

/// An [`EventSink`] that encodes every batch for Kinesis (and plans its PutRecords chunks) as the
/// Kinesis sink does, then drops the records: the cost of the ingest up to the network.
#[derive(Debug, Default)]
pub struct KinesisEncodingSink;

#[async_trait]
impl EventSink for KinesisEncodingSink {
    async fn write(&self, events: &[EnrichedEvent]) -> Result<(), SinkError> {
        let (entries, sizes) = encode_for_kinesis(events)?;
        let chunks = plan_chunks(&sizes).map_err(|e| SinkError::new("chunks", e))?;
        black_box((entries, chunks));
        Ok(())
    }

    async fn ready(&self) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Runs a future that never waits (the ingest with [`KinesisEncodingSink`]) to completion on this
/// thread, without a runtime's overhead.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::hint::spin_loop();
    }
}

/// How many calls of `f` take about `target` (at least 1).
pub fn calibrate(target: Duration, mut f: impl FnMut()) -> u64 {
    let mut iters = 1u64;
    loop {
        let started = Instant::now();
        for _ in 0..iters {
            f();
        }
        let took = started.elapsed();
        if took >= target / 4 {
            let per = took.as_secs_f64() / iters as f64;
            return ((target.as_secs_f64() / per).ceil() as u64).max(1);
        }
        iters *= 2;
    }
}

/// Seconds that `iters` calls of `f` take.
pub fn time(iters: u64, mut f: impl FnMut()) -> f64 {
    let started = Instant::now();
    for _ in 0..iters {
        f();
    }
    started.elapsed().as_secs_f64()
}

/// The median (the mean of the two middle values for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_is_valid_and_about_the_trackers_size() {
        let sent_at = now();
        let body = tracker_batch(100, sent_at, |i| uuid_v7(sent_at, 1, i as u64));
        let opts = event_schema::validate::ValidationOptions::at(Timestamp(sent_at.0 + 100));
        let outcome = event_schema::validate::validate_batch(body.as_bytes(), &opts).unwrap();
        assert_eq!((outcome.accepted.len(), outcome.rejected.len()), (100, 0), "{:?}", outcome.rejected);
        let per_event = body.len() / 100;
        assert!((400..1000).contains(&per_event), "{per_event} bytes per event");
    }

    #[test]
    fn the_template_has_one_placeholder_per_event() {
        let body = tracker_batch(7, now(), |_| ID_PLACEHOLDER.into());
        assert_eq!(body.matches(ID_PLACEHOLDER).count(), 7);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
