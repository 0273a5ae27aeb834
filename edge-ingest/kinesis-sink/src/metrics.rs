//! Counters of what the sink did, read as a snapshot (e.g. to emit CloudWatch EMF metrics).

use std::sync::atomic::{AtomicU64, Ordering};

/// What a [`crate::KinesisEventSink`] has done since it was built. Every field only grows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SinkMetrics {
    /// PutRecords calls made, first sends and resends alike.
    pub put_records_calls: u64,
    /// Records Kinesis confirmed as stored (each counted once, when its sequence number came back).
    pub records_written: u64,
    /// Resends: PutRecords calls that carried records a previous call failed to store.
    pub retries: u64,
    /// Records carried by resends (a record resent twice counts twice).
    pub records_retried: u64,
    /// Writes that returned an error (deadline reached, a permanent error, or a record that no
    /// request can carry): their batch was not acknowledged.
    pub give_ups: u64,
    /// Records that were still not stored when a write gave up.
    pub records_not_stored: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    put_records_calls: AtomicU64,
    records_written: AtomicU64,
    retries: AtomicU64,
    records_retried: AtomicU64,
    give_ups: AtomicU64,
    records_not_stored: AtomicU64,
}

fn add(counter: &AtomicU64, n: usize) {
    counter.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn call(&self, records: usize, is_retry: bool) {
        add(&self.put_records_calls, 1);
        if is_retry {
            add(&self.retries, 1);
            add(&self.records_retried, records);
        }
    }

    pub(crate) fn written(&self, records: usize) {
        add(&self.records_written, records);
    }

    pub(crate) fn gave_up(&self, records_not_stored: usize) {
        add(&self.give_ups, 1);
        add(&self.records_not_stored, records_not_stored);
    }

    pub(crate) fn snapshot(&self) -> SinkMetrics {
        SinkMetrics {
            put_records_calls: self.put_records_calls.load(Ordering::Relaxed),
            records_written: self.records_written.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            records_retried: self.records_retried.load(Ordering::Relaxed),
            give_ups: self.give_ups.load(Ordering::Relaxed),
            records_not_stored: self.records_not_stored.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_in_the_snapshot() {
        let counters = Counters::default();
        counters.call(500, false);
        counters.written(480);
        counters.call(20, true);
        counters.written(15);
        counters.call(5, true);
        counters.gave_up(5);
        assert_eq!(
            counters.snapshot(),
            SinkMetrics {
                put_records_calls: 3,
                records_written: 495,
                retries: 2,
                records_retried: 25,
                give_ups: 1,
                records_not_stored: 5,
            }
        );
    }
}
