//! What moto cannot do: per-record failures, throttling, 5xx and hanging calls. A fake Kinesis
//! (`aws-smithy-mocks` answering from a script, recording every PutRecords request) and real
//! sockets that refuse or never answer.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::operation::put_records::{PutRecordsError, PutRecordsInput, PutRecordsOutput};
use aws_sdk_kinesis::types::error::{
    InternalFailureException, ProvisionedThroughputExceededException, ResourceNotFoundException,
};
use aws_sdk_kinesis::types::PutRecordsResultEntry;
use aws_sdk_kinesis::Client;
use aws_smithy_mocks::{mock, mock_client, MockResponse, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use common::*;
use ingest_domain::{EnrichedEvent, EventSink};
use ingest_kinesis::{
    ConfigError, KinesisEventSink, RetryPolicy, SinkMetrics, MAX_RECORDS_PER_REQUEST, MAX_RECORD_BYTES,
};

/// One record as the fake received it.
#[derive(Clone, Debug, PartialEq)]
struct Sent {
    key: String,
    data: Vec<u8>,
}

type Answer = MockResponse<PutRecordsOutput, PutRecordsError>;
type Requests = Arc<Mutex<Vec<Vec<Sent>>>>;

/// A client whose PutRecords calls are recorded and answered by `script(call number, records)`.
fn fake_kinesis(script: impl Fn(usize, &[Sent]) -> Answer + Send + Sync + 'static) -> (Client, Requests) {
    let requests: Requests = Arc::default();
    let log = requests.clone();
    let rule = mock!(Client::put_records).then_compute_response(move |input: &PutRecordsInput| {
        let sent: Vec<Sent> = input
            .records()
            .iter()
            .map(|r| Sent { key: r.partition_key().unwrap_or_default().to_owned(), data: r.data().as_ref().to_vec() })
            .collect();
        let mut log = log.lock().unwrap();
        log.push(sent.clone());
        script(log.len() - 1, &sent)
    });
    (mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, &[&rule]), requests)
}

/// A 200 answer where the records at `failed` got `code` and the others a sequence number.
fn answer(records: usize, failed: &[(usize, &str)]) -> Answer {
    let mut output = PutRecordsOutput::builder().failed_record_count(failed.len() as i32);
    for i in 0..records {
        let entry = match failed.iter().find(|(f, _)| *f == i) {
            Some((_, code)) => {
                PutRecordsResultEntry::builder().error_code(*code).error_message(format!("{code} for record {i}"))
            }
            None => {
                PutRecordsResultEntry::builder().sequence_number(format!("4959{i:08}")).shard_id("shardId-000000000000")
            }
        };
        output = output.records(entry.build());
    }
    MockResponse::Output(output.build().unwrap())
}

fn all_stored(records: &[Sent]) -> Answer {
    answer(records.len(), &[])
}

fn throttled() -> PutRecordsError {
    PutRecordsError::ProvisionedThroughputExceededException(
        ProvisionedThroughputExceededException::builder().message("Rate exceeded for stream events").build(),
    )
}

fn http_500() -> Answer {
    MockResponse::Http(HttpResponse::new(
        StatusCode::try_from(500).unwrap(),
        SdkBody::from(r#"{"__type":"InternalFailure","message":"internal error"}"#),
    ))
}

/// A quick policy so tests that wait for the deadline stay short.
fn policy(deadline_ms: u64) -> RetryPolicy {
    RetryPolicy {
        deadline: Duration::from_millis(deadline_ms),
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(50),
    }
}

fn sink(client: Client, policy: RetryPolicy) -> KinesisEventSink {
    KinesisEventSink::new(client, "events", policy).unwrap()
}

/// What the sink must send for `events`.
fn expected(events: &[EnrichedEvent]) -> Vec<Sent> {
    events.iter().map(|e| Sent { key: e.event.anonymous_id.clone(), data: e.to_json().unwrap().into_bytes() }).collect()
}

fn sizes(requests: &Requests) -> Vec<usize> {
    requests.lock().unwrap().iter().map(Vec::len).collect()
}

#[tokio::test]
async fn a_partial_failure_resends_exactly_the_failed_records_then_succeeds() {
    let (client, requests) = fake_kinesis(|call, records| match call {
        0 => answer(
            records.len(),
            &[(2, "ProvisionedThroughputExceededException"), (5, "InternalFailure"), (7, "SomeFutureErrorCode")],
        ),
        _ => all_stored(records),
    });
    let events = many_events(10, 3);
    let sink = sink(client, RetryPolicy::default());
    sink.write(&events).await.unwrap();

    let requests = requests.lock().unwrap();
    assert_eq!(requests.len(), 2);
    let sent = expected(&events);
    assert_eq!(requests[0], sent, "the first call carries the batch in order, keyed by anonymous_id");
    assert_eq!(requests[1], vec![sent[2].clone(), sent[5].clone(), sent[7].clone()], "only the failed records");
    assert_eq!(
        sink.metrics(),
        SinkMetrics { put_records_calls: 2, records_written: 10, retries: 1, records_retried: 3, ..Default::default() }
    );
}

#[tokio::test]
async fn records_failing_again_are_resent_again_until_stored() {
    let (client, requests) = fake_kinesis(|call, records| match call {
        0 => answer(records.len(), &[(1, "InternalFailure"), (4, "InternalFailure"), (8, "InternalFailure")]),
        // Of the three resent, the middle one (event 4) fails again.
        1 => answer(records.len(), &[(1, "ProvisionedThroughputExceededException")]),
        _ => all_stored(records),
    });
    let events = many_events(10, 2);
    let sink = sink(client, RetryPolicy::default());
    sink.write(&events).await.unwrap();

    assert_eq!(sizes(&requests), [10, 3, 1]);
    assert_eq!(requests.lock().unwrap()[2], vec![expected(&events)[4].clone()]);
    let m = sink.metrics();
    assert_eq!((m.put_records_calls, m.retries, m.records_retried, m.records_written, m.give_ups), (3, 2, 4, 10, 0));
}

#[tokio::test]
async fn a_failed_chunk_is_stored_before_the_next_chunk_is_sent() {
    let (client, requests) = fake_kinesis(|call, records| match call {
        0 => answer(records.len(), &[(0, "InternalFailure"), (499, "ProvisionedThroughputExceededException")]),
        _ => all_stored(records),
    });
    let events = many_events(600, 20);
    let sink = sink(client, RetryPolicy::default());
    sink.write(&events).await.unwrap();

    assert_eq!(sizes(&requests), [MAX_RECORDS_PER_REQUEST, 2, 100]);
    let sent = expected(&events);
    let requests = requests.lock().unwrap();
    assert_eq!(requests[1], vec![sent[0].clone(), sent[499].clone()]);
    assert_eq!(requests[2], sent[500..]);
    assert_eq!(sink.metrics().records_written, 600);
}

#[tokio::test]
async fn whole_call_errors_are_retried_then_the_batch_is_stored() {
    let (client, requests) = fake_kinesis(|call, records| match call {
        0 => MockResponse::Error(throttled()),
        1 => MockResponse::Error(PutRecordsError::InternalFailureException(
            InternalFailureException::builder().message("internal").build(),
        )),
        2 => http_500(),
        _ => all_stored(records),
    });
    let events = many_events(7, 2);
    let sink = sink(client, RetryPolicy::default());
    sink.write(&events).await.unwrap();

    let requests = requests.lock().unwrap();
    assert_eq!(requests.len(), 4, "three failed calls (the SDK's own retries are off), one success");
    assert!(requests.iter().all(|r| *r == expected(&events)), "each resend carries the whole pending batch");
    assert_eq!(
        sink.metrics(),
        SinkMetrics { put_records_calls: 4, records_written: 7, retries: 3, records_retried: 21, ..Default::default() }
    );
}

#[tokio::test]
async fn an_answer_that_does_not_match_the_request_resends_everything() {
    let (client, requests) = fake_kinesis(|call, records| match call {
        0 => answer(3, &[]),
        _ => all_stored(records),
    });
    let events = many_events(10, 2);
    let sink = sink(client, RetryPolicy::default());
    sink.write(&events).await.unwrap();
    assert_eq!(sizes(&requests), [10, 10]);
    assert_eq!(sink.metrics().records_written, 10, "nothing counted from the unusable answer");
}

#[tokio::test]
async fn persistent_per_record_throttling_gives_up_at_the_deadline() {
    let (client, requests) = fake_kinesis(|_, records| {
        let failed: Vec<(usize, &str)> =
            (0..records.len()).filter(|i| i % 2 == 0).map(|i| (i, "ProvisionedThroughputExceededException")).collect();
        answer(records.len(), &failed)
    });
    let events = many_events(6, 2);
    let sink = sink(client, policy(400));
    let started = Instant::now();
    let err = sink.write(&events).await.unwrap_err();
    let elapsed = started.elapsed();

    assert!(elapsed >= Duration::from_millis(390), "gave up early: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(400 + 250), "gave up late: {elapsed:?}");
    let source = err.source.as_ref().unwrap().to_string();
    assert!(source.contains("records not stored in Kinesis stream events"), "{source}");
    let calls = requests.lock().unwrap().len();
    assert!(calls >= 4, "only {calls} calls in 400 ms with a 5-50 ms backoff");
    let m = sink.metrics();
    assert_eq!(m.give_ups, 1);
    assert_eq!(m.put_records_calls, calls as u64);
    assert_eq!(m.retries, calls as u64 - 1);
    // Half are stored on the first call, then half of the rest each time.
    assert_eq!(m.records_written + m.records_not_stored, 6);
    assert!(m.records_not_stored >= 1);
}

#[tokio::test]
async fn persistent_whole_call_throttling_gives_up_at_the_deadline_and_is_counted() {
    let (client, requests) = fake_kinesis(|_, _| MockResponse::Error(throttled()));
    let events = many_events(5, 1);
    let sink = sink(client, policy(300));
    let started = Instant::now();
    let err = sink.write(&events).await.unwrap_err();
    let elapsed = started.elapsed();

    assert!(elapsed >= Duration::from_millis(290) && elapsed < Duration::from_millis(300 + 250), "{elapsed:?}");
    assert_eq!(err.message, "Kinesis did not store every event");
    let source = format!("{:?}", err.source.as_ref().unwrap());
    assert!(source.contains("ProvisionedThroughputExceededException"), "{source}");
    let calls = requests.lock().unwrap().len() as u64;
    assert!(calls >= 3);
    assert_eq!(
        sink.metrics(),
        SinkMetrics {
            put_records_calls: calls,
            records_written: 0,
            retries: calls - 1,
            records_retried: (calls - 1) * 5,
            give_ups: 1,
            records_not_stored: 5,
        }
    );
}

#[tokio::test]
async fn a_missing_stream_is_not_retried() {
    let (client, requests) = fake_kinesis(|_, _| {
        MockResponse::Error(PutRecordsError::ResourceNotFoundException(
            ResourceNotFoundException::builder().message("Stream events not found").build(),
        ))
    });
    let sink = sink(client, RetryPolicy::default());
    assert!(sink.write(&many_events(3, 1)).await.is_err());
    assert_eq!(sizes(&requests), [3]);
    assert_eq!(sink.metrics().give_ups, 1);
}

#[tokio::test]
async fn a_second_chunk_not_sent_before_the_deadline_counts_as_not_stored() {
    let (client, requests) = fake_kinesis(|_, records| answer(records.len(), &[(0, "InternalFailure")]));
    let sink = sink(client, policy(200));
    let err = sink.write(&many_events(700, 7)).await.unwrap_err();
    assert!(requests.lock().unwrap().iter().all(|r| r.len() <= MAX_RECORDS_PER_REQUEST));
    assert_eq!(requests.lock().unwrap()[0].len(), MAX_RECORDS_PER_REQUEST, "the second chunk never went");
    assert!(requests.lock().unwrap().iter().skip(1).all(|r| r.len() == 1));
    let m = sink.metrics();
    assert_eq!(m.records_written, 499);
    assert_eq!(m.records_not_stored, 201, "the failed record and the 200 never sent");
    assert!(err.source.as_ref().unwrap().to_string().starts_with("201 of 700 records not stored"));
}

/// Enlarges `event` so its record (JSON + partition key) is exactly `bytes` long.
fn sized(mut event: EnrichedEvent, bytes: usize) -> EnrichedEvent {
    let page = event.event.context.get_or_insert_with(Default::default).page.get_or_insert_with(Default::default);
    page.title = Some(String::new());
    let base = event.to_json().unwrap().len() + event.event.anonymous_id.len();
    let page = event.event.context.as_mut().unwrap().page.as_mut().unwrap();
    page.title = Some("t".repeat(bytes - base));
    assert_eq!(event.to_json().unwrap().len() + event.event.anonymous_id.len(), bytes);
    event
}

#[tokio::test]
async fn a_1_mib_record_is_sent_and_one_byte_more_fails_the_batch_before_anything_is_sent() {
    let (client, requests) = fake_kinesis(|_, records| all_stored(records));
    let sink = sink(client, RetryPolicy::default());
    let mut events = many_events(3, 1);
    events[1] = sized(events[1].clone(), MAX_RECORD_BYTES);
    sink.write(&events).await.unwrap();
    assert_eq!(sizes(&requests), [3]);

    events[1] = sized(events[1].clone(), MAX_RECORD_BYTES + 1);
    let err = sink.write(&events).await.unwrap_err();
    assert_eq!(sizes(&requests), [3], "nothing of the refused batch was sent");
    let source = err.source.as_ref().unwrap();
    let text = source.to_string();
    assert!(text.contains(&events[1].event.event_id) && text.contains("too large"), "{text}");
    let cause = std::error::Error::source(source.as_ref()).unwrap().to_string();
    assert!(cause.contains("record 1 is 1048577 bytes"), "{cause}");
    assert_eq!(sink.metrics().give_ups, 1);
    assert_eq!(sink.metrics().records_not_stored, 3);
}

#[tokio::test]
async fn partition_keys_kinesis_would_refuse_fail_the_batch_before_anything_is_sent() {
    let (client, requests) = fake_kinesis(|_, records| all_stored(records));
    let sink = sink(client, RetryPolicy::default());
    let mut events = many_events(2, 1);
    events[1].event.anonymous_id = "é".repeat(256); // 256 characters, 512 bytes: allowed
    sink.write(&events).await.unwrap();
    events[1].event.anonymous_id = "a".repeat(257);
    let err = sink.write(&events).await.unwrap_err();
    assert!(err.source.as_ref().unwrap().to_string().contains("257 characters"));
    events[1].event.anonymous_id = String::new();
    assert!(sink.write(&events).await.is_err());
    assert_eq!(sizes(&requests), [2]);
}

#[tokio::test]
async fn an_empty_batch_makes_no_call() {
    let (client, requests) = fake_kinesis(|_, records| all_stored(records));
    let sink = sink(client, RetryPolicy::default());
    sink.write(&[]).await.unwrap();
    assert!(requests.lock().unwrap().is_empty());
    assert_eq!(sink.metrics(), SinkMetrics::default());
}

#[tokio::test]
async fn an_endpoint_that_never_answers_is_cut_at_the_deadline() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let sink = sink(client_for(&endpoint), policy(500));
    let started = Instant::now();
    let err = sink.write(&many_events(2, 1)).await.unwrap_err();
    let elapsed = started.elapsed();
    silent.abort();

    assert!(elapsed >= Duration::from_millis(490) && elapsed < Duration::from_millis(500 + 250), "{elapsed:?}");
    let source = err.source.as_ref().unwrap().to_string();
    assert!(source.starts_with("2 of 2 records not stored"), "{source}");
    let last = std::error::Error::source(err.source.as_ref().unwrap().as_ref()).unwrap().to_string();
    assert!(last.contains("no answer within"), "{last}");
    assert_eq!(sink.metrics().give_ups, 1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_until_the_deadline() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let sink = sink(client_for(&format!("http://127.0.0.1:{port}")), policy(300));
    let started = Instant::now();
    let err = sink.write(&many_events(2, 1)).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(290) && elapsed < Duration::from_millis(300 + 250), "{elapsed:?}");
    assert!(sink.metrics().retries >= 2, "a dispatch failure is retryable: {:?}", sink.metrics());
    let last = std::error::Error::source(err.source.as_ref().unwrap().as_ref()).unwrap().to_string();
    assert!(last.starts_with("PutRecords failed"), "{last}");
}

#[test]
fn settings_are_checked_when_the_sink_is_built() {
    let client = || client_for("http://127.0.0.1:9");
    let build = |name: &str, policy: RetryPolicy| KinesisEventSink::new(client(), name, policy).err();
    let ok = RetryPolicy::default();
    assert_eq!(build("shopstream-events_v1.0", ok), None);
    assert_eq!(build("", ok), Some(ConfigError::StreamName(String::new())));
    assert_eq!(build("events/x", ok), Some(ConfigError::StreamName("events/x".into())));
    assert!(build(&"s".repeat(129), ok).is_some());
    assert_eq!(build("e", RetryPolicy { deadline: Duration::ZERO, ..ok }), Some(ConfigError::ZeroDeadline));
    assert_eq!(build("e", RetryPolicy { backoff_base: Duration::ZERO, ..ok }), Some(ConfigError::ZeroBackoffBase));
    let cap_below = RetryPolicy { backoff_cap: Duration::from_millis(10), ..ok };
    assert!(matches!(build("e", cap_below), Some(ConfigError::CapBelowBase { .. })));
    let sink = KinesisEventSink::new(client(), "events", ok).unwrap();
    assert_eq!((sink.stream_name(), *sink.policy()), ("events", ok));
}

/// A client whose DescribeStreamSummary says the stream is in `status`.
fn stream_in(status: aws_sdk_kinesis::types::StreamStatus) -> Client {
    use aws_sdk_kinesis::operation::describe_stream_summary::DescribeStreamSummaryOutput;
    use aws_sdk_kinesis::primitives::DateTime;
    use aws_sdk_kinesis::types::StreamDescriptionSummary;
    let summary = StreamDescriptionSummary::builder()
        .stream_name("events")
        .stream_arn("arn:aws:kinesis:us-east-1:123456789012:stream/events")
        .stream_status(status)
        .retention_period_hours(24)
        .stream_creation_timestamp(DateTime::from_secs(1_790_000_000))
        .set_enhanced_monitoring(Some(vec![]))
        .open_shard_count(2)
        .build()
        .unwrap();
    let rule = mock!(Client::describe_stream_summary).then_output(move || {
        DescribeStreamSummaryOutput::builder().stream_description_summary(summary.clone()).build()
    });
    mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, &[&rule])
}

#[tokio::test]
async fn ready_only_while_the_stream_is_active_or_updating() {
    use aws_sdk_kinesis::types::StreamStatus;
    for (status, ready) in [
        (StreamStatus::Active, true),
        (StreamStatus::Updating, true),
        (StreamStatus::Creating, false),
        (StreamStatus::Deleting, false),
    ] {
        let result = sink(stream_in(status.clone()), RetryPolicy::default()).ready().await;
        assert_eq!(result.is_ok(), ready, "{status:?}");
        if let Err(err) = result {
            let source = err.source.as_ref().unwrap().to_string();
            assert_eq!(source, format!("Kinesis stream events is {}, not ACTIVE or UPDATING", status.as_str()));
        }
    }
}
