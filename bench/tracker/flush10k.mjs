// Extra measurement for trackers whose track() defers work (Shopstream's track() only appends to an array;
// building, serialising, queueing in wasm, IndexedDB writes and sending happen in later tasks). Copied into
// the scratch harness by prepare.mjs and run from there, with the harness's own servers and browser setup.
// Per run: fresh chromium profile, load the page, wait for ready + 2 s, then in one page.evaluate:
//   10,000 track() calls (loop ms), then `await flush()` (resolves once every request has been answered).
// Reports loop ms, loop start -> flush() resolved (wall ms), main-thread task time over that window (CDP
// Performance.getMetrics TaskDuration), and what reached the collector (requests, raw body bytes, events, gzip).
// Usage: node shopstream-flush10k.mjs [--runs N] [--only shopstream,amplitude,...]  (entries must expose flush)
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import * as srv from './server.mjs';

const root = path.dirname(new URL(import.meta.url).pathname);
const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const RUNS = +arg('--runs', 5);
const ONLY = arg('--only', 'shopstream').split(',');
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-blink-features=AutomationControlled',
  `--host-resolver-rules=MAP * 127.0.0.1:${srv.STUB_PORT}, EXCLUDE 127.0.0.1`, '--ignore-certificate-errors'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function runOnce(name, run) {
  const dir = fs.mkdtempSync(path.join(root, 'profiles', `flush-${name}-${run}-`));
  const ctx = await chromium.launchPersistentContext(dir, { executablePath: '/usr/bin/chromium', headless: true, args: ARGS, userAgent: UA, viewport: { width: 1280, height: 800 } });
  const res = { name, run };
  try {
    const page = ctx.pages()[0] || (await ctx.newPage());
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Performance.enable');
    const task = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration').value * 1000;
    srv.reset();
    await page.goto(`http://127.0.0.1:${srv.PAGE_PORT}/?sdk=${name}`);
    await page.waitForFunction(() => globalThis.__bench && globalThis.__bench.tReady !== null, null, { timeout: 20000, polling: 5 });
    if (!(await page.evaluate(() => !!__bench.flush))) throw new Error(`${name} exposes no flush()`);
    await sleep(2000);
    srv.reset();
    const before = await task();
    const r = await page.evaluate(async () => {
      const s = performance.now();
      for (let i = 0; i < 10000; i++) __bench.track(100000 + i);
      const l = performance.now();
      await __bench.flush();
      return { loopMs: l - s, loopToFlushedMs: performance.now() - s };
    });
    const after = await task();
    const posts = srv.state.requests.filter((q) => !q.preflight);
    const skus = new Set(); for (const q of posts) for (const x of q.skus || []) if (x >= 100000 && x < 110000) skus.add(x);
    Object.assign(res, r, {
      taskMs: after - before, requests: posts.length, bodyBytes: posts.reduce((a, q) => a + q.bodyBytes, 0), delivered: skus.size,
      gzipRequests: posts.filter((q) => /compression=gzip/.test(q.query) || q.contentEncoding === 'gzip').length,
    });
  } catch (e) { res.error = String(e).slice(0, 300); }
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return res;
}

fs.mkdirSync(path.join(root, 'profiles'), { recursive: true });
fs.mkdirSync(path.join(root, 'results'), { recursive: true });
const server = await srv.start();
const all = [];
for (const name of ONLY) for (let run = 1; run <= RUNS; run++) {
  const r = await runOnce(name, run);
  all.push(r);
  console.log(JSON.stringify(r));
}
await server.close();
const out = path.join(root, 'results', 'flush10k.json');
fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), runs: RUNS, results: all }, null, 2));
console.log('wrote', out);
