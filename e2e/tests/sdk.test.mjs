// The tracker's behaviours in real headless Chromium, against the real local server. Server faults
// (503, 429, 400, network errors) are injected with Playwright's request routing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, launchBrowser, waitForEvents, storedEvents, sdkTestSite, isIngest, requestBody } from "./support.mjs";

let server, browser;
/** Routes to the ingest, with or without a query (`?compression=gzip`). */
const INGEST_URL = /\/v1\/events(\?.*)?$/;

before(async () => {
  server = await startServer(sdkTestSite());
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh page (fresh storage) with the SDK initialised; `requests` records every ingest POST. */
async function sdkPage(options = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests = [];
  page.on("request", (r) => {
    if (isIngest(r)) requests.push({ at: Date.now(), body: requestBody(r), gzip: r.url().includes("compression=gzip") });
  });
  await page.goto(server.url);
  await page.waitForFunction(() => window.sdk);
  await page.evaluate((o) => window.sdk.init({ endpoint: "/v1/events", autoPageViews: false, ...o, onError: (e) => window.errors.push(e) }), options);
  return { page, context, requests };
}

const tag = () => `t${Math.random().toString(36).slice(2, 10)}`;
const mine = (t) => (events) => events.filter((e) => e.properties.query === t || e.properties.t === t);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Waits (up to 5 s) for a condition on what the test has observed, e.g. request events. */
async function until(condition) {
  for (const deadline = Date.now() + 5000; !condition() && Date.now() < deadline; ) await sleep(20);
}

test("batches by count: nothing goes before flushAt events wait, then all that wait go together", async () => {
  const t = tag();
  const { context, page, requests } = await sdkPage({ flushAt: 5, flushIntervalMs: 600000 });
  await page.evaluate((t) => { for (let i = 0; i < 4; i++) window.sdk.track("search", { query: t }); }, t);
  await sleep(400);
  assert.equal(requests.length, 0, "4 < flushAt: no request yet");
  await page.evaluate((t) => window.sdk.track("search", { query: t }), t);
  await waitForEvents(server.data, (evs) => mine(t)(evs).length === 5);
  await until(() => requests.length >= 1);
  assert.equal(requests.length, 1);
  assert.equal(JSON.parse(requests[0].body).events.length, 5);
  await page.evaluate((t) => { for (let i = 0; i < 12; i++) window.sdk.track("search", { query: t }); }, t);
  const events = await waitForEvents(server.data, (evs) => mine(t)(evs).length === 17);
  assert.equal(mine(t)(events).length, 17);
  await until(() => requests.length >= 2);
  assert.equal(requests.length, 2, "a burst goes in one request");
  assert.equal(JSON.parse(requests[1].body).events.length, 12);
  await context.close();
});

test("batches by time: a lone event is sent after flushIntervalMs", async () => {
  const t = tag();
  const { context, page, requests } = await sdkPage({ flushAt: 500, flushIntervalMs: 300 });
  const started = Date.now();
  await page.evaluate((t) => { for (let i = 0; i < 3; i++) window.sdk.track("search", { query: t }); }, t);
  const events = await waitForEvents(server.data, (evs) => mine(t)(evs).length === 3);
  assert.equal(mine(t)(events).length, 3);
  // The page's request event can reach the test after the store has the events.
  await until(() => requests.length >= 1);
  assert.equal(requests.length, 1, "one request for the three");
  assert.ok(requests[0].at - started >= 250, "not before the interval");
  await context.close();
});

test("batches by bytes: no request body over maxBatchBytes", async () => {
  const t = tag();
  const { context, page, requests } = await sdkPage({ flushAt: 500, maxBatchBytes: 32768, flushIntervalMs: 600000 });
  await page.evaluate((t) => {
    for (let i = 0; i < 10; i++) window.sdk.track("custom", { name: "big", t, pad: "x".repeat(1000).repeat(1) , more: Array(9).fill("y".repeat(1000)) });
  }, t);
  await page.evaluate(() => window.sdk.flush());
  const events = await waitForEvents(server.data, (evs) => mine(t)(evs).length === 10);
  assert.equal(mine(t)(events).length, 10);
  await until(() => requests.length >= 4);
  assert.ok(requests.length >= 4, `${requests.length} requests`);
  for (const r of requests) assert.ok(Buffer.byteLength(r.body) <= 32768, `${Buffer.byteLength(r.body)} bytes`);
  await context.close();
});

test("retries 503 and network errors with the same event ids until stored", async () => {
  const t = tag();
  const { context, page } = await sdkPage({ flushAt: 3 });
  const attempts = [];
  await page.route(INGEST_URL, async (route) => {
    attempts.push(JSON.parse(requestBody(route.request())).events.map((e) => e.event_id));
    if (attempts.length === 1) return route.fulfill({ status: 503, body: "{}" });
    if (attempts.length === 2) return route.abort("failed");
    return route.continue();
  });
  await page.evaluate((t) => { for (let i = 0; i < 3; i++) window.sdk.track("search", { query: t }); }, t);
  const events = await waitForEvents(server.data, (evs) => mine(t)(evs).length === 3, 15000);
  assert.equal(mine(t)(events).length, 3);
  assert.equal(attempts.length, 3);
  assert.deepEqual(attempts[1], attempts[0], "same ids on the retry");
  assert.deepEqual(attempts[2], attempts[0]);
  assert.deepEqual(mine(t)(events).map((e) => e.event_id), attempts[0]);
  assert.deepEqual(await page.evaluate(() => window.errors), [], "retries are not errors");
  await context.close();
});

test("429 with Retry-After (seconds, then an HTTP date) waits at least that long", async () => {
  const t = tag();
  const { context, page } = await sdkPage({ flushAt: 1 });
  const at = [];
  await page.route(INGEST_URL, async (route) => {
    at.push(Date.now());
    if (at.length === 1) return route.fulfill({ status: 429, headers: { "retry-after": "2" }, body: "{}" });
    if (at.length === 2) {
      // HTTP dates have whole seconds: 3 s ahead is at least 2 s ahead.
      const date = new Date(Date.now() + 3000).toUTCString();
      return route.fulfill({ status: 429, headers: { "retry-after": date }, body: "{}" });
    }
    return route.continue();
  });
  await page.evaluate((t) => window.sdk.track("search", { query: t }), t);
  await waitForEvents(server.data, (evs) => mine(t)(evs).length === 1, 20000);
  assert.equal(at.length, 3);
  assert.ok(at[1] - at[0] >= 1950, `retried after ${at[1] - at[0]} ms (Retry-After: 2)`);
  assert.ok(at[2] - at[1] >= 1950, `retried after ${at[2] - at[1]} ms (Retry-After: an HTTP date)`);
  await context.close();
});

test("a 400 is not retried: the batch is dropped and reported", async () => {
  const t = tag();
  const { context, page } = await sdkPage({ flushAt: 2 });
  let calls = 0;
  await page.route(INGEST_URL, (route) => { calls++; return route.fulfill({ status: 400, body: "{}" }); });
  await page.evaluate((t) => { window.sdk.track("search", { query: t }); window.sdk.track("search", { query: t }); }, t);
  await page.waitForFunction(() => window.errors.length > 0);
  await sleep(1500);
  assert.equal(calls, 1, "no retry");
  const errors = await page.evaluate(() => window.errors);
  assert.equal(errors[0].code, "dropped");
  assert.equal(errors[0].status, 400);
  assert.match(errors[0].reason, /2 event\(s\) dropped/);
  await context.close();
});

test("bad input is reported through onError and track() never throws", async () => {
  const { context, page } = await sdkPage({ flushAt: 1 });
  const threw = await page.evaluate(() => {
    try {
      window.sdk.track("no_such_type", {});
      window.sdk.track("search", 5);
      window.sdk.track(undefined);
      const cyclic = {}; cyclic.self = cyclic;
      window.sdk.track("custom", cyclic);
      window.sdk.track("product_view", { sku: "s", currency: "euro" });
      window.sdk.identify(42);
      return false;
    } catch { return true; }
  });
  assert.equal(threw, false);
  await page.waitForFunction(() => window.errors.some((e) => e.code === "rejected"));
  const errors = await page.evaluate(() => window.errors.map(({ code, path, errors }) => ({ code, path, errors })));
  // identify() reports at once; track() input is checked when the buffer is processed.
  assert.deepEqual(errors.slice(0, 5).map((e) => [e.code, e.path]), [
    ["wrong_type", "user_id"],
    ["unknown_event_type", "type"],
    ["wrong_type", "properties"],
    ["unknown_event_type", "type"],
    ["not_json", "properties"],
  ]);
  const rejected = errors.find((e) => e.code === "rejected");
  assert.equal(rejected.errors[0].path, "properties.currency", "the server's field path reaches onError");
  await context.close();
});

test("init rejects invalid options with a clear message", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => window.sdk);
  const messages = await page.evaluate(async () => {
    const out = [];
    for (const o of [{}, { endpoint: "/v1/events", flushAt: 0 }, { endpoint: "/v1/events", maxBatchBytes: 10 }]) {
      try { await window.sdk.init(o); out.push("ok"); } catch (e) { out.push(e.message); }
    }
    return out;
  });
  assert.match(messages[0], /endpoint/);
  assert.match(messages[1], /flushAt must be an integer from 1 to 500/);
  assert.match(messages[2], /maxBatchBytes/);
  await context.close();
});

test("identify, reset, sessions and the e-commerce helpers", async () => {
  const { context, page } = await sdkPage({ flushAt: 500 });
  const [anonymousIds, identities] = await page.evaluate(() => {
    const s = window.sdk;
    const identities = [];
    s.productViewed({ sku: "sku-1", price: 10, currency: "EUR" });
    const before = localStorage.getItem("shopstream:aid"); // created by the first call
    const anon = s.identity();
    s.identify("user-7", { plan: "gold" });
    identities.push(anon, s.identity());
    s.productAdded({ sku: "sku-1", quantity: 2 });
    s.productRemoved({ sku: "sku-1" });
    s.checkoutStarted({ revenue: 10, currency: "EUR" });
    s.orderCompleted({ order_id: "o-1", revenue: 10, currency: "EUR", items: [{ sku: "sku-1", quantity: 1, price: 10 }] });
    s.reset();
    identities.push(s.identity());
    s.page({ name: "after-reset" });
    return [[before, localStorage.getItem("shopstream:aid")], identities];
  });
  await page.evaluate(() => window.sdk.flush());
  const ours = (evs) => evs.filter((e) => anonymousIds.includes(e.anonymous_id));
  const run = ours(await waitForEvents(server.data, (evs) => ours(evs).length === 7));
  assert.deepEqual(run.map((e) => e.type),
    ["product_view", "identify", "add_to_cart", "remove_from_cart", "checkout_started", "purchase", "page_view"]);
  const [viewed, identify, added, , , purchase, after] = run;
  // Without a verified token the server keeps the user id as claimed (untrusted), not as user_id.
  assert.equal(viewed.claimed_user_id, undefined);
  assert.equal(identify.claimed_user_id, "user-7");
  assert.equal(identify.user_id, undefined);
  assert.deepEqual(identify.properties, { traits: { plan: "gold" } });
  assert.equal(added.claimed_user_id, "user-7");
  assert.equal(added.properties.quantity, 2);
  assert.equal(purchase.claimed_user_id, "user-7");
  assert.equal(purchase.properties.order_id, "o-1");
  assert.equal(added.anonymous_id, viewed.anonymous_id, "identify keeps the anonymous id");
  assert.equal(added.session_id, viewed.session_id, "one session");
  assert.notEqual(after.anonymous_id, viewed.anonymous_id, "reset: new anonymous id");
  assert.notEqual(after.session_id, viewed.session_id, "reset: new session");
  assert.equal(after.claimed_user_id, undefined, "reset: no user id");
  assert.equal(after.properties.name, "after-reset");
  // identity(): the ids the events carry, for the shop's own calls (recommendations).
  assert.deepEqual(identities.map((i) => [i.anonymousId, i.userId ?? null]), [
    [viewed.anonymous_id, null],
    [viewed.anonymous_id, "user-7"],
    [after.anonymous_id, null],
  ]);
  await context.close();
});

test("a session ends after 30 minutes of inactivity", async () => {
  const t = tag();
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url);
  // The same shopper, idle for 31 minutes: only the timeout can end this session.
  await page.evaluate(() => {
    localStorage.setItem("shopstream:aid", "shopper-1");
    localStorage.setItem("shopstream:session", `old-session|${Date.now() - 31 * 60 * 1000}|shopper-1`);
  });
  await page.waitForFunction(() => window.sdk);
  await page.evaluate(async (t) => {
    await window.sdk.init({ endpoint: "/v1/events", flushAt: 1 });
    window.sdk.track("search", { query: t });
  }, t);
  const [e] = mine(t)(await waitForEvents(server.data, (evs) => mine(t)(evs).length === 1));
  assert.equal(e.anonymous_id, "shopper-1");
  assert.notEqual(e.session_id, "old-session");
  await page.reload();
  await page.waitForFunction(() => window.sdk);
  // Planted after the reload: leaving the first page saved that page's session on its way out.
  await page.evaluate(() => localStorage.setItem("shopstream:session",
    `recent-session|${Date.now() - 60 * 1000}|${localStorage.getItem("shopstream:aid")}`));
  await page.evaluate(async (t) => {
    await window.sdk.init({ endpoint: "/v1/events", flushAt: 1 });
    window.sdk.track("search", { query: t + "b" });
  }, t);
  const [e2] = mine(t + "b")(await waitForEvents(server.data, (evs) => mine(t + "b")(evs).length === 1));
  assert.equal(e2.session_id, "recent-session", "an active session continues");
  await context.close();
});

test("events still queued when the page is left are delivered (pagehide, keepalive)", async () => {
  const t = tag();
  const { context, page } = await sdkPage({ flushAt: 500, flushIntervalMs: 600000 });
  await page.evaluate((t) => { for (let i = 0; i < 20; i++) window.sdk.track("search", { query: t }); }, t);
  await page.goto("about:blank");
  const events = await waitForEvents(server.data, (evs) => mine(t)(evs).length === 20);
  assert.equal(mine(t)(events).length, 20);
  await context.close();
});

test("a burst of 10,000 track() calls in one task is delivered whole", async () => {
  const t = tag();
  const { context, page } = await sdkPage({});
  await page.evaluate((t) => { for (let i = 0; i < 10000; i++) window.sdk.track("search", { query: t, results: i }); }, t);
  await page.evaluate(() => window.sdk.flush());
  const events = mine(t)(await waitForEvents(server.data, (evs) => mine(t)(evs).length === 10000, 30000));
  assert.equal(events.length, 10000);
  assert.equal(new Set(events.map((e) => e.event_id)).size, 10000);
  assert.deepEqual(events.map((e) => e.properties.results), [...Array(10000).keys()], "in order");
  assert.deepEqual(await page.evaluate(() => window.errors), []);
  await context.close();
});

test("single-page apps: a page view for the first page and each history change to a new URL", async () => {
  const { context, page } = await sdkPage({ autoPageViews: true, flushAt: 500 });
  const anon = await page.evaluate(() => localStorage.getItem("shopstream:aid"));
  await page.evaluate(() => {
    history.pushState({}, "", "/category/shoes");
    history.replaceState({}, "", "/category/shoes"); // same URL: no page view
    history.pushState({}, "", "/product/sku-1?ref=list");
  });
  await page.goBack(); // popstate to /category/shoes
  await page.waitForFunction(() => location.pathname === "/category/shoes");
  await page.evaluate(() => window.sdk.flush());
  const ours = (evs) => evs.filter((e) => e.anonymous_id === anon && e.type === "page_view");
  const views = ours(await waitForEvents(server.data, (evs) => ours(evs).length >= 4));
  assert.deepEqual(views.map((e) => e.context.page.path), ["/", "/category/shoes", "/product/sku-1", "/category/shoes"]);
  assert.equal(views[2].context.page.search, "?ref=list");
  await context.close();

  const optOut = await sdkPage({ autoPageViews: false, flushAt: 1 });
  const anon2 = await optOut.page.evaluate(() => localStorage.getItem("shopstream:aid"));
  await optOut.page.evaluate(() => history.pushState({}, "", "/elsewhere"));
  await optOut.page.evaluate(() => window.sdk.flush());
  await sleep(300);
  assert.equal(storedEvents(server.data).filter((e) => e.anonymous_id === anon2).length, 0, "opted out");
  await optOut.context.close();
});

test("consent: nothing stored or sent before it; kept events go after it; revoking forgets", async () => {
  const t = tag();
  const { context, page, requests } = await sdkPage({ requireConsent: true, flushAt: 1 });
  await page.evaluate((t) => window.sdk.track("search", { query: t + "-dropped" }), t);
  await sleep(400);
  assert.equal(requests.length, 0, "nothing sent before consent");
  assert.deepEqual(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("shopstream"))), [],
    "nothing stored before consent");
  await page.evaluate((t) => { window.sdk.setConsent(true); window.sdk.track("search", { query: t }); }, t);
  const [after] = mine(t)(await waitForEvents(server.data, (evs) => mine(t)(evs).length === 1));
  assert.equal(storedEvents(server.data).filter((e) => e.properties.query === t + "-dropped").length, 0,
    "tracked before consent: dropped by default");
  assert.equal(await page.evaluate(() => localStorage.getItem("shopstream:aid")), after.anonymous_id, "stored after consent");
  await page.evaluate(() => window.sdk.setConsent(false));
  assert.deepEqual(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("shopstream"))), [],
    "revoking deletes the stored identifiers");
  const before = requests.length;
  await page.evaluate((t) => window.sdk.track("search", { query: t + "-revoked" }), t);
  await sleep(400);
  assert.equal(requests.length, before, "nothing sent after revoking");
  await context.close();

  const keep = await sdkPage({ requireConsent: true, beforeConsent: "keep", flushAt: 1 });
  await keep.page.evaluate((t) => window.sdk.track("search", { query: t + "-kept" }), t);
  await sleep(300);
  assert.equal(keep.requests.length, 0);
  await keep.page.evaluate(() => window.sdk.setConsent(true));
  const kept = await waitForEvents(server.data, (evs) => evs.some((e) => e.properties.query === t + "-kept"));
  assert.ok(kept.some((e) => e.properties.query === t + "-kept"), "kept in memory, sent on consent");
  await keep.context.close();
});

test("auth: a bearer token is sent; a 401 triggers one refresh and a retry, then anonymous sending", async () => {
  const t = tag();
  const { context, page } = await sdkPage({ flushAt: 1 });
  const seen = [];
  await page.route(INGEST_URL, (route) => {
    seen.push(route.request().headers().authorization);
    return seen.length === 1 ? route.fulfill({ status: 401, body: "{}" }) : route.continue();
  });
  await page.evaluate((t) => {
    let n = 0;
    window.sdk.setAuthToken(async () => `tok-${++n}`);
    window.sdk.track("search", { query: t });
  }, t);
  const events = await waitForEvents(server.data, (evs) => mine(t)(evs).length === 1);
  assert.equal(mine(t)(events).length, 1);
  assert.deepEqual(seen, ["Bearer tok-1", "Bearer tok-2"]);
  await context.close();

  // A refused token that cannot be refreshed: reported, then the events go without it (anonymous),
  // and so do later ones until the app sets a new token. Nothing is lost.
  const t2 = tag();
  const fixed = await sdkPage({ flushAt: 1 });
  const sent = [];
  await fixed.page.route(INGEST_URL, (route) => {
    const authorization = route.request().headers().authorization;
    sent.push(authorization);
    return authorization ? route.fulfill({ status: 401, body: "{}" }) : route.continue();
  });
  await fixed.page.evaluate((t) => { window.sdk.setAuthToken("static"); window.sdk.track("search", { query: t }); }, t2);
  await waitForEvents(server.data, (evs) => mine(t2)(evs).length === 1);
  await fixed.page.evaluate((t) => window.sdk.track("search", { query: t }), t2);
  await waitForEvents(server.data, (evs) => mine(t2)(evs).length === 2);
  assert.deepEqual(sent, ["Bearer static", undefined, undefined]);
  const errors = await fixed.page.evaluate(() => window.errors);
  assert.equal(errors.filter((e) => e.code === "unauthorized").length, 1, JSON.stringify(errors));
  await fixed.context.close();
});

test("Do Not Track / Global Privacy Control are respected when configured", async () => {
  const t = tag();
  const context = await browser.newContext();
  await context.addInitScript(() => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }));
  const page = await context.newPage();
  let posts = 0;
  page.on("request", (r) => isIngest(r) && posts++);
  await page.goto(server.url);
  await page.waitForFunction(() => window.sdk);
  await page.evaluate(async (t) => {
    await window.sdk.init({ endpoint: "/v1/events", flushAt: 1, respectDoNotTrack: true });
    window.sdk.track("search", { query: t });
    await window.sdk.flush();
  }, t);
  await sleep(300);
  assert.equal(posts, 0);
  assert.deepEqual(await page.evaluate(() => Object.keys(localStorage)), [], "nothing stored either");
  await context.close();

  const ignored = await sdkPage({ flushAt: 1 }); // respectDoNotTrack not set: tracked
  await ignored.page.evaluate((t) => window.sdk.track("search", { query: t }), t);
  assert.equal(mine(t)(await waitForEvents(server.data, (evs) => mine(t)(evs).length === 1)).length, 1);
  await ignored.context.close();
});

test("sampling is decided per shopper: in at rate 1, out at rate 0, stable at 0.5", async () => {
  const t = tag();
  const out = await sdkPage({ sampleRate: 0, flushAt: 1 });
  await out.page.evaluate((t) => window.sdk.track("search", { query: t + "-out" }), t);
  const inn = await sdkPage({ sampleRate: 1, flushAt: 1 });
  await inn.page.evaluate((t) => window.sdk.track("search", { query: t + "-in" }), t);
  await waitForEvents(server.data, (evs) => evs.some((e) => e.properties.query === t + "-in"));
  await sleep(300);
  assert.equal(out.requests.length, 0);
  await out.context.close();
  await inn.context.close();
  // The same anonymous id gets the same decision on every page (FNV-1a of the id, as the shell).
  const fnv = (s) => { let h = 0x811c9dc5; for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0; return h; };
  for (const id of ["shopper-a", "shopper-b", "shopper-c", "shopper-d"]) {
    const context = await browser.newContext();
    const page = await context.newPage();
    let posts = 0;
    page.on("request", (r) => isIngest(r) && posts++);
    await page.goto(server.url);
    await page.evaluate((id) => localStorage.setItem("shopstream:aid", id), id);
    await page.waitForFunction(() => window.sdk);
    await page.evaluate(async () => {
      await window.sdk.init({ endpoint: "/v1/events", flushAt: 1, sampleRate: 0.5, autoPageViews: false });
      window.sdk.track("search", { query: "sampled" });
      await window.sdk.flush();
    });
    assert.equal(posts > 0, fnv(id) / 4294967296 < 0.5, id);
    await context.close();
  }
});

test("debug mode logs problems and requests to the console", async () => {
  const { context, page } = await sdkPage({ debug: true, flushAt: 1 });
  const logs = [];
  page.on("console", (m) => logs.push(m.text()));
  await page.evaluate(() => { window.sdk.track("nope"); window.sdk.track("search", { query: "debug" }); });
  await page.evaluate(() => window.sdk.flush());
  assert.ok(logs.some((l) => l.includes("shopstream:") && l.includes("not an event type")), logs.join("\n"));
  assert.ok(logs.some((l) => l.startsWith("shopstream: sending")), logs.join("\n"));
  await context.close();
});

test("the script-tag snippet queues calls made before the package loads", async () => {
  const t = tag();
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.url}snippet.html?t=${t}`);
  const events = await waitForEvents(server.data, (evs) => mine(t)(evs).length === 1);
  assert.equal(mine(t)(events).length, 1);
  assert.deepEqual(errors, []);
  assert.equal(await page.evaluate(() => typeof window.shopstream.productViewed), "function", "replaced by the package");
  await context.close();
});

// ---- the persistent queue ------------------------------------------------------------------------

/** Records in the tracker's IndexedDB queue (owner, id). */
function storedQueue(page) {
  return page.evaluate(() => new Promise((resolve) => {
    const req = indexedDB.open("shopstream", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("queue", { keyPath: "id" });
    req.onsuccess = () => {
      const all = req.result.transaction("queue").objectStore("queue").getAll();
      all.onsuccess = () => { resolve(all.result.map((r) => ({ id: r.id, owner: r.owner }))); req.result.close(); };
    };
  }));
}

async function untilQueued(page, n) {
  for (const deadline = Date.now() + 10000; Date.now() < deadline; await sleep(50)) {
    if ((await storedQueue(page)).length === n) return;
  }
  assert.fail(`the stored queue never held ${n} events`);
}

/** Makes the ingest fail (503) for this context while `state.failing` is true. */
async function failingIngest(context) {
  const state = { failing: true, ids: [] };
  await context.route(INGEST_URL, (route) => {
    const body = requestBody(route.request());
    if (body) state.ids.push(...JSON.parse(body).events.map((e) => e.event_id));
    return state.failing ? route.fulfill({ status: 503, body: "{}" }) : route.continue();
  });
  return state;
}

test("events survive a reload while the server is down, and are sent once it is back", async () => {
  const t = tag();
  const { context, page } = await sdkPage({ flushAt: 1 });
  const ingest = await failingIngest(context);
  await page.evaluate((t) => { for (let i = 0; i < 25; i++) window.sdk.track("search", { query: t, results: i }); }, t);
  await untilQueued(page, 25);
  await page.reload();
  await page.waitForFunction(() => window.sdk);
  ingest.failing = false;
  await page.evaluate(() => window.sdk.init({ endpoint: "/v1/events", autoPageViews: false }));
  const events = mine(t)(await waitForEvents(server.data, (evs) => mine(t)(evs).length === 25, 20000));
  assert.deepEqual(events.map((e) => e.properties.results), [...Array(25).keys()], "sent in the order tracked");
  const ids = events.map((e) => e.event_id);
  assert.deepEqual([...ids].sort(), ids, "UUIDv7 ids increase in the order tracked, even within a millisecond");
  await untilQueued(page, 0); // delivered events leave the stored queue
  await context.close();
});

test("events survive a renderer crash (no pagehide at all)", async () => {
  const t = tag();
  const { context, page } = await sdkPage({ flushAt: 1 });
  const ingest = await failingIngest(context);
  await page.evaluate((t) => { for (let i = 0; i < 5; i++) window.sdk.track("search", { query: t }); }, t);
  await untilQueued(page, 5);
  const cdp = await context.newCDPSession(page);
  // Page.crash kills the renderer and never answers: give it a moment instead of awaiting it.
  await Promise.race([cdp.send("Page.crash").catch(() => {}), sleep(2000)]);
  ingest.failing = false;
  const next = await context.newPage();
  await next.goto(server.url);
  await next.waitForFunction(() => window.sdk);
  await next.evaluate(() => window.sdk.init({ endpoint: "/v1/events", autoPageViews: false }));
  const events = mine(t)(await waitForEvents(server.data, (evs) => mine(t)(evs).length === 5, 20000));
  assert.equal(events.length, 5);
  await context.close();
});

test("offline, then online: queued events are sent when the browser is back", async () => {
  const t = tag();
  const { context, page } = await sdkPage({ flushAt: 1 });
  await context.setOffline(true);
  await page.evaluate((t) => { for (let i = 0; i < 3; i++) window.sdk.track("search", { query: t }); }, t);
  await untilQueued(page, 3);
  await sleep(500);
  assert.equal(mine(t)(storedEvents(server.data)).length, 0);
  await context.setOffline(false);
  const events = mine(t)(await waitForEvents(server.data, (evs) => mine(t)(evs).length === 3, 15000));
  assert.equal(events.length, 3);
  await context.close();
});

test("the queue is bounded: the oldest are dropped, counted, reported and removed from storage", async () => {
  const t = tag();
  const { context, page } = await sdkPage({ flushAt: 500, maxQueueEvents: 5, flushIntervalMs: 600000 });
  await page.evaluate((t) => { for (let i = 0; i < 8; i++) window.sdk.track("search", { query: t, results: i }); }, t);
  await untilQueued(page, 5);
  const errors = await page.evaluate(() => window.errors.filter((e) => e.code === "queue_full").length);
  assert.equal(errors, 3);
  await page.evaluate(() => window.sdk.flush());
  const events = mine(t)(await waitForEvents(server.data, (evs) => mine(t)(evs).length === 5));
  assert.deepEqual(events.map((e) => e.properties.results), [3, 4, 5, 6, 7], "the newest five");
  await context.close();
});

test("two tabs never send the same stored event twice", async () => {
  const t = tag();
  const { context, page } = await sdkPage({ flushAt: 1 });
  const ingest = await failingIngest(context);
  await page.evaluate((t) => { for (let i = 0; i < 30; i++) window.sdk.track("search", { query: t, results: i }); }, t);
  await untilQueued(page, 30);
  await until(() => ingest.ids.length > 0); // the first tab tried (and failed) to send them
  const sentBefore = new Set(ingest.ids);
  await page.close(); // its stored events are now orphans
  ingest.ids.length = 0;
  ingest.failing = false;
  const open = async () => {
    const p = await context.newPage();
    await p.goto(server.url);
    await p.waitForFunction(() => window.sdk);
    return p;
  };
  const [b, c] = await Promise.all([open(), open()]);
  await Promise.all([b, c].map((p) => p.evaluate(() => window.sdk.init({ endpoint: "/v1/events", autoPageViews: false }))));
  const events = mine(t)(await waitForEvents(server.data, (evs) => mine(t)(evs).length === 30, 20000));
  assert.equal(events.length, 30);
  await sleep(1000);
  const resent = ingest.ids.filter((id) => events.some((e) => e.event_id === id));
  assert.equal(resent.length, 30, "each orphaned event sent once by the two tabs together");
  assert.equal(new Set(resent).size, 30);
  assert.ok(sentBefore.size > 0, "the first tab did try (and fail) to send them");
  await context.close();
});

test("bodies of 1 KiB or more are gzipped (said in the query, no preflight); small ones are not", async () => {
  const t = tag();
  const { context, page, requests } = await sdkPage({ flushAt: 1 });
  await page.evaluate((t) => window.sdk.track("search", { query: t }), t);
  await waitForEvents(server.data, (evs) => mine(t)(evs).length === 1);
  await page.evaluate((t) => { for (let i = 0; i < 40; i++) window.sdk.track("search", { query: t }); }, t);
  await page.evaluate(() => window.sdk.flush());
  await waitForEvents(server.data, (evs) => mine(t)(evs).length === 41);
  await until(() => requests.length >= 2);
  assert.equal(requests[0].gzip, false, "one small event: sent as it is");
  assert.ok(requests.slice(1).every((r) => r.gzip), "larger batches: gzipped");
  assert.equal(requests.slice(1).reduce((n, r) => n + JSON.parse(r.body).events.length, 0), 40);
  await context.close();
});

test("the engine comes inside index.js: no request for the .wasm; a mangled copy falls back to fetching it", async () => {
  // A bundle re-encoded in a legacy charset (every non-ASCII byte doubled) must still work: the
  // inlined engine no longer has the right length, so the package's .wasm is fetched instead.
  const site = sdkTestSite();
  mkdirSync(join(site, "mangled"));
  const latin1AsUtf8 = Buffer.from(readFileSync(join(site, "sdk/index.js")).toString("latin1"), "utf8");
  writeFileSync(join(site, "mangled/index.js"), latin1AsUtf8);
  copyFileSync(join(site, "sdk/shopstream_sdk_bg.wasm"), join(site, "mangled/shopstream_sdk_bg.wasm"));
  writeFileSync(join(site, "mangled.html"), `<!doctype html><title>mangled</title>
<script type="module">import * as sdk from "/mangled/index.js"; window.sdk = sdk; window.errors = [];</script>`);
  const own = await startServer(site);
  try {
    for (const [path, wasmFetches] of [["/", 0], ["/mangled.html", 1]]) {
      const t = tag();
      const context = await browser.newContext();
      const page = await context.newPage();
      const wasmRequests = [];
      page.on("request", (r) => { if (new URL(r.url()).pathname.endsWith(".wasm")) wasmRequests.push(r.url()); });
      await page.goto(new URL(path, own.url).href);
      await page.waitForFunction(() => window.sdk);
      await page.evaluate(() => window.sdk.init({ endpoint: "/v1/events", autoPageViews: false, flushIntervalMs: 100 }));
      await page.evaluate((t) => window.sdk.track("search", { query: t }), t);
      const events = await waitForEvents(own.data, (evs) => mine(t)(evs).length === 1);
      assert.equal(mine(t)(events).length, 1);
      assert.equal(wasmRequests.length, wasmFetches, `${path}: wasm requests ${wasmRequests}`);
      await context.close();
    }
  } finally {
    await own.stop();
  }
});

test("a write key: sent in the query when set; without it a keyed ingest answers 403, reported with the reason", async () => {
  const keyed = await startServer(sdkTestSite(), ["--write-key", "wk_e2e", "--allowed-origin", "http://localhost:1"]);
  try {
    for (const writeKey of ["wk_e2e", undefined]) {
      const t = tag();
      const context = await browser.newContext();
      const page = await context.newPage();
      const urls = [];
      page.on("request", (r) => { if (isIngest(r)) urls.push(r.url()); });
      await page.goto(keyed.url);
      await page.waitForFunction(() => window.sdk);
      await page.evaluate((k) => window.sdk.init({ endpoint: "/v1/events", autoPageViews: false, writeKey: k, onError: (e) => window.errors.push(e) }), writeKey);
      await page.evaluate((t) => window.sdk.track("search", { query: t }), t);
      await page.evaluate(() => window.sdk.flush());
      if (writeKey) {
        const events = await waitForEvents(keyed.data, (evs) => mine(t)(evs).length === 1);
        assert.equal(mine(t)(events)[0].edge.site, "local");
        assert.ok(urls.every((u) => u.includes("write_key=wk_e2e")), urls.join(" "));
      } else {
        const errors = await page.evaluate(() => window.errors);
        assert.equal(errors.length, 1, JSON.stringify(errors));
        assert.equal(errors[0].code, "dropped");
        assert.equal(errors[0].status, 403);
        assert.match(errors[0].reason, /write key is required/);
        assert.equal(mine(t)(storedEvents(keyed.data)).length, 0);
      }
      await context.close();
    }
  } finally {
    await keyed.stop();
  }
});
