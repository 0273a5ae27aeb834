//! What can go wrong, kept as typed sources of the port's `StoreError`.

use crate::codec::{MAX_ITEM_BYTES, MAX_TRANSACTION_BYTES};

type Source = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum DynamoStoreError {
    /// A call failed for good, or was still failing after the retries.
    #[error("{operation} on table {table} failed after {attempts} attempt(s)")]
    Call {
        operation: &'static str,
        table: String,
        attempts: u32,
        #[source]
        source: Source,
    },
    #[error("BatchGetItem on table {table} left {keys} keys unprocessed after {attempts} attempts")]
    Unprocessed { table: String, keys: usize, attempts: u32 },
    #[error("record {key} would be a {bytes}-byte item, over DynamoDB's {MAX_ITEM_BYTES}")]
    ItemTooLarge { key: String, bytes: usize },
    #[error("a commit of {bytes} bytes is over DynamoDB's {MAX_TRANSACTION_BYTES} per transaction")]
    TransactionTooLarge { bytes: usize },
    #[error("record {key} cannot be encoded")]
    Encode {
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot build the {what} request")]
    Build {
        what: &'static str,
        #[source]
        source: Source,
    },
    #[error("cannot set up table {table}: {step}")]
    Setup {
        table: String,
        step: &'static str,
        #[source]
        source: Option<Source>,
    },
}
