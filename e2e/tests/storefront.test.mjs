// The demo shop end to end in real headless Chromium: a scripted shopper browses a category,
// searches, opens products, fills and edits the cart, signs in against Cognito (moto's), checks out;
// every step is tracked by the Rust/Wasm SDK, stored by the local server, and read back here.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  startServer, startMotoCognito, launchBrowser, waitForEvents, storedEvents, DESKTOP_UA,
} from "./support.mjs";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Screenshots for a person to look at (the README shows two of them). */
const ARTIFACTS = join(import.meta.dirname, "..", "artifacts");
let moto, server, browser, catalog;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  moto = await startMotoCognito();
  server = await startServer(undefined, moto.args);
  browser = await launchBrowser();
  catalog = await (await fetch(`${server.url}v1/products`)).json();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await moto?.stop();
});

/** Sends `events` (each {type, sku, category?}) as another shopper, straight to the ingest. */
async function otherShopper(url, anonymousId, sessionId, events) {
  const now = Date.now();
  const batch = {
    schema_version: 1,
    sent_at: new Date(now).toISOString(),
    events: events.map((e, i) => ({
      event_id: uuidv7(now + i),
      type: e.type,
      occurred_at: new Date(now - 1000 + i).toISOString(),
      anonymous_id: anonymousId,
      session_id: sessionId,
      properties: e.properties,
    })),
  };
  const r = await fetch(`${url}v1/events`, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": DESKTOP_UA },
    body: JSON.stringify(batch),
  });
  const answer = await r.json();
  assert.equal(r.status, 200, JSON.stringify(answer));
  assert.equal(answer.rejected.length, 0, JSON.stringify(answer));
}

function uuidv7(ms) {
  const hex = ms.toString(16).padStart(12, "0");
  const rand = [...crypto.getRandomValues(new Uint8Array(10))].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${rand.slice(0, 3)}-${"89ab"[parseInt(rand[3], 16) % 4]}${rand.slice(4, 7)}-${rand.slice(7, 19)}`;
}

const productProps = (p) => ({
  sku: p.sku, name: p.name, brand: p.brand, category: p.category, price: p.price, currency: p.currency,
});

/** The block's state as the page shows it. */
const recsShown = (page, testid) => page.evaluate((id) => {
  const block = document.querySelector(`[data-testid="${id}"]`);
  return {
    strategy: block?.dataset.strategy ?? null,
    hidden: block?.hidden ?? null,
    skus: [...(block?.querySelectorAll("a.rec") ?? [])].map((a) => a.dataset.sku),
  };
}, testid);

async function waitForRecs(page, testid, predicate, what) {
  const deadline = Date.now() + 10000;
  let last;
  while (Date.now() < deadline) {
    last = await recsShown(page, testid);
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what}; ${testid} shows ${JSON.stringify(last)}`);
}

test("a scripted shopper browses, searches, fills the cart, signs in and checks out; the events tell the story", async () => {
  // Two products in different categories, in stock; the first is the cheapest in stock of its category.
  const [catA, catB] = [catalog.categories[1], catalog.categories[4]];
  const byPrice = catalog.products.filter((p) => p.category_slug === catA.slug).sort((a, b) => a.price - b.price);
  const first = byPrice.find((p) => p.stock >= 2);
  const second = catalog.products.find((p) => p.category_slug === catB.slug && p.stock >= 1);
  // Other shoppers viewed these with a few more products: those become this shopper's recommendations.
  const neighbours = catalog.products.filter((p) => p.stock > 0 && ![first.sku, second.sku].includes(p.sku)).slice(10, 13);
  for (let i = 0; i < 3; i++) {
    await otherShopper(server.url, `other-${i}`, `other-session-${i}`,
      [first, second, ...neighbours].map((p) => ({ type: "product_view", properties: productProps(p) })));
  }

  const context = await browser.newContext({ userAgent: DESKTOP_UA, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`${new URL(page.url()).pathname}: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && errors.push(`${new URL(page.url()).pathname}: ${m.text()}`));
  const ingestStatuses = [];
  page.on("response", (r) => new URL(r.url()).pathname === "/v1/events" && ingestStatuses.push(r.status()));

  await page.goto(server.url);
  // A new shopper: what is trending; the home page lists the top rated products.
  const before = await waitForRecs(page, "recs-home", (s) => s.strategy === "trending" && s.skus.length === 4,
    "trending for a new shopper");
  await page.locator(".grid .card").first().waitFor();

  // A category from the navigation, sorted by price.
  await page.getByRole("navigation", { name: "Categories" }).getByRole("link", { name: catA.name }).click();
  await page.getByRole("heading", { level: 1, name: catA.name }).waitFor();
  await page.getByTestId("sort-select").selectOption("price-asc");
  await page.waitForURL(/sort=price-asc/);
  const cards = page.getByTestId("product-grid").locator(".card");
  assert.equal(await cards.count(), byPrice.length);
  assert.equal(await cards.first().getAttribute("data-testid"), `product-${byPrice[0].sku}`, "sorted by price");

  // The product page; two of it into the cart.
  await page.getByTestId(`open-${first.sku}`).click();
  await page.getByTestId("product-page").waitFor();
  assert.equal(await page.title(), `${first.name} · Shopstream Outdoor`);
  await page.getByTestId("quantity-select").selectOption("2");
  await page.getByTestId("add-to-cart").click();
  assert.equal(await page.getByTestId("cart-count").innerText(), "2");

  // Search from the header for the second product.
  await page.getByTestId("search-input").fill(second.name);
  await page.getByTestId("search-input").press("Enter");
  await page.waitForURL(/\/search\?q=/);
  await page.getByTestId(`open-${second.sku}`).click();
  await page.getByTestId("product-page").waitFor();
  await page.getByTestId("add-to-cart").click();
  assert.equal(await page.getByTestId("cart-count").innerText(), "3");
  await waitForRecs(page, "recs-product-also_viewed", (s) => s.strategy === "also_viewed" && s.skus.length > 0,
    "customers also viewed, from the other shoppers");
  await page.screenshot({ path: join(ARTIFACTS, "product.png"), fullPage: true });

  // The cart: one fewer of the first product.
  await page.getByTestId("cart-link").click();
  await page.getByTestId(`line-${first.sku}`).waitFor();
  await page.getByTestId(`qty-${first.sku}`).selectOption("1");
  assert.equal(await page.getByTestId("cart-count").innerText(), "2");
  const total = Math.round((first.price + second.price + (first.price + second.price >= 75 ? 0 : 4.9)) * 100) / 100;
  assert.equal(await page.getByTestId("total").innerText(), `€${total.toFixed(2)}`);
  await page.screenshot({ path: join(ARTIFACTS, "cart.png"), fullPage: true });

  // Sign in with the demo account (moto's Cognito).
  await page.getByTestId("account-link").click();
  await page.getByTestId("use-demo").click();
  await page.getByTestId("auth-submit").click();
  await page.getByTestId("signed-in").waitFor();
  assert.equal(await page.getByTestId("user-id").innerText(), moto.pool.sub);

  // Checkout.
  await page.getByTestId("cart-link").click();
  await page.getByTestId("checkout-link").click();
  await page.getByTestId("place-order").click();
  assert.match(await page.getByTestId("checkout-error").innerText(), /Please fill in: name, address, city, postcode/);
  for (const [field, value] of [["name", "Ada Shopper"], ["address", "1 Trail Road"], ["city", "Lyon"], ["postcode", "69001"]]) {
    await page.getByTestId(`field-${field}`).fill(value);
  }
  assert.equal(await page.getByTestId("field-email").inputValue(), moto.pool.username, "prefilled when signed in");
  await page.getByTestId("place-order").click();
  const orderId = await page.getByTestId("order-id").innerText();
  assert.equal(await page.getByTestId("cart-count").innerText(), "0");

  // The processor applies the purchase within moments (the API then leaves the items out) ...
  const bought = (s) => s.skus.includes(first.sku) || s.skus.includes(second.sku);
  const deadline = Date.now() + 10000;
  for (;;) {
    const answer = await page.evaluate(async () => {
      const id = encodeURIComponent(window.shopstream.identity().anonymousId);
      return (await fetch(`/v1/recommendations?placement=home&anonymous_id=${id}&limit=8`)).json();
    });
    if (!bought({ skus: answer.items.map((i) => i.sku) })) break;
    assert.ok(Date.now() < deadline, `the purchase is applied: ${JSON.stringify(answer)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // ... and back home, the recommendations are this shopper's own.
  await page.getByRole("link", { name: /Shopstream Outdoor/ }).click();
  const afterSession = await waitForRecs(page, "recs-home",
    (s) => s.strategy === "personalized" && s.skus.length >= 3 && !bought(s), "personalised after the session");
  assert.notDeepEqual(afterSession.skus, before.skus, "the block changed");
  assert.ok(neighbours.some((n) => afterSession.skus.includes(n.sku)), "with what others viewed alongside");
  await page.screenshot({ path: join(ARTIFACTS, "home.png"), fullPage: true });
  await page.evaluate(() => window.shopstream.flush());

  // What was stored, in order.
  const anonymousId = await page.evaluate(() => window.shopstream.identity().anonymousId);
  const mine = (evs) => evs.filter((e) => e.anonymous_id === anonymousId);
  const all = mine(await waitForEvents(server.data, (evs) => mine(evs).filter((e) => e.type === "page_view").length >= 9));
  const events = all.filter((e) => !e.type.startsWith("recommendation_"));
  assert.deepEqual(errors, [], "no page errors");
  assert.ok(ingestStatuses.length > 0 && ingestStatuses.every((s) => s === 200), `ingest answers ${ingestStatuses}`);
  const story = events.map((e) => e.type === "page_view" ? `page_view:${e.properties.name}` : e.type);
  assert.deepEqual(story, [
    "page_view:Home", "product_list_view",
    "page_view:Category", "product_list_view", "product_list_view",
    "page_view:Product", "product_view", "add_to_cart",
    "page_view:Search", "search", "product_list_view",
    "page_view:Product", "product_view", "add_to_cart",
    "page_view:Cart", "remove_from_cart",
    "page_view:Account", "identify",
    "page_view:Cart", "page_view:Checkout", "checkout_started", "purchase",
    "page_view:Home", "product_list_view",
  ]);
  const find = (type, pred = () => true) => events.filter((e) => e.type === type).find(pred);
  const lists = events.filter((e) => e.type === "product_list_view");
  assert.equal(lists[0].properties.list_id, "home-top-rated");
  assert.equal(lists[1].properties.list_id, `category-${catA.slug}`);
  assert.equal(lists[1].properties.category, catA.name);
  assert.deepEqual(lists[2].properties.products.slice(0, 2).map((p) => [p.sku, p.position]),
    [[byPrice[0].sku, 1], [byPrice[1].sku, 2]], "the sorted list, with positions");
  assert.equal(events.find((e) => e.type === "page_view" && e.properties.name === "Category").properties.category, catA.name);
  assert.equal(events.find((e) => e.type === "page_view" && e.properties.name === "Category").context.page.path, `/c/${catA.slug}`);
  assert.deepEqual(find("product_view").properties,
    { ...productProps(first), url: first.url, image_url: first.image_url });
  const [add1, add2] = events.filter((e) => e.type === "add_to_cart");
  assert.equal(add1.properties.sku, first.sku);
  assert.equal(add1.properties.quantity, 2);
  assert.equal(add2.properties.sku, second.sku);
  assert.ok(add1.properties.cart_id && add1.properties.cart_id === add2.properties.cart_id, "one cart");
  const search = find("search");
  assert.equal(search.properties.query, second.name);
  assert.ok(search.properties.results >= 1);
  const removed = find("remove_from_cart");
  assert.deepEqual([removed.properties.sku, removed.properties.quantity, removed.properties.cart_id],
    [first.sku, 1, add1.properties.cart_id]);
  const checkout = find("checkout_started");
  assert.equal(checkout.properties.checkout_id, add1.properties.cart_id);
  assert.equal(checkout.properties.revenue, total);
  const purchase = find("purchase");
  assert.equal(purchase.properties.order_id, orderId);
  assert.equal(purchase.properties.revenue, total);
  assert.equal(purchase.properties.currency, "EUR");
  assert.deepEqual(purchase.properties.items.map((i) => [i.sku, i.quantity, i.price]).sort(),
    [[first.sku, 1, first.price], [second.sku, 1, second.price]].sort());

  // A verified user_id from the sign-in on; none before it.
  const signedIn = events.findIndex((e) => e.type === "identify");
  for (const [i, e] of events.entries()) {
    assert.match(e.event_id, UUID_V7);
    assert.equal(e.session_id, events[0].session_id, "one session");
    assert.equal(e.user_id, i >= signedIn ? moto.pool.sub : undefined, `${e.type} #${i}: user_id`);
    assert.equal(e.claimed_user_id, undefined, "no unverified claim");
    assert.ok(!e.edge?.bot, "counted as a person");
  }

  // Impressions only for blocks in view, each answer once; and they carry their strategy.
  const impressions = all.filter((e) => e.type === "recommendation_impression");
  assert.ok(impressions.length >= 2);
  assert.equal(new Set(impressions.map((i) => i.properties.recommendation_id)).size, impressions.length);
  assert.ok(impressions.some((i) => i.properties.placement === "home" && i.properties.strategy === "personalized"));
  await context.close();
});

test("a recommendation click carries its recommendation_id; blocks below the fold make no impression until seen", async () => {
  const p = catalog.products.filter((x) => x.stock > 0);
  const [seed, ...rest] = p.slice(40, 45);
  for (let i = 0; i < 2; i++) {
    await otherShopper(server.url, `viewer-${i}`, `viewer-session-${i}`,
      [seed, ...rest].map((x) => ({ type: "product_view", properties: productProps(x) })));
  }
  // A phone: the product page's blocks are below the fold.
  const context = await browser.newContext({ userAgent: DESKTOP_UA, viewport: { width: 390, height: 740 } });
  const page = await context.newPage();
  await page.goto(`${server.url}p/${seed.sku}`);
  await page.getByTestId("product-page").waitFor();
  const shown = await waitForRecs(page, "recs-product-also_viewed", (s) => s.strategy === "also_viewed" && s.skus.length === 4,
    "also viewed");
  assert.deepEqual([...shown.skus].sort(), rest.map((x) => x.sku).sort());
  const noOverflow = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  assert.ok(noOverflow, "nothing wider than a phone");
  await page.evaluate(() => window.shopstream.flush());
  const anonymousId = await page.evaluate(() => window.shopstream.identity().anonymousId);
  const impressionsIn = (evs) => evs.filter((e) => e.anonymous_id === anonymousId && e.type === "recommendation_impression");
  assert.deepEqual(impressionsIn(storedEvents(server.data)), [], "not seen yet");

  await page.getByTestId("recs-product-also_viewed").scrollIntoViewIfNeeded();
  await page.evaluate(() => window.shopstream.flush());
  const [impression] = impressionsIn(await waitForEvents(server.data, (evs) => impressionsIn(evs).length >= 1));
  assert.equal(impression.properties.placement, "product");
  assert.equal(impression.properties.strategy, "also_viewed");

  const picked = shown.skus[1];
  await page.getByTestId("recs-product-also_viewed-1").click();
  await page.waitForURL(new RegExp(`/p/${picked}$`));
  await page.evaluate(() => window.shopstream.flush());
  const click = (await waitForEvents(server.data, (evs) => evs.some((e) => e.anonymous_id === anonymousId && e.type === "recommendation_click")))
    .find((e) => e.anonymous_id === anonymousId && e.type === "recommendation_click");
  assert.deepEqual(click.properties, {
    recommendation_id: impression.properties.recommendation_id, sku: picked, position: 2, placement: "product",
    strategy: "also_viewed",
  });
  await context.close();
});

test("sign-up with a new account: confirmed with the emulator's code, signed in, events carry its verified user_id", async () => {
  const context = await browser.newContext({ userAgent: DESKTOP_UA });
  const page = await context.newPage();
  await page.goto(`${server.url}account`);
  await page.getByTestId("to-sign-up").click();
  const email = `new-${Date.now()}@example.com`;
  await page.getByTestId("auth-email").fill(email);
  await page.getByTestId("auth-password").fill("short");
  await page.getByTestId("auth-submit").click();
  assert.match(await page.getByTestId("auth-error").innerText(), /at least 8 characters/, "checked before asking Cognito");
  await page.getByTestId("auth-password").fill("Trail-mix-2026!");
  await page.getByTestId("auth-submit").click();
  await page.getByTestId("auth-code").waitFor({ state: "visible" });
  await page.getByTestId("auth-code").fill("123456");
  await page.getByTestId("auth-submit").click();
  await page.getByTestId("signed-in").waitFor();
  const sub = await page.getByTestId("user-id").innerText();
  assert.notEqual(sub, moto.pool.sub);

  // A reload keeps the sign-in; a product view then carries the verified id.
  await page.reload();
  const product = catalog.products[7];
  await page.goto(`${server.url}p/${product.sku}`);
  await page.getByTestId("product-page").waitFor();
  await page.evaluate(() => window.shopstream.flush());
  const view = (await waitForEvents(server.data, (evs) => evs.some((e) => e.type === "product_view" && e.user_id === sub)))
    .find((e) => e.type === "product_view" && e.user_id === sub);
  assert.equal(view.properties.sku, product.sku);

  // Wrong password: a clear message, no sign-in.
  await page.goto(`${server.url}account`);
  await page.getByTestId("sign-out").click();
  await page.getByTestId("auth-email").fill(email);
  await page.getByTestId("auth-password").fill("Wrong-pass-1!");
  await page.getByTestId("auth-submit").click();
  await page.getByTestId("auth-error").filter({ hasText: /./ }).waitFor();
  assert.equal(await page.getByTestId("auth-error").innerText(), "Wrong email or password.");
  await context.close();
});

test("an account signed up but not confirmed is asked for its code at sign-in, then signed in", async () => {
  const context = await browser.newContext({ userAgent: DESKTOP_UA });
  const page = await context.newPage();
  await page.goto(`${server.url}account`);
  await page.getByTestId("to-sign-up").click();
  assert.equal(await page.getByTestId("auth-code").isVisible(), false, "no code field before it is needed");
  const email = `later-${Date.now()}@example.com`;
  await page.getByTestId("auth-email").fill(email);
  await page.getByTestId("auth-password").fill("Trail-mix-2026!");
  await page.getByTestId("auth-submit").click();
  await page.getByTestId("auth-code").waitFor({ state: "visible" });
  // The shopper leaves without the code, and comes back to sign in.
  await page.reload();
  await page.getByTestId("auth-email").fill(email);
  await page.getByTestId("auth-password").fill("Trail-mix-2026!");
  await page.getByTestId("auth-submit").click();
  await page.getByTestId("auth-code").waitFor({ state: "visible" });
  assert.match(await page.getByTestId("auth-error").innerText(), /not confirmed/);
  await page.getByTestId("auth-code").fill("000000");
  await page.getByTestId("auth-submit").click();
  await page.getByTestId("signed-in").waitFor();
  assert.equal(await page.getByTestId("signed-in-email").innerText(), email);
  await context.close();
});

test("without a user pool, sign-in says it is disabled and the shop works as a guest", async () => {
  const shop = await startServer();
  const page = await browser.newPage();
  try {
    await page.goto(`${shop.url}account`);
    await page.getByTestId("auth-disabled").waitFor();
    assert.match(await page.getByTestId("auth-disabled").innerText(), /no Cognito user pool/);
    const config = await (await fetch(`${shop.url}config.json`)).json();
    assert.deepEqual(config, { auth: null });
  } finally {
    await page.close();
    await shop.stop();
  }
});

test("client-side routes survive a reload; unknown products and pages say so; the ingest answers 400 with a reason", async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}p/no-such-sku`);
  await page.getByRole("heading", { name: "Page not found" }).waitFor();
  await page.goto(`${server.url}c/${catalog.categories[0].slug}?sort=name`);
  assert.equal(await page.getByTestId("sort-select").inputValue(), "name");
  // The cart never holds more than the stock.
  const scarce = catalog.products.find((p) => p.stock >= 1 && p.stock <= 3);
  await page.goto(`${server.url}p/${scarce.sku}`);
  await page.getByTestId("product-page").waitFor();
  assert.equal(await page.getByTestId("quantity-select").locator("option").count(), scarce.stock);
  await page.getByTestId("quantity-select").selectOption(String(scarce.stock));
  await page.getByTestId("add-to-cart").click();
  await page.getByTestId("add-to-cart").click();
  assert.equal(await page.getByTestId("cart-count").innerText(), String(scarce.stock));
  assert.match(await page.getByTestId("status").innerText(), /all of .* we can sell you/);
  const bad = await page.evaluate(async () => {
    const r = await fetch("/v1/events", { method: "POST", body: "{not json" });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, "not_json");
  await page.close();
});

test("keyboard only: tab to a product's add button and press Enter; no layout shift when recommendations arrive", async () => {
  await otherShopper(server.url, "keyboard-seed", "keyboard-seed-session", catalog.products.slice(60, 66)
    .map((p) => ({ type: "product_view", properties: productProps(p) })));
  const context = await browser.newContext({ userAgent: DESKTOP_UA });
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.__cls = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value;
    }).observe({ type: "layout-shift", buffered: true });
  });
  await page.goto(server.url);
  await waitForRecs(page, "recs-home", (s) => s.skus.length === 4, "recommendations shown");
  await page.locator(".grid .card").first().waitFor();
  const cls = await page.evaluate(() => window.__cls);
  assert.ok(cls < 0.1, `cumulative layout shift ${cls} (good is under 0.1)`);

  const firstAdd = page.locator(".grid .card button.primary:not([disabled])").first();
  const id = await firstAdd.getAttribute("data-testid");
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((t) => document.activeElement?.dataset.testid === t, id)) break;
  }
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), id, "reachable by Tab");
  assert.match(await firstAdd.evaluate((b) => b.textContent), /^Add to cart: /, "its name says which product");
  await page.keyboard.press("Enter");
  assert.equal(await page.getByTestId("cart-count").innerText(), "1");
  await context.close();
});

test("accessibility: axe-core finds no serious or critical problem on any page, on a desktop and on a phone", async () => {
  const axe = readFileSync(join(import.meta.dirname, "..", "node_modules", "axe-core", "axe.min.js"), "utf8");
  const product = catalog.products.find((p) => p.stock > 0);
  const pages = ["", `c/${catalog.categories[0].slug}`, `search?q=tent`, `p/${product.sku}`, "cart", "checkout", "account", "dashboard"];
  for (const viewport of [{ width: 1280, height: 900 }, { width: 390, height: 740 }]) {
    const context = await browser.newContext({ userAgent: DESKTOP_UA, viewport });
    const page = await context.newPage();
    // Something in the cart, so the cart and checkout pages show their forms.
    await page.goto(`${server.url}p/${product.sku}`);
    await page.getByTestId("add-to-cart").click();
    for (const path of pages) {
      await page.goto(`${server.url}${path}`);
      await page.locator("main h1").first().waitFor();
      await page.waitForLoadState("networkidle");
      await page.addScriptTag({ content: axe });
      const found = await page.evaluate(async () => {
        const r = await window.axe.run(document, { resultTypes: ["violations"] });
        return r.violations
          .filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
      });
      assert.deepEqual(found, [], `/${path} at ${viewport.width}px`);
      if (viewport.width < 500) {
        assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
          `/${path}: nothing wider than a phone`);
      }
    }
    await context.close();
  }
});
