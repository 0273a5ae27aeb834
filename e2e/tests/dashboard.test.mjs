// The live dashboard (/dashboard) in real headless Chromium against the real server: known events sent
// straight to the ingest show as the revenue and order tiles and as bars in every chart; one more
// purchase shows by itself within a few seconds (the page polls GET /v1/kpis); a full-page screenshot is
// saved to e2e/artifacts/dashboard.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import { BIN, DESKTOP_UA, startServer, launchBrowser } from "./support.mjs";

const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), "../artifacts");
let server, browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A UUIDv7 for now. */
function uuidv7() {
  const b = randomBytes(16);
  const ms = BigInt(Date.now());
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** `minutesAgo` before now, but never before the start of the UTC day (the figures are today's). */
function past(minutesAgo) {
  const now = Date.now();
  const dayStart = now - (now % 86_400_000);
  return new Date(Math.max(now - minutesAgo * 60_000, dayStart + 1000)).toISOString();
}

function event(type, session, properties, minutesAgo = 0) {
  return {
    event_id: uuidv7(), type, occurred_at: past(minutesAgo),
    anonymous_id: `anon-${session}`, session_id: `sess-${session}`, properties,
  };
}

/** The events of one session, a minute apart, the first `startedAgo` minutes ago. */
function session(startedAgo, events) {
  return events.map((e, i) => ({ ...e, occurred_at: past(Math.max(startedAgo - i, 0)) }));
}

/** Posts events to the ingest as a desktop browser (not a bot, so they count). */
async function send(events) {
  const response = await fetch(new URL("/v1/events", server.url), {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": DESKTOP_UA },
    body: JSON.stringify({ schema_version: 1, sent_at: new Date().toISOString(), events }),
  });
  const answer = await response.json();
  assert.equal(response.status, 200, JSON.stringify(answer));
  assert.equal(answer.accepted, events.length, JSON.stringify(answer));
}

const PRODUCTS = [
  { sku: "tents-002", name: "Ridgeline 2P Tent", price: 249 },
  { sku: "jackets-003", name: "Stormshell Jacket", price: 189.9 },
  { sku: "stoves-001", name: "Pocket Gas Stove", price: 39.5 },
  { sku: "socks-004", name: "Merino Hiking Socks", price: 14.5 },
];

/** Half an hour of a small shop: five sessions browsing, two orders, recommendations shown and clicked. */
function knownEvents() {
  const view = (s, p) => event("product_view", s, { sku: p.sku, name: p.name, price: p.price, currency: "EUR" });
  const add = (s, p, quantity = 1) => event("add_to_cart", s, { sku: p.sku, name: p.name, price: p.price, quantity });
  const line = (p, quantity) => ({ sku: p.sku, name: p.name, price: p.price, quantity });
  const order = (s, id, lines) => {
    const revenue = Math.round(lines.reduce((sum, l) => sum + l.price * l.quantity, 0) * 100) / 100;
    return [
      event("checkout_started", s, { items: lines, revenue, currency: "EUR" }),
      event("purchase", s, { order_id: id, revenue, currency: "EUR", items: lines }),
    ];
  };
  const [tent, jacket, stove, socks] = PRODUCTS;
  const impression = (s, strategy, n) => event("recommendation_impression", s, {
    recommendation_id: `rec-${s}-${n}`, skus: [tent.sku, stove.sku], placement: "product", strategy,
  });
  const click = (s, strategy, n) => event("recommendation_click", s, {
    recommendation_id: `rec-${s}-${n}`, sku: stove.sku, position: 2, placement: "product", strategy,
  });
  const home = (s) => event("page_view", s, { name: "Home" });
  return [
    ...session(26, [
      home(1), impression(1, "trending", 2), view(1, tent), impression(1, "also_viewed", 1), click(1, "also_viewed", 1),
      view(1, stove), click(1, "trending", 2), add(1, tent), add(1, stove, 2),
      ...order(1, "o-1", [line(tent, 1), line(stove, 2)]), // €328.00, 3 units
    ]),
    ...session(19, [
      home(2), impression(2, "also_viewed", 1), view(2, jacket), impression(2, "bought_together", 3), view(2, tent),
      add(2, jacket), ...order(2, "o-2", [line(jacket, 1)]), // €189.90, 1 unit
    ]),
    ...session(12, [
      home(3), event("search", 3, { query: "tent", results: 12 }), view(3, tent), impression(3, "also_viewed", 1),
      impression(3, "bought_together", 3), view(3, socks), add(3, socks, 3),
      event("checkout_started", 3, { items: [line(socks, 3)] }),
    ]),
    ...session(6, [home(4), view(4, tent), impression(4, "also_viewed", 1), impression(4, "bought_together", 3), view(4, jacket)]),
    ...session(2, [home(5), view(5, stove), impression(5, "trending", 2), click(5, "trending", 2), view(5, tent)]),
  ];
}

const tileValue = (page, id) => page.getByTestId(id).locator(".kpi-value").innerText();

test("the dashboard shows the known figures as tiles and charts, and updates by itself", async () => {
  await send(knownEvents());
  // The lake's insights: built now (the server rebuilds every 30 s), read by the page on arrival.
  execFileSync(BIN, ["lake", "build", "--data", server.data], { stdio: "ignore" });

  // A headless browser: its own page views are flagged as a bot's and count nowhere.
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const polls = [];
  page.on("request", (r) => {
    if (new URL(r.url()).pathname === "/v1/kpis") polls.push(Date.now());
  });
  await page.goto(new URL("/dashboard", server.url).href);

  await page.getByTestId("live-status").filter({ hasText: /live · updated \d\d:\d\d:\d\d/ }).waitFor();
  assert.equal(await tileValue(page, "kpi-revenue"), "€517.90");
  assert.equal(await tileValue(page, "kpi-orders"), "2");
  assert.equal(await tileValue(page, "kpi-aov"), "€258.95");
  assert.equal(await tileValue(page, "kpi-items"), "2.0");

  // Every chart has bars, drawn in SVG with a summary for assistive technology.
  const bars = (id, selector) => page.getByTestId(id).locator(`svg[role=img] ${selector}`).count();
  assert.ok((await bars("chart-events", "g.bar rect:not([fill=transparent])")) >= 5, "stacked event bars");
  assert.equal(await bars("chart-funnel", "rect.bar-fill[width]:not([width='0'])"), 4, "four funnel steps");
  assert.equal(await bars("chart-top", "rect.bar-fill:not([width='0'])"), 4 + 4 + 3, "views, adds, sold");
  assert.equal(await bars("chart-ctr", "rect.bar-fill:not([width='0'])"), 2, "two strategies with clicks");
  const label = (id) => page.getByTestId(id).locator("svg[role=img]").getAttribute("aria-label");
  assert.match(await label("chart-funnel"), /5 sessions viewed a product, 3 sessions added to cart \(60% of the step before\), 3 sessions started checkout \(100% of the step before\), 2 sessions purchased \(67% of the step before\)/);
  assert.match(await label("chart-top"), /^Top products today by views: Ridgeline 2P Tent: 5 views, 1 add, 1 sold; /);
  assert.match(await label("chart-ctr"), /Trending 100\.0% \(2 clicks of 2 impressions\)/);
  assert.match(await label("chart-events"), /: 37 events, /);
  // The numbers are there as text too.
  const table = page.getByTestId("chart-top").locator(".visually-hidden table tbody tr").first();
  assert.deepEqual(await table.locator("th, td").allInnerTexts(), ["Ridgeline 2P Tent", "5", "1", "1"]);

  // The gross margin table runs examples/sql/gross_margin.sql on the lake: all categories first,
  // without the stove (not in the catalog: no unit cost, so no margin), 517.90 - 2 × 39.50.
  const margin = page.getByTestId("insight-gross_margin").locator("tbody tr");
  await margin.first().waitFor();
  const all = await margin.first().locator("td").allInnerTexts();
  assert.deepEqual(all.slice(0, 2), ["(all)", "438.9"]);
  assert.match(all[3], /^\d+(\.\d+)?$/, "a margin %");
  await page.getByTestId("insight-low_stock").filter({ hasText: /lake built \d\d:\d\d:\d\d UTC/ }).waitFor();

  // Live: one more order shows without a reload.
  const [, jacket] = PRODUCTS;
  await send([
    event("purchase", 6, { order_id: "o-3", revenue: 379.8, currency: "EUR", items: [{ sku: jacket.sku, quantity: 2, price: 189.9 }] }),
  ]);
  await page.getByTestId("kpi-revenue").locator(".kpi-value").filter({ hasText: "€897.70" }).waitFor({ timeout: 6000 });
  assert.equal(await tileValue(page, "kpi-orders"), "3");
  assert.equal(await tileValue(page, "kpi-items"), "2.0");
  assert.ok(polls.length >= 2, `the page polled (${polls.length} requests)`);

  // A store's count below the reorder point: one low-stock alert, shown without a reload.
  await send([
    event("inventory_snapshot", 7, { store_id: "s9", items: [{ sku: jacket.sku, on_hand: 1, reorder_point: 5 }] }),
  ]);
  const alert = page.getByTestId("stock-alerts").locator(`tr[data-alert-id="low_stock:s9:${jacket.sku}:1"]`);
  await alert.waitFor({ timeout: 6000 });
  const named = await (await fetch(new URL(`/v1/products/${jacket.sku}`, server.url))).json();
  assert.deepEqual((await alert.locator("td").allInnerTexts()).slice(1), [named.name, "s9", "1", "5"]);

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });

  // Leaving the page stops the polling.
  await page.getByTestId("cart-link").click();
  await page.waitForURL("**/cart");
  await page.waitForTimeout(500);
  const before = polls.length;
  await page.waitForTimeout(4500);
  assert.equal(polls.length, before, "no polling once the dashboard is left");
  assert.deepEqual(errors, [], "no page errors");
  await page.close();
});

test("an empty day renders sensibly, and nothing moves when the figures arrive", async () => {
  const empty = await startServer();
  try {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    // Hold the first answer back to see the loading state, then measure the layout before and after.
    let release;
    const held = new Promise((r) => (release = r));
    await page.route("**/v1/kpis", async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(new URL("/dashboard", empty.url).href);
    await page.getByTestId("chart-top").waitFor();
    const boxes = () => page.evaluate(() =>
      ["kpi-revenue", "chart-events", "chart-funnel", "chart-ctr", "chart-top"].map((id) => {
        const r = document.querySelector(`[data-testid=${id}]`).getBoundingClientRect();
        return [id, Math.round(r.top), Math.round(r.height)];
      }));
    const loading = await boxes();
    assert.match(await page.getByTestId("chart-events").textContent(), /Loading…/);
    release();
    await page.getByTestId("live-status").filter({ hasText: /live · updated/ }).waitFor();
    assert.deepEqual(await boxes(), loading, "no layout shift");

    assert.equal(await tileValue(page, "kpi-revenue"), "€0.00");
    assert.equal(await tileValue(page, "kpi-orders"), "0");
    assert.equal(await tileValue(page, "kpi-aov"), "—");
    assert.match(await page.getByTestId("kpi-revenue").innerText(), /No purchases yet today/);
    assert.match(await page.getByTestId("chart-events").textContent(), /No events in the last 30 minutes/);
    assert.match(await page.getByTestId("chart-top").textContent(), /No product activity yet today/);
    assert.match(await page.getByTestId("chart-ctr").textContent(), /No recommendations shown yet today/);
    // The alerts are asked for after the figures: wait for their answer, not just the figures'.
    await page.getByTestId("no-alerts").waitFor();
    assert.match(await page.getByTestId("stock-alerts").textContent(), /No product is below its reorder point/);
    // Fits a phone: nothing makes the page scroll sideways.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px too wide)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-empty-phone.png"), fullPage: true });
    await page.close();
  } finally {
    await empty.stop();
  }
});
