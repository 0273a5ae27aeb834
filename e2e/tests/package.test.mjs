// The npm package as shipped: `npm pack` works and the tarball holds what package.json promises.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SDK_PKG } from "./support.mjs";

test("npm pack produces a tarball with the entry, types, glue and wasm", () => {
  const dest = mkdtempSync(join(tmpdir(), "shopstream-pack-"));
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", dest], { cwd: SDK_PKG, encoding: "utf8" });
  const [info] = JSON.parse(out);
  const files = info.files.map((f) => f.path).sort();
  assert.deepEqual(files, [
    "README.md", "index.d.ts", "index.js", "package.json", "shopstream_sdk_bg.wasm", "snippet.min.js",
  ]);
  const manifest = JSON.parse(readFileSync(join(SDK_PKG, "package.json"), "utf8"));
  assert.equal(manifest.type, "module");
  assert.equal(manifest.exports["."].types, "./index.d.ts");
  assert.match(manifest.version, /^\d+\.\d+\.\d+$/);
  const types = readFileSync(join(SDK_PKG, "index.d.ts"), "utf8");
  for (const name of ["init", "track", "page", "identify", "reset", "flush", "productViewed", "productAdded",
    "productRemoved", "checkoutStarted", "orderCompleted", "setConsent", "setAuthToken"]) {
    assert.match(types, new RegExp(`export function ${name}\\(`));
  }
  const listing = execFileSync("tar", ["-tzf", join(dest, info.filename)], { encoding: "utf8" });
  assert.match(listing, /package\/shopstream_sdk_bg\.wasm/);
});
