//! The processor and the recommender on the memory store (the adapters run the contract suite).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use event_schema::Timestamp;
use ingest_domain::{FixedClock, RejectedEventSink, RejectedRecord, SinkError};
use personalize::contract::{event, record, unique, T0};
use personalize::model::{Key, Value, MAX_ITEMS_PER_EVENT};
use personalize::store::{Commit, StoreError};
use personalize::{InputRecord, MemoryStore, Placement, Processor, RecRequest, Recommender, StateStore, Strategy};
use serde_json::json;

personalize::state_store_contract!(personalize::MemoryStore::with_max_commit_writes(100));

#[derive(Default)]
struct Quarantine(Mutex<Vec<RejectedRecord>>);

#[async_trait]
impl RejectedEventSink for Quarantine {
    async fn write_rejected(&self, records: &[RejectedRecord]) -> Result<(), SinkError> {
        self.0.lock().unwrap().extend_from_slice(records);
        Ok(())
    }
}

fn view(anon: &str, session: &str, s: i64, sku: &str, category: &str) -> serde_json::Value {
    event("product_view", anon, session, s, json!({"sku": sku, "category": category, "name": format!("Item {sku}")}))
}

fn cart(anon: &str, session: &str, s: i64, sku: &str) -> serde_json::Value {
    event("add_to_cart", anon, session, s, json!({"sku": sku}))
}

fn purchase(anon: &str, session: &str, s: i64, skus: &[&str]) -> serde_json::Value {
    let items: Vec<_> = skus.iter().map(|sku| json!({"sku": sku, "quantity": 1, "price": 10.0})).collect();
    event(
        "purchase",
        anon,
        session,
        s,
        json!({"order_id": unique("o"), "revenue": 10.0 * skus.len() as f64, "currency": "EUR", "items": items}),
    )
}

fn records(events: &[serde_json::Value]) -> Vec<InputRecord> {
    events.iter().enumerate().map(|(i, e)| record(i as i64, e)).collect()
}

fn recommender(store: &Arc<MemoryStore>, seconds: i64) -> Recommender {
    Recommender::new(store.clone(), Arc::new(FixedClock(Timestamp(T0 + seconds * 1000))))
}

fn req(placement: Placement, anon: Option<&str>, sku: Option<&str>) -> RecRequest {
    RecRequest {
        placement,
        anonymous_id: anon.map(String::from),
        user_id: None,
        sku: sku.map(String::from),
        limit: 5,
        strategy: None,
    }
}

fn skus(r: &personalize::Recommendations) -> Vec<&str> {
    r.items.iter().map(|i| i.sku.as_str()).collect()
}

#[tokio::test]
async fn bought_together_comes_from_orders_and_cosine_keeps_the_popular_item_from_dominating() {
    let store = Arc::new(MemoryStore::new());
    let processor = Processor::new(store.clone());
    let mut events = Vec::new();
    // "milk" is in every order; "pasta" and "sauce" go together.
    for i in 0..6 {
        let shopper = format!("shopper-{i}");
        events.push(purchase(&shopper, "s", i, if i < 3 { &["pasta", "sauce", "milk"] } else { &["milk", "bread"] }));
    }
    for i in 6..20 {
        events.push(purchase(&format!("shopper-{i}"), "s", i, &["milk", &format!("other-{i}")]));
    }
    let outcome = processor.process(&records(&events), None).await;
    assert_eq!((outcome.applied, outcome.failed_from, outcome.bad), (20, None, 0), "{outcome:?}");
    let answer = recommender(&store, 30).recommend(&req(Placement::Product, None, Some("pasta"))).await.unwrap();
    assert_eq!(answer.strategy, Strategy::BoughtTogether);
    assert_eq!(skus(&answer)[..2], ["sauce", "milk"], "sauce is specific to pasta, milk is everywhere");
    assert!(answer.items[0].score > answer.items[1].score);
    assert!(!skus(&answer).contains(&"pasta"), "never the item itself");
}

#[tokio::test]
async fn co_views_count_once_per_session_and_home_follows_recent_views() {
    let store = Arc::new(MemoryStore::new());
    let processor = Processor::new(store.clone());
    let mut events = Vec::new();
    for i in 0..4 {
        let s = format!("session-{i}");
        events.push(view("other", &s, i * 10, "tent", "camping"));
        events.push(view("other", &s, i * 10 + 1, "stove", "camping"));
        events.push(view("other", &s, i * 10 + 2, "tent", "camping")); // a re-view: no new pair
    }
    processor.process(&records(&events), None).await;
    let snapshot = store.snapshot();
    let Value::Item(tent) = &snapshot[&Key::Item("tent".into())].value else { panic!() };
    assert_eq!(tent.co_view["stove"].count.value.round(), 4.0, "one pair per session, decayed a little");

    // A new shopper views the tent: home recommends the stove, which they have not seen.
    let me = unique("me");
    processor.process(&records(&[view(&me, "s1", 100, "tent", "camping")]), None).await;
    let answer = recommender(&store, 101).recommend(&req(Placement::Home, Some(&me), None)).await.unwrap();
    assert_eq!(answer.strategy, Strategy::Personalized);
    assert_eq!(skus(&answer)[0], "stove");
    assert_eq!(answer.items[0].info.name.as_deref(), Some("Item stove"), "display fields come along");
    assert!(answer.recommendation_id.len() == 36);
}

/// A clock the test moves.
struct TestClock(std::sync::atomic::AtomicI64);

impl ingest_domain::Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

#[tokio::test]
async fn the_item_cache_serves_an_item_for_its_time_to_live_and_profiles_are_always_read_fresh() {
    let store = Arc::new(MemoryStore::new());
    let processor = Processor::new(store.clone());
    let orders: Vec<_> = (0..3).map(|i| purchase(&format!("p{i}"), "s", i, &["phone", "case"])).collect();
    processor.process(&records(&orders), None).await;
    let clock = Arc::new(TestClock(std::sync::atomic::AtomicI64::new(T0 + 20_000)));
    let r = Recommender::new(store.clone(), clock.clone()).with_item_cache(std::time::Duration::from_millis(500));
    let product = req(Placement::Product, None, Some("phone"));
    assert_eq!(skus(&r.recommend(&product).await.unwrap())[0], "case");

    // Others now buy the phone with a charger more often: within the time to live the cached phone
    // is served, then the fresh one.
    let more: Vec<_> = (3..9).map(|i| purchase(&format!("p{i}"), "s", i, &["phone", "charger"])).collect();
    processor.process(&records(&more), None).await;
    assert_eq!(skus(&r.recommend(&product).await.unwrap())[0], "case", "cached");
    clock.0.fetch_add(499, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(skus(&r.recommend(&product).await.unwrap())[0], "case", "still cached");
    clock.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(skus(&r.recommend(&product).await.unwrap())[0], "charger", "read again after 500 ms");
    assert_eq!(skus(&recommender(&store, 20).recommend(&product).await.unwrap())[0], "charger", "uncached");

    // A shopper's own click shows at once, cache or not: the profile is read every time.
    let me = unique("me");
    let mine = req(Placement::Cart, Some(&me), None);
    assert_eq!(r.recommend(&mine).await.unwrap().strategy, Strategy::Trending);
    processor.process(&records(&[cart(&me, "s", 10, "phone")]), None).await;
    let answer = r.recommend(&mine).await.unwrap();
    assert_eq!(answer.strategy, Strategy::CartComplements);
    assert!(!skus(&answer).contains(&"phone"));
}

#[tokio::test]
async fn cart_complements_exclude_the_cart_and_purchases_clear_it() {
    let store = Arc::new(MemoryStore::new());
    let processor = Processor::new(store.clone());
    let mut events = Vec::new();
    for i in 0..3 {
        events.push(purchase(&format!("p{i}"), "s", i, &["phone", "case", "charger"]));
    }
    let me = unique("me");
    events.push(cart(&me, "s1", 10, "phone"));
    processor.process(&records(&events), None).await;
    let r = recommender(&store, 11);
    let answer = r.recommend(&req(Placement::Cart, Some(&me), None)).await.unwrap();
    assert_eq!(answer.strategy, Strategy::CartComplements);
    assert_eq!(
        skus(&answer)[..2].iter().copied().collect::<std::collections::BTreeSet<_>>(),
        ["case", "charger"].into()
    );
    assert!(!skus(&answer).contains(&"phone"));

    processor.process(&records(&[purchase(&me, "s1", 12, &["phone"])]), None).await;
    let Value::Profile(p) = &store.snapshot()[&Key::Anonymous(me.clone())].value else { panic!() };
    assert!(p.cart.is_empty(), "the order emptied the cart");
    assert_eq!(p.purchased, ["phone"]);
    // Home no longer offers what was bought.
    let home = r.recommend(&req(Placement::Home, Some(&me), None)).await.unwrap();
    assert!(!skus(&home).contains(&"phone"), "{:?}", skus(&home));
}

#[tokio::test]
async fn without_any_signal_trending_serves_and_unknown_shoppers_or_items_are_not_errors() {
    let store = Arc::new(MemoryStore::new());
    let processor = Processor::new(store.clone());
    let mut events = Vec::new();
    for i in 0..5 {
        events.push(view(&format!("v{i}"), "s", i, "hot", "fashion"));
    }
    events.push(view("w", "s", 6, "warm", "fashion"));
    events.push(view("x", "s", 7, "lamp", "home"));
    processor.process(&records(&events), None).await;
    let r = recommender(&store, 10);
    let answer = r.recommend(&req(Placement::Home, Some("nobody"), None)).await.unwrap();
    assert_eq!(answer.strategy, Strategy::Trending);
    assert_eq!(skus(&answer)[0], "hot");
    let answer = r.recommend(&req(Placement::Product, None, Some("no-such-sku"))).await.unwrap();
    assert_eq!(answer.strategy, Strategy::Trending);
    // An item with no neighbours yet: trending in its category first.
    let answer = r.recommend(&req(Placement::Product, None, Some("warm"))).await.unwrap();
    assert_eq!((answer.strategy, skus(&answer)[0]), (Strategy::TrendingCategory, "hot"));
    assert_eq!(skus(&answer).last(), Some(&"lamp"), "then overall");
    // An empty store answers too.
    let empty = Recommender::new(Arc::new(MemoryStore::new()), Arc::new(FixedClock(Timestamp(T0))));
    let answer = empty.recommend(&req(Placement::Cart, Some("nobody"), None)).await.unwrap();
    assert_eq!((answer.strategy, answer.items.len()), (Strategy::Trending, 0));
}

#[tokio::test]
async fn bad_records_go_to_the_bad_events_sink_and_the_rest_is_applied() {
    let store = Arc::new(MemoryStore::new());
    let quarantine = Arc::new(Quarantine::default());
    let processor = Processor::new(store.clone()).with_rejected_sink(quarantine.clone());
    let mut bad_event = view("a", "s", 1, "x", "c");
    bad_event["properties"] = json!({"category": "no sku"});
    let batch = vec![
        InputRecord { id: "seq-1".into(), data: b"not json".to_vec() },
        record(2, &bad_event),
        record(3, &view("a", "s", 2, "ok", "c")),
    ];
    let outcome = processor.process(&batch, None).await;
    assert_eq!((outcome.bad, outcome.applied, outcome.failed_from), (2, 1, None), "{outcome:?}");
    let rejected = quarantine.0.lock().unwrap();
    assert_eq!(rejected.len(), 2);
    assert_eq!((rejected[0].scope, rejected[0].event_id.as_deref()), ("record", Some("seq-1")));
    assert_eq!(rejected[0].errors[0].problem.code(), "not_json");
    assert_eq!(rejected[1].errors[0].path, "properties.sku");
    assert_eq!(rejected[1].raw, bad_event.to_string());
}

#[tokio::test]
async fn bots_and_events_without_effect_are_counted_not_applied() {
    let store = Arc::new(MemoryStore::new());
    let processor = Processor::new(store.clone());
    let mut bot = view("crawler", "s", 1, "x", "c");
    bot["edge"]["bot"] = json!(true);
    let page = event("page_view", "a", "s", 2, json!({}));
    let outcome = processor.process(&records(&[bot, page]), None).await;
    assert_eq!((outcome.ignored, outcome.applied, outcome.commits), (2, 0, 0), "{outcome:?}");
    assert!(store.snapshot().is_empty());
}

#[tokio::test]
async fn a_verified_user_takes_over_the_anonymous_history_once() {
    let store = Arc::new(MemoryStore::new());
    let processor = Processor::new(store.clone());
    let anon = unique("anon");
    let mut login = view(&anon, "s", 2, "b", "c");
    login["user_id"] = json!("user-1");
    processor.process(&records(&[view(&anon, "s", 1, "a", "c"), cart(&anon, "s", 1, "a"), login]), None).await;
    let snapshot = store.snapshot();
    let Value::Profile(user) = &snapshot[&Key::User("user-1".into())].value else { panic!() };
    assert_eq!(user.recent.iter().map(|s| s.sku.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(user.cart, ["a"]);
    let Value::Profile(stub) = &snapshot[&Key::Anonymous(anon.clone())].value else { panic!() };
    assert_eq!(stub.merged_into.as_deref(), Some("user-1"));
    // Later anonymous events of that device go to the user; the API finds them from either id.
    processor.process(&records(&[view(&anon, "s", 3, "c", "c")]), None).await;
    let Value::Profile(user) = &store.snapshot()[&Key::User("user-1".into())].value else { panic!() };
    assert_eq!(user.recent.len(), 3);
    // A user id only claimed (no token) is not trusted: no user profile for it.
    let mut claimed = view("other-anon", "s", 4, "d", "c");
    claimed["claimed_user_id"] = json!("user-2");
    processor.process(&records(&[claimed]), None).await;
    assert!(!store.snapshot().contains_key(&Key::User("user-2".into())));
}

#[tokio::test]
async fn a_batch_is_split_into_commits_that_fit_the_store_and_an_order_touches_a_bounded_set() {
    let store = Arc::new(MemoryStore::with_max_commit_writes(100));
    let processor = Processor::new(store.clone());
    let big: Vec<String> = (0..200).map(|i| format!("line-{i}")).collect();
    let big: Vec<&str> = big.iter().map(String::as_str).collect();
    let mut events = vec![purchase("a", "s", 0, &big)];
    for i in 0..30 {
        events.push(purchase(&format!("p{i}"), "s", i + 1, &["x", "y", "z"]));
    }
    let outcome = processor.process(&records(&events), None).await;
    assert_eq!((outcome.applied, outcome.failed_from), (31, None), "{outcome:?}");
    assert!(outcome.commits > 1, "{outcome:?}");
    let items = store.snapshot().keys().filter(|k| matches!(k, Key::Item(s) if s.starts_with("line-"))).count();
    assert_eq!(items, MAX_ITEMS_PER_EVENT);
}

#[tokio::test]
async fn a_commit_over_the_stores_byte_limit_is_split_and_nothing_is_lost_or_counted_twice() {
    // Sessions of distinct items: each order writes a few records of a few hundred bytes.
    let events: Vec<serde_json::Value> = (0..20)
        .map(|i| purchase(&format!("p{i}"), &format!("s{i}"), i, &[&format!("a{i}"), &format!("b{i}"), "common"]))
        .collect();
    let unlimited = Arc::new(MemoryStore::with_max_commit_writes(100));
    let whole = Processor::new(unlimited.clone()).process(&records(&events), Some(("c", 19))).await;
    assert_eq!((whole.commits, whole.splits), (1, 0), "{whole:?}");

    let limited = Arc::new(MemoryStore::with_max_commit_writes(100).with_max_commit_bytes(15_000));
    let split = Processor::new(limited.clone()).process(&records(&events), Some(("c", 19))).await;
    assert_eq!((split.applied, split.failed_from), (20, None), "{split:?}");
    assert!(split.splits >= 2 && split.commits > 2, "{split:?}");
    // The same counts as one commit: every record, every profile, every pair counted once. (Norms and
    // materialised lists are as of each commit, so they may differ in the last digits.)
    let counts = |s: &MemoryStore| -> std::collections::BTreeMap<String, String> {
        s.snapshot()
            .into_iter()
            .map(|(k, v)| {
                let summary = match v.value {
                    Value::Item(i) => {
                        let pairs: Vec<(String, f64)> = i.co_buy.into_iter().map(|(s, c)| (s, c.count.value)).collect();
                        format!("{:?} {:?} {pairs:?}", i.buys, i.popularity)
                    }
                    other => format!("{other:?}"),
                };
                (k.to_storage(), summary)
            })
            .collect()
    };
    let (split_counts, whole_counts) = (counts(&limited), counts(&unlimited));
    assert_eq!(split_counts.len(), whole_counts.len());
    for (key, summary) in &whole_counts {
        assert!(split_counts.get(key) == Some(summary), "{key} differs");
    }
    assert_eq!(limited.checkpoint("c").await.unwrap(), Some(19));
    // A redelivery changes nothing.
    let again = Processor::new(limited.clone()).process(&records(&events), None).await;
    assert_eq!((again.applied, again.duplicates), (0, 20), "{again:?}");
}

/// A store whose commits conflict `n` times (another writer got there first), then succeed.
struct Contended {
    inner: MemoryStore,
    conflicts_left: Mutex<u32>,
}

#[async_trait]
impl StateStore for Contended {
    async fn load(
        &self,
        keys: &[Key],
    ) -> Result<std::collections::HashMap<Key, personalize::model::Versioned>, StoreError> {
        self.inner.load(keys).await
    }
    async fn applied(&self, ids: &[String]) -> Result<std::collections::HashSet<String>, StoreError> {
        self.inner.applied(ids).await
    }
    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        let conflict = {
            let mut left = self.conflicts_left.lock().unwrap();
            let conflict = *left > 0;
            *left = left.saturating_sub(1);
            conflict
        };
        {
            if conflict {
                // The other writer's change: the item's version moves on.
                let key = Key::Item("x".into());
                let current = self.inner.load(std::slice::from_ref(&key)).await?.remove(&key);
                let (version, value) = current.map_or((0, commit.records[0].2.clone()), |v| (v.version, v.value));
                self.inner.commit(Commit { records: vec![(key, version, value)], ..Commit::default() }).await?;
                return Err(StoreError::Conflict("x moved".into()));
            }
        }
        self.inner.commit(commit).await
    }
    fn max_commit_writes(&self) -> usize {
        self.inner.max_commit_writes()
    }
    async fn checkpoint(&self, consumer: &str) -> Result<Option<i64>, StoreError> {
        self.inner.checkpoint(consumer).await
    }
}

#[tokio::test]
async fn a_conflicting_writer_makes_the_group_reload_and_redo_and_too_many_fail_the_batch_from_there() {
    let store = Arc::new(Contended { inner: MemoryStore::new(), conflicts_left: Mutex::new(2) });
    let processor = Processor::new(store.clone());
    let events = [view("a", "s", 0, "x", "c"), view("a", "s", 1, "y", "c")];
    let outcome = processor.process(&records(&events), Some(("local", 7))).await;
    assert_eq!((outcome.applied, outcome.conflicts, outcome.failed_from), (2, 2, None), "{outcome:?}");
    assert_eq!(store.checkpoint("local").await.unwrap(), Some(7));

    let store = Arc::new(Contended { inner: MemoryStore::new(), conflicts_left: Mutex::new(100) });
    let processor = Processor::new(store.clone());
    let page = event("page_view", "a", "s", 0, json!({}));
    let outcome = processor.process(&records(&[page, view("a", "s", 1, "x", "c")]), Some(("local", 9))).await;
    assert_eq!((outcome.applied, outcome.failed_from), (0, Some(1)), "retried from the first unapplied record");
    assert_eq!(store.checkpoint("local").await.unwrap(), None, "the position does not move past it");
}

#[tokio::test]
async fn a_requested_strategy_narrows_the_answer_to_one_kind_of_neighbour_or_to_trending() {
    let store = Arc::new(MemoryStore::new());
    let processor = Processor::new(store.clone());
    let mut events = vec![
        // Viewed together (one session), bought together (one order): different neighbours of "tent".
        view("a", "s1", 1, "tent", "Tents"),
        view("a", "s1", 2, "stove", "Cooking"),
        purchase("b", "s2", 3, &["tent", "mat"]),
    ];
    // "torch" is the most popular item overall (a purchase weighs more than a view).
    for i in 0..9 {
        events.push(view(&format!("c{i}"), &format!("t{i}"), 4 + i, "torch", "Lights"));
    }
    let outcome = processor.process(&records(&events), None).await;
    assert_eq!(outcome.failed_from, None, "{outcome:?}");
    let r = recommender(&store, 30);
    let ask = |query: Vec<(&'static str, &'static str)>| {
        let r = r.clone();
        async move { r.recommend(&RecRequest::from_query(query).unwrap()).await.unwrap() }
    };
    let mixed = ask(vec![("placement", "product"), ("sku", "tent")]).await;
    assert_eq!((mixed.strategy, &skus(&mixed)[..2]), (Strategy::BoughtTogether, &["mat", "stove"][..]), "{mixed:?}");
    let viewed = ask(vec![("placement", "product"), ("sku", "tent"), ("strategy", "also_viewed")]).await;
    assert_eq!((viewed.strategy, skus(&viewed)[0]), (Strategy::AlsoViewed, "stove"), "{viewed:?}");
    // Only co-views first: "mat" was bought with the tent, never viewed with it.
    assert_ne!(viewed.items.get(1).map(|i| i.sku.as_str()), Some("mat"), "{viewed:?}");
    let bought = ask(vec![("placement", "product"), ("sku", "tent"), ("strategy", "bought_together")]).await;
    assert_eq!((bought.strategy, skus(&bought)[0]), (Strategy::BoughtTogether, "mat"), "{bought:?}");
    // No bought-together neighbours: the answer says it fell back.
    let none = ask(vec![("placement", "product"), ("sku", "stove"), ("strategy", "bought_together")]).await;
    assert_eq!(none.strategy, Strategy::Trending, "nothing else in its category: {none:?}");
    // `trending` ignores the shopper's history: "a" viewed the tent and the stove.
    let personal = ask(vec![("placement", "home"), ("anonymous_id", "a")]).await;
    assert_eq!(personal.strategy, Strategy::Personalized, "{personal:?}");
    let trending = ask(vec![("placement", "home"), ("anonymous_id", "a"), ("strategy", "trending")]).await;
    assert_eq!((trending.strategy, skus(&trending)[0]), (Strategy::Trending, "torch"), "{trending:?}");
}

#[test]
fn request_parameters_are_checked_with_a_reason() {
    let ok = RecRequest::from_query([("placement", "product"), ("sku", "s1"), ("limit", "3"), ("_", "123")]).unwrap();
    assert_eq!((ok.placement, ok.sku.as_deref(), ok.limit), (Placement::Product, Some("s1"), 3));
    assert_eq!(RecRequest::from_query([("placement", "home"), ("anonymous_id", "a")]).unwrap().limit, 10);
    let long = "x".repeat(200);
    for (query, parameter) in [
        (vec![], "placement"),
        (vec![("placement", "checkout")], "placement"),
        (vec![("placement", "product")], "sku"),
        (vec![("placement", "home")], "anonymous_id"),
        (vec![("placement", "cart"), ("anonymous_id", "")], "anonymous_id"),
        (vec![("placement", "home"), ("user_id", long.as_str())], "user_id"),
        (vec![("placement", "home"), ("anonymous_id", "a"), ("limit", "0")], "limit"),
        (vec![("placement", "home"), ("anonymous_id", "a"), ("limit", "51")], "limit"),
        (vec![("placement", "home"), ("anonymous_id", "a"), ("limit", "ten")], "limit"),
        (vec![("placement", "home"), ("placement", "cart"), ("anonymous_id", "a")], "placement"),
        (vec![("placement", "home"), ("anonymous_id", "a"), ("strategy", "also_viewed")], "strategy"),
        (vec![("placement", "product"), ("sku", "s"), ("strategy", "magic")], "strategy"),
    ] {
        let err = RecRequest::from_query(query.clone()).unwrap_err();
        assert_eq!(err.parameter, parameter, "{query:?}: {err}");
        assert!(!err.reason.is_empty());
    }
}
