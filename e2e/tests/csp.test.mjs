// The storefront under the Content-Security-Policy CloudFront sends in AWS (infra/lib/csp.ts, with
// the hashes of the built page's inline scripts, as the CDK app computes them): in real Chromium the
// shop renders, the wasm tracker starts and delivers events, and the browser reports no violation.
// A control run under a policy without 'wasm-unsafe-eval' must report one, so the check can fail.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SITE, DESKTOP_UA, startServer, launchBrowser, waitForEvents } from "./support.mjs";

const INFRA = join(dirname(fileURLToPath(import.meta.url)), "../../infra/dist/lib");
if (!existsSync(join(INFRA, "csp.js"))) {
  throw new Error(`${INFRA}/csp.js is missing: build the CDK app first (cargo xtask infra, or npm --prefix infra run build)`);
}
const require = createRequire(import.meta.url);
const { storefrontCsp } = require(join(INFRA, "csp.js"));
const { inlineScriptHashes } = require(join(INFRA, "artifacts.js"));

const hashes = inlineScriptHashes(readFileSync(join(SITE, "index.html"), "utf8"));
const CSP = storefrontCsp("cognito-idp.eu-west-1.amazonaws.com", hashes);

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Opens `path` with `policy` on every document; returns the page and what the browser reported. */
async function openUnder(policy, path) {
  const context = await browser.newContext({ userAgent: DESKTOP_UA });
  await context.route("**/*", async (route) => {
    if (route.request().resourceType() !== "document") return route.continue();
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), "content-security-policy": policy } });
  });
  await context.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await context.newPage();
  const console = [];
  page.on("console", (m) => /Content Security Policy/i.test(m.text()) && console.push(m.text()));
  page.on("pageerror", (e) => console.push(e.message));
  await page.goto(new URL(path, server.url).href);
  return { context, page, reported: async () => [...(await page.evaluate(() => window.__violations)), ...console] };
}

test("the built page has inline scripts, and the policy names each by hash", () => {
  assert.ok(hashes.length >= 2, `${hashes.length} inline scripts`);
  for (const h of hashes) assert.ok(CSP.includes(h));
  assert.match(CSP, /script-src 'self' 'wasm-unsafe-eval' 'sha256-/);
  assert.doesNotMatch(CSP, /'unsafe-eval'|script-src[^;]*'unsafe-inline'/);
});

test("under the AWS policy the shop renders, the tracker runs and delivers, and nothing is blocked", async () => {
  const { context, page, reported } = await openUnder(CSP, "/");
  await page.locator(".grid .card").first().waitFor();
  const events = await waitForEvents(server.data, (evs) => evs.some((e) => e.type === "page_view"));
  assert.ok(events.some((e) => e.type === "page_view"), `the wasm tracker delivered a page view: ${JSON.stringify(events.map((e) => e.type))}`);
  // A route of the single-page app, and the product images (SVG files).
  await page.goto(new URL("/dashboard", server.url).href);
  await page.getByRole("heading", { level: 1 }).first().waitFor();
  assert.deepEqual(await reported(), []);
  await context.close();
});

test("control: without 'wasm-unsafe-eval' the browser reports the blocked WebAssembly", async () => {
  const { context, page, reported } = await openUnder(CSP.replace(" 'wasm-unsafe-eval'", ""), "/");
  await page.waitForTimeout(1500);
  const got = await reported();
  assert.ok(got.length > 0, "a violation is reported");
  assert.ok(got.some((r) => /script-src|WebAssembly|wasm/i.test(r)), got.join("\n"));
  await context.close();
});
