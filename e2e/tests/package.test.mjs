// The npm package as shipped: `npm pack` works, the tarball holds what package.json promises, and
// installed from the tarball into a fresh folder it works through a bundler (esbuild) and through
// the script-tag snippet, in real Chromium against the real server. Nothing here reads the source tree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SDK_PKG, startServer, launchBrowser, waitForEvents } from "./support.mjs";

const ESBUILD = join(dirname(fileURLToPath(import.meta.url)), "../node_modules/.bin/esbuild");

function pack() {
  const dest = mkdtempSync(join(tmpdir(), "shopstream-pack-"));
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", dest], { cwd: SDK_PKG, encoding: "utf8" });
  const [info] = JSON.parse(out);
  return { info, tarball: join(dest, info.filename) };
}

test("npm pack produces a tarball with the entry, types, wasm and snippet", () => {
  const { info, tarball } = pack();
  const files = info.files.map((f) => f.path).sort();
  assert.deepEqual(files, [
    "README.md", "index.d.ts", "index.js", "package.json", "shopstream_sdk_bg.wasm", "snippet.min.js", "widget.d.ts", "widget.js",
  ]);
  const manifest = JSON.parse(readFileSync(join(SDK_PKG, "package.json"), "utf8"));
  assert.equal(manifest.type, "module");
  assert.equal(manifest.exports["."].types, "./index.d.ts");
  assert.match(manifest.version, /^\d+\.\d+\.\d+$/);
  const types = readFileSync(join(SDK_PKG, "index.d.ts"), "utf8");
  for (const name of ["init", "track", "page", "identify", "reset", "flush", "productViewed", "productAdded",
    "productRemoved", "checkoutStarted", "orderCompleted", "setConsent", "setAuthToken", "identity"]) {
    assert.match(types, new RegExp(`export function ${name}\\(`));
  }
  const listing = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" });
  assert.match(listing, /package\/shopstream_sdk_bg\.wasm/);
});

test("installed from the tarball, it works through esbuild and through the snippet", async () => {
  const { tarball } = pack();
  const app = mkdtempSync(join(tmpdir(), "shopstream-app-"));
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "a-shop", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", tarball], { cwd: app, stdio: "pipe" });
  const installed = join(app, "node_modules/@shopstream/sdk");

  // A shop's own bundle: named imports from the package, bundled and minified by esbuild.
  writeFileSync(join(app, "main.js"), `import { init, productViewed, flush } from "@shopstream/sdk";
await init({ endpoint: "/v1/events", autoPageViews: false });
productViewed({ sku: "from-bundle", name: "Bundled", price: 1, currency: "EUR" });
await flush();
window.bundleDone = true;
`);
  const site = join(app, "site");
  mkdirSync(site);
  execFileSync(ESBUILD, ["main.js", "--bundle", "--format=esm", "--minify", "--outfile=site/main.js"], { cwd: app, stdio: "pipe" });
  copyFileSync(join(installed, "shopstream_sdk_bg.wasm"), join(site, "shopstream_sdk_bg.wasm"));
  writeFileSync(join(site, "index.html"), '<!doctype html><title>bundled</title><script type="module" src="/main.js"></script>');

  // A shop with no build step: the installed package's files served as they are, and the snippet.
  cpSync(installed, join(site, "vendor/shopstream"), { recursive: true });
  const snippet = readFileSync(join(installed, "snippet.min.js"), "utf8").replace('"SRC"', '"/vendor/shopstream/index.js"');
  writeFileSync(join(site, "snippet.html"), `<!doctype html><title>snippet</title><script>${snippet}</script>
<script>shopstream.init({ endpoint: "/v1/events", flushAt: 1, autoPageViews: false });
shopstream.productViewed({ sku: "from-snippet", price: 2, currency: "EUR" });</script>`);

  const server = await startServer(site);
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForFunction(() => window.bundleDone === true);
    await page.goto(`${server.url}snippet.html`);
    const events = await waitForEvents(server.data, (evs) => evs.length >= 2);
    assert.deepEqual(errors, []);
    assert.deepEqual(events.map((e) => [e.type, e.properties.sku]).sort(), [
      ["product_view", "from-bundle"], ["product_view", "from-snippet"],
    ]);
  } finally {
    await browser.close();
    await server.stop();
  }
});
