// A stand-in for `infra/build/` (what `cargo xtask package` writes), so the stacks synthesize in a
// test without cross-compiling the Lambdas: each `bootstrap` is a few bytes, and the site is one
// page with the storefront's inline script. What the tests check is the infrastructure, not these.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { App } from 'aws-cdk-lib';

import { LAMBDA_BINARIES } from '../lib/artifacts';
import { buildPlatform, Platform } from '../lib/app';

export const INLINE_SCRIPT = 'shopstream.init({ endpoint: "/v1/events" });';

export function placeholderArtifacts(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shopstream-infra-'));
  const write = (path: string, body: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), body);
  };
  for (const bin of Object.values(LAMBDA_BINARIES)) write(`lambda/${bin}/bootstrap`, `#!/bin/sh\n# ${bin}\n`);
  write(
    'site/index.html',
    `<!doctype html><html><head><script src="/sdk/shopstream.js"></script><script>${INLINE_SCRIPT}</script></head><body></body></html>`,
  );
  write('catalog/v1/products/shoes-001', '{"sku":"shoes-001"}');
  write('catalog-list.json', '{"products":[]}');
  return dir;
}

/** The platform synthesized from `context` (plus placeholder artifacts unless given). */
export function synthPlatform(context: Record<string, string> = {}): { app: App; platform: Platform } {
  const app = new App({ context: { artifacts: placeholderArtifacts(), ...context } });
  const platform = buildPlatform(app);
  return { app, platform };
}
