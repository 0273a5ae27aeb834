//! `SqliteStateStore` passes the StateStore contract, and its commits survive a reopen.

use personalize::contract::{now, unique};
use personalize::model::{Key, Profile, Value};
use personalize::store::{Commit, StateStore};
use sqlite_store::SqliteStateStore;

fn dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique("shopstream-state"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

personalize::state_store_contract!(sqlite_store::SqliteStateStore::open(&super::dir()).unwrap());

#[tokio::test]
async fn a_commit_is_on_disk_when_it_returns_and_old_markers_are_purged() {
    let dir = dir();
    let key = Key::User(unique("u"));
    let commit = Commit {
        records: vec![(key.clone(), 0, Value::Profile(Profile { cart: vec!["a".into()], ..Profile::default() }))],
        applied: vec!["e-old".into()],
        applied_at: now() - personalize::store::APPLIED_TTL_MS - 1,
        checkpoint: Some(("local".into(), 5)),
    };
    SqliteStateStore::open(&dir).unwrap().commit(commit).await.unwrap();
    let reopened = SqliteStateStore::open(&dir).unwrap();
    assert_eq!(reopened.load(std::slice::from_ref(&key)).await.unwrap()[&key].version, 1);
    assert_eq!(reopened.checkpoint("local").await.unwrap(), Some(5));
    assert!(reopened.applied(&["e-old".into()]).await.unwrap().is_empty(), "past its TTL");
    assert_eq!(reopened.purge_applied(now()).unwrap(), 1);
}

/// A load (a recommendation request) does not wait behind a commit that is waiting for the disk
/// or a lock: here another connection holds the write lock, so the commit waits in its busy handler.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_do_not_wait_for_a_commit_in_progress() {
    let dir = dir();
    let store = SqliteStateStore::open(&dir).unwrap();
    let key = Key::User(unique("u"));
    let first = Commit {
        records: vec![(key.clone(), 0, Value::Profile(Profile::default()))],
        applied: vec![],
        applied_at: now(),
        checkpoint: None,
    };
    store.commit(first).await.unwrap();
    let other = rusqlite::Connection::open(dir.join(sqlite_store::state::STATE_FILE)).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let pending = tokio::spawn({
        let store = store.clone();
        let commit = Commit {
            records: vec![(key.clone(), 1, Value::Profile(Profile { cart: vec!["a".into()], ..Profile::default() }))],
            applied: vec![],
            applied_at: now(),
            checkpoint: None,
        };
        async move { store.commit(commit).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    assert_eq!(store.load(std::slice::from_ref(&key)).await.unwrap()[&key].version, 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "the load waited {:?}", started.elapsed());
    assert!(!pending.is_finished(), "the commit was still waiting for the write lock");
    other.execute_batch("COMMIT").unwrap();
    pending.await.unwrap().unwrap();
    assert_eq!(store.load(std::slice::from_ref(&key)).await.unwrap()[&key].version, 2);
}
