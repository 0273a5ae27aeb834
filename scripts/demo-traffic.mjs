#!/usr/bin/env node
// Simulated shoppers for a fresh local demo, so its first visitor sees recommendations with
// neighbours and a dashboard with figures: sessions of product views in one or two related
// categories, some cart adds and some orders, spread over the last 25 minutes. Sent through the
// real ingest (`POST /v1/events`) with a desktop browser's user agent, like any shopper's events.
//
//   node scripts/demo-traffic.mjs http://127.0.0.1:8080/ [shoppers, default 60]

/** Categories shoppers browse together (by slug); anything else is browsed alone. */
const THEMES = [["tents", "sleeping"], ["shoes", "socks"], ["cooking", "bottles"], ["jackets", "hats"], ["backpacks", "lights"]];
const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const SPREAD_MS = 25 * 60 * 1000;

/** A small deterministic generator: the same demo every time. */
function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function uuidv7(ms, rand) {
  const hex = Math.floor(ms).toString(16).padStart(12, "0");
  const r = Array.from({ length: 20 }, () => Math.floor(rand() * 16).toString(16)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${r.slice(0, 3)}-${"89ab"[Math.floor(rand() * 4)]}${r.slice(3, 6)}-${r.slice(6, 18)}`;
}

const product = (p) => ({ sku: p.sku, name: p.name, brand: p.brand, category: p.category, price: p.price,
  currency: p.currency, url: p.url, image_url: p.image_url });

/** Sends `shoppers` simulated sessions to the server at `url`; resolves with the events sent. */
export async function seedDemoTraffic(url, shoppers = 60) {
  const base = url.endsWith("/") ? url : `${url}/`;
  const { products } = await (await fetch(`${base}v1/products`)).json();
  const inStock = products.filter((p) => p.stock > 0);
  const bySlug = (slug) => inStock.filter((p) => p.category_slug === slug);
  const rand = rng(2026);
  const pick = (list) => list[Math.floor(rand() * list.length)];
  // Shoppers favour a few products of each category, so items have neighbours worth showing.
  const favourites = (slug) => bySlug(slug).slice(0, 6);
  const now = Date.now();
  let sent = 0;
  for (let i = 0; i < shoppers; i++) {
    const theme = pick(THEMES);
    const start = now - SPREAD_MS + (SPREAD_MS * i) / shoppers;
    const anonymous_id = `demo-shopper-${i}`;
    const session_id = `demo-session-${i}`;
    const events = [];
    const add = (type, properties) => {
      const at = start + events.length * 20_000 * rand();
      events.push({ event_id: uuidv7(at, rand), type, occurred_at: new Date(at).toISOString(), anonymous_id,
        session_id, properties });
    };
    const seen = new Set();
    const views = 3 + Math.floor(rand() * 4);
    for (let v = 0; v < views; v++) {
      const p = pick(favourites(pick(theme)));
      if (!p || seen.has(p.sku)) continue;
      seen.add(p.sku);
      add("product_view", product(p));
    }
    const cart = [...seen].slice(0, rand() < 0.6 ? 2 : 0).map((sku) => products.find((p) => p.sku === sku));
    for (const p of cart) add("add_to_cart", { ...product(p), quantity: 1, cart_id: `demo-cart-${i}` });
    if (cart.length && rand() < 0.5) {
      const items = cart.map((p) => ({ sku: p.sku, quantity: 1, price: p.price, name: p.name, category: p.category, brand: p.brand }));
      const revenue = Math.round(items.reduce((s, it) => s + it.price, 0) * 100) / 100;
      add("checkout_started", { checkout_id: `demo-cart-${i}`, revenue, currency: "EUR", items });
      add("purchase", { order_id: `demo-order-${i}`, revenue, currency: "EUR", items });
    }
    const r = await fetch(`${base}v1/events`, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": UA },
      body: JSON.stringify({ schema_version: 1, sent_at: new Date(now).toISOString(), events }),
    });
    const answer = await r.json();
    if (r.status !== 200 || answer.rejected.length) {
      throw new Error(`the ingest refused a simulated session: ${r.status} ${JSON.stringify(answer)}`);
    }
    sent += events.length;
  }
  return sent;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [url, n] = process.argv.slice(2);
  if (!url) {
    console.error("usage: node scripts/demo-traffic.mjs <server URL> [shoppers]");
    process.exit(2);
  }
  seedDemoTraffic(url, n ? Number(n) : undefined).then(
    (sent) => console.log(`sent ${sent} events of simulated shoppers`),
    (e) => {
      console.error(`cannot send the simulated shoppers: ${e.message}`);
      process.exit(1);
    },
  );
}
