//! The alert sink against moto's SNS, with SQS queues subscribed to the topic: what is published
//! is read back from the queues, so these tests see what a subscriber sees.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sns::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_sns::config::{BehaviorVersion, ConfigBag, Credentials, Intercept, Region};
use aws_sdk_sns::error::BoxError;
use aws_sdk_sns::operation::publish::PublishInput;
use aws_sdk_sns::operation::publish_batch::PublishBatchInput;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use ingest_sns::SnsAlertSink;
use personalize::{AlertSink, Stock, StockAlert};
use serde_json::Value;
use testkit::Moto;

/// The SNS calls a client made: ("Publish", 1) or ("PublishBatch", entries).
#[derive(Clone, Debug, Default)]
struct Calls(Arc<Mutex<Vec<(&'static str, usize)>>>);

impl Calls {
    fn take(&self) -> Vec<(&'static str, usize)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "Calls"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let call = if let Some(batch) = input.downcast_ref::<PublishBatchInput>() {
            ("PublishBatch", batch.publish_batch_request_entries().len())
        } else if input.downcast_ref::<PublishInput>().is_some() {
            ("Publish", 1)
        } else {
            return Ok(());
        };
        self.0.lock().unwrap().push(call);
        Ok(())
    }
}

fn sns() -> (aws_sdk_sns::Client, Calls) {
    let calls = Calls::default();
    let config = aws_sdk_sns::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(Moto::shared().endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .interceptor(calls.clone())
        .build();
    (aws_sdk_sns::Client::from_conf(config), calls)
}

fn sqs() -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .endpoint_url(Moto::shared().endpoint())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "static"))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

fn alert(sku: &str, store: &str, crossings: u32) -> StockAlert {
    let stock = Stock { on_hand: 3, reorder_point: Some(5), low: true, crossings, at: 1_795_341_605_000 };
    StockAlert::low_stock(sku, store, &stock, &format!("e-{sku}-{crossings}"))
}

async fn topic(sns: &aws_sdk_sns::Client, fifo: bool) -> String {
    let mut create = sns.create_topic();
    if fifo {
        create = create
            .name(format!("{}.fifo", testkit::unique("alerts")))
            .attributes("FifoTopic", "true")
            .attributes("ContentBasedDeduplication", "false");
    } else {
        create = create.name(testkit::unique("alerts"));
    }
    create.send().await.unwrap().topic_arn().unwrap().to_string()
}

/// A queue subscribed to `topic_arn`; returns its URL.
async fn subscribed_queue(sns: &aws_sdk_sns::Client, sqs: &aws_sdk_sqs::Client, topic_arn: &str, raw: bool) -> String {
    let fifo = topic_arn.ends_with(".fifo");
    let mut create = sqs.create_queue();
    if fifo {
        create = create
            .queue_name(format!("{}.fifo", testkit::unique("alert-queue")))
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::ContentBasedDeduplication, "false");
    } else {
        create = create.queue_name(testkit::unique("alert-queue"));
    }
    let url = create.send().await.unwrap().queue_url().unwrap().to_string();
    let attributes =
        sqs.get_queue_attributes().queue_url(&url).attribute_names(QueueAttributeName::QueueArn).send().await.unwrap();
    let queue_arn = attributes.attributes().unwrap()[&QueueAttributeName::QueueArn].clone();
    sns.subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .attributes("RawMessageDelivery", if raw { "true" } else { "false" })
        .send()
        .await
        .unwrap();
    url
}

/// Receives until `expected` messages came (or 15 s passed), then checks that nothing more comes.
async fn receive(sqs: &aws_sdk_sqs::Client, url: &str, expected: usize) -> Vec<aws_sdk_sqs::types::Message> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while got.len() < expected && Instant::now() < deadline {
        got.extend(receive_once(sqs, url).await);
    }
    assert_eq!(got.len(), expected, "messages received from {url}");
    let more = receive_once(sqs, url).await;
    assert!(more.is_empty(), "{} more message(s) than expected: {more:?}", more.len());
    got
}

async fn receive_once(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    sqs.receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .visibility_timeout(300)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap()
        .messages()
        .to_vec()
}

/// The alerts by id, asserting each id came once.
fn by_id(alerts: impl IntoIterator<Item = StockAlert>) -> HashMap<String, StockAlert> {
    let mut map = HashMap::new();
    for a in alerts {
        let id = a.alert_id.clone();
        assert!(map.insert(id.clone(), a).is_none(), "{id} arrived twice");
    }
    map
}

/// Checks an SNS envelope (delivery that is not raw) against the alert it carries; returns the alert.
fn check_envelope(body: &str, topic_arn: &str, sent: &HashMap<String, StockAlert>) -> StockAlert {
    let envelope: Value = serde_json::from_str(body).unwrap();
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["TopicArn"], topic_arn);
    let message = envelope["Message"].as_str().unwrap();
    let alert: StockAlert = serde_json::from_str(message).unwrap();
    let expected = &sent[&alert.alert_id];
    assert_eq!(message, serde_json::to_string(expected).unwrap(), "the exact JSON");
    assert_eq!(&alert, expected);
    assert_eq!(envelope["Subject"], expected.summary());
    let attributes = &envelope["MessageAttributes"];
    for (name, value) in [
        ("alert_id", expected.alert_id.as_str()),
        ("kind", "low_stock"),
        ("sku", expected.sku.as_str()),
        ("store_id", expected.store_id.as_str()),
    ] {
        assert_eq!(attributes[name]["Type"], "String", "{name}");
        assert_eq!(attributes[name]["Value"], value, "{name}");
    }
    alert
}

/// Checks a raw delivery (the SNS message as the SQS body, attributes as SQS attributes).
fn check_raw(m: &aws_sdk_sqs::types::Message, sent: &HashMap<String, StockAlert>) -> StockAlert {
    let body = m.body().unwrap();
    let alert: StockAlert = serde_json::from_str(body).unwrap();
    let expected = &sent[&alert.alert_id];
    assert_eq!(body, serde_json::to_string(expected).unwrap(), "the exact JSON");
    let attributes = m.message_attributes().unwrap();
    for (name, value) in [
        ("alert_id", expected.alert_id.as_str()),
        ("kind", "low_stock"),
        ("sku", expected.sku.as_str()),
        ("store_id", expected.store_id.as_str()),
    ] {
        assert_eq!(attributes[name].data_type(), "String", "{name}");
        assert_eq!(attributes[name].string_value(), Some(value), "{name}");
    }
    alert
}

#[tokio::test]
async fn published_alerts_arrive_once_each_with_subject_and_attributes() {
    let (sns, calls) = sns();
    let sqs = sqs();
    let topic_arn = topic(&sns, false).await;
    let enveloped = subscribed_queue(&sns, &sqs, &topic_arn, false).await;
    let raw = subscribed_queue(&sns, &sqs, &topic_arn, true).await;
    let sink = SnsAlertSink::new(sns.clone(), topic_arn.clone());
    assert!(!sink.is_fifo());

    let one = vec![alert("tents-004", "web", 1)];
    sink.publish(&one).await.unwrap();
    assert_eq!(calls.take(), vec![("Publish", 1)]);
    let twelve: Vec<StockAlert> = (0..12).map(|i| alert(&format!("shoes-{i:03}"), "store-7", 2)).collect();
    sink.publish(&twelve).await.unwrap();
    assert_eq!(calls.take(), vec![("PublishBatch", 10), ("PublishBatch", 2)], "10 entries per call at most");
    sink.publish(&[]).await.unwrap();
    assert_eq!(calls.take(), vec![], "nothing to send, no call");

    let sent = by_id(one.iter().chain(&twelve).cloned());
    let got = receive(&sqs, &enveloped, 13).await;
    let arrived = by_id(got.iter().map(|m| check_envelope(m.body().unwrap(), &topic_arn, &sent)));
    assert_eq!(arrived, sent);
    let got = receive(&sqs, &raw, 13).await;
    let arrived = by_id(got.iter().map(|m| check_raw(m, &sent)));
    assert_eq!(arrived, sent);
}

#[tokio::test]
async fn a_fifo_topic_gets_group_and_deduplication_ids() {
    let (sns, calls) = sns();
    let sqs = sqs();
    let topic_arn = topic(&sns, true).await;
    let queue = subscribed_queue(&sns, &sqs, &topic_arn, true).await;
    let sink = SnsAlertSink::new(sns.clone(), topic_arn.clone());
    assert!(sink.is_fifo());

    let first = alert("tents-004", "web", 1);
    sink.publish(std::slice::from_ref(&first)).await.unwrap();
    // The same alert again (a resend after a crash) among 11 new ones, one from a store whose id
    // has a space (its group id is made safe).
    let mut batch = vec![first.clone()];
    batch.extend((0..10).map(|i| alert(&format!("shoes-{i:03}"), "web", 1)));
    batch.push(alert("hats-001", "store 7", 1));
    sink.publish(&batch).await.unwrap();
    assert_eq!(calls.take(), vec![("Publish", 1), ("PublishBatch", 10), ("PublishBatch", 2)]);

    let sent = by_id(batch.iter().cloned());
    let got = receive(&sqs, &queue, 12).await;
    let mut arrived = Vec::new();
    for m in &got {
        let alert = check_raw(m, &sent);
        let system = m.attributes().unwrap();
        assert_eq!(
            system[&MessageSystemAttributeName::MessageGroupId],
            ingest_sns::fifo_id(&format!("{}:{}", alert.store_id, alert.sku))
        );
        assert_eq!(system[&MessageSystemAttributeName::MessageDeduplicationId], ingest_sns::fifo_id(&alert.alert_id));
        arrived.push(alert);
    }
    assert_eq!(by_id(arrived), sent, "the resent alert was dropped as a duplicate");
    let spaced = got.iter().find(|m| m.body().unwrap().contains("store 7")).unwrap();
    let group = &spaced.attributes().unwrap()[&MessageSystemAttributeName::MessageGroupId];
    assert!(group.starts_with("store_7:hats-001~"), "{group}");
}

#[tokio::test]
async fn a_missing_topic_is_an_alert_error() {
    let (sns, _) = sns();
    let missing = format!("arn:aws:sns:us-east-1:123456789012:{}", testkit::unique("no-such-topic"));
    let sink = SnsAlertSink::new(sns, missing.clone());
    let err = sink.publish(&[alert("tents-004", "web", 1)]).await.unwrap_err();
    assert!(err.to_string().contains(&missing), "{err}");
    let many: Vec<StockAlert> = (0..3).map(|i| alert(&format!("sku-{i}"), "web", 1)).collect();
    let err = sink.publish(&many).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&missing) && text.contains("low_stock:web:sku-2:1"), "{text}");
}

#[tokio::test]
async fn an_entry_the_topic_refuses_fails_the_publish_and_is_named() {
    let (sns, calls) = sns();
    let sqs = sqs();
    let topic_arn = topic(&sns, false).await;
    let queue = subscribed_queue(&sns, &sqs, &topic_arn, true).await;
    let sink = SnsAlertSink::new(sns, topic_arn);
    // A message over SNS's 256 KiB: moto fails that one entry (a sender fault) and takes the others.
    let too_big = alert(&"x".repeat(270_000), "web", 1);
    let alerts = vec![alert("tents-004", "web", 1), too_big.clone(), alert("tents-005", "web", 1)];
    let err = sink.publish(&alerts).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("did not accept 1 of 3 alerts"), "{}", &text[..text.len().min(500)]);
    assert!(text.contains(&too_big.alert_id) && text.contains("sender fault, not resent"));
    assert_eq!(calls.take(), vec![("PublishBatch", 3)], "a sender fault is not resent");
    let got = receive(&sqs, &queue, 2).await;
    let sent = by_id([alerts[0].clone(), alerts[2].clone()]);
    assert_eq!(by_id(got.iter().map(|m| check_raw(m, &sent))), sent);
}
