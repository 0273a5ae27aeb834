// Shopstream tracker: the JS shell. It does the I/O (fetch, storage, timers, page events); the
// decisions (queue bound, batching, retry and backoff, event ids) are made by the Rust engine in the
// wasm. `track()` only appends to an array: building, serialising and queueing happen in a later task.
import load, * as engine from "./shopstream_sdk.js";

const LIBRARY = { name: "shopstream-sdk", version: "__VERSION__" };
const KEY = { anonymous: "shopstream:aid", user: "shopstream:uid", session: "shopstream:session" };
const KEEPALIVE_MAX_BYTES = 65536; // browsers refuse keepalive bodies over 64 KiB in flight
const CHUNK = 2000; // events built per task, so a large burst does not block the page
const GZIP_FROM_BYTES = 1024; // smaller bodies are sent as they are: gzip would not pay
const DELIVERED = -1, DROPPED = -2, UNAUTHORIZED = -3;

let options = null;
let ready = null;
let loaded = false;
let off = false; // Do Not Track / GPC honoured, or sampled out: nothing is stored or sent
let consent; // undefined: not required; false: required and not (or no longer) given; true: given
let auth = null; // { token?, provider? }
let authRefreshed = false;
let buffer = []; // [type, properties, unix ms, page context, identity]
let processing = false;
let timer = 0;
let retryTimer = 0;
let inFlight = 0;
let ids = null; // { anonymous_id, user_id? }
let session = null; // { id, last (unix ms), owner (anonymous id) }
let waiters = []; // resolve functions of flush() calls
let pageCtx = null, pageHref = null, pageTitle = null, lastPageView = null;
let db = null; // the persistent queue (IndexedDB), or null when unavailable or not allowed
let unsaved = []; // records to write in the next transaction: { id, owner, json }
const batches = new Map(); // batch id -> event ids, to delete them from storage once settled
const tabId = newId(); // this page's owner id for the records it stores

/** Loads the tracker and applies the options; rejects with a clear message on invalid ones. */
export function init(opts) {
  if (ready) return ready;
  ready = Promise.resolve().then(() => {
    check(opts);
    options = opts;
    if (opts.requireConsent && consent === undefined) consent = false;
    const nav = navigator;
    off = (opts.respectDoNotTrack && (nav.doNotTrack === "1" || window.doNotTrack === "1" || nav.globalPrivacyControl === true))
      || (opts.sampleRate !== undefined && fnv1a(who().anonymous_id) / 4294967296 >= opts.sampleRate);
    if (off) buffer = [];
    if (compiled === true) return;
    return compiled || load({ module_or_path: new URL("./shopstream_sdk_bg.wasm", import.meta.url) });
  }).then(() => {
    engine.configure(opts.flushAt, opts.flushIntervalMs, opts.maxBatchBytes, opts.maxQueueEvents);
    loaded = true;
    addEventListener("pagehide", onHide);
    document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && onHide());
    addEventListener("online", () => { engine.clear_backoff(); restore(); send(false); });
    if (opts.autoPageViews !== false) watchHistory();
    schedule();
    restore();
  });
  ready.catch(() => { ready = null; });
  return ready;
}

// The engine travels inside this file: `cargo xtask sdk` replaces WASM_BYTES (near the end, where gzip
// compresses it apart from the code) with a string whose code units are the wasm's bytes. It is compiled
// and instantiated synchronously when this module is evaluated, so `init()` has nothing to wait for.
// If the string did not survive intact (a bundle served in a legacy charset), or the synchronous path is
// refused, the wasm is compiled asynchronously, or fetched from next to this file.
function loadEngine() {
  if (WASM_BYTES.length !== WASM_LENGTH) return null;
  const bytes = new Uint8Array(WASM_LENGTH);
  for (let i = 0; i < WASM_LENGTH; i++) bytes[i] = WASM_BYTES.charCodeAt(i);
  try {
    engine.initSync({ module: new WebAssembly.Module(bytes) });
    return true;
  } catch {
    const ready = WebAssembly.compile(bytes).then((module) => load({ module_or_path: module }));
    ready.catch(() => {}); // reported by init(), which awaits it
    return ready;
  }
}

function check(o) {
  const fail = (m) => { throw new TypeError(`shopstream init: ${m}`); };
  if (!o || typeof o.endpoint !== "string" || !o.endpoint) fail("`endpoint` (a URL string) is required");
  if (o.onError !== undefined && typeof o.onError !== "function") fail("`onError` must be a function");
  if (o.writeKey !== undefined && (typeof o.writeKey !== "string" || !o.writeKey)) fail("`writeKey` must be a non-empty string");
  if (o.sampleRate !== undefined && !(o.sampleRate >= 0 && o.sampleRate <= 1)) fail("`sampleRate` must be a number from 0 to 1");
  if (o.beforeConsent !== undefined && o.beforeConsent !== "keep" && o.beforeConsent !== "drop") {
    fail('`beforeConsent` must be "keep" or "drop"');
  }
}

/** Queues an event of a schema type. Never throws: problems go to `onError`. */
export function track(type, properties) {
  if (off || (consent === false && !(options && options.beforeConsent === "keep"))) return;
  buffer.push([type, properties, Date.now(), pageContext(), who()]);
  schedule();
}

/** A page view of the current page. */
export function page(properties) {
  lastPageView = location.href;
  track("page_view", properties);
}

/** Ties this shopper to `userId` from now on, and records an `identify` event. */
export function identify(userId, traits) {
  if (typeof userId !== "string" || !userId) {
    report({ code: "wrong_type", path: "user_id", reason: "identify() needs a non-empty user id string" });
    return;
  }
  ids = { anonymous_id: who().anonymous_id, user_id: userId };
  store(KEY.user, userId);
  track("identify", traits ? { traits } : {});
}

/** The ids events carry now, for the shop's own calls (recommendations): `{ anonymousId, userId }`. */
export function identity() {
  const w = who();
  return { anonymousId: w.anonymous_id, userId: w.user_id };
}

/** Forgets the user: a new anonymous id and session, no user id (as analytics.js `reset`). */
export function reset() {
  ids = { anonymous_id: newId() };
  store(KEY.anonymous, ids.anonymous_id);
  store(KEY.user, null);
  store(KEY.session, null);
  session = null;
}

/**
 * Grants or revokes consent. Granting stores the ids and sends what waits; revoking drops what
 * waits and deletes the stored identifiers.
 */
export function setConsent(granted) {
  consent = !!granted;
  if (consent) {
    const who_ = who();
    store(KEY.anonymous, who_.anonymous_id);
    store(KEY.user, who_.user_id);
    schedule();
    if (loaded) { decide(); restore(); }
  } else {
    for (const key of Object.values(KEY)) {
      try { localStorage.removeItem(key); } catch { /* storage unavailable */ }
    }
    ids = null;
    session = null;
    buffer = [];
    unsaved = [];
    if (loaded) engine.discard_oldest(engine.waiting());
    if (db) transact((os) => os.clear());
  }
}

/**
 * Sends `Authorization: Bearer <token>` from now on: a token string, or a function returning one
 * (or a promise of one), called again once when the server answers 401. `null` stops sending it.
 */
export function setAuthToken(tokenOrProvider) {
  const t = tokenOrProvider;
  auth = typeof t === "function" ? { provider: t } : typeof t === "string" && t ? { token: t } : null;
  authRefreshed = false;
}

/** Sends everything queued now; resolves when those requests have been answered. */
export async function flush() {
  if (ready) await ready;
  if (!loaded) return;
  drain(Infinity);
  await new Promise((resolve) => {
    waiters.push(resolve);
    send(false);
  });
}

// E-commerce helpers: the schema's event types under analytics.js-style names.
export const productViewed = (product) => track("product_view", product);
export const productAdded = (product) => track("add_to_cart", product);
export const productRemoved = (product) => track("remove_from_cart", product);
export const checkoutStarted = (checkout) => track("checkout_started", checkout);
export const orderCompleted = (order) => track("purchase", order);

// ---- internals ---------------------------------------------------------------------------------

const sending = () => !off && consent !== false;

function schedule() {
  if (!processing && loaded && buffer.length) {
    processing = true;
    setTimeout(() => { processing = false; drain(CHUNK); }, 0);
  }
}

/** Builds and queues up to `limit` buffered events, then decides whether to send. */
function drain(limit) {
  const batch = buffer.length <= limit ? buffer : buffer.slice(0, limit);
  buffer = buffer.length <= limit ? [] : buffer.slice(limit);
  for (const entry of batch) {
    try {
      build(...entry);
    } catch (e) {
      // One bad entry must never cost the others.
      report({ code: "internal", reason: String(e), type: String(entry[0]) });
    }
  }
  if (session) store(KEY.session, `${session.id}|${session.last}|${session.owner}`);
  save();
  if (buffer.length) schedule();
  decide();
}

/** Builds one event, serialises it and queues it in the engine; problems go to onError. */
function build(type, properties, ms, context, who_) {
  if (typeof type !== "string" || !engine.is_event_type(type)) {
    report({ code: "unknown_event_type", path: "type", reason: `${JSON.stringify(type)} is not an event type of the schema` });
    return;
  }
  if (properties != null && (typeof properties !== "object" || Array.isArray(properties))) {
    report({ code: "wrong_type", path: "properties", reason: "must be an object", type });
    return;
  }
  const event = {
    event_id: engine.new_event_id(ms),
    type,
    occurred_at: new Date(ms).toISOString(),
    anonymous_id: who_.anonymous_id,
    user_id: who_.user_id,
    session_id: sessionAt(ms, who_.anonymous_id),
    context,
    properties: properties || {},
  };
  let json;
  try {
    json = JSON.stringify(event);
  } catch (e) {
    report({ code: "not_json", path: "properties", reason: String(e), type });
    return;
  }
  const dropped = engine.push(event.event_id, json);
  if (dropped < 0) {
    report({ code: "event_too_large", path: "$", reason: "the event is over 32 KiB of JSON", type });
    return;
  }
  unsaved.push({ id: event.event_id, owner: tabId, json });
  if (dropped > 0) {
    forget(engine.take_dropped_ids().split(","));
    report({ code: "queue_full", reason: `the queue is full: ${dropped} oldest event(s) dropped` });
  }
}

/** Sends when a full batch waits; otherwise makes sure the interval timer is running. */
function decide() {
  if (!sending()) return;
  if (engine.full_batch_waiting()) send(false);
  else if (!timer && engine.waiting()) timer = setTimeout(() => { timer = 0; send(false); }, engine.flush_interval_ms());
}

/**
 * Sends the next batch (everything waiting, within maxBatchBytes and 500 events). One request at a
 * time, so one shopper's events arrive in order; while flush() waits it keeps going until the
 * queue is empty. On page hide: one keepalive request of at most 64 KiB, whatever is in flight.
 */
function send(hiding) {
  if (!loaded || !sending()) return settleWaiters();
  if (!hiding && (inFlight > 0 || (engine.backing_off(Date.now()) && !waiters.length))) return;
  if (!hiding && auth && auth.provider && !auth.token) return refreshToken().then(() => send(false));
  const body = engine.next_batch(new Date().toISOString(), hiding ? KEEPALIVE_MAX_BYTES : engine.max_batch_bytes());
  if (body === undefined) return settleWaiters();
  batches.set(engine.batch_id(), engine.batch_event_ids().split(","));
  post(engine.batch_id(), body, hiding);
}

function post(id, body, keepalive) {
  inFlight++;
  // text/plain keeps an unauthenticated cross-origin post a "simple" request: no CORS preflight;
  // so does saying "gzip" in the query rather than in a Content-Encoding header.
  const headers = { "content-type": "text/plain;charset=UTF-8" };
  if (auth && auth.token) headers.authorization = `Bearer ${auth.token}`;
  if (options.debug) console.debug("shopstream: sending", engine.batch_events(), "event(s)");
  // Not when hiding: the page may be gone before the asynchronous compression is done.
  const gzip = !keepalive && body.length >= GZIP_FROM_BYTES && typeof CompressionStream === "function";
  // The write key also travels in the query (a header would cost a preflight).
  const query = [options.writeKey && `write_key=${encodeURIComponent(options.writeKey)}`, gzip && "compression=gzip"].filter(Boolean);
  const url = query.length ? `${options.endpoint}${options.endpoint.includes("?") ? "&" : "?"}${query.join("&")}` : options.endpoint;
  (gzip ? new Response(new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer() : Promise.resolve(body))
    .then((payload) => fetch(url, { method: "POST", body: payload, keepalive, headers }))
    .then(
      (r) => r.json().catch(() => null).then((answer) =>
        settled(id, r.status, r.headers.get("retry-after"), answer)),
      () => settled(id, 0, null, null),
    );
}

function settled(id, status, retryAfter, answer) {
  inFlight--;
  const verdict = engine.settle(id, status, retryAfterMs(retryAfter), Date.now(), Math.random());
  const events = engine.settled_events();
  const ids = batches.get(id) || [];
  batches.delete(id);
  if (verdict === DELIVERED || verdict === DROPPED) forget(ids);
  if (options.debug) console.debug("shopstream: answer", status, "for", events, "event(s)");
  if (verdict === DELIVERED) {
    authRefreshed = false;
    for (const r of (answer && answer.rejected) || []) {
      report({ code: "rejected", status, event_id: r.event_id, errors: r.errors,
        reason: r.errors.map((e) => `${e.path} ${e.reason}`).join("; ") });
    }
  } else if (verdict === DROPPED) {
    const why = answer && answer.reason ? ` (${answer.reason})` : "";
    report({ code: "dropped", status, reason: `the server answered ${status}${why}: ${events} event(s) dropped` });
  } else if (verdict === UNAUTHORIZED) {
    if (auth && auth.provider && !authRefreshed) {
      // One refresh, then the same events again (they are back at the front of the queue).
      authRefreshed = true;
      auth.token = null;
      return refreshToken().then(() => send(false));
    }
    // The token is refused even after a refresh (or cannot be refreshed): stop sending it until the
    // app sets a new one, and send the events without it, as anonymous, rather than lose them.
    auth = null;
    authRefreshed = false;
    report({ code: "unauthorized", status, reason: `the server refused the token (401): ${events} event(s) sent again without it, as anonymous` });
    return send(false);
  } else {
    // Kept in the engine for the retry; a pending flush() ends here rather than wait out an outage.
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => send(false), verdict + 10);
    return settleWaiters();
  }
  if (waiters.length) send(false);
  else decide();
}

/** `Retry-After` (delta-seconds or an HTTP date) as ms from now; the engine honours it as a floor. */
function retryAfterMs(value) {
  if (value == null) return undefined;
  const ms = /^\s*\d+\s*$/.test(value) ? Number(value) * 1000 : Date.parse(value) - Date.now();
  return Number.isNaN(ms) ? undefined : ms;
}

async function refreshToken() {
  try {
    const token = await auth.provider();
    auth.token = typeof token === "string" && token ? token : null;
  } catch (e) {
    report({ code: "auth_provider", reason: `the auth token provider failed: ${e}` });
  }
  if (!auth.token) auth = null; // send unauthenticated rather than stall
}

function settleWaiters() {
  if (inFlight) return;
  for (const resolve of waiters.splice(0)) resolve();
}

function onHide() {
  if (!loaded) return;
  drain(Infinity);
  send(true);
}

// ---- the persistent queue -------------------------------------------------------------------
// Every queued event is also in IndexedDB (one transaction per processed chunk: incremental, never
// a rewrite), owned by the tab that queued it, and deleted once delivered or dropped. Each tab holds
// a Web Lock for its life; the events of tabs that are gone (reloaded, closed, crashed) are claimed
// under an exclusive lock, in one transaction, so exactly one tab takes them over and sends them.

const TAB_LOCK = "shopstream:tab:";
let tabLock = null; // resolves once this tab's lock is held

let opening = null; // the one pending open, shared by concurrent callers

function openDb() {
  if (db !== null || !sending() || typeof indexedDB === "undefined") return Promise.resolve(db);
  return (opening = opening || new Promise((resolve) => {
    const req = indexedDB.open("shopstream", 1);
    const done = (value) => { opening = null; resolve((db = value)); };
    req.onupgradeneeded = () => req.result.createObjectStore("queue", { keyPath: "id" });
    req.onsuccess = () => done(req.result);
    req.onerror = req.onblocked = () => done(null);
  }));
}

/** Runs `work(objectStore)` in a read-write transaction; resolves true once committed. */
function transact(work) {
  return new Promise((resolve) => {
    try {
      const tx = db.transaction("queue", "readwrite");
      work(tx.objectStore("queue"));
      tx.oncomplete = () => resolve(true);
      tx.onerror = tx.onabort = () => resolve(false);
    } catch {
      resolve(false);
    }
  });
}

function save() {
  if (!unsaved.length || !sending()) return;
  const records = unsaved;
  unsaved = [];
  openDb().then((d) => d && transact((os) => records.forEach((r) => os.put(r))));
}

function forget(ids) {
  const gone = new Set(ids);
  unsaved = unsaved.filter((r) => !gone.has(r.id));
  if (db) transact((os) => ids.forEach((id) => id && os.delete(id)));
}

/** Takes over the stored events of tabs that are gone, and queues them (oldest first). */
async function restore() {
  if (!sending() || !(await openDb())) return;
  const locks = navigator.locks;
  if (locks && !tabLock) {
    tabLock = new Promise((granted) => locks.request(TAB_LOCK + tabId, () => (granted(), new Promise(() => {}))));
  }
  await tabLock;
  const claim = async () => {
    // Asked inside the claim lock: a tab that claimed anything held its own lock before it did.
    const live = locks ? new Set((await locks.query()).held.map((l) => l.name)) : null;
    const claimed = [];
    const ok = await transact((os) => {
      os.openCursor().onsuccess = (e) => {
        const cursor = e.target.result;
        if (!cursor) return;
        const r = cursor.value;
        // Without Web Locks liveness is unknown: take everything (the server deduplicates by id).
        if (r.owner !== tabId && (!live || !live.has(TAB_LOCK + r.owner))) {
          r.owner = tabId;
          cursor.update(r);
          claimed.push(r);
        }
        cursor.continue();
      };
    });
    return ok ? claimed : [];
  };
  const claimed = locks ? await locks.request("shopstream:claim", claim) : await claim();
  for (const r of claimed) {
    if (engine.push(r.id, r.json) > 0) forget(engine.take_dropped_ids().split(","));
  }
  if (claimed.length) decide();
}

/** Page views for single-page apps: history changes that change the URL, and the first page. */
function watchHistory() {
  const changed = () => location.href !== lastPageView && page();
  for (const method of ["pushState", "replaceState"]) {
    const original = history[method];
    history[method] = function (...args) {
      const result = original.apply(this, args);
      changed();
      return result;
    };
  }
  addEventListener("popstate", changed);
  changed();
}

function pageContext() {
  const href = location.href, title = document.title;
  if (href !== pageHref || title !== pageTitle) {
    pageHref = href;
    pageTitle = title;
    pageCtx = {
      page: { url: href, path: location.pathname, referrer: document.referrer, title, search: location.search || undefined },
      locale: navigator.language,
      screen: { width: screen.width, height: screen.height },
      library: LIBRARY,
    };
  }
  return pageCtx;
}

/** The session of shopper `anon` at `ms`: a new one after 30 minutes idle or another shopper. */
function sessionAt(ms, anon) {
  if (!session) {
    const [id, last, owner] = (read(KEY.session) || "").split("|");
    session = id ? { id, last: Number(last), owner } : null;
  }
  if (!session || session.owner !== anon || engine.session_expired(session.last, ms)) {
    session = { id: newId(), last: ms, owner: anon };
  }
  session.last = Math.max(session.last, ms);
  return session.id;
}

function who() {
  return ids || (ids = loadIdentity());
}

function loadIdentity() {
  let anonymous_id = read(KEY.anonymous);
  if (!anonymous_id) store(KEY.anonymous, (anonymous_id = newId()));
  const user_id = read(KEY.user) || undefined;
  return { anonymous_id, user_id };
}

function report(error) {
  if (options && options.debug) console.warn("shopstream:", error.reason, error);
  try {
    options && options.onError && options.onError(error);
  } catch {
    // A failing callback must not break tracking.
  }
}

/** A random UUIDv4 (ids for people and sessions; events get UUIDv7 from the engine). */
function newId() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  const h = Array.from(b, (x) => (x + 256).toString(16).slice(1)).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** 32-bit FNV-1a of a string: the sampling decision, stable per shopper. */
function fnv1a(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

// Storage: nothing is read or written without consent (when it is required) or when tracking is off.
function read(key) {
  if (!sending()) return null;
  try { return localStorage.getItem(key); } catch { return null; }
}

function store(key, value) {
  if (!sending()) return;
  try {
    if (value == null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Storage may be unavailable (private mode, disabled): ids then last for the page's life.
  }
}

const WASM_BYTES = "__WASM_BYTES__";
const WASM_LENGTH = "__WASM_LENGTH__";
const compiled = loadEngine();
