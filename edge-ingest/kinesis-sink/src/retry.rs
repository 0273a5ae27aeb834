//! How long a write may keep trying, and how long it waits between tries.

use std::time::Duration;

/// Default time budget of one `write`, from its start to its last answer: 3 s.
///
/// The ingest Lambda answers an HTTP request, so the budget must leave room inside the function's
/// timeout (and API Gateway's 29 s integration limit) for validation, the answer and a cold
/// start. 3 s covers several seconds of Kinesis per-shard throughput windows (a shard's write
/// quota refills every second) while keeping a shopper's request short; past it the edge answers
/// 503 + `Retry-After` and the tracker resends the whole batch later.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(3);
/// Backoff before the first resend is drawn from `[0, BACKOFF_BASE]`; it doubles per resend.
pub const BACKOFF_BASE: Duration = Duration::from_millis(50);
/// Backoff never exceeds this: one second is the length of Kinesis' per-shard quota window.
pub const BACKOFF_CAP: Duration = Duration::from_secs(1);

/// The deadline and backoff of a [`crate::KinesisEventSink`]. `Default` is [`DEFAULT_DEADLINE`],
/// [`BACKOFF_BASE`] and [`BACKOFF_CAP`]; [`crate::KinesisEventSink::new`] refuses a zero deadline
/// or base and a cap below the base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Budget of one `write`: every PutRecords call and every wait between them.
    pub deadline: Duration,
    /// Ceiling of the first backoff.
    pub backoff_base: Duration,
    /// Largest backoff ceiling.
    pub backoff_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { deadline: DEFAULT_DEADLINE, backoff_base: BACKOFF_BASE, backoff_cap: BACKOFF_CAP }
    }
}

impl RetryPolicy {
    /// The default backoff with another deadline.
    pub fn with_deadline(deadline: Duration) -> Self {
        RetryPolicy { deadline, ..RetryPolicy::default() }
    }

    /// The largest wait before resend number `retry` (0 for the first resend):
    /// `min(cap, base * 2^retry)`.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(31));
        self.backoff_base.saturating_mul(factor).min(self.backoff_cap)
    }

    /// The wait before resend number `retry`, with full jitter: uniform in
    /// `[0, backoff_ceiling(retry)]`, so writers throttled together do not retry together.
    pub fn backoff(&self, retry: u32, rng: &mut fastrand::Rng) -> Duration {
        let ceiling = self.backoff_ceiling(retry).as_micros();
        let ceiling = u64::try_from(ceiling).unwrap_or(u64::MAX);
        Duration::from_micros(rng.u64(0..=ceiling))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_3_s_with_a_50_ms_base_and_a_1_s_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.deadline, Duration::from_secs(3));
        assert_eq!(policy.backoff_base, Duration::from_millis(50));
        assert_eq!(policy.backoff_cap, Duration::from_secs(1));
        assert_eq!(RetryPolicy::with_deadline(Duration::from_millis(700)).deadline, Duration::from_millis(700));
        assert_eq!(RetryPolicy::with_deadline(Duration::from_millis(700)).backoff_cap, BACKOFF_CAP);
    }

    #[test]
    fn the_ceiling_doubles_from_the_base_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let ceilings: Vec<u128> = (0..8).map(|n| policy.backoff_ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [50, 100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(policy.backoff_ceiling(u32::MAX), BACKOFF_CAP, "no overflow on a huge retry count");
    }

    #[test]
    fn full_jitter_spreads_over_the_whole_range_and_never_above_the_ceiling() {
        let policy = RetryPolicy::default();
        let mut rng = fastrand::Rng::with_seed(42);
        for retry in [0, 3, 9] {
            let ceiling = policy.backoff_ceiling(retry);
            let samples: Vec<Duration> = (0..2000).map(|_| policy.backoff(retry, &mut rng)).collect();
            assert!(samples.iter().all(|d| *d <= ceiling), "over the ceiling at retry {retry}");
            assert!(samples.iter().any(|d| *d < ceiling / 10), "no short waits at retry {retry}: not full jitter");
            assert!(samples.iter().any(|d| *d > ceiling * 9 / 10), "no long waits at retry {retry}");
        }
    }
}
