//! The stream processor: decodes enriched events, and folds them into profiles, item statistics and
//! trending lists, exactly once per `event_id`.
//!
//! Exactly-once effect on at-least-once input: each commit writes the records an event group
//! changed (each only if still at the version read) together with the group's `event_id` markers
//! (each only if absent), atomically. A redelivered or retried event finds its marker and changes
//! nothing; a conflicting writer makes the group reload and redo.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use event_schema::model::{EventBody, LineItem, Product};
use event_schema::validate::{validate_event, FieldError, Problem, ValidationOptions};
use event_schema::Timestamp;
use ingest_domain::{RejectedEventSink, RejectedRecord};
use serde_json::Value as Json;

use crate::inventory::{AlertSink, StartingStock, Stock, StockAlert, ONLINE_STORE_ID};
use crate::model::*;
use crate::store::{Commit, StateStore, StoreError};

/// Distinct SKUs of one purchase whose stock the processor takes off (the others are logged and
/// left to the lake, whose SQL counts every line): with the recommendation updates, one event's
/// writes stay within one state-store transaction (DynamoDB: 100 actions).
pub const MAX_STOCK_LINES_PER_EVENT: usize = 15;

/// Times a group is reloaded and redone after a conflicting write before the batch gives up there.
pub const MAX_CONFLICT_RETRIES: u32 = 5;

/// An event as the processor needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcEvent {
    pub event_id: String,
    pub at: i64,
    pub anonymous_id: String,
    /// Verified (from a token's `sub`); a claimed id is not trusted and not used.
    pub user_id: Option<String>,
    pub session_id: String,
    pub body: EventBody,
    /// Flagged as a bot by the ingest: kept in the lake, left out of recommendations.
    pub bot: bool,
}

/// Decodes one record's data: an enriched event as the ingest wrote it.
pub fn decode(data: &[u8]) -> Result<ProcEvent, Vec<FieldError>> {
    let mut v: Json = serde_json::from_slice(data)
        .map_err(|e| vec![FieldError { path: "$".into(), problem: Problem::NotJson(e.to_string()) }])?;
    let bot = v.pointer("/edge/bot").and_then(Json::as_bool).unwrap_or(false);
    // An `identify` whose user id was only claimed (no token) reaches us without `user_id`: it is
    // validated with the claim, which is then dropped (never trusted).
    let verified = v.get("user_id").is_some_and(|u| !u.is_null());
    if let (false, Some(obj)) = (verified, v.as_object_mut()) {
        if let Some(claimed) = obj.get("claimed_user_id").cloned() {
            obj.insert("user_id".into(), claimed);
        }
    }
    let opts = ValidationOptions { received_at: Timestamp(0), enforce_time_window: false };
    let event = validate_event(&v, &opts)?;
    Ok(ProcEvent {
        event_id: event.event_id,
        at: event.occurred_at.0,
        anonymous_id: event.anonymous_id,
        user_id: if verified { event.user_id } else { None },
        session_id: event.session_id,
        body: event.body,
        bot,
    })
}

/// One record of a batch (a Kinesis record, a row of the local event log).
#[derive(Clone, Debug)]
pub struct InputRecord {
    /// Where it came from, for logs and the bad-events sink (sequence number, log position).
    pub id: String,
    pub data: Vec<u8>,
}

/// What a batch came to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Events whose effect was committed now.
    pub applied: usize,
    /// Events already applied (redelivered, or the same `event_id` twice).
    pub duplicates: usize,
    /// Events with nothing to change (page views, searches, bots...).
    pub ignored: usize,
    /// Records that cannot be decoded or fail validation: sent to the bad-events sink, not retried.
    pub bad: usize,
    pub commits: usize,
    pub conflicts: usize,
    /// Groups split because their commit was over the store's size limit.
    pub splits: usize,
    /// Low-stock alerts published.
    pub alerts: usize,
    /// The index of the first record whose effect is not committed (the store failed): the caller
    /// retries from there (Kinesis: `batchItemFailures`). `None`: the whole batch is done.
    pub failed_from: Option<usize>,
}

/// The processor use case.
#[derive(Clone)]
pub struct Processor {
    store: Arc<dyn StateStore>,
    tuning: Tuning,
    rejected: Option<Arc<dyn RejectedEventSink>>,
    inventory: Option<Inventory>,
}

/// Stock keeping: where stock starts and where alerts go.
#[derive(Clone)]
struct Inventory {
    alerts: Arc<dyn AlertSink>,
    starting: Arc<dyn StartingStock>,
}

impl Processor {
    pub fn new(store: Arc<dyn StateStore>) -> Self {
        Processor { store, tuning: Tuning::default(), rejected: None, inventory: None }
    }

    /// Keeps stock per SKU and store (purchases take it off, `inventory_snapshot` sets it, from
    /// `starting` before any count) and publishes a low-stock alert to `alerts` once per crossing
    /// of the reorder point. Without it, stock is not kept.
    pub fn with_alerts(mut self, alerts: Arc<dyn AlertSink>, starting: Arc<dyn StartingStock>) -> Self {
        self.inventory = Some(Inventory { alerts, starting });
        self
    }

    pub fn with_tuning(mut self, tuning: Tuning) -> Self {
        self.tuning = tuning;
        self
    }

    pub fn with_rejected_sink(mut self, sink: Arc<dyn RejectedEventSink>) -> Self {
        self.rejected = Some(sink);
        self
    }

    /// Processes a batch in order. `checkpoint` (consumer, position) is committed with the last
    /// group, for consumers that keep their own position (the local tailing task).
    pub async fn process(&self, records: &[InputRecord], checkpoint: Option<(&str, i64)>) -> Outcome {
        let mut outcome = Outcome::default();
        let mut events: Vec<(usize, ProcEvent)> = Vec::with_capacity(records.len());
        let mut bad = Vec::new();
        let mut seen = HashSet::new();
        for (index, record) in records.iter().enumerate() {
            match decode(&record.data) {
                Ok(e) if !seen.insert(e.event_id.clone()) => outcome.duplicates += 1,
                Ok(e) if (e.bot && !from_a_store(&e)) || !has_effect(&e, self.inventory.is_some()) => {
                    outcome.ignored += 1
                }
                Ok(e) => events.push((index, e)),
                Err(errors) => {
                    tracing::warn!(record = %record.id, errors = ?errors, "undecodable record sent to the bad-events sink");
                    let raw = String::from_utf8_lossy(&record.data);
                    let mut r = RejectedRecord::new(Timestamp(now_ms()), "record", &raw, errors);
                    r.event_id = Some(record.id.clone());
                    bad.push(r);
                }
            }
        }
        outcome.bad = bad.len();
        if let (Some(sink), false) = (&self.rejected, bad.is_empty()) {
            if let Err(e) = sink.write_rejected(&bad).await {
                tracing::error!(error = %e, records = bad.len(), "bad-events sink failed; the records are only in this log");
            }
        }
        let mut work = Work {
            store: self.store.as_ref(),
            tuning: self.tuning,
            cache: HashMap::new(),
            inventory: self.inventory.clone(),
            alerts: Vec::new(),
        };
        let last_position = checkpoint.map(|(c, p)| (c.to_string(), p));
        if let Err((failed_from, e)) = work.run(&events, last_position, &mut outcome).await {
            tracing::error!(error = %e, failed_from, "state store failed; the batch is retried from this record");
            outcome.failed_from = Some(failed_from);
        }
        outcome
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A store system's event (a count, or a till's order naming its store): it counts even when its
/// client looks automated to the ingest (`curl`, `python-requests`...), as store systems are.
pub fn from_a_store(e: &ProcEvent) -> bool {
    match &e.body {
        EventBody::InventorySnapshot(_) => true,
        EventBody::Purchase(p) => p.store_id.is_some(),
        _ => false,
    }
}

/// Whether the event can change state (others are only counted).
fn has_effect(e: &ProcEvent, inventory: bool) -> bool {
    match e.body {
        EventBody::InventorySnapshot(_) => inventory,
        EventBody::ProductView(_) | EventBody::AddToCart(_) | EventBody::RemoveFromCart(_) | EventBody::Purchase(_) => {
            true
        }
        _ => e.user_id.is_some(),
    }
}

/// The stock an event changes: (store, sku, units sold) for a purchase's first
/// [`MAX_STOCK_LINES_PER_EVENT`] distinct SKUs, (store, sku, count, reorder point) for a snapshot.
enum StockChange {
    Sold { store: String, sku: String, units: i64 },
    Counted { store: String, sku: String, on_hand: i64, reorder_point: Option<i64> },
}

fn stock_changes(e: &ProcEvent) -> Vec<StockChange> {
    match &e.body {
        EventBody::Purchase(p) => {
            let store = p.store_id.clone().unwrap_or_else(|| ONLINE_STORE_ID.to_string());
            let mut out: Vec<StockChange> = Vec::new();
            for line in &p.items {
                let units = line.quantity as i64;
                if let Some(StockChange::Sold { units: u, .. }) =
                    out.iter_mut().find(|c| matches!(c, StockChange::Sold { sku, .. } if *sku == line.sku))
                {
                    *u += units;
                } else if out.len() < MAX_STOCK_LINES_PER_EVENT {
                    out.push(StockChange::Sold { store: store.clone(), sku: line.sku.clone(), units });
                }
            }
            out
        }
        EventBody::InventorySnapshot(s) => s
            .items
            .iter()
            .map(|c| StockChange::Counted {
                store: s.store_id.clone(),
                sku: c.sku.clone(),
                on_hand: c.on_hand as i64,
                reorder_point: c.reorder_point.map(|r| r as i64),
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl StockChange {
    fn key(&self) -> Key {
        match self {
            StockChange::Sold { store, sku, .. } | StockChange::Counted { store, sku, .. } => {
                Key::Stock { store: store.clone(), sku: sku.clone() }
            }
        }
    }
}

/// The records a batch is working on: loaded once, changed in memory, committed per group.
struct Work<'a> {
    store: &'a dyn StateStore,
    tuning: Tuning,
    /// Key → (version read, value). A missing key was loaded and is absent (version 0, default).
    cache: HashMap<Key, (u64, Value)>,
    inventory: Option<Inventory>,
    /// Alerts the group being applied raises (published before its commit).
    alerts: Vec<StockAlert>,
}

impl Work<'_> {
    async fn run(
        &mut self,
        events: &[(usize, ProcEvent)],
        checkpoint: Option<(String, i64)>,
        outcome: &mut Outcome,
    ) -> Result<(), (usize, StoreError)> {
        let first_index = |i: usize| events.get(i).map_or(usize::MAX, |(index, _)| *index);
        let ids: Vec<String> = events.iter().map(|(_, e)| e.event_id.clone()).collect();
        let applied = self.store.applied(&ids).await.map_err(|e| (first_index(0), e))?;
        let events: Vec<&(usize, ProcEvent)> = events.iter().filter(|(_, e)| !applied.contains(&e.event_id)).collect();
        outcome.duplicates += ids.len() - events.len();
        self.preload(events.iter().map(|(_, e)| e)).await.map_err(|e| (first_index(0), e))?;

        let max = self.store.max_commit_writes();
        // Events per group: unbounded until a commit is too large in bytes, then halved.
        let mut max_events = usize::MAX;
        let mut start = 0;
        'groups: while start < events.len() {
            // A group: consecutive events whose writes fit one commit.
            let mut keys: BTreeSet<Key> = BTreeSet::new();
            let mut end = start;
            while end < events.len() && end - start < max_events {
                let (_, e) = events[end];
                self.ensure_loaded(e).await.map_err(|err| (events[start].0, err))?;
                let mut with = keys.clone();
                with.extend(self.keys_of(e));
                let writes = with.len() + (end - start + 1) + 1; // + markers + a checkpoint
                if end > start && writes > max {
                    break;
                }
                keys = with;
                end += 1;
            }
            let group = &events[start..end];
            let last = end == events.len();
            let mut attempt = 0;
            loop {
                let mut changed = BTreeSet::new();
                self.alerts.clear();
                for (_, e) in group {
                    self.apply(e, &mut changed);
                }
                if let (Some(inv), false) = (&self.inventory, self.alerts.is_empty()) {
                    // Before the commit: a failed publish leaves the group uncommitted, to be retried;
                    // a crash after it sends the same alert ids again.
                    if let Err(e) = inv.alerts.publish(&self.alerts).await {
                        let first = group[0].0;
                        self.reload(&keys).await.map_err(|err| (first, err))?;
                        return Err((first, StoreError::unavailable("alert sink failed", e)));
                    }
                }
                let now = group.iter().map(|(_, e)| e.at).max().unwrap_or(0);
                // Norms as of now for every item this batch has loaded (popular ones mostly are).
                let cache = &self.cache;
                let fresh = |sku: &str| match cache.get(&Key::Item(sku.to_string())) {
                    Some((_, Value::Item(i))) => Some((i.views, i.buys)),
                    _ => None,
                };
                let commit = Commit {
                    records: changed
                        .iter()
                        .map(|k| {
                            let (version, value) = cache[k].clone();
                            let value = match value {
                                Value::Item(mut item) => {
                                    item.materialise(now, &self.tuning, fresh);
                                    Value::Item(item)
                                }
                                other => other,
                            };
                            (k.clone(), version, value)
                        })
                        .collect(),
                    applied: group.iter().map(|(_, e)| e.event_id.clone()).collect(),
                    applied_at: now_ms(),
                    checkpoint: if last { checkpoint.clone() } else { None },
                };
                let written: Vec<(Key, u64, Value)> = commit.records.clone();
                match self.store.commit(commit).await {
                    Ok(()) => {
                        for (k, version, value) in written {
                            self.cache.insert(k, (version + 1, value));
                        }
                        outcome.commits += 1;
                        outcome.alerts += self.alerts.len();
                        outcome.applied += group.len();
                        break;
                    }
                    Err(StoreError::Conflict(reason)) if attempt < MAX_CONFLICT_RETRIES => {
                        attempt += 1;
                        outcome.conflicts += 1;
                        tracing::info!(%reason, attempt, "conflicting write: reloading the group and redoing it");
                        tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
                        self.reload(&keys).await.map_err(|err| (group[0].0, err))?;
                        // Events another consumer applied meanwhile are dropped from the group.
                        let ids: Vec<String> = group.iter().map(|(_, e)| e.event_id.clone()).collect();
                        let done = self.store.applied(&ids).await.map_err(|err| (group[0].0, err))?;
                        if !done.is_empty() {
                            // Rare: redo the batch from here, without the events already applied.
                            return Err((group[0].0, StoreError::Conflict("events applied meanwhile".into())));
                        }
                    }
                    Err(StoreError::TooLarge(reason)) if group.len() > 1 => {
                        // Too many bytes for one commit: nothing was written. Undo the group in memory
                        // and commit it in halves (one event's writes always fit a commit).
                        max_events = group.len() / 2;
                        outcome.splits += 1;
                        tracing::info!(%reason, events = max_events, "commit too large: splitting the group");
                        self.reload(&keys).await.map_err(|err| (group[0].0, err))?;
                        continue 'groups;
                    }
                    Err(e) => return Err((group[0].0, e)),
                }
            }
            start = end;
        }
        if events.is_empty() {
            if let Some(cp) = checkpoint {
                // Nothing to apply: only the position moves (if this fails, the batch is read again).
                let commit = Commit { checkpoint: Some(cp), ..Commit::default() };
                if let Err(e) = self.store.commit(commit).await {
                    tracing::warn!(error = %e, "checkpoint not written; the batch will be read again");
                }
            }
        }
        Ok(())
    }

    /// Forgets the in-memory changes to `keys` and reads them again.
    async fn reload(&mut self, keys: &BTreeSet<Key>) -> Result<(), StoreError> {
        for k in keys {
            self.cache.remove(k);
        }
        let keys: Vec<Key> = keys.iter().cloned().collect();
        self.load_into_cache(&keys).await
    }

    /// Loads what the events will touch, in three rounds of point reads: profiles, the profiles they
    /// were merged into, then items (the events' and the sessions') and trending lists.
    async fn preload<'e>(&mut self, events: impl Iterator<Item = &'e ProcEvent> + Clone) -> Result<(), StoreError> {
        let profiles: Vec<Key> = events.clone().flat_map(profile_keys).collect();
        self.load_into_cache(&profiles).await?;
        let merged: Vec<Key> = profiles.iter().filter_map(|k| self.merged_into(k)).collect();
        self.load_into_cache(&merged).await?;
        let mut rest: Vec<Key> = Vec::new();
        for e in events {
            rest.extend(self.keys_of(e));
        }
        self.load_into_cache(&rest).await
    }

    async fn ensure_loaded(&mut self, e: &ProcEvent) -> Result<(), StoreError> {
        let profiles = profile_keys(e);
        self.load_into_cache(&profiles).await?;
        let merged: Vec<Key> = profiles.iter().filter_map(|k| self.merged_into(k)).collect();
        self.load_into_cache(&merged).await?;
        let keys = self.keys_of(e);
        self.load_into_cache(&keys).await
    }

    async fn load_into_cache(&mut self, keys: &[Key]) -> Result<(), StoreError> {
        let mut missing: Vec<Key> = keys.iter().filter(|k| !self.cache.contains_key(*k)).cloned().collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let mut found = self.store.load(&missing).await?;
        for k in missing {
            let entry = match found.remove(&k) {
                Some(v) => (v.version, v.value),
                None => (0, self.empty_value(&k)),
            };
            self.cache.insert(k, entry);
        }
        Ok(())
    }

    fn merged_into(&self, key: &Key) -> Option<Key> {
        match self.cache.get(key) {
            Some((_, Value::Profile(p))) => p.merged_into.clone().map(Key::User),
            _ => None,
        }
    }

    /// The profile an event updates: the user's when verified, else the anonymous one (or the
    /// user's it was merged into).
    fn target(&self, e: &ProcEvent) -> Key {
        match &e.user_id {
            Some(u) => Key::User(u.clone()),
            None => {
                let anon = Key::Anonymous(e.anonymous_id.clone());
                self.merged_into(&anon).unwrap_or(anon)
            }
        }
    }

    /// A record not stored yet: empty, or for stock what the store started with.
    fn empty_value(&self, key: &Key) -> Value {
        match (key, &self.inventory) {
            (Key::Stock { store, sku }, Some(inv)) => {
                let (on_hand, reorder_point) =
                    inv.starting.starting(sku, store).map_or((0, None), |(s, r)| (s, Some(r)));
                Value::Stock(Stock { on_hand, reorder_point, ..Stock::default() })
            }
            _ => empty_value(key),
        }
    }

    /// Every key `apply(e)` may write (a superset), with the current cache.
    fn keys_of(&self, e: &ProcEvent) -> Vec<Key> {
        let stock: Vec<Key> =
            if self.inventory.is_some() { stock_changes(e).iter().map(StockChange::key).collect() } else { Vec::new() };
        if matches!(e.body, EventBody::InventorySnapshot(_)) {
            return stock;
        }
        let mut keys = profile_keys(e);
        keys.extend(stock);
        let target = self.target(e);
        keys.push(target.clone());
        let mut skus: Vec<String> = event_products(e).into_iter().map(|p| p.0).collect();
        if let Some((_, Value::Profile(p))) = self.cache.get(&target) {
            if let Some(s) = p.session.as_ref().filter(|s| s.id == e.session_id) {
                skus.extend(s.views.iter().chain(&s.carts).cloned());
            }
        }
        keys.push(Key::TrendingAll);
        for (_, category) in event_products(e) {
            if let Some(c) = category {
                keys.push(Key::TrendingCategory(c));
            }
        }
        for sku in &skus {
            keys.push(Key::Item(sku.clone()));
            if let Some((_, Value::Item(item))) = self.cache.get(&Key::Item(sku.clone())) {
                if let Some(c) = &item.info.category {
                    keys.push(Key::TrendingCategory(c.clone()));
                }
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }

    fn profile(&mut self, key: &Key, changed: &mut BTreeSet<Key>) -> &mut Profile {
        changed.insert(key.clone());
        let entry = self.cache.entry(key.clone()).or_insert_with(|| (0, Value::Profile(Profile::default())));
        match &mut entry.1 {
            Value::Profile(p) => p,
            other => {
                *other = Value::Profile(Profile::default());
                let Value::Profile(p) = other else { unreachable!() };
                p
            }
        }
    }

    fn item(&mut self, sku: &str, changed: &mut BTreeSet<Key>) -> &mut Item {
        let key = Key::Item(sku.to_string());
        changed.insert(key.clone());
        let entry = self.cache.entry(key).or_insert_with(|| (0, Value::Item(Box::default())));
        match &mut entry.1 {
            Value::Item(i) => i,
            other => {
                *other = Value::Item(Box::default());
                let Value::Item(i) = other else { unreachable!() };
                i
            }
        }
    }

    fn trending(&mut self, key: Key, changed: &mut BTreeSet<Key>) -> &mut Trending {
        changed.insert(key.clone());
        let entry = self.cache.entry(key).or_insert_with(|| (0, Value::Trending(Trending::default())));
        match &mut entry.1 {
            Value::Trending(t) => t,
            other => {
                *other = Value::Trending(Trending::default());
                let Value::Trending(t) = other else { unreachable!() };
                t
            }
        }
    }

    /// Folds one event into the cached records, noting which it changed.
    fn apply(&mut self, e: &ProcEvent, changed: &mut BTreeSet<Key>) {
        if self.inventory.is_some() {
            let changes = stock_changes(e);
            if let EventBody::Purchase(p) = &e.body {
                let skus: HashSet<&str> = p.items.iter().map(|l| l.sku.as_str()).collect();
                if skus.len() > changes.len() {
                    tracing::warn!(event_id = %e.event_id, skus = skus.len(), kept = changes.len(), "an order past the stock lines kept per event: the others' stock not taken off");
                }
            }
            for change in changes {
                self.apply_stock(e, change, changed);
            }
        }
        if matches!(e.body, EventBody::InventorySnapshot(_)) {
            return; // a store system's count: no shopper, no profile
        }
        let target = self.target(e);
        // A verified shopper: their anonymous history joins them once.
        if let Some(user) = &e.user_id {
            let anon = Key::Anonymous(e.anonymous_id.clone());
            let anon_profile = match self.cache.get(&anon) {
                Some((v, Value::Profile(p))) if *v > 0 || changed.contains(&anon) => Some(p.clone()),
                _ => None,
            };
            if let Some(a) = anon_profile.filter(|p| p.merged_into.is_none()) {
                self.profile(&target, changed).merge(&a);
                let stub = self.profile(&anon, changed);
                *stub = Profile { merged_into: Some(user.clone()), last_seen: a.last_seen, ..Profile::default() };
            }
        }
        let t = e.at;
        let profile = self.profile(&target, changed);
        profile.last_seen = profile.last_seen.max(t);
        if profile.session.as_ref().is_none_or(|s| s.id != e.session_id) {
            profile.session = Some(SessionWindow { id: e.session_id.clone(), ..SessionWindow::default() });
        }
        match &e.body {
            EventBody::ProductView(p) => self.view(&target, p, t, changed),
            EventBody::AddToCart(c) => self.add_to_cart(&target, &c.product, t, changed),
            EventBody::RemoveFromCart(c) => {
                self.profile(&target, changed).cart.retain(|s| *s != c.product.sku);
            }
            EventBody::Purchase(p) => self.purchase(&target, &p.items, t, changed),
            _ => {}
        }
    }

    fn apply_stock(&mut self, e: &ProcEvent, change: StockChange, changed: &mut BTreeSet<Key>) {
        let key = change.key();
        changed.insert(key.clone());
        let default = self.empty_value(&key);
        let entry = self.cache.entry(key).or_insert((0, default));
        if !matches!(entry.1, Value::Stock(_)) {
            entry.1 = Value::Stock(Stock::default());
        }
        let Value::Stock(stock) = &mut entry.1 else { unreachable!() };
        let (store, sku, crossed) = match change {
            StockChange::Sold { store, sku, units } => {
                let crossed = stock.sell(units, e.at);
                (store, sku, crossed)
            }
            StockChange::Counted { store, sku, on_hand, reorder_point } => {
                let crossed = stock.set(on_hand, reorder_point, e.at);
                (store, sku, crossed)
            }
        };
        if crossed {
            self.alerts.push(StockAlert::low_stock(&sku, &store, stock, &e.event_id));
        }
    }

    fn view(&mut self, target: &Key, p: &Product, t: i64, changed: &mut BTreeSet<Key>) {
        let profile = self.profile(target, changed);
        profile.recent.retain(|s| s.sku != p.sku);
        profile.recent.push(Seen { sku: p.sku.clone(), at: t });
        trim_front(&mut profile.recent, MAX_RECENT);
        let session = profile.session.get_or_insert_with(SessionWindow::default);
        let seen_in_session = session.views.contains(&p.sku);
        let partners: Vec<String> = session.views.clone();
        push_unique(&mut session.views, &p.sku, SESSION_WINDOW);
        if let Some(c) = &p.category {
            profile.affinity.entry(c.clone()).or_default().add(1.0, t, AFFINITY_HALF_LIFE_MS);
            trim_affinity(&mut profile.affinity, t);
        }
        let item = self.item(&p.sku, changed);
        describe(&mut item.info, p);
        item.popularity.add(POPULARITY_VIEW, t, TRENDING_HALF_LIFE_MS);
        if !seen_in_session {
            item.views.add(1.0, t, CO_HALF_LIFE_MS);
            for other in partners.iter().filter(|o| **o != p.sku) {
                self.pair(&p.sku, other, 1.0, t, Signal::View, changed);
            }
        }
        self.trend(&p.sku, t, changed);
    }

    fn add_to_cart(&mut self, target: &Key, p: &Product, t: i64, changed: &mut BTreeSet<Key>) {
        let profile = self.profile(target, changed);
        push_unique(&mut profile.cart, &p.sku, MAX_CART);
        let session = profile.session.get_or_insert_with(SessionWindow::default);
        let seen_in_session = session.carts.contains(&p.sku);
        let partners: Vec<String> = session.carts.clone();
        push_unique(&mut session.carts, &p.sku, SESSION_WINDOW);
        if let Some(c) = &p.category {
            profile.affinity.entry(c.clone()).or_default().add(2.0, t, AFFINITY_HALF_LIFE_MS);
            trim_affinity(&mut profile.affinity, t);
        }
        let item = self.item(&p.sku, changed);
        describe(&mut item.info, p);
        item.popularity.add(POPULARITY_CART, t, TRENDING_HALF_LIFE_MS);
        if !seen_in_session {
            item.buys.add(1.0, t, CO_HALF_LIFE_MS);
            for other in partners.iter().filter(|o| **o != p.sku) {
                self.pair(&p.sku, other, 1.0, t, Signal::Buy, changed);
            }
        }
        self.trend(&p.sku, t, changed);
    }

    fn purchase(&mut self, target: &Key, lines: &[LineItem], t: i64, changed: &mut BTreeSet<Key>) {
        let mut skus: Vec<&LineItem> = Vec::new();
        for line in lines {
            if skus.len() < MAX_ITEMS_PER_EVENT && !skus.iter().any(|l| l.sku == line.sku) {
                skus.push(line);
            }
        }
        let profile = self.profile(target, changed);
        profile.cart.clear();
        if let Some(s) = profile.session.as_mut() {
            s.carts.clear();
        }
        for line in &skus {
            push_unique(&mut profile.purchased, &line.sku, MAX_PURCHASED);
            if let Some(c) = &line.category {
                profile.affinity.entry(c.clone()).or_default().add(3.0, t, AFFINITY_HALF_LIFE_MS);
            }
        }
        trim_affinity(&mut profile.affinity, t);
        for line in &skus {
            let item = self.item(&line.sku, changed);
            if line.name.is_some() {
                item.info.name.clone_from(&line.name);
            }
            if line.category.is_some() {
                item.info.category.clone_from(&line.category);
            }
            item.buys.add(PURCHASE_WEIGHT, t, CO_HALF_LIFE_MS);
            item.popularity.add(POPULARITY_PURCHASE, t, TRENDING_HALF_LIFE_MS);
        }
        for (i, a) in skus.iter().enumerate() {
            for b in &skus[i + 1..] {
                self.pair(&a.sku, &b.sku, PURCHASE_WEIGHT, t, Signal::Buy, changed);
            }
        }
        for line in &skus {
            self.trend(&line.sku, t, changed);
        }
    }

    /// Counts a co-occurrence of `a` and `b` on both items, with each one's norm as of now.
    fn pair(&mut self, a: &str, b: &str, w: f64, t: i64, signal: Signal, changed: &mut BTreeSet<Key>) {
        let norm_of = |item: &Item| match signal {
            Signal::View => item.views,
            Signal::Buy => item.buys,
        };
        let norm_a = norm_of(self.item(a, changed));
        let norm_b = norm_of(self.item(b, changed));
        for (this, other, other_norm) in [(a, b, norm_b), (b, a, norm_a)] {
            let item = self.item(this, changed);
            let co = match signal {
                Signal::View => &mut item.co_view,
                Signal::Buy => &mut item.co_buy,
            };
            let entry = co.entry(other.to_string()).or_default();
            entry.count.add(w, t, CO_HALF_LIFE_MS);
            entry.other = other_norm;
            prune_co(co, t);
        }
    }

    /// Puts the item's popularity into the overall and its category's trending lists.
    fn trend(&mut self, sku: &str, t: i64, changed: &mut BTreeSet<Key>) {
        let item = self.item(sku, changed);
        let (popularity, category) = (item.popularity, item.info.category.clone());
        self.trending(Key::TrendingAll, changed).upsert(sku, popularity, t);
        if let Some(c) = category {
            self.trending(Key::TrendingCategory(c), changed).upsert(sku, popularity, t);
        }
    }
}

#[derive(Clone, Copy)]
enum Signal {
    View,
    Buy,
}

fn profile_keys(e: &ProcEvent) -> Vec<Key> {
    let mut keys = vec![Key::Anonymous(e.anonymous_id.clone())];
    if let Some(u) = &e.user_id {
        keys.push(Key::User(u.clone()));
    }
    keys
}

/// The items an event names, with their category when it says: (sku, category).
fn event_products(e: &ProcEvent) -> Vec<(String, Option<String>)> {
    match &e.body {
        EventBody::ProductView(p) => vec![(p.sku.clone(), p.category.clone())],
        EventBody::AddToCart(c) | EventBody::RemoveFromCart(c) => {
            vec![(c.product.sku.clone(), c.product.category.clone())]
        }
        EventBody::Purchase(p) => {
            let mut out: Vec<(String, Option<String>)> = Vec::new();
            for line in &p.items {
                if out.len() < MAX_ITEMS_PER_EVENT && !out.iter().any(|(s, _)| *s == line.sku) {
                    out.push((line.sku.clone(), line.category.clone()));
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

fn describe(info: &mut ItemInfo, p: &Product) {
    for (field, value) in [
        (&mut info.name, &p.name),
        (&mut info.category, &p.category),
        (&mut info.currency, &p.currency),
        (&mut info.url, &p.url),
        (&mut info.image_url, &p.image_url),
    ] {
        if value.is_some() {
            field.clone_from(value);
        }
    }
    if p.price.is_some() {
        info.price = p.price;
    }
}

fn empty_value(key: &Key) -> Value {
    match key {
        Key::Anonymous(_) | Key::User(_) => Value::Profile(Profile::default()),
        Key::Item(_) => Value::Item(Box::default()),
        Key::TrendingAll | Key::TrendingCategory(_) => Value::Trending(Trending::default()),
        Key::Stock { .. } => Value::Stock(Stock::default()),
    }
}
