// Freshness: the time from `track()` in a real browser to a changed recommendation, on the local
// server (`shopstream serve`: ingest, the processor task and the recommendations API in one process).
// Each trial is a new shopper (a fresh browser context) on a page with the SDK: it asks for its `home`
// recommendations (trending: nothing known of it), tracks one `product_view` of an item other shoppers
// viewed with others, and asks again every 10 ms until the answer is `personalized`. Two tracker
// settings: the demo shop's (`flushIntervalMs: 500`, `flush()` after an interaction, as its
// recommendations block does) and the tracker's defaults without `flush()` (what any page gets).
// A benchmark, not a test: it asserts nothing about timings and CI does not run it.
//
// Usage (through bench/recs/run --only freshness): node freshness.mjs --trials N --out results.json
// Env: SHOPSTREAM_BIN (release `shopstream`), SHOPSTREAM_SDK_PKG, SHOPSTREAM_SITE (unused: a site of
// its own is written), CHROMIUM.
import { writeFileSync } from "node:fs";
import { startServer, launchBrowser, sdkTestSite, DESKTOP_UA } from "../../e2e/tests/support.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const TRIALS = Number(opt("--trials", "40"));
const OUT = opt("--out", null);
const SKUS = Array.from({ length: 12 }, (_, i) => `sku-${i}`);
/** A UUIDv7 for `ms` (the ingest requires version 7 ids). */
const uuid7 = (ms) => {
  const b = crypto.getRandomValues(new Uint8Array(16));
  for (let i = 0; i < 6; i++) b[i] = Math.floor(ms / 2 ** (8 * (5 - i))) & 0xff;
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

const server = await startServer(sdkTestSite());
const browser = await launchBrowser();
try {
  // History: 30 other shoppers, each viewing four of the twelve items in one session.
  const now = Date.now();
  const events = [];
  for (let s = 0; s < 30; s++) {
    for (let k = 0; k < 4; k++) {
      const ms = now - 60_000 + s * 100 + k;
      events.push({
        event_id: uuid7(ms), occurred_at: new Date(ms).toISOString(), type: "product_view",
        anonymous_id: `seed-${s}`, session_id: `seed-session-${s}`,
        properties: { sku: SKUS[(s + k * 3) % SKUS.length], category: "c", price: 10, currency: "EUR" },
      });
    }
  }
  const seeded = await fetch(`${server.url}v1/events`, {
    method: "POST", headers: { "content-type": "application/json", "user-agent": DESKTOP_UA },
    body: JSON.stringify({ schema_version: 1, sent_at: new Date().toISOString(), events }),
  });
  const answer = await seeded.json();
  if (!seeded.ok || answer.rejected?.length) throw new Error(`seeding: HTTP ${seeded.status}: ${JSON.stringify(answer).slice(0, 500)}`);
  await new Promise((r) => setTimeout(r, 1000)); // the processor applies them

  const settings = [
    { name: "demo shop: flushIntervalMs 500, flush() after the interaction", init: { flushIntervalMs: 500 }, flush: true },
    { name: "tracker defaults, no flush()", init: {}, flush: false },
  ];
  const results = [];
  for (const setting of settings) {
    const ms = [];
    for (let t = 0; t < TRIALS; t++) {
      const context = await browser.newContext({ userAgent: DESKTOP_UA });
      const page = await context.newPage();
      await page.goto(server.url);
      await page.waitForFunction(() => window.sdk);
      const took = await page.evaluate(async ({ init, flush, sku }) => {
        const sdk = window.sdk;
        await sdk.init({ endpoint: "/v1/events", autoPageViews: false, ...init });
        const ask = async () => {
          const q = new URLSearchParams({ placement: "home", anonymous_id: sdk.identity().anonymousId, limit: "4" });
          return (await (await fetch(`/v1/recommendations?${q}`)).json()).strategy;
        };
        const before = await ask();
        if (before === "personalized") throw new Error("a new shopper is already known");
        const t0 = performance.now();
        sdk.track("product_view", { sku, category: "c", price: 10, currency: "EUR" });
        if (flush) sdk.flush();
        for (;;) {
          if ((await ask()) === "personalized") return performance.now() - t0;
          if (performance.now() - t0 > 30_000) throw new Error("no change within 30 s");
          await new Promise((r) => setTimeout(r, 10));
        }
      }, { ...setting, sku: SKUS[t % SKUS.length] });
      ms.push(took);
      await context.close();
    }
    ms.sort((a, b) => a - b);
    const q = (p) => ms[Math.min(ms.length - 1, Math.ceil(p * ms.length) - 1)];
    const r = { setting: setting.name, trials: ms.length, p50_ms: q(0.5), p95_ms: q(0.95), max_ms: ms.at(-1), min_ms: ms[0] };
    results.push(r);
    console.error(`freshness: ${r.setting}: p50 ${r.p50_ms.toFixed(0)} ms, p95 ${r.p95_ms.toFixed(0)} ms, max ${r.max_ms.toFixed(0)} ms`);
  }
  console.log("| tracker setting | trials | p50 | p95 | max | target p95 < 1 s |");
  console.log("|---|--:|--:|--:|--:|---|");
  for (const r of results) {
    console.log(`| ${r.setting} | ${r.trials} | ${r.p50_ms.toFixed(0)} ms | ${r.p95_ms.toFixed(0)} ms | ${r.max_ms.toFixed(0)} ms | ${r.p95_ms < 1000 ? "met" : "**missed**"} (${(r.p95_ms / 1000).toFixed(2)}×) |`);
  }
  if (OUT) writeFileSync(OUT, JSON.stringify({ bench: "freshness", results }, null, 2));
} finally {
  await browser.close();
  await server.stop();
}
