// Shared helpers: start the real `shopstream serve` on a free port with a fresh data dir, launch
// Debian's headless Chromium through playwright-core (it never downloads a browser), read the store.
import { spawn, execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { createServer } from "node:net";
import { chromium } from "playwright-core";
import { createDemoPool } from "../../scripts/cognito-demo.mjs";

export const BIN = required("SHOPSTREAM_BIN");
export const SITE = required("SHOPSTREAM_SITE");
export const SDK_PKG = required("SHOPSTREAM_SDK_PKG");

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the browser tests through \`cargo xtask test\``);
  return v;
}

/** Starts `shopstream serve` (serving `site`, plus `extraArgs`); resolves with {url, data, stop}. */
export async function startServer(site = SITE, extraArgs = []) {
  const data = mkdtempSync(join(tmpdir(), "shopstream-e2e-"));
  const child = spawn(BIN, ["serve", "--addr", "127.0.0.1:0", "--data", data, "--site", site, ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${stderr}`)), 15000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${stderr}`)));
  });
  const stop = async () => {
    child.kill("SIGTERM");
    await new Promise((r) => (child.exitCode !== null ? r() : child.on("exit", r)));
    rmSync(data, { recursive: true, force: true });
  };
  return { url, data, stop };
}

/** The stored events, via the `shopstream events` command (JSON lines, oldest first). */
export function storedEvents(data) {
  const out = execFileSync(BIN, ["events", "--data", data], { encoding: "utf8", maxBuffer: 1 << 28 });
  return out.split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

/** Polls the store until `predicate(events)` holds or the deadline passes; returns the events. */
export async function waitForEvents(data, predicate, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let events = [];
  while (Date.now() < deadline) {
    events = storedEvents(data);
    if (predicate(events)) return events;
    await new Promise((r) => setTimeout(r, 100));
  }
  return events;
}

/** A desktop Chrome's user agent: headless Chromium's own says "HeadlessChrome", which the ingest
 * flags as a bot, and bots are left out of recommendations. */
export const DESKTOP_UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

/** A site with only the SDK package under /sdk/ and a blank page that imports it as `window.sdk`. */
export function sdkTestSite() {
  const site = mkdtempSync(join(tmpdir(), "shopstream-sdk-site-"));
  cpSync(SDK_PKG, join(site, "sdk"), { recursive: true });
  writeFileSync(join(site, "index.html"), `<!doctype html><title>sdk test</title>
<script type="module">import * as sdk from "/sdk/index.js"; window.sdk = sdk; window.errors = [];</script>`);
  // The script-tag integration: the package's snippet inline, calls made before anything loaded.
  const snippet = readFileSync(join(SDK_PKG, "snippet.min.js"), "utf8").replace('"SRC"', '"/sdk/index.js"');
  writeFileSync(join(site, "snippet.html"), `<!doctype html><title>snippet test</title>
<script>${snippet}</script>
<script>
  shopstream.init({ endpoint: "/v1/events", flushAt: 1, autoPageViews: false });
  shopstream.track("search", { query: new URLSearchParams(location.search).get("t") });
</script>`);
  return site;
}

/** Whether a request goes to the ingest (with or without `?compression=gzip`). */
export const isIngest = (request) => new URL(request.url()).pathname === "/v1/events";

/** The JSON text of an ingest request, decompressed when the tracker gzipped it. */
export function requestBody(request) {
  const raw = request.postDataBuffer();
  if (!raw) return null;
  return new URL(request.url()).searchParams.get("compression") === "gzip" ? gunzipSync(raw).toString("utf8") : raw.toString("utf8");
}

/** moto (the AWS emulator; `cargo xtask test` names it in SHOPSTREAM_MOTO_SERVER) on a free port,
 * with the demo user pool of `scripts/cognito-demo.mjs`; resolves with {url, pool, args, stop},
 * `args` being the `shopstream serve` flags that turn sign-in on against it. */
export async function startMotoCognito() {
  const bin = required("SHOPSTREAM_MOTO_SERVER");
  const port = await new Promise((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
  const child = spawn(bin, ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      await fetch(`${url}/moto-api/`);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error("moto did not start in 30 s");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const pool = await createDemoPool(url);
  const args = ["--cognito-pool-id", pool.poolId, "--cognito-client-id", pool.clientId, "--cognito-endpoint", url,
    "--demo-account", `${pool.username}:${pool.password}`];
  const stop = async () => {
    child.kill("SIGTERM");
    await new Promise((r) => (child.exitCode !== null ? r() : child.on("exit", r)));
  };
  return { url, pool, args, stop };
}
