// Prints the one table: every peer and Shopstream from the same run, medians over the runs, ours last,
// then ours divided by the best peer of each column. Also writes it to <scratch>/results/table.md.
// Usage: node table.mjs <scratch> <bench json> <flush10k json> <variants comma-separated, ours last>
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const [scratch, benchFile, flushFile, list] = process.argv.slice(2);
const OURS = 'shopstream';
const names = list.split(',');
const bench = JSON.parse(fs.readFileSync(benchFile, 'utf8'));
const sizes = JSON.parse(fs.readFileSync(path.join(scratch, 'results/sizes.json'), 'utf8'));
const flush = fs.existsSync(flushFile) ? JSON.parse(fs.readFileSync(flushFile, 'utf8')) : { results: [] };
const pkgDir = path.join(scratch, 'node_modules/@shopstream/sdk');
const gz = (f) => +execFileSync('sh', ['-c', `gzip -9 -c '${f}' | wc -c`]).toString().trim();

const med = (a) => { const s = a.filter((x) => x != null && !Number.isNaN(x)).sort((x, y) => x - y); if (!s.length) return null; const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const f = (v, d = 1) => (v == null ? 'n/a' : Number(v).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
const PKG = { snowplow: '@snowplow/browser-tracker', 'snowplow-memory': '@snowplow/browser-tracker', segment: '@segment/analytics-next', 'segment-batching': '@segment/analytics-next',
  posthog: 'posthog-js', 'posthog-nolimit': 'posthog-js', 'posthog-lite': 'posthog-js-lite', rudderstack: '@rudderstack/analytics-js', 'rudderstack-bundled': '@rudderstack/analytics-js',
  amplitude: '@amplitude/analytics-browser', clickstream: '@aws/clickstream-web', 'clickstream-batch': '@aws/clickstream-web' };
const versions = sizes.versions || {};
const ourVersion = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
const label = (n) => (n === OURS ? `**Shopstream** @shopstream/sdk@${ourVersion} (ours)` : PKG[n] ? `${PKG[n]}@${versions[PKG[n]]} (\`${n}\`)` : `\`${n}\``);

import crypto from 'node:crypto';
const sha = (f) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex').slice(0, 12);
const pkgId = () => ['index.js', 'shopstream_sdk_bg.wasm'].map((n) => `${n} ${fs.statSync(path.join(pkgDir, n)).size} B sha256:${sha(path.join(pkgDir, n))}`).join(', ') +
  ` (copied from sdk-wasm/pkg at the start of the run; ${fs.readFileSync(path.join(pkgDir, 'index.js'), 'utf8').includes('CompressionStream') ? 'uses CompressionStream' : 'no CompressionStream'})`;
// Since the wasm travels inside index.js (a string of its bytes; the .wasm file is only fetched when a
// bundle mangled that string), it is counted separately only for a package that still fetches it.
const inlined = fs.readFileSync(path.join(pkgDir, 'index.js')).includes(Buffer.from([0, 0x61, 0x73, 0x6d])); // "\0asm", the wasm's magic
const wasmGz = inlined ? 0 : gz(path.join(pkgDir, 'shopstream_sdk_bg.wasm'));
const shippedGz = wasmGz + gz(path.join(pkgDir, 'index.js'));
const row = (n) => {
  const rs = bench.results.filter((r) => r.name === n);
  // Every figure a run produced counts, even if the run failed later (e.g. a renderer crash after the
  // 10k loop: its loop time is kept, as the harness's report does, but it has no loop + 5 s figure).
  const k1 = rs.map((r) => r.k1).filter((k) => k && k.uniqueEvents != null);
  const k10all = rs.map((r) => r.k10).filter((k) => k && k.loopMs != null);
  const k10 = k10all.filter((k) => k.crashedAfterMs == null);
  const crashed = rs.filter((r) => r.k10 && r.k10.crashedAfterMs != null).length;
  const failed = rs.filter((r) => r.error).length;
  const delivered = med(k1.map((k) => k.uniqueEvents));
  const body = med(k1.map((k) => k.bodyBytes));
  const hdr = med(k1.map((k) => k.headerBytes));
  const size = sizes.bundles[n] ? sizes.bundles[n].gzip9 + (n === OURS ? wasmGz : 0) : null;
  return {
    n, runs: `${rs.length}${crashed ? ` (renderer crashed after the 10k loop in ${crashed})` : failed ? ` (${failed} failed)` : ''}`, size,
    loop: med(k10all.map((k) => k.loopMs)), task: med(k10.map((k) => k.taskMsLoopPlus5s)), calls: med(k10all.map((k) => k.callsDone)),
    ready: med(rs.filter((r) => !r.readyTimeout).map((r) => r.init?.scriptStartToReadyMs)), readyTimeouts: rs.filter((r) => r.readyTimeout).length,
    requests: med(k1.map((k) => k.requests)), delivered, body,
    bpe: delivered ? med(k1.map((k) => (k.uniqueEvents ? k.bodyBytes / k.uniqueEvents : null))) : null,
    bpeHdr: delivered ? med(k1.map((k) => (k.uniqueEvents ? (k.bodyBytes + k.headerBytes) / k.uniqueEvents : null))) : null,
    hdr, enc: [...new Set(k1.flatMap((k) => k.encodings || []))].join(', '),
  };
};
const rows = names.map(row);
const cols = [
  ['gzip-9 KiB', (r) => r.size / 1024, 1, true],
  ['10,000 track() ms', (r) => r.loop, 0, true],
  ['main-thread ms, 10k loop + 5 s', (r) => r.task, 0, true],
  ['ready ms', (r) => r.ready, 1, true],
  ['1,000 events: requests', (r) => r.requests, 0, true],
  ['body bytes', (r) => r.body, 0, true],
  ['bytes/event', (r) => r.bpe, 0, true],
  ['bytes/event incl. headers', (r) => r.bpeHdr, 0, true],
  ['delivered /1000', (r) => r.delivered, 0, false],
];
let md = `| tracker | runs | ${cols.map((c) => c[0]).join(' | ')} |\n|---|--:|${cols.map(() => '--:').join('|')}|\n`;
for (const r of rows) {
  const cells = cols.map(([, get, d], i) => {
    const v = get(r);
    let s = f(v, d);
    if (i === 0 && r.n === OURS) s = `${f(shippedGz / 1024)} shipped; ${s} app bundle`;
    if (i === 1 && r.calls != null && r.calls < 10000) s += ` (${f(r.calls, 0)} calls in 30 s)`;
    if (i === 3 && r.readyTimeouts) s += ` (${r.readyTimeouts} timed out)`;
    return r.n === OURS ? `**${s}**` : s;
  });
  md += `| ${label(r.n)} | ${r.runs} | ${cells.join(' | ')} |\n`;
}
const ours = rows.find((r) => r.n === OURS);
const peers = rows.filter((r) => r.n !== OURS);
if (ours) {
  const ratio = cols.map(([, get, d, better], i) => {
    if (!better) return '';
    // track() only among peers that completed the 10,000 calls; wire columns only among peers that delivered >= 90% of the 1,000 events
    const cand = peers.filter((p) => get(p) != null && (i !== 1 || p.calls === 10000) && (i < 4 || (p.delivered || 0) >= 900));
    if (!cand.length || get(ours) == null) return 'n/a';
    const best = cand.reduce((a, b) => (get(b) < get(a) ? b : a));
    const rr = get(ours) / get(best);
    return `${rr < 0.095 ? rr.toFixed(3) : rr.toFixed(2)}× (${best.n} ${f(get(best), d)})`;
  });
  md += `| ours ÷ best peer | | ${ratio.join(' | ')} |\n`;
}
const fl = flush.results.filter((r) => r.name === OURS && !r.error);
const flushLine = fl.length
  ? `Shopstream, 10,000 track() then \`await flush()\` (${fl.length} runs, medians): loop ${f(med(fl.map((r) => r.loopMs)), 0)} ms; ` +
    `loop start → flush() resolved ${f(med(fl.map((r) => r.loopToFlushedMs)), 0)} ms wall, of which main-thread task time ${f(med(fl.map((r) => r.taskMs)), 0)} ms; ` +
    `${f(med(fl.map((r) => r.delivered)), 0)} events delivered in ${f(med(fl.map((r) => r.requests)), 0)} requests, ` +
    `${f(med(fl.map((r) => r.bodyBytes / Math.max(1, r.delivered))), 0)} body bytes/event; gzip-compressed requests: ${f(med(fl.map((r) => r.gzipRequests)), 0)} of ${f(med(fl.map((r) => r.requests)), 0)}.`
  : 'Shopstream flush() measurement: no successful run.';
const notes = [
  (inlined
    ? `Our size: shipped = gzip -9 of index.js, which carries the engine's wasm (a string of its bytes; shopstream_sdk_bg.wasm is fetched only if a bundle mangled it); app bundle = gzip -9 of the esbuild --minify bundle of the one-line entry (our JS and wasm + the harness glue, like every peer's figure). The ratio`
    : `Our size: shipped = gzip -9 of index.js + gzip -9 of shopstream_sdk_bg.wasm (wasm ${f(wasmGz / 1024)} KiB); app bundle = gzip -9 of the esbuild --minify bundle of the one-line entry (our JS + the harness glue, like every peer's figure) + the wasm. The ratio`) + ` uses the app bundle (same method as the peers). Harness glue alone (\`baseline\` entry): ${sizes.bundles.baseline ? f(sizes.bundles.baseline.gzip9 / 1024, 2) : 'n/a'} KiB.`,
  flushLine,
  `Errors: ${names.map((n) => { const e = bench.results.find((r) => r.name === n && (r.error || (r.consoleErrors || []).length)); return e ? `${n}: ${(e.error || e.consoleErrors[0]).replace(/\s+/g, ' ').replace(/\|/g, '/').slice(0, 100)}` : null; }).filter(Boolean).join('; ') || 'none'}.`,
  `Wire formats seen (1,000 events): ${rows.map((r) => `${r.n}: ${r.enc || 'n/a'}`).join('; ')}.`,
  `Package measured: ${pkgId()}.`,
  `Date ${bench.date}, ${bench.runs} page loads per tracker, esbuild ${sizes.esbuild}, ${fs.existsSync('/usr/bin/chromium') ? execFileSync('/usr/bin/chromium', ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() : 'chromium ?'}.`,
];
md += '\n' + notes.map((n) => `- ${n}`).join('\n') + '\n';
fs.writeFileSync(path.join(scratch, 'results/table.md'), md);
console.log(md);
