// The walking skeleton end to end: a click in the Leptos storefront, tracked by the Rust/Wasm SDK
// in real headless Chromium, posted to the ingest, validated, and stored durably by the local server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, waitForEvents, storedEvents, DESKTOP_UA } from "./support.mjs";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let server, browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("clicks in the storefront are stored with the right types and fields", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const pendingAnswers = [];
  page.on("response", (r) => {
    if (new URL(r.url()).pathname === "/v1/events") {
      const answer = r.json().then((body) => ({ status: r.status(), body }));
      answer.catch(() => {}); // a flush on page close may answer after the page is gone
      pendingAnswers.push(answer);
    }
  });

  await page.goto(server.url);
  await page.getByTestId("view-sku-trail-shoe").click();
  await page.getByTestId("add-sku-trail-shoe").click();
  await page.getByTestId("add-sku-head-torch").click();
  assert.equal(await page.getByTestId("cart-count").innerText(), "Cart: 2");
  await page.evaluate(() => window.shopstream.flush());

  // The home recommendations' impressions are tested below.
  const clicks = (evs) => evs.filter((e) => !e.type.startsWith("recommendation_"));
  const events = clicks(await waitForEvents(server.data, (evs) => clicks(evs).length >= 4));
  assert.deepEqual(errors, [], "no page errors");
  assert.deepEqual(
    events.map((e) => e.type),
    ["page_view", "product_view", "add_to_cart", "add_to_cart"],
  );
  const ingestAnswers = await Promise.all(pendingAnswers);
  assert.ok(ingestAnswers.length >= 1);
  for (const answer of ingestAnswers) {
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.rejected, [], "nothing the SDK sends is rejected");
  }

  const [pageView, view, add, add2] = events;
  assert.equal(pageView.properties.name, "Home");
  assert.deepEqual(view.properties, {
    sku: "sku-trail-shoe", name: "Trail Running Shoe", brand: "Northpeak", category: "Shoes",
    price: 89.9, currency: "EUR",
  });
  assert.equal(add.properties.sku, "sku-trail-shoe");
  assert.equal(add.properties.quantity, 1);
  assert.equal(add2.properties.sku, "sku-head-torch");
  assert.equal(add2.properties.price, 39.95);

  const ids = new Set(events.map((e) => e.event_id));
  assert.equal(ids.size, events.length, "every event has its own id");
  for (const e of events) {
    assert.match(e.event_id, UUID_V7);
    assert.equal(e.anonymous_id, pageView.anonymous_id, "one shopper");
    assert.equal(e.session_id, pageView.session_id, "one session");
    assert.equal(e.context.page.path, "/");
    assert.equal(e.context.page.url, server.url);
    assert.equal(e.context.page.title, "Shopstream demo shop");
    assert.equal(e.context.library.name, "shopstream-sdk");
    assert.ok(Date.parse(e.received_at) >= Date.parse(e.occurred_at) - 5000, "received after it occurred");
  }
  await page.close();
});

test("the anonymous id survives a reload; the ingest answers 400 with a reason for bad input", async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.getByTestId("view-sku-day-pack").click();
  await page.evaluate(() => window.shopstream.flush());
  await page.reload();
  await page.getByTestId("view-sku-rain-jacket").click();
  await page.evaluate(() => window.shopstream.flush());
  const events = await waitForEvents(server.data, (evs) =>
    evs.some((e) => e.properties.sku === "sku-rain-jacket"));
  const day = events.find((e) => e.properties.sku === "sku-day-pack");
  const rain = events.find((e) => e.properties.sku === "sku-rain-jacket");
  assert.ok(day && rain);
  assert.equal(day.anonymous_id, rain.anonymous_id);

  const bad = await page.evaluate(async () => {
    const r = await fetch("/v1/events", { method: "POST", body: "{not json" });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, "not_json");
  await page.close();
});

test("the home recommendations change as the shopper browses; impressions and clicks carry the recommendation_id", async () => {
  const shop = await startServer(); // a store of its own: no other shopper's history
  // As a person's browser: headless Chromium's user agent is flagged as a bot, and bots do not count.
  const context = await browser.newContext({ userAgent: DESKTOP_UA });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const shown = () => page.evaluate(() => {
    const block = document.querySelector('[data-testid="recs-home"]');
    return {
      strategy: block?.dataset.strategy ?? null,
      hidden: block?.hidden ?? null,
      skus: [...document.querySelectorAll('[data-testid="recs-home"] button.rec')].map((b) => b.dataset.sku),
    };
  });
  const waitFor = async (predicate, what) => {
    const deadline = Date.now() + 10000;
    let last;
    while (Date.now() < deadline) {
      last = await shown();
      if (predicate(last)) return last;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`${what}; the block shows ${JSON.stringify(last)}`);
  };

  // Another shopper first: four items viewed in one session are each other's neighbours.
  const other = await browser.newContext({ userAgent: DESKTOP_UA });
  const otherPage = await other.newPage();
  await otherPage.goto(shop.url);
  for (const sku of ["sku-rain-jacket", "sku-day-pack", "sku-water-bottle", "sku-head-torch"]) {
    await otherPage.getByTestId(`view-${sku}`).click();
  }
  await otherPage.evaluate(() => window.shopstream.flush());
  await other.close();

  await page.goto(shop.url);
  // Nothing known of this shopper: what is trending, in reserved slots (the grid does not move).
  const trending = await waitFor((s) => s.strategy === "trending" && s.skus.length === 4, "trending first");
  assert.equal(trending.hidden, false);
  const gridTop = await page.locator(".grid").evaluate((g) => g.getBoundingClientRect().top);

  await page.getByTestId("view-sku-rain-jacket").click();
  // Now personal: first what was viewed with the jacket (the jacket itself only after them, as trending fills).
  const personal = await waitFor((s) => s.strategy === "personalized", "personalised after a view");
  assert.deepEqual(personal.skus.slice(0, 3).sort(), ["sku-day-pack", "sku-head-torch", "sku-water-bottle"]);
  assert.equal(await page.locator(".grid").evaluate((g) => g.getBoundingClientRect().top), gridTop, "no layout shift");

  // In the cart: no longer recommended.
  await page.getByTestId("add-sku-day-pack").click();
  const afterCart = await waitFor((s) => s.strategy === "personalized" && !s.skus.includes("sku-day-pack"), "the cart's item left out");
  assert.deepEqual(afterCart.skus.slice(0, 2).sort(), ["sku-head-torch", "sku-water-bottle"]);

  const picked = afterCart.skus[0];
  await page.getByTestId("rec-home-0").click();
  await page.evaluate(() => window.shopstream.flush());
  const mine = (evs) => evs.filter((e) => e.anonymous_id === click0.anonymous_id);
  const click0 = (await waitForEvents(shop.data, (evs) => evs.some((e) => e.type === "recommendation_click")))
    .find((e) => e.type === "recommendation_click");
  const events = mine(storedEvents(shop.data));
  assert.deepEqual(errors, [], "no page errors");
  const impressions = events.filter((e) => e.type === "recommendation_impression");
  const click = events.find((e) => e.type === "recommendation_click");
  assert.ok(impressions.length >= 3, "trending, personalised, personalised without the cart's item");
  for (const i of impressions) {
    assert.equal(i.properties.placement, "home");
    assert.ok(i.properties.skus.length >= 1 && i.properties.recommendation_id);
  }
  const last = impressions.at(-1);
  assert.equal(last.properties.strategy, "personalized");
  assert.deepEqual(click.properties, {
    recommendation_id: last.properties.recommendation_id, sku: picked, position: 0, placement: "home",
    strategy: "personalized",
  });
  assert.equal(new Set(impressions.map((i) => i.properties.recommendation_id)).size, impressions.length,
    "an answer is impressed once");
  // The pick is a product view too.
  assert.ok(events.slice(events.indexOf(click)).some((e) => e.type === "product_view" && e.properties.sku === picked));
  assert.ok(events.every((e) => !e.edge?.bot), "counted as a person");
  await context.close();
  await shop.stop();
});
