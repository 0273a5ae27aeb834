// The <shopstream-recs> widget of the npm package on a plain HTML page (no Leptos), in real Chromium
// against the real server: rendering, impressions only once on screen, clicks, the cancelable click
// event, hiding when the API is down, no layout shift, a late tracker, no tracker, cross-origin (CORS),
// and the package's "./widget" entry through a bundler.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SDK_PKG, DESKTOP_UA, startServer, launchBrowser, storedEvents, waitForEvents } from "./support.mjs";

const ESBUILD = join(dirname(fileURLToPath(import.meta.url)), "../node_modules/.bin/esbuild");
const RECS = "**/v1/recommendations**";
const ITEMS = [
  { sku: "w-tent", name: "Two-Person Tent", price: 249, currency: "EUR" },
  { sku: "w-stove", name: "Camping Stove", price: 39.5, currency: "EUR" },
  { sku: "w-mug", name: "Enamel Mug", price: 12.5, currency: "EUR" },
  { sku: "w-lamp", name: "Head Lamp", price: 24.99, currency: "EUR" },
];
const PRICES = { "w-stove": "€39.50", "w-mug": "€12.50", "w-lamp": "€24.99", "w-tent": "€249.00" };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let site, server, browser;

/** The test site: the package under /sdk/, product images, and pages written by `writePage`. */
function makeSite() {
  const dir = mkdtempSync(join(tmpdir(), "shopstream-widget-site-"));
  cpSync(SDK_PKG, join(dir, "sdk"), { recursive: true });
  // The server serves a site only when it has an index.html (unknown paths get it, like /p/<sku>).
  writeFileSync(join(dir, "index.html"), "<!doctype html><title>a product</title><h1>A product page</h1>");
  mkdirSync(join(dir, "img"));
  for (const { sku } of ITEMS) {
    writeFileSync(join(dir, "img", `${sku}.svg`),
      `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200"><rect width="300" height="200" fill="#4a7"/></svg>`);
  }
  // Another shopper views the four items in one session: they become each other's neighbours.
  writeFileSync(join(dir, "seed.html"), `<!doctype html><title>seed</title>
<script type="module">
import * as shopstream from "/sdk/index.js";
await shopstream.init({ endpoint: "/v1/events", autoPageViews: false });
for (const item of ${JSON.stringify(ITEMS)}) {
  shopstream.productViewed({ ...item, url: location.origin + "/p/" + item.sku, image_url: location.origin + "/img/" + item.sku + ".svg" });
}
await shopstream.flush();
window.seeded = true;
</script>`);
  return dir;
}

function snippet() {
  const min = readFileSync(join(SDK_PKG, "snippet.min.js"), "utf8").replace('"SRC"', '"/sdk/index.js"');
  return `<script>${min}</script>`;
}

/** A plain page: the tracker (snippet) unless `tracker: false`, the widget's module, then `body`. */
function writePage(name, body, { tracker = true } = {}) {
  writeFileSync(join(site, name), `<!doctype html><html lang="en"><meta charset="utf-8"><title>widget test</title>
<style>body{margin:0;font:16px/1.4 sans-serif}</style>
<script>
window.recEvents = [];
for (const t of ["load", "error", "click"]) {
  document.addEventListener("shopstream-recs:" + t, (e) => {
    window.recEvents.push({ type: t, detail: JSON.parse(JSON.stringify(e.detail || null)) });
    if (t === "click" && window.cancelClicks) e.preventDefault();
  });
}
window.shifts = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (!e.hadRecentInput) window.shifts.push({ value: e.value, at: e.startTime });
}).observe({ type: "layout-shift", buffered: true });
</script>
${tracker ? `${snippet()}<script>shopstream.init({ endpoint: "/v1/events", flushAt: 1, autoPageViews: false });</script>` : ""}
<script type="module" src="/sdk/widget.js"></script>
<body>${body}</body></html>`);
  return `${server.url}${name}`;
}

const PRODUCT = '<h1>Tent</h1><shopstream-recs placement="product" sku="w-tent"></shopstream-recs><p id="below">Below the recommendations</p>';

/** Seeds `target`'s store with the items and waits until its API recommends them. */
async function seed(target) {
  const context = await browser.newContext({ userAgent: DESKTOP_UA });
  const page = await context.newPage();
  await page.goto(`${target.url}seed.html`);
  await page.waitForFunction(() => window.seeded === true);
  await context.close();
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    const answer = await (await fetch(`${target.url}v1/recommendations?placement=product&sku=w-tent&limit=4`)).json();
    if (answer.items.length >= 3 && answer.items.every((i) => i.name && i.image_url)) return;
    await sleep(100);
  }
  assert.fail("the seeded views never became recommendations");
}

before(async () => {
  browser = await launchBrowser();
  site = makeSite();
  server = await startServer(site);
  await seed(server);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh context (a new shopper) and page; `errors` collects page errors. */
async function open() {
  const context = await browser.newContext({ userAgent: DESKTOP_UA, viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  return { context, page, errors };
}

const loaded = (page, n = 1) => page.waitForFunction((n) => window.recEvents.filter((e) => e.type === "load").length >= n, n);
const lastLoad = (page) => page.evaluate(() => window.recEvents.filter((e) => e.type === "load").at(-1).detail);
const anonymousId = (page) => page.evaluate(() => window.shopstream.identity().anonymousId);
const ofShopper = (anon, type) => (evs) => evs.filter((e) => e.anonymous_id === anon && e.type === type);
const box = (page, selector) => page.locator(selector).evaluate((e) => {
  const r = e.getBoundingClientRect();
  return { top: r.top, height: r.height };
});
const cards = (page) => page.evaluate(() => [...document.querySelector("shopstream-recs").shadowRoot.querySelectorAll(".card[data-sku]")]
  .map((c) => {
    const img = c.querySelector("img");
    return {
      tag: c.localName, href: c.href ?? null, sku: c.dataset.sku,
      name: c.querySelector(".name").textContent, price: c.querySelector(".price").textContent,
      img: img && { src: img.src, alt: img.alt, width: img.getAttribute("width"), height: img.getAttribute("height") },
    };
  }));
/** The element's state: hidden, box, and any text it shows. */
const state = (page) => page.evaluate(() => {
  const el = document.querySelector("shopstream-recs");
  const r = el.getBoundingClientRect();
  return {
    hidden: el.hidden, height: r.height, width: r.width, display: getComputedStyle(el).display,
    text: el.innerText, shadowText: el.shadowRoot.querySelector("section").textContent,
  };
});

test("renders names, prices and images in reserved slots: nothing below moves when the answer arrives", async () => {
  const { context, page, errors } = await open();
  let release;
  const held = new Promise((r) => (release = r));
  await page.route(RECS, async (route) => { await held; await route.continue(); });
  await page.goto(writePage("product.html", PRODUCT));
  // The skeleton: four placeholder cards of the final size, while the API has not answered.
  await page.waitForFunction(() => document.querySelector("shopstream-recs")?.shadowRoot?.querySelectorAll(".skeleton").length === 4);
  const belowBefore = await box(page, "#below");
  const widgetBefore = await box(page, "shopstream-recs");
  assert.ok(widgetBefore.height > 150, `the skeleton reserves the row's height (${widgetBefore.height})`);
  const releasedAt = await page.evaluate(() => performance.now());
  release();
  await loaded(page);
  await page.waitForFunction(() => [...document.querySelector("shopstream-recs").shadowRoot.querySelectorAll("img")].every((i) => i.complete));
  assert.deepEqual(await box(page, "#below"), belowBefore, "the content below did not move");
  assert.deepEqual(await box(page, "shopstream-recs"), widgetBefore);
  const shifts = await page.evaluate((t) => window.shifts.filter((s) => s.at >= t), releasedAt);
  assert.deepEqual(shifts, [], "no layout shift once the answer arrived");

  const answer = await lastLoad(page);
  assert.equal(answer.placement, "product");
  assert.ok(answer.recommendation_id && answer.strategy);
  const shown = await cards(page);
  assert.deepEqual(shown.map((c) => c.sku).sort(), ["w-lamp", "w-mug", "w-stove"]);
  assert.deepEqual(shown.map((c) => c.sku), answer.items.map((i) => i.sku), "in the answer's order");
  for (const c of shown) {
    const item = ITEMS.find((i) => i.sku === c.sku);
    assert.deepEqual(c, {
      tag: "a", href: `${server.url}p/${c.sku}`, sku: c.sku, name: item.name, price: PRICES[c.sku],
      img: { src: `${server.url}img/${c.sku}.svg`, alt: item.name, width: "160", height: "160" },
    });
  }
  assert.equal(await page.locator("shopstream-recs").getAttribute("data-strategy"), answer.strategy);
  assert.equal(await page.evaluate(() => document.querySelector("shopstream-recs").shadowRoot.querySelector("h2").textContent),
    "Customers also viewed");
  assert.deepEqual(errors, []);
  await context.close();
});

test("an impression is tracked only once at least half of the widget is on screen, once per answer", async () => {
  const { context, page, errors } = await open();
  await page.goto(writePage("below.html", `<div style="height:2500px">Tall content</div>${PRODUCT}<div style="height:2000px"></div>`));
  await loaded(page);
  const answer = await lastLoad(page);
  const anon = await anonymousId(page);
  const impressions = ofShopper(anon, "recommendation_impression");

  // Below the fold, then a third of it on screen: nothing yet.
  await page.evaluate(() => window.shopstream.flush());
  await sleep(600);
  assert.deepEqual(impressions(storedEvents(server.data)), [], "not on screen: no impression");
  await page.evaluate(() => {
    const el = document.querySelector("shopstream-recs");
    scrollTo(0, el.offsetTop - innerHeight + el.offsetHeight / 3);
  });
  await sleep(400);
  await page.evaluate(() => window.shopstream.flush());
  await sleep(300);
  assert.deepEqual(impressions(storedEvents(server.data)), [], "a third on screen: no impression");

  await page.locator("shopstream-recs").evaluate((el) => el.scrollIntoView({ block: "center" }));
  const events = impressions(await waitForEvents(server.data, (evs) => impressions(evs).length >= 1));
  assert.equal(events.length, 1);
  assert.deepEqual(events[0].properties, {
    recommendation_id: answer.recommendation_id, skus: answer.items.map((i) => i.sku),
    placement: "product", strategy: answer.strategy,
  });
  // Out of view and back: the same answer is not impressed again.
  await page.evaluate(() => scrollTo(0, 0));
  await sleep(300);
  await page.locator("shopstream-recs").evaluate((el) => el.scrollIntoView({ block: "center" }));
  await sleep(300);
  await page.evaluate(() => window.shopstream.flush());
  await sleep(300);
  assert.equal(impressions(storedEvents(server.data)).length, 1, "once per recommendation_id");
  // A new answer (refresh()) while on screen is a new impression.
  const again = await page.evaluate(() => document.querySelector("shopstream-recs").refresh());
  assert.notEqual(again.recommendation_id, answer.recommendation_id);
  const twice = impressions(await waitForEvents(server.data, (evs) => impressions(evs).length >= 2));
  assert.equal(twice[1].properties.recommendation_id, again.recommendation_id);
  assert.deepEqual(errors, []);
  await context.close();
});

test("clicks track recommendation_click; a cancelled shopstream-recs:click stays, keyboard works, else the link is followed", async () => {
  const { context, page, errors } = await open();
  const url = writePage("click.html", PRODUCT);
  await page.goto(url);
  await loaded(page);
  const answer = await lastLoad(page);
  const anon = await anonymousId(page);
  const clicks = ofShopper(anon, "recommendation_click");
  const skus = answer.items.map((i) => i.sku);

  // The page cancels the event (a single-page app routing itself): no navigation.
  await page.evaluate(() => (window.cancelClicks = true));
  // Keyboard: Tab reaches the first card, which shows a focus ring; Enter picks it.
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => {
    const el = document.querySelector("shopstream-recs");
    const a = el.shadowRoot.activeElement;
    return document.activeElement === el && a ? { sku: a.dataset.sku, outline: getComputedStyle(a).outlineStyle } : null;
  });
  assert.deepEqual(focused, { sku: skus[0], outline: "solid" });
  await page.keyboard.press("Enter");
  let stored = clicks(await waitForEvents(server.data, (evs) => clicks(evs).length >= 1));
  assert.deepEqual([stored[0].properties.sku, stored[0].properties.position], [skus[0], 1]);
  assert.equal(page.url(), url, "cancelled: no navigation");

  // The mouse, on the second card.
  await page.locator("shopstream-recs .card").nth(1).click();
  await sleep(300);
  assert.equal(page.url(), url, "cancelled: no navigation");
  const detail = await page.evaluate(() => window.recEvents.filter((e) => e.type === "click").at(-1).detail);
  assert.deepEqual({ ...detail, item: detail.item.sku },
    { sku: skus[1], position: 2, recommendation_id: answer.recommendation_id, item: skus[1] });
  stored = clicks(await waitForEvents(server.data, (evs) => clicks(evs).length >= 2));
  assert.deepEqual(stored[1].properties, {
    recommendation_id: answer.recommendation_id, sku: skus[1], position: 2, placement: "product", strategy: answer.strategy,
  });

  // Not cancelled: the link is followed, and the click still reaches the store (sent as the page hides).
  await page.evaluate(() => (window.cancelClicks = false));
  await Promise.all([page.waitForURL(`${server.url}p/${skus[2]}`), page.locator("shopstream-recs .card").nth(2).click()]);
  stored = clicks(await waitForEvents(server.data, (evs) => clicks(evs).length >= 3));
  assert.deepEqual(stored.map((e) => e.properties.position), [1, 2, 3]);
  assert.ok(stored.every((e) => e.properties.recommendation_id === answer.recommendation_id));
  assert.deepEqual(errors, []);
  await context.close();
});

test("when the API is down, fails, is slow or has nothing, the widget hides completely and says why in an event", async () => {
  const cases = [
    ["503", (route) => route.fulfill({ status: 503, contentType: "application/json", body: '{"error":"unavailable"}' })],
    ["network error", (route) => route.abort("connectionrefused")],
    ["no items", (route) => route.fulfill({ status: 200, contentType: "application/json",
      body: JSON.stringify({ recommendation_id: "r", placement: "product", strategy: "trending", items: [], generated_at: "x" }) })],
    ["timeout", () => {}], // never answered
    ["not JSON", (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<html>oops" })],
  ];
  const url = writePage("down.html", PRODUCT);
  for (const [what, handler] of cases) {
    const { context, page, errors } = await open();
    await page.route(RECS, handler);
    const started = Date.now();
    await page.goto(url);
    await page.waitForFunction(() => window.recEvents.some((e) => e.type === "error"), null, { timeout: 8000 });
    if (what === "timeout") assert.ok(Date.now() - started >= 2900, "waits about 3 s");
    assert.deepEqual(await state(page), { hidden: true, height: 0, width: 0, display: "none", text: "", shadowText: "" }, what);
    const { detail } = await page.evaluate(() => window.recEvents.find((e) => e.type === "error"));
    assert.ok(detail.reason, what);
    if (what === "503") assert.equal(detail.status, 503);
    // The content below sits where it would without the widget.
    const below = await box(page, "#below");
    await page.evaluate(() => document.querySelector("shopstream-recs").remove());
    assert.deepEqual(await box(page, "#below"), below, what);
    assert.deepEqual(errors, [], `${what}: no page errors`);
    await page.unrouteAll({ behavior: "ignoreErrors" });
    await context.close();
  }
});

test("attribute changes and refresh() ask again; a bad placement hides without a request", async () => {
  const { context, page, errors } = await open();
  const asked = [];
  page.on("request", (r) => r.url().includes("/v1/recommendations") && asked.push(new URL(r.url()).searchParams));
  await page.goto(writePage("change.html", PRODUCT));
  await loaded(page);
  assert.equal(asked.length, 1);
  assert.equal(asked[0].get("sku"), "w-tent");
  assert.equal(asked[0].get("limit"), "4");
  assert.equal(asked[0].get("anonymous_id"), await anonymousId(page), "the tracker's shopper");
  assert.equal(asked[0].get("user_id"), null);

  // Two attributes changed in one task: one request.
  await page.evaluate(() => {
    const el = document.querySelector("shopstream-recs");
    el.setAttribute("sku", "w-stove");
    el.limit = 2;
  });
  await loaded(page, 2);
  assert.equal(asked.length, 2);
  assert.deepEqual([asked[1].get("sku"), asked[1].get("limit")], ["w-stove", "2"]);
  const shown = await cards(page);
  assert.equal(shown.length, 2);
  assert.ok(!shown.some((c) => c.sku === "w-stove"));

  await page.evaluate(() => {
    const el = document.querySelector("shopstream-recs");
    el.removeAttribute("sku");
    el.placement = "home";
    el.heading = "Picked for you";
  });
  await loaded(page, 3);
  assert.deepEqual([asked[2].get("placement"), asked[2].get("sku")], ["home", null]);
  assert.equal(await page.evaluate(() => document.querySelector("shopstream-recs").shadowRoot.querySelector("h2").textContent), "Picked for you");

  await page.evaluate(() => document.querySelector("shopstream-recs").refresh());
  assert.equal(asked.length, 4);

  await page.evaluate(() => document.querySelector("shopstream-recs").setAttribute("placement", "aisle"));
  await page.waitForFunction(() => window.recEvents.some((e) => e.type === "error"));
  assert.equal(asked.length, 4, "no request for a bad placement");
  assert.equal((await state(page)).height, 0);
  // And back: it shows again.
  await page.evaluate(() => document.querySelector("shopstream-recs").setAttribute("placement", "home"));
  await loaded(page, 5);
  assert.equal((await state(page)).hidden, false);
  assert.deepEqual(errors, []);
  await context.close();
});

test("without a tracker it renders and tracks nothing; a tracker loading late is waited for; a second definition is harmless", async () => {
  // No tracker at all.
  let { context, page, errors } = await open();
  const before = storedEvents(server.data).length;
  await page.goto(writePage("plain.html", '<shopstream-recs placement="home" limit="3"></shopstream-recs>', { tracker: false }));
  await loaded(page);
  assert.ok((await cards(page)).length >= 1);
  await page.locator("shopstream-recs .card").first().evaluate((a) => a.addEventListener("click", (e) => e.preventDefault()));
  await page.locator("shopstream-recs .card").first().click();
  await page.evaluate(() => import("/sdk/widget.js?again")); // a second copy of the module
  assert.equal(await page.evaluate(() => typeof customElements.get("shopstream-recs")), "function");
  await sleep(800);
  assert.equal(storedEvents(server.data).length, before, "nothing tracked without a tracker");
  assert.deepEqual(errors, []);
  await context.close();

  // The snippet's tracker arrives a second after the widget: the widget waits for its shopper id.
  ({ context, page, errors } = await open());
  await page.route("**/sdk/index.js", async (route) => { await sleep(1000); await route.continue(); });
  let asked = null;
  page.on("request", (r) => r.url().includes("/v1/recommendations") && (asked = new URL(r.url()).searchParams));
  await page.goto(writePage("late.html", PRODUCT));
  await loaded(page);
  const anon = await anonymousId(page);
  assert.equal(asked.get("anonymous_id"), anon);
  const impressions = ofShopper(anon, "recommendation_impression");
  assert.equal(impressions(await waitForEvents(server.data, (evs) => impressions(evs).length >= 1)).length, 1);
  assert.deepEqual(errors, []);
  await context.close();
});

test("cross-origin: the page on one server, the recommendations API on another (CORS, preflight included)", async () => {
  const api = await startServer(site);
  try {
    await seed(api);
    const endpoint = `${api.url}v1/recommendations`;
    const { context, page, errors } = await open();
    const asked = [];
    page.on("request", (r) => r.url().includes("/v1/recommendations") && asked.push(r.url()));
    await page.goto(writePage("cors.html",
      `<shopstream-recs placement="product" sku="w-tent" endpoint="${endpoint}"></shopstream-recs><p id="below">x</p>`));
    await loaded(page);
    assert.equal(asked.length, 1);
    assert.ok(asked[0].startsWith(`${endpoint}?`), asked[0]);
    assert.notEqual(new URL(server.url).origin, new URL(api.url).origin);
    const answer = await lastLoad(page);
    assert.equal((await cards(page)).length, answer.items.length);
    assert.ok(answer.items.length >= 3);
    // The impression goes to the page's own ingest, with the answer's id from the other origin.
    const impressions = ofShopper(await anonymousId(page), "recommendation_impression");
    const stored = impressions(await waitForEvents(server.data, (evs) => impressions(evs).length >= 1));
    assert.equal(stored[0].properties.recommendation_id, answer.recommendation_id);
    // A call with a token (a signed-in shopper's) needs the preflight, which the API answers.
    const withToken = await page.evaluate(async (url) => {
      const r = await fetch(`${url}?placement=product&sku=w-tent`, { headers: { authorization: "Bearer t" } });
      return { status: r.status, items: (await r.json()).items.length };
    }, endpoint);
    assert.deepEqual(withToken, { status: 200, items: answer.items.length });
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await api.stop();
  }
});

test("the npm package ships widget.js; bundled from the tarball, `@shopstream/sdk/widget` defines the element", async () => {
  const dest = mkdtempSync(join(tmpdir(), "shopstream-pack-"));
  const [info] = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", dest], { cwd: SDK_PKG, encoding: "utf8" }));
  const files = info.files.map((f) => f.path);
  assert.ok(files.includes("widget.js") && files.includes("widget.d.ts"), files.join(", "));
  const manifest = JSON.parse(readFileSync(join(SDK_PKG, "package.json"), "utf8"));
  assert.deepEqual(manifest.exports["./widget"], { types: "./widget.d.ts", import: "./widget.js" });

  const app = mkdtempSync(join(tmpdir(), "shopstream-widget-app-"));
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "a-shop", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", join(dest, info.filename)], { cwd: app, stdio: "pipe" });
  // A bare side-effect import (kept by the bundler: the package marks widget.js as having effects),
  // and the tracker handed over with setTracker().
  writeFileSync(join(app, "bare.js"), 'import "@shopstream/sdk/widget";\nwindow.defined = !!customElements.get("shopstream-recs");\n');
  writeFileSync(join(app, "main.js"), `import * as sdk from "@shopstream/sdk";
import { setTracker } from "@shopstream/sdk/widget";
await sdk.init({ endpoint: "/v1/events", flushAt: 1, autoPageViews: false });
setTracker(sdk);
window.sdk = sdk;
`);
  const out = join(site, "bundle");
  mkdirSync(out, { recursive: true });
  for (const f of ["bare.js", "main.js"]) {
    execFileSync(ESBUILD, [f, "--bundle", "--format=esm", "--minify", `--outfile=${join(out, f)}`], { cwd: app, stdio: "pipe" });
  }
  assert.match(readFileSync(join(out, "bare.js"), "utf8"), /customElements\.define/, "the bare import survived bundling");
  writeFileSync(join(site, "bundled.html"), `<!doctype html><html lang="en"><title>bundled</title>
<script type="module" src="/bundle/bare.js"></script><script type="module" src="/bundle/main.js"></script>
<shopstream-recs placement="product" sku="w-tent"></shopstream-recs>`);

  const { context, page, errors } = await open();
  await page.goto(`${server.url}bundled.html`);
  await page.waitForFunction(() => window.defined === true && window.sdk);
  await page.waitForFunction(() => document.querySelector("shopstream-recs").answer);
  const anon = await page.evaluate(() => window.sdk.identity().anonymousId);
  const impressions = ofShopper(anon, "recommendation_impression");
  assert.equal(impressions(await waitForEvents(server.data, (evs) => impressions(evs).length >= 1)).length, 1,
    "tracked through the bundled tracker");
  assert.deepEqual(errors, []);
  await context.close();
});
