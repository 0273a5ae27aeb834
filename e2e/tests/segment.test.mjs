// The real `@segment/analytics-next` (bundled by esbuild, as a shop's build would) in headless
// Chromium, pointed at the local server by its apiHost only, no Segment CDN: its page, e-commerce,
// identify and custom calls are stored as Shopstream events. Every request to a host other than the
// local server is aborted, so nothing waits on the internet (and the test says if any was made).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, launchBrowser, waitForEvents } from "./support.mjs";

const E2E = join(dirname(fileURLToPath(import.meta.url)), "..");
const ESBUILD = join(E2E, "node_modules/.bin/esbuild");
const VERSION = JSON.parse(readFileSync(join(E2E, "node_modules/@segment/analytics-next/package.json"), "utf8")).version;
const WRITE_KEY = "wk_segment_e2e";
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// The page's script: analytics-next loaded with inline CDN settings whose only change from a
// Segment setup is the Segment.io destination's apiHost (and plain http, as the server is local).
// `?strategy=batching` uses its batching dispatcher (POST /v1/b) instead of one call per event.
const MAIN = `
import { AnalyticsBrowser } from "@segment/analytics-next";
const batching = new URLSearchParams(location.search).get("strategy") === "batching";
const segmentIo = { apiKey: ${JSON.stringify(WRITE_KEY)}, apiHost: location.host + "/v1", protocol: "http" };
if (batching) segmentIo.deliveryStrategy = { strategy: "batching", config: { size: 6, timeout: 300 } };
window.analytics = AnalyticsBrowser.load({
  writeKey: ${JSON.stringify(WRITE_KEY)},
  cdnSettings: { integrations: { "Segment.io": segmentIo }, metrics: { sampleRate: 0 } },
});
window.analytics.then(() => (window.segmentReady = true)).catch((e) => (window.segmentError = String(e)));
`;

let site;

before(() => {
  site = mkdtempSync(join(tmpdir(), "shopstream-segment-site-"));
  // Bundled from stdin with e2e/ as the resolve dir, so the package comes from e2e/node_modules.
  execFileSync(ESBUILD, ["--bundle", "--format=esm", "--platform=browser", "--outfile=" + join(site, "segment.js")], {
    cwd: E2E,
    input: MAIN,
    stdio: ["pipe", "pipe", "pipe"],
  });
  writeFileSync(
    join(site, "index.html"),
    '<!doctype html><title>Segment shop</title><script type="module" src="/segment.js"></script>',
  );
});

after(() => rmSync(site, { recursive: true, force: true }));

/** Opens the page in a fresh context; records Segment calls and aborts anything not local. */
async function openShop(browser, serverUrl, query = "") {
  const context = await browser.newContext();
  const local = new URL(serverUrl).host;
  const external = [];
  await context.route("**/*", (route) => {
    if (new URL(route.request().url()).host === local) return route.continue();
    external.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const calls = [];
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith("/v1/") && r.method() === "POST") {
      calls.push({ path: url.pathname, authorization: r.headers()["authorization"], body: r.postData() });
    }
  });
  await page.goto(`${serverUrl}${query}`);
  await page.waitForFunction(() => window.segmentReady || window.segmentError, null, { timeout: 10000 });
  assert.equal(await page.evaluate(() => window.segmentError ?? null), null);
  return { context, page, errors, calls, external };
}

/** The shop's calls, as a Segment customer writes them. */
async function shop(page) {
  return page.evaluate(async () => {
    const a = window.analytics;
    await a.page("Catalog", "Home", { title: "Home" });
    await a.track("Product Viewed", {
      product_id: "p-1", sku: "sku-1", name: "Trail Shoe", category: "Shoes", brand: "Acme", price: 89.9, currency: "EUR",
    });
    await a.track("Product Added", { product_id: "p-1", sku: "sku-1", price: 89.9, quantity: 2, cart_id: "cart-1" });
    await a.track("Order Completed", {
      order_id: "o-1001", revenue: 192.3, shipping: 4.99, tax: 30.1, currency: "EUR", coupon: "WELCOME",
      products: [
        { product_id: "p-1", sku: "sku-1", name: "Trail Shoe", price: 89.9, quantity: 2 },
        { product_id: "p-2", name: "Socks", price: 12.5 },
      ],
    });
    await a.identify("user-1", { plan: "gold", email_opt_in: true });
    await a.track("Newsletter Signup", { source: "footer" });
    const [analytics] = await a;
    return analytics.user().anonymousId();
  });
}

function checkStored(events, anonymousId, serverUrl, query = "") {
  const byType = Object.fromEntries(events.map((e) => [e.type === "custom" ? e.properties.name : e.type, e]));
  assert.deepEqual(
    events.map((e) => e.type).sort(),
    ["add_to_cart", "custom", "identify", "page_view", "product_view", "purchase"],
  );

  const view = byType.page_view;
  assert.deepEqual(view.properties, { name: "Home", category: "Catalog" });
  assert.equal(view.context.page.url, serverUrl + query);
  assert.equal(view.context.page.path, "/");
  assert.equal(view.context.page.title, "Home", "the page call's title over document.title");
  assert.equal(byType.product_view.context.page.title, "Segment shop", "a track call's page is the document's");

  assert.deepEqual(byType.product_view.properties, {
    sku: "sku-1", product_id: "p-1", name: "Trail Shoe", category: "Shoes", brand: "Acme", price: 89.9, currency: "EUR",
  });
  assert.deepEqual(byType.add_to_cart.properties, { cart_id: "cart-1", sku: "sku-1", product_id: "p-1", price: 89.9, quantity: 2 });

  const purchase = byType.purchase.properties;
  assert.equal(purchase.order_id, "o-1001");
  assert.equal(purchase.revenue, 192.3);
  assert.equal(purchase.currency, "EUR");
  assert.equal(purchase.shipping, 4.99);
  assert.deepEqual(purchase.items, [
    { sku: "sku-1", quantity: 2, price: 89.9, product_id: "p-1", name: "Trail Shoe" },
    { sku: "p-2", quantity: 1, price: 12.5, product_id: "p-2", name: "Socks" },
  ]);

  assert.deepEqual(byType.identify.properties, { traits: { plan: "gold", email_opt_in: true } });
  assert.equal(byType.identify.claimed_user_id, "user-1", "a Segment userId is claimed, not verified");
  const custom = byType["Newsletter Signup"];
  assert.deepEqual(custom.properties, { name: "Newsletter Signup", source: "footer" });
  assert.equal(custom.claimed_user_id, "user-1", "calls after identify carry the user");

  for (const e of events) {
    assert.equal(e.anonymous_id, anonymousId, "analytics-next's anonymousId");
    assert.match(e.event_id, UUID_V7);
    assert.match(e.session_id, /^seg-[0-9a-f]{16}$/, "derived from the anonymous id");
    assert.equal(e.session_id, events[0].session_id);
    assert.deepEqual(e.context.library, { name: "analytics.js", version: `npm:next-${VERSION}` });
    assert.match(e.context.user_agent, /Chrom/);
    assert.ok(Math.abs(Date.parse(e.occurred_at) - Date.now()) < 60_000, e.occurred_at);
  }
  assert.equal(new Set(events.map((e) => e.event_id)).size, events.length);
}

test("analytics-next sends page, e-commerce, identify and custom calls that are stored as Shopstream events", async () => {
  const server = await startServer(site);
  const browser = await launchBrowser();
  try {
    const { page, errors, calls, external } = await openShop(browser, server.url);
    const anonymousId = await shop(page);
    const events = await waitForEvents(server.data, (evs) => evs.length >= 6);
    assert.equal(events.length, 6, JSON.stringify(events.map((e) => e.type)));
    checkStored(events, anonymousId, server.url);

    // One call per event on analytics.js's one-letter routes, the write key as the Basic auth user.
    assert.deepEqual(calls.map((c) => c.path).sort(), ["/v1/i", "/v1/p", "/v1/t", "/v1/t", "/v1/t", "/v1/t"]);
    const basic = "Basic " + Buffer.from(`${WRITE_KEY}:`).toString("base64");
    assert.ok(calls.every((c) => c.authorization === basic), JSON.stringify(calls.map((c) => c.authorization)));
    // The messageId it sent is where each event_id came from: a resend maps to the same id.
    const messageIds = calls.map((c) => JSON.parse(c.body).messageId);
    assert.ok(messageIds.every((id) => id.startsWith("ajs-next-")), JSON.stringify(messageIds));
    assert.deepEqual(errors, []);
    assert.deepEqual(external, [], "nothing but the local server was asked");
  } finally {
    await browser.close();
    await server.stop();
  }
});

test("its batching dispatcher posts to /v1/b, and a server with write keys takes its key", async () => {
  const server = await startServer(site, ["--write-key", WRITE_KEY]);
  const browser = await launchBrowser();
  try {
    const { page, errors, calls, external } = await openShop(browser, server.url, "?strategy=batching");
    const anonymousId = await shop(page);
    const events = await waitForEvents(server.data, (evs) => evs.length >= 6);
    assert.equal(events.length, 6, JSON.stringify(events.map((e) => e.type)));
    checkStored(events, anonymousId, server.url, "?strategy=batching");
    assert.ok(calls.length >= 1 && calls.every((c) => c.path === "/v1/b"), JSON.stringify(calls.map((c) => c.path)));
    const sent = calls.flatMap((c) => JSON.parse(c.body).batch);
    assert.equal(sent.length, 6);
    assert.ok(events.every((e) => e.edge.site), "accepted for the key's site");
    assert.deepEqual(errors, []);
    assert.deepEqual(external, []);

    // A body whose write key the server does not know (and no Basic auth): refused, nothing stored.
    const status = await page.evaluate(async () => {
      const body = JSON.stringify({ batch: [{ type: "track", event: "X", anonymousId: "a", messageId: "m" }], writeKey: "wk_nope" });
      return (await fetch("/v1/batch", { method: "POST", body })).status;
    });
    assert.equal(status, 403);
    assert.equal((await waitForEvents(server.data, () => false, 300)).length, 6);
  } finally {
    await browser.close();
    await server.stop();
  }
});
