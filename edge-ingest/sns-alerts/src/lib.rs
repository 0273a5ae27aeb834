//! `SnsAlertSink`: the AWS adapter of personalize's [`AlertSink`] port. Each [`StockAlert`] becomes
//! one message on an SNS topic, for whoever subscribes (a store's e-mail, an SQS queue, a Lambda).
//!
//! One message per alert:
//! - `Message`: the alert as JSON (`serde_json`, the [`StockAlert`] fields in declaration order);
//! - `Subject`: [`StockAlert::summary`] made into a valid SNS subject ([`subject`]: printable ASCII,
//!   no line breaks, at most [`SUBJECT_MAX_CHARS`]);
//! - message attributes `alert_id`, `kind`, `sku` and `store_id` (data type `String`), so that
//!   subscriptions can filter (for example one store's alerts only). SNS refuses an empty attribute
//!   value, so an empty field is left out rather than failing the publish.
//! - On a FIFO topic (its ARN ends with `.fifo`): `MessageGroupId` = `{store_id}:{sku}` (one SKU's
//!   alerts in one store stay in order) and `MessageDeduplicationId` = the `alert_id`, both made
//!   safe for those fields by [`fifo_id`]. A resent alert (same `alert_id`, for example after the
//!   processor crashed between publishing and committing) is then dropped by SNS within its
//!   five-minute deduplication window; on a standard topic subscribers drop it by `alert_id`.
//!
//! One alert is sent with `Publish`, more with `PublishBatch` in groups of [`MAX_BATCH_ENTRIES`].
//! A batch answer lists accepted and failed entries; an entry SNS failed through no fault of the
//! request (`SenderFault` false), or that the answer does not mention at all, is resent alone after
//! a short pause ([`RESEND_BACKOFF`], doubling), up to [`BATCH_ATTEMPTS`] sends in all. Entries
//! refused as the sender's fault (an invalid parameter) are not resent: they would fail again.
//! Whole-call failures (throttling, network, a topic that does not exist) are already retried by
//! the SDK's retry policy and end the publish at once. [`AlertSink::publish`] returns `Ok` only
//! when every alert was accepted; otherwise an [`AlertError`] names the alert ids not accepted,
//! and the caller (the processor) does not commit its batch and retries it: some alerts may then
//! be published twice, with the same `alert_id`.
//!
//! Sizes: an alert's JSON is a few hundred bytes (its strings are bounded by the event schema), far
//! under SNS's 256 KiB per message and per `PublishBatch` request.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use aws_sdk_sns::Client;
use personalize::{AlertError, AlertSink, StockAlert};

/// The most entries SNS takes in one `PublishBatch`.
pub const MAX_BATCH_ENTRIES: usize = 10;

/// The longest subject SNS accepts (in characters; subjects are ASCII, so also bytes).
pub const SUBJECT_MAX_CHARS: usize = 100;

/// The longest `MessageGroupId` / `MessageDeduplicationId` SNS accepts.
pub const FIFO_ID_MAX_CHARS: usize = 128;

/// How many times one batch entry is sent at most (the first send and the resends).
pub const BATCH_ATTEMPTS: u32 = 3;

/// The pause before the first resend of failed batch entries; doubled before each further one.
pub const RESEND_BACKOFF: Duration = Duration::from_millis(100);

/// Publishes stock alerts to one SNS topic.
#[derive(Clone, Debug)]
pub struct SnsAlertSink {
    client: Client,
    topic_arn: String,
    fifo: bool,
}

impl SnsAlertSink {
    /// A sink for the topic `topic_arn`; a FIFO topic (name ending in `.fifo`) gets message group
    /// and deduplication ids.
    pub fn new(client: Client, topic_arn: String) -> Self {
        let fifo = topic_arn.ends_with(".fifo");
        SnsAlertSink { client, topic_arn, fifo }
    }

    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// Whether the topic is a FIFO topic (by its name).
    pub fn is_fifo(&self) -> bool {
        self.fifo
    }

    async fn publish_one(&self, alert: &StockAlert) -> Result<(), AlertError> {
        let m = SnsMessage::of(alert, self.fifo)?;
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(m.message)
            .set_subject(m.subject)
            .set_message_attributes(Some(m.attributes))
            .set_message_group_id(m.group_id)
            .set_message_deduplication_id(m.deduplication_id)
            .send()
            .await
            .map_err(|e| {
                let message = format!(
                    "cannot publish alert {} to {}: {}",
                    alert.alert_id,
                    self.topic_arn,
                    DisplayErrorContext(&e)
                );
                AlertError::new(message, e)
            })?;
        Ok(())
    }
}

#[async_trait]
impl AlertSink for SnsAlertSink {
    async fn publish(&self, alerts: &[StockAlert]) -> Result<(), AlertError> {
        match alerts {
            [] => Ok(()),
            [alert] => self.publish_one(alert).await,
            _ => {
                for chunk in alerts.chunks(MAX_BATCH_ENTRIES) {
                    publish_with_resends(self, &self.topic_arn, chunk, RESEND_BACKOFF).await?;
                }
                Ok(())
            }
        }
    }
}

/// What SNS is sent for one alert.
#[derive(Debug)]
struct SnsMessage {
    message: String,
    subject: Option<String>,
    attributes: HashMap<String, MessageAttributeValue>,
    group_id: Option<String>,
    deduplication_id: Option<String>,
}

impl SnsMessage {
    fn of(alert: &StockAlert, fifo: bool) -> Result<SnsMessage, AlertError> {
        let message = serde_json::to_string(alert)
            .map_err(|e| AlertError::new(format!("cannot encode alert {}", alert.alert_id), e))?;
        let kind = match serde_json::to_value(alert.kind) {
            Ok(serde_json::Value::String(kind)) => kind,
            Ok(other) => other.to_string(),
            Err(e) => return Err(AlertError::new(format!("cannot encode alert {}", alert.alert_id), e)),
        };
        let mut attributes = HashMap::new();
        for (name, value) in [
            ("alert_id", alert.alert_id.as_str()),
            ("kind", kind.as_str()),
            ("sku", alert.sku.as_str()),
            ("store_id", alert.store_id.as_str()),
        ] {
            if value.is_empty() {
                continue; // SNS refuses empty attribute values
            }
            let value =
                MessageAttributeValue::builder().data_type("String").string_value(value).build().map_err(|e| {
                    AlertError::new(format!("cannot build attribute {name} of alert {}", alert.alert_id), e)
                })?;
            attributes.insert(name.to_string(), value);
        }
        let (group_id, deduplication_id) = if fifo {
            (Some(fifo_id(&format!("{}:{}", alert.store_id, alert.sku))), Some(fifo_id(&alert.alert_id)))
        } else {
            (None, None)
        };
        Ok(SnsMessage { message, subject: subject(&alert.summary()), attributes, group_id, deduplication_id })
    }
}

/// `text` as a valid SNS subject, or `None` when nothing printable is left (the message is then
/// sent without one). SNS subjects are printable ASCII, begin with a letter, digit or punctuation
/// and hold at most [`SUBJECT_MAX_CHARS`]: line breaks, tabs and other whitespace become spaces,
/// any other character outside printable ASCII (control characters, non-ASCII letters such as `é`)
/// becomes `?`, surrounding spaces are trimmed, and a longer text is cut to fit and ends with `...`.
pub fn subject(text: &str) -> Option<String> {
    let printable: String = text
        .chars()
        .map(|c| match c {
            ' '..='~' => c,
            c if c.is_whitespace() => ' ',
            _ => '?',
        })
        .collect();
    let printable = printable.trim();
    if printable.is_empty() {
        return None;
    }
    if printable.len() <= SUBJECT_MAX_CHARS {
        return Some(printable.to_string());
    }
    // ASCII only from here: byte offsets are character offsets.
    let cut = printable[..SUBJECT_MAX_CHARS - 3].trim_end();
    Some(format!("{cut}..."))
}

/// `id` as a FIFO `MessageDeduplicationId` or `MessageGroupId`: SNS allows 1 to
/// [`FIFO_ID_MAX_CHARS`] ASCII letters, digits and punctuation (``!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~``).
///
/// An id that already fits is used as it is (every id the processor makes, such as
/// `low_stock:web:tents-004:2`, does). Any other id (empty, too long, or holding other characters
/// such as spaces or non-ASCII letters) becomes a readable prefix, with each disallowed character
/// replaced by `_` and cut to 95 characters, then `~` and 32 hex digits of the 128-bit FNV-1a hash
/// of the whole original id: at most 128 characters, and two ids that differ only in replaced
/// characters, or only past the cut, still get different results. The hash is FNV-1a because it is
/// defined by its algorithm (the same in every build and every Rust version, unlike `std`'s
/// hasher), so a resend from a newer deployment deduplicates against the first send; it need not
/// resist attacks, the ids come from the processor.
pub fn fifo_id(id: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c.is_ascii_punctuation();
    if !id.is_empty() && id.len() <= FIFO_ID_MAX_CHARS && id.chars().all(allowed) {
        return id.to_string();
    }
    let hash = format!("{:032x}", fnv1a_128(id.as_bytes()));
    let readable: String =
        id.chars().map(|c| if allowed(c) { c } else { '_' }).take(FIFO_ID_MAX_CHARS - 1 - hash.len()).collect();
    format!("{readable}~{hash}")
}

/// 128-bit FNV-1a.
fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET_BASIS: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    bytes.iter().fold(OFFSET_BASIS, |h, b| (h ^ u128::from(*b)).wrapping_mul(PRIME))
}

/// A batch entry SNS did not accept, by its position in the batch sent.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refused {
    position: usize,
    code: String,
    message: String,
    /// SNS's `SenderFault`: the request itself was wrong; sending it again would fail again.
    sender_fault: bool,
}

/// One `PublishBatch` call (a trait so that the resend logic is tested without SNS).
#[async_trait]
trait SendBatch: Sync {
    /// Sends `alerts` (at most [`MAX_BATCH_ENTRIES`]) in one call: the entries not accepted, or
    /// the whole call's failure.
    async fn send_batch(&self, alerts: &[&StockAlert]) -> Result<Vec<Refused>, AlertError>;
}

#[async_trait]
impl SendBatch for SnsAlertSink {
    async fn send_batch(&self, alerts: &[&StockAlert]) -> Result<Vec<Refused>, AlertError> {
        let mut entries = Vec::with_capacity(alerts.len());
        for (position, alert) in alerts.iter().enumerate() {
            let m = SnsMessage::of(alert, self.fifo)?;
            let entry = PublishBatchRequestEntry::builder()
                .id(position.to_string()) // unique in the request; maps the answer back
                .message(m.message)
                .set_subject(m.subject)
                .set_message_attributes(Some(m.attributes))
                .set_message_group_id(m.group_id)
                .set_message_deduplication_id(m.deduplication_id)
                .build()
                .map_err(|e| AlertError::new(format!("cannot build the batch entry of alert {}", alert.alert_id), e))?;
            entries.push(entry);
        }
        let answer = self
            .client
            .publish_batch()
            .topic_arn(&self.topic_arn)
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await
            .map_err(|e| {
                let ids: Vec<&str> = alerts.iter().map(|a| a.alert_id.as_str()).collect();
                let message = format!(
                    "cannot publish alerts {} to {}: {}",
                    ids.join(", "),
                    self.topic_arn,
                    DisplayErrorContext(&e)
                );
                AlertError::new(message, e)
            })?;
        let position = |id: &str| id.parse::<usize>().ok().filter(|p| *p < alerts.len());
        let mut refused: Vec<Refused> = answer
            .failed()
            .iter()
            .filter_map(|f| {
                Some(Refused {
                    position: position(f.id())?,
                    code: f.code().to_string(),
                    message: f.message().unwrap_or_default().to_string(),
                    sender_fault: f.sender_fault(),
                })
            })
            .collect();
        let accepted: HashSet<usize> = answer.successful().iter().filter_map(|s| position(s.id()?)).collect();
        for p in 0..alerts.len() {
            if !accepted.contains(&p) && !refused.iter().any(|r| r.position == p) {
                refused.push(Refused {
                    position: p,
                    code: "NotInAnswer".into(),
                    message: "the PublishBatch answer lists the entry neither as successful nor as failed".into(),
                    sender_fault: false,
                });
            }
        }
        Ok(refused)
    }
}

/// Sends `chunk` (at most [`MAX_BATCH_ENTRIES`] alerts) in one batch, then resends the entries that
/// failed and may succeed later, alone, after `backoff` (doubling), for at most [`BATCH_ATTEMPTS`]
/// sends. `Ok` only when every alert was accepted.
async fn publish_with_resends(
    sender: &impl SendBatch,
    topic_arn: &str,
    chunk: &[StockAlert],
    backoff: Duration,
) -> Result<(), AlertError> {
    let mut pending: Vec<&StockAlert> = chunk.iter().collect();
    let mut not_accepted: Vec<String> = Vec::new();
    let mut attempt = 1;
    loop {
        let mut refused = sender.send_batch(&pending).await?;
        refused.sort_by_key(|r| r.position);
        refused.dedup_by_key(|r| r.position);
        let mut again = Vec::new();
        for r in refused {
            let Some(alert) = pending.get(r.position).copied() else { continue };
            if r.sender_fault || attempt >= BATCH_ATTEMPTS {
                let fault = if r.sender_fault { ", sender fault, not resent" } else { "" };
                not_accepted.push(format!("{} ({}: {}{fault})", alert.alert_id, r.code, r.message));
            } else {
                again.push(alert);
            }
        }
        if again.is_empty() {
            break;
        }
        tokio::time::sleep(backoff.saturating_mul(1 << (attempt - 1))).await;
        pending = again;
        attempt += 1;
    }
    if not_accepted.is_empty() {
        return Ok(());
    }
    Err(AlertError {
        message: format!(
            "{topic_arn} did not accept {} of {} alerts after {attempt} send(s): {}",
            not_accepted.len(),
            chunk.len(),
            not_accepted.join("; ")
        ),
        source: None,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use personalize::inventory::AlertKind;
    use personalize::Stock;

    use super::*;

    fn alert(sku: &str, store: &str) -> StockAlert {
        let stock = Stock { on_hand: 2, reorder_point: Some(5), low: true, crossings: 1, at: 1_795_341_605_000 };
        StockAlert::low_stock(sku, store, &stock, "e-1")
    }

    #[test]
    fn a_summary_becomes_a_valid_subject() {
        let a = alert("tents-004", "web");
        assert_eq!(subject(&a.summary()).unwrap(), "Low stock: tents-004 at store web has 2 units (reorder point 5)");
        assert_eq!(subject("  Café\nau lait\t\u{7}!  ").unwrap(), "Caf? au lait ?!");
        assert_eq!(subject(" \n\t "), None, "nothing printable: no subject");
        assert_eq!(subject(""), None);
        let exactly = "x".repeat(SUBJECT_MAX_CHARS);
        assert_eq!(subject(&exactly).unwrap(), exactly, "100 characters fit");
        let long = subject(&format!("Low stock: {} at store web", "é".repeat(300))).unwrap();
        assert_eq!(long.len(), SUBJECT_MAX_CHARS);
        assert!(long.starts_with("Low stock: ???") && long.ends_with("..."), "{long}");
        let long_alert = alert(&"sku-".repeat(40), "store 7");
        let s = subject(&long_alert.summary()).unwrap();
        assert!(s.len() <= SUBJECT_MAX_CHARS && s.chars().all(|c| (' '..='~').contains(&c)), "{s}");
    }

    #[test]
    fn ids_that_fit_a_fifo_field_are_kept() {
        for id in ["low_stock:web:tents-004:2", "a", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", &"x".repeat(128)] {
            assert_eq!(fifo_id(id), id);
        }
    }

    #[test]
    fn other_ids_are_replaced_and_hashed_to_fit() {
        let safe = |s: &str| {
            (1..=FIFO_ID_MAX_CHARS).contains(&s.len())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c.is_ascii_punctuation())
        };
        let spaced = fifo_id("low_stock:store 7:tents-004:1");
        assert!(spaced.starts_with("low_stock:store_7:tents-004:1~") && safe(&spaced), "{spaced}");
        assert_ne!(spaced, fifo_id("low_stock:store_7:tents-004:1"), "a replaced character does not collide");
        assert_eq!(fifo_id("low_stock:store 7:tents-004:1"), spaced, "deterministic");
        let accented = fifo_id("low_stock:web:café:1");
        assert!(accented.starts_with("low_stock:web:caf_:1~") && safe(&accented), "{accented}");
        let long = "y".repeat(129);
        let hashed = fifo_id(&long);
        assert_eq!(hashed.len(), FIFO_ID_MAX_CHARS);
        assert!(hashed.starts_with(&"y".repeat(95)) && safe(&hashed), "{hashed}");
        assert_ne!(hashed, fifo_id(&format!("{long}z")), "ids that differ past the cut differ");
        assert!(safe(&fifo_id("")), "an empty id gets one too");
        // The hash is part of a cross-deployment contract: pin it.
        assert_eq!(fnv1a_128(b""), 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d);
        assert_eq!(format!("{:032x}", fnv1a_128(b"a")), "d228cb696f1a8caf78912b704e4a8964");
    }

    #[test]
    fn a_message_carries_json_subject_attributes_and_fifo_ids() {
        let a = alert("tents-004", "web");
        let m = SnsMessage::of(&a, false).unwrap();
        assert_eq!(serde_json::from_str::<StockAlert>(&m.message).unwrap(), a);
        assert_eq!(m.subject.as_deref(), Some(a.summary().as_str()));
        let attr = |m: &SnsMessage, k: &str| m.attributes.get(k).and_then(|v| v.string_value().map(str::to_string));
        assert_eq!(attr(&m, "alert_id").as_deref(), Some("low_stock:web:tents-004:1"));
        assert_eq!(attr(&m, "kind").as_deref(), Some("low_stock"));
        assert_eq!(attr(&m, "sku").as_deref(), Some("tents-004"));
        assert_eq!(attr(&m, "store_id").as_deref(), Some("web"));
        assert!(m.attributes.values().all(|v| v.data_type() == "String"));
        assert_eq!((m.group_id, m.deduplication_id), (None, None));
        let m = SnsMessage::of(&a, true).unwrap();
        assert_eq!(m.group_id.as_deref(), Some("web:tents-004"));
        assert_eq!(m.deduplication_id.as_deref(), Some("low_stock:web:tents-004:1"));
        let empty_store = StockAlert { store_id: String::new(), kind: AlertKind::LowStock, ..a };
        assert!(!SnsMessage::of(&empty_store, false).unwrap().attributes.contains_key("store_id"));
    }

    /// A scripted answer: the alert ids refused in that call, with their sender fault, or `Err`
    /// for a failed call.
    type Answer = Result<Vec<(&'static str, bool)>, ()>;

    /// Answers each call with the next scripted answer, by alert id; records what was sent.
    struct Scripted {
        answers: Mutex<Vec<Answer>>,
        sent: Mutex<Vec<Vec<String>>>,
    }

    impl Scripted {
        fn new(answers: Vec<Answer>) -> Self {
            Scripted { answers: Mutex::new(answers), sent: Mutex::default() }
        }
    }

    #[async_trait]
    impl SendBatch for Scripted {
        async fn send_batch(&self, alerts: &[&StockAlert]) -> Result<Vec<Refused>, AlertError> {
            self.sent.lock().unwrap().push(alerts.iter().map(|a| a.alert_id.clone()).collect());
            let mut answers = self.answers.lock().unwrap();
            let answer = if answers.is_empty() { Ok(vec![]) } else { answers.remove(0) };
            let refused = answer.map_err(|()| AlertError { message: "throttled".into(), source: None })?;
            Ok(refused
                .into_iter()
                .filter_map(|(id, sender_fault)| {
                    let position = alerts.iter().position(|a| a.alert_id == id)?;
                    Some(Refused { position, code: "InternalError".into(), message: "oops".into(), sender_fault })
                })
                .collect())
        }
    }

    fn alerts(n: usize) -> Vec<StockAlert> {
        (0..n).map(|i| alert(&format!("sku-{i}"), "web")).collect()
    }

    #[tokio::test]
    async fn only_the_failed_entries_are_resent() {
        let chunk = alerts(4);
        let s = Scripted::new(vec![
            Ok(vec![("low_stock:web:sku-1:1", false), ("low_stock:web:sku-3:1", false)]),
            Ok(vec![("low_stock:web:sku-3:1", false)]),
            Ok(vec![]),
        ]);
        publish_with_resends(&s, "arn:t", &chunk, Duration::ZERO).await.unwrap();
        assert_eq!(
            *s.sent.lock().unwrap(),
            vec![
                vec![
                    "low_stock:web:sku-0:1",
                    "low_stock:web:sku-1:1",
                    "low_stock:web:sku-2:1",
                    "low_stock:web:sku-3:1"
                ],
                vec!["low_stock:web:sku-1:1", "low_stock:web:sku-3:1"],
                vec!["low_stock:web:sku-3:1"],
            ]
        );
    }

    #[tokio::test]
    async fn entries_that_keep_failing_are_an_error_naming_them() {
        let chunk = alerts(3);
        let s = Scripted::new(vec![Ok(vec![("low_stock:web:sku-2:1", false)]); 5]);
        let err = publish_with_resends(&s, "arn:t", &chunk, Duration::ZERO).await.unwrap_err();
        assert_eq!(s.sent.lock().unwrap().len(), BATCH_ATTEMPTS as usize, "bounded");
        let text = err.to_string();
        assert!(text.contains("did not accept 1 of 3 alerts after 3 send(s)"), "{text}");
        assert!(text.contains("low_stock:web:sku-2:1 (InternalError: oops)"), "{text}");
        assert!(!text.contains("sku-0") && !text.contains("sku-1"), "{text}");
    }

    #[tokio::test]
    async fn sender_faults_are_not_resent() {
        let chunk = alerts(3);
        let s = Scripted::new(vec![Ok(vec![("low_stock:web:sku-0:1", true), ("low_stock:web:sku-1:1", false)])]);
        let err = publish_with_resends(&s, "arn:t", &chunk, Duration::ZERO).await.unwrap_err();
        let sent = s.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[1], vec!["low_stock:web:sku-1:1"], "only the retryable one is resent");
        let text = err.to_string();
        assert!(text.contains("did not accept 1 of 3") && text.contains("low_stock:web:sku-0:1"), "{text}");
        assert!(text.contains("sender fault, not resent"), "{text}");
    }

    #[tokio::test]
    async fn a_failed_call_is_an_error_at_once() {
        let s = Scripted::new(vec![Err(())]);
        let err = publish_with_resends(&s, "arn:t", &alerts(2), Duration::ZERO).await.unwrap_err();
        assert!(err.to_string().contains("throttled"));
        assert_eq!(s.sent.lock().unwrap().len(), 1);
    }
}
