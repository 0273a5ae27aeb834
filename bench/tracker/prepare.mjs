// Puts Shopstream into the scratch copy of the peers' harness, so that the peers' own build.mjs and
// bench.mjs measure it in the same run and by the same method as the peers.
//   node prepare.mjs pre  <scratch> <sdk pkg dir>   entry + package + two server adaptations (below)
//   node prepare.mjs post <scratch>                 the .wasm next to each bundle build.mjs wrote
// The harness copy is otherwise used as it is; the adaptations are applied here as checked string
// replacements (the run stops if the harness changed and one no longer applies):
//   1. the page server answers .wasm files with `application/wasm` (it serves everything under dist/ as
//      JavaScript, which would push wasm-bindgen's loader off instantiateStreaming onto its slower fallback);
//   2. the collector answers POST /v1/events like Shopstream's ingest: 200 {"accepted": N, "rejected": []}
//      with N = events in the body. Counting is the harness's own: raw body bytes as received, and events by
//      their BENCHSKU marker after gunzip (gzip is detected by its magic bytes, so `?compression=gzip`
//      bodies are counted too).
import fs from 'node:fs';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const [mode, scratch, pkg] = process.argv.slice(2);
const WASM = 'shopstream_sdk_bg.wasm';

function patch(file, from, to) {
  const f = path.join(scratch, file);
  let s = fs.readFileSync(f, 'utf8');
  if (s.includes(to)) return; // already applied
  if (!s.includes(from)) throw new Error(`prepare: ${file} changed, cannot apply: ${from}`);
  s = s.replace(from, to);
  fs.writeFileSync(f, s);
}

if (mode === 'pre') {
  // The entry, beside the peers' entries (build.mjs builds every file in src/entries).
  fs.copyFileSync(path.join(here, 'entries/shopstream.js'), path.join(scratch, 'src/entries/shopstream.js'));
  // The npm package as shipped, installed as node_modules/@shopstream/sdk (what `npm install` would do).
  const dest = path.join(scratch, 'node_modules/@shopstream/sdk');
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  for (const f of fs.readdirSync(pkg)) fs.copyFileSync(path.join(pkg, f), path.join(dest, f));
  patch('server.mjs',
    "res.writeHead(200, { 'Content-Type': 'application/javascript', 'Cache-Control': 'no-store' });",
    "res.writeHead(200, { 'Content-Type': f.endsWith('.wasm') ? 'application/wasm' : 'application/javascript', 'Cache-Control': 'no-store' });");
  patch('server.mjs',
    "  else if (p.endsWith('.js')) { out = '/* stub */';",
    "  else if (p === '/v1/events') out = JSON.stringify({ accepted: rec.payloadEvents ?? 0, rejected: [] });\n  else if (p.endsWith('.js')) { out = '/* stub */';");
  // Our extra measurement (10,000 track() then flush()), run from the copy so it shares its server.
  fs.copyFileSync(path.join(here, 'flush10k.mjs'), path.join(scratch, 'shopstream-flush10k.mjs'));
} else if (mode === 'post') {
  // `new URL("./shopstream_sdk_bg.wasm", import.meta.url)`: the .wasm goes next to the bundle.
  const wasm = path.join(scratch, 'node_modules/@shopstream/sdk', WASM);
  for (const d of ['dist/bench', 'dist/size', 'dist/split/shopstream']) {
    if (fs.existsSync(path.join(scratch, d))) fs.copyFileSync(wasm, path.join(scratch, d, WASM));
  }
} else {
  throw new Error('usage: node prepare.mjs pre|post <scratch> [pkg]');
}
