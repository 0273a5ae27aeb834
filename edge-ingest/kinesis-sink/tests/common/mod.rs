//! Shared by the test binaries: events built from the golden fixtures, and moto helpers.
#![allow(dead_code)] // each test binary uses a part

use std::fs;
use std::path::Path;
use std::time::Duration;

use aws_sdk_kinesis::config::{Credentials, Region};
use aws_sdk_kinesis::types::{ShardIteratorType, StreamStatus};
use aws_sdk_kinesis::Client;
use event_schema::validate::{validate_batch, ValidationOptions};
use event_schema::{Timestamp, FIXTURES_DIR};
use ingest_domain::EnrichedEvent;
use serde_json::Value;

/// The receive time every fixture is validated at (`fixtures/manifest.json`).
pub fn received_at() -> Timestamp {
    let manifest: Value =
        serde_json::from_slice(&fs::read(Path::new(FIXTURES_DIR).join("manifest.json")).unwrap()).unwrap();
    Timestamp::parse_rfc3339(manifest["received_at"].as_str().unwrap()).unwrap()
}

pub fn fixture(name: &str) -> Vec<u8> {
    fs::read(Path::new(FIXTURES_DIR).join(name)).unwrap()
}

/// Every event of every `valid/*.json` batch, validated and enriched as the ingest does it, in file
/// then batch order.
pub fn fixture_events() -> Vec<EnrichedEvent> {
    let mut paths: Vec<_> =
        fs::read_dir(Path::new(FIXTURES_DIR).join("valid")).unwrap().map(|entry| entry.unwrap().path()).collect();
    paths.sort();
    let received_at = received_at();
    let mut events = Vec::new();
    for path in paths {
        let outcome = validate_batch(&fs::read(&path).unwrap(), &ValidationOptions::at(received_at)).unwrap();
        assert!(outcome.rejected.is_empty(), "{} has rejected events", path.display());
        let sent_at = outcome.sent_at;
        events.extend(outcome.accepted.into_iter().map(|event| EnrichedEvent::new(event, received_at, sent_at)));
    }
    assert!(events.len() >= 20, "the fixtures hold {} events", events.len());
    events
}

/// `n` events cycling over the fixture events, spread over `shoppers` anonymous ids, each with its
/// own event id (so the stream's contents can be matched one to one).
pub fn many_events(n: usize, shoppers: usize) -> Vec<EnrichedEvent> {
    let base = fixture_events();
    (0..n)
        .map(|i| {
            let mut e = base[i % base.len()].clone();
            e.event.anonymous_id = format!("shopper-{}", i % shoppers);
            e.event.event_id = format!("019ab2c4-7e10-7000-8000-{i:012x}");
            e
        })
        .collect()
}

/// The JSON each event must arrive as.
pub fn as_json(event: &EnrichedEvent) -> Value {
    serde_json::from_str(&event.to_json().unwrap()).unwrap()
}

pub fn client_for(endpoint: &str) -> Client {
    let config = aws_sdk_kinesis::Config::builder()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .behavior_version_latest()
        .build();
    Client::from_conf(config)
}

pub fn moto_client() -> Client {
    client_for(&testkit::Moto::shared().endpoint())
}

/// A new stream with `shards` shards, ACTIVE.
pub async fn create_stream(client: &Client, shards: i32) -> String {
    let name = testkit::unique("events");
    client.create_stream().stream_name(&name).shard_count(shards).send().await.unwrap();
    for _ in 0..100 {
        let summary = client.describe_stream_summary().stream_name(&name).send().await.unwrap();
        if summary.stream_description_summary().unwrap().stream_status() == &StreamStatus::Active {
            return name;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("stream {name} never became ACTIVE");
}

/// One record as read back.
#[derive(Debug)]
pub struct Stored {
    pub shard_id: String,
    pub partition_key: String,
    pub json: Value,
}

/// Everything in the stream, shard by shard, each shard in its order (ListShards,
/// GetShardIterator TRIM_HORIZON, GetRecords until a read comes back empty).
pub async fn read_stream(client: &Client, stream: &str) -> Vec<Stored> {
    let shards = client.list_shards().stream_name(stream).send().await.unwrap();
    let mut stored = Vec::new();
    for shard in shards.shards() {
        let mut iterator = client
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator()
            .map(str::to_owned);
        while let Some(it) = iterator {
            let page = client.get_records().shard_iterator(it).limit(10_000).send().await.unwrap();
            if page.records().is_empty() {
                break;
            }
            for record in page.records() {
                stored.push(Stored {
                    shard_id: shard.shard_id().to_owned(),
                    partition_key: record.partition_key().unwrap().to_owned(),
                    json: serde_json::from_slice(record.data().as_ref()).unwrap(),
                });
            }
            iterator = page.next_shard_iterator().map(str::to_owned);
        }
    }
    stored
}

/// The event ids of `events`, per anonymous id, in order.
pub fn ids_by_shopper<'a>(events: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, Vec<String>)> {
    let mut by: Vec<(String, Vec<String>)> = Vec::new();
    for (anonymous_id, event_id) in events {
        match by.iter_mut().find(|(a, _)| a == anonymous_id) {
            Some((_, ids)) => ids.push(event_id.to_owned()),
            None => by.push((anonymous_id.to_owned(), vec![event_id.to_owned()])),
        }
    }
    by.sort();
    by
}
