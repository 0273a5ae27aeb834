//! How often a call is retried after throttling or a transient failure, and how long it waits.

use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// Retries after the first try of a call (or BatchGetItem round with unprocessed keys).
pub const MAX_RETRIES: u32 = 6;
/// The first backoff is drawn from `[0, BACKOFF_BASE]`; the ceiling doubles per retry.
pub const BACKOFF_BASE: Duration = Duration::from_millis(50);
/// Backoff ceilings stop growing here (with the defaults, at most 3.15 s of waits per call).
pub const BACKOFF_CAP: Duration = Duration::from_secs(2);

/// Retries of a [`crate::DynamoStateStore`]'s calls. This crate is the only retry layer: the SDK's
/// own retries are off for its calls, so every retry is logged and bounded here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: MAX_RETRIES, backoff_base: BACKOFF_BASE, backoff_cap: BACKOFF_CAP }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first), with full jitter: uniform in
    /// `[0, min(cap, base * 2^retry)]`, so writers throttled together do not retry together.
    pub fn backoff(&self, retry: u32, rng: &mut fastrand::Rng) -> Duration {
        let ceiling = self.backoff_base.saturating_mul(2u32.saturating_pow(retry.min(31))).min(self.backoff_cap);
        Duration::from_micros(rng.u64(0..=u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX)))
    }
}

/// Error codes worth retrying: throttling, and failures on DynamoDB's side.
const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
];

/// Whether trying the same call again may succeed: throttled, a 5xx, a timeout or a connection
/// that failed. Missing tables, access denied and invalid requests are not.
pub fn is_transient<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            service.err().code().is_some_and(|code| TRANSIENT_CODES.contains(&code))
                || service.raw().status().is_server_error()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_has_full_jitter_under_a_doubling_capped_ceiling() {
        let policy = RetryPolicy::default();
        let mut rng = fastrand::Rng::with_seed(7);
        for (retry, ceiling_ms) in [(0, 50), (3, 400), (6, 2000), (40, 2000)] {
            let samples: Vec<Duration> = (0..1000).map(|_| policy.backoff(retry, &mut rng)).collect();
            let ceiling = Duration::from_millis(ceiling_ms);
            assert!(samples.iter().all(|d| *d <= ceiling), "retry {retry}");
            assert!(samples.iter().any(|d| *d < ceiling / 10) && samples.iter().any(|d| *d > ceiling * 9 / 10));
        }
    }
}
