// Shopstream tracker: the JS shell. It does the I/O (fetch, storage, timers, page events); the
// decisions (queue bound, batching, retry and backoff, ids) are made by the Rust core in the wasm.
// `track()` only appends to an array: building, serialising and queueing happen in a later task.
import load, * as core from "./shopstream_sdk.js";

const LIBRARY = { name: "shopstream-sdk", version: "__VERSION__" };
const KEY = { anonymous: "shopstream:aid", user: "shopstream:uid", session: "shopstream:session" };
const KEEPALIVE_MAX_BYTES = 65536; // browsers refuse keepalive bodies over 64 KiB in flight
const CHUNK = 2000; // events built per task, so a large burst does not block the page
const DELIVERED = -1, DROPPED = -2, UNAUTHORIZED = -3;

let options = null;
let ready = null;
let loaded = false;
let buffer = []; // [type, properties, unix ms, page context, identity]
let processing = false;
let timer = 0;
let retryTimer = 0;
let inFlight = 0;
let identity = null; // { anonymous_id, user_id? }
let session = null; // { id, last (unix ms), owner (anonymous id) }
let waiters = []; // resolve functions of flush() calls
let pageCtx = null, pageHref = null, pageTitle = null;

/** Loads the tracker and applies the options; rejects with a clear message on invalid ones. */
export function init(opts) {
  if (ready) return ready;
  ready = Promise.resolve().then(() => {
    if (!opts || typeof opts.endpoint !== "string" || !opts.endpoint) {
      throw new TypeError("shopstream init: `endpoint` (a URL string) is required");
    }
    if (opts.onError !== undefined && typeof opts.onError !== "function") {
      throw new TypeError("shopstream init: `onError` must be a function");
    }
    options = opts;
    who();
    return load({ module_or_path: new URL("./shopstream_sdk_bg.wasm", import.meta.url) });
  }).then(() => {
    core.configure(opts.flushAt, opts.flushIntervalMs, opts.maxBatchBytes, opts.maxQueueEvents);
    loaded = true;
    addEventListener("pagehide", onHide);
    document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && onHide());
    addEventListener("online", () => send(false));
    schedule();
  });
  ready.catch(() => { ready = null; });
  return ready;
}

/** Queues an event of a schema type. Never throws: problems go to `onError`. */
export function track(type, properties) {
  buffer.push([type, properties, Date.now(), pageContext(), who()]);
  schedule();
}

/** A page view of the current page. */
export function page(properties) {
  track("page_view", properties);
}

/** Ties this shopper to `userId` from now on, and records an `identify` event. */
export function identify(userId, traits) {
  if (typeof userId !== "string" || !userId) {
    report({ code: "wrong_type", path: "user_id", reason: "identify() needs a non-empty user id string" });
    return;
  }
  identity = { anonymous_id: who().anonymous_id, user_id: userId };
  store(KEY.user, userId);
  track("identify", traits ? { traits } : {});
}

/** Forgets the user: a new anonymous id and session, no user id (as analytics.js `reset`). */
export function reset() {
  identity = { anonymous_id: newId() };
  store(KEY.anonymous, identity.anonymous_id);
  store(KEY.user, null);
  store(KEY.session, null);
  session = null;
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
  if (buffer.length) schedule();
  decide();
}

/** Builds one event, serialises it and queues it in the core; problems go to onError. */
function build(type, properties, ms, context, who) {
  if (typeof type !== "string" || !core.is_event_type(type)) {
    report({ code: "unknown_event_type", path: "type", reason: `${JSON.stringify(type)} is not an event type of the schema` });
    return;
  }
  if (properties != null && (typeof properties !== "object" || Array.isArray(properties))) {
    report({ code: "wrong_type", path: "properties", reason: "must be an object", type });
    return;
  }
  const event = {
    event_id: core.new_event_id(ms),
    type,
    occurred_at: new Date(ms).toISOString(),
    anonymous_id: who.anonymous_id,
    user_id: who.user_id,
    session_id: sessionAt(ms, who.anonymous_id),
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
  const dropped = core.push(json);
  if (dropped < 0) report({ code: "event_too_large", path: "$", reason: "the event is over 32 KiB of JSON", type });
  else if (dropped > 0) report({ code: "queue_full", reason: `the queue is full: ${dropped} oldest event(s) dropped` });
}

/** Sends when a full batch waits; otherwise makes sure the interval timer is running. */
function decide() {
  if (core.full_batch_waiting()) send(false);
  else if (!timer && core.waiting()) timer = setTimeout(() => { timer = 0; send(false); }, core.flush_interval_ms());
}

/**
 * Sends the next batch (everything waiting, within maxBatchBytes and 500 events). One request at a
 * time, so one shopper's events arrive in order; while flush() waits it keeps going until the
 * queue is empty. On page hide: one keepalive request of at most 64 KiB, whatever is in flight.
 */
function send(hiding) {
  if (!loaded) return settleWaiters();
  if (!hiding && (inFlight > 0 || (core.backing_off(Date.now()) && !waiters.length))) return;
  const body = core.next_batch(new Date().toISOString(), hiding ? KEEPALIVE_MAX_BYTES : core.max_batch_bytes());
  if (body === undefined) return settleWaiters();
  post(core.batch_id(), body, hiding);
}

function post(id, body, keepalive) {
  inFlight++;
  fetch(options.endpoint, {
    method: "POST",
    body,
    keepalive,
    // text/plain keeps a cross-origin post a "simple" request: no CORS preflight round trip.
    headers: { "content-type": "text/plain;charset=UTF-8" },
  }).then(
    (r) => (r.ok ? r.json().catch(() => null) : Promise.resolve(null)).then((answer) =>
      settled(id, r.status, r.headers.get("retry-after"), answer)),
    () => settled(id, 0, null, null),
  );
}

function settled(id, status, retryAfter, answer) {
  inFlight--;
  const verdict = core.settle(id, status, retryAfter ?? undefined, Date.now(), Math.random());
  const events = core.settled_events();
  if (verdict === DELIVERED) {
    for (const r of (answer && answer.rejected) || []) {
      report({ code: "rejected", status, event_id: r.event_id, errors: r.errors,
        reason: r.errors.map((e) => `${e.path} ${e.reason}`).join("; ") });
    }
  } else if (verdict === DROPPED) {
    report({ code: "dropped", status, reason: `the server answered ${status}: ${events} event(s) dropped` });
  } else if (verdict === UNAUTHORIZED) {
    core.discard_oldest(events);
    report({ code: "unauthorized", status, reason: `the server answered 401: ${events} event(s) dropped` });
  } else {
    // Kept in the core for the retry; a pending flush() ends here rather than wait out an outage.
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => send(false), verdict + 10);
    return settleWaiters();
  }
  if (waiters.length) send(false);
  else decide();
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
  if (!session || session.owner !== anon || core.session_expired(session.last, ms)) {
    session = { id: newId(), last: ms, owner: anon };
  }
  session.last = Math.max(session.last, ms);
  return session.id;
}

function who() {
  return identity || (identity = loadIdentity());
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

/** A random UUIDv4 (ids for people and sessions; events get UUIDv7 from the core). */
function newId() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  const h = Array.from(b, (x) => (x + 256).toString(16).slice(1)).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function read(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}

function store(key, value) {
  try {
    if (value == null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Storage may be unavailable (private mode, disabled): ids then last for the page's life.
  }
}
