//! The port the processor and the recommendations API use: `StateStore` (DynamoDB in AWS, SQLite
//! locally, memory in tests and the offline evaluation).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::model::{Key, Value, Versioned};

/// How long an applied event's id is remembered, to make a redelivery a no-op. Kinesis keeps
/// records 24 h by default (up to 365 days); the tracker retries for minutes.
pub const APPLIED_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// One atomic write: every record only if it is still at the version it was read at, and every
/// event id marked applied only if it was not already. All or nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Commit {
    /// (key, version read (0: absent), new value). The stored version becomes `read + 1`.
    pub records: Vec<(Key, u64, Value)>,
    /// Event ids applied by this commit, and when (the TTL counts from it).
    pub applied: Vec<String>,
    pub applied_at: i64,
    /// A consumer's position, written in the same transaction (the local tailing task).
    pub checkpoint: Option<(String, i64)>,
}

impl Commit {
    /// Items the commit writes (records and markers), for stores that bound a transaction.
    pub fn writes(&self) -> usize {
        self.records.len() + self.applied.len() + usize::from(self.checkpoint.is_some())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A record changed since it was read, or an event was applied meanwhile: reload and redo.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("state store unavailable: {message}")]
    Unavailable {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("a stored record is unreadable: {0}")]
    Corrupt(String),
    /// The commit is over the store's size limit (DynamoDB: 4 MB per transaction); nothing was
    /// written. The processor splits the group and commits the halves.
    #[error("commit too large: {0}")]
    TooLarge(String),
}

impl StoreError {
    pub fn unavailable(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Unavailable { message: message.into(), source: Some(Box::new(source)) }
    }
}

#[async_trait]
pub trait StateStore: Send + Sync + 'static {
    /// The records that exist among `keys`, with their versions (point reads, never a scan).
    async fn load(&self, keys: &[Key]) -> Result<HashMap<Key, Versioned>, StoreError>;
    /// Which of `event_ids` were applied (within [`APPLIED_TTL_MS`]).
    async fn applied(&self, event_ids: &[String]) -> Result<HashSet<String>, StoreError>;
    /// Writes `commit` atomically, or nothing ([`StoreError::Conflict`] when a version or marker check fails).
    async fn commit(&self, commit: Commit) -> Result<(), StoreError>;
    /// The most writes (records + markers + checkpoint) one commit may hold.
    fn max_commit_writes(&self) -> usize;
    /// A consumer's last checkpoint.
    async fn checkpoint(&self, consumer: &str) -> Result<Option<i64>, StoreError>;
}

/// A store in memory: tests, benchmarks and the offline evaluation.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<MemoryInner>,
    max_writes: Option<usize>,
    max_bytes: Option<usize>,
}

#[derive(Default)]
struct MemoryInner {
    records: HashMap<Key, Versioned>,
    applied: HashMap<String, i64>,
    checkpoints: HashMap<String, i64>,
    commits: u64,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// Bounds a commit's writes, as DynamoDB's transactions are bounded.
    pub fn with_max_commit_writes(max: usize) -> Self {
        MemoryStore { max_writes: Some(max), ..MemoryStore::default() }
    }

    /// Bounds a commit's size (its records' JSON), as DynamoDB bounds a transaction's bytes.
    pub fn with_max_commit_bytes(mut self, max: usize) -> Self {
        self.max_bytes = Some(max);
        self
    }

    /// Commits written so far.
    pub fn commits(&self) -> u64 {
        self.lock().commits
    }

    /// Every record (for tests and the evaluation).
    pub fn snapshot(&self) -> HashMap<Key, Versioned> {
        self.lock().records.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl StateStore for MemoryStore {
    async fn load(&self, keys: &[Key]) -> Result<HashMap<Key, Versioned>, StoreError> {
        let inner = self.lock();
        Ok(keys.iter().filter_map(|k| inner.records.get(k).map(|v| (k.clone(), v.clone()))).collect())
    }

    async fn applied(&self, event_ids: &[String]) -> Result<HashSet<String>, StoreError> {
        let inner = self.lock();
        Ok(event_ids.iter().filter(|id| inner.applied.contains_key(*id)).cloned().collect())
    }

    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        if commit.writes() > self.max_commit_writes() {
            return Err(StoreError::Corrupt(format!("a commit of {} writes", commit.writes())));
        }
        if let Some(max) = self.max_bytes {
            let bytes: usize =
                commit.records.iter().map(|(_, _, v)| serde_json::to_vec(v).map_or(usize::MAX, |j| j.len())).sum();
            if bytes > max {
                return Err(StoreError::TooLarge(format!("a commit of {bytes} bytes, over {max}")));
            }
        }
        let mut inner = self.lock();
        for (key, read, _) in &commit.records {
            let current = inner.records.get(key).map_or(0, |v| v.version);
            if current != *read {
                return Err(StoreError::Conflict(format!("{} is at version {current}, not {read}", key.to_storage())));
            }
        }
        if let Some(id) = commit.applied.iter().find(|id| inner.applied.contains_key(*id)) {
            return Err(StoreError::Conflict(format!("event {id} was applied meanwhile")));
        }
        for (key, read, value) in commit.records {
            inner.records.insert(key, Versioned { version: read + 1, value });
        }
        for id in commit.applied {
            inner.applied.insert(id, commit.applied_at);
        }
        if let Some((consumer, position)) = commit.checkpoint {
            inner.checkpoints.insert(consumer, position);
        }
        inner.commits += 1;
        Ok(())
    }

    fn max_commit_writes(&self) -> usize {
        self.max_writes.unwrap_or(usize::MAX)
    }

    async fn checkpoint(&self, consumer: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.lock().checkpoints.get(consumer).copied())
    }
}
