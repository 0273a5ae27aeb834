// The walking skeleton end to end: a click in the Leptos storefront, tracked by the Rust/Wasm SDK
// in real headless Chromium, posted to the ingest, validated, and stored durably by the local server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, waitForEvents } from "./support.mjs";

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

  const events = await waitForEvents(server.data, (evs) => evs.length >= 4);
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
