// What the stacks deploy, built from the workspace by `cargo xtask package` into one folder
// (default `infra/build/`):
//
//   lambda/<binary>/bootstrap   each Lambda, arm64, built by cargo-lambda with zig
//   site/                       the storefront (storefront/dist) and the product images
//   catalog/v1/products/<sku>   one JSON file per product (served as application/json)
//   catalog-list.json           the body of `GET /v1/products` (the S3 object `v1/products`)
//
// A synth checks the folder is complete and says how to build it otherwise: a deploy must never
// take a half-built folder.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The Lambda binaries, by the cargo `[[bin]]` name cargo-lambda names their folder after. */
export const LAMBDA_BINARIES = {
  ingest: 'ingest-lambda',
  processor: 'processor',
  recommendations: 'recommendations',
  lakeBuild: 'lake-build',
} as const;

export type LambdaName = keyof typeof LAMBDA_BINARIES;

export class Artifacts {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    const missing = [
      ...Object.values(LAMBDA_BINARIES).map((bin) => join('lambda', bin, 'bootstrap')),
      join('site', 'index.html'),
      join('catalog', 'v1', 'products'),
      'catalog-list.json',
    ].filter((p) => !existsSync(join(this.dir, p)));
    if (missing.length > 0) {
      throw new Error(
        `${this.dir} lacks ${missing.join(', ')}: run \`cargo xtask package\` from the repository's root ` +
          '(or pass -c artifacts=<folder>)',
      );
    }
  }

  lambdaDir(name: LambdaName): string {
    return join(this.dir, 'lambda', LAMBDA_BINARIES[name]);
  }

  get siteDir(): string {
    return join(this.dir, 'site');
  }

  get catalogDir(): string {
    return join(this.dir, 'catalog');
  }

  /** The body of the object `v1/products` (the catalog list). */
  catalogList(): string {
    return readFileSync(join(this.dir, 'catalog-list.json'), 'utf8');
  }

  /** CSP hashes (`'sha256-…'`) of the inline scripts of the storefront's `index.html`. */
  inlineScriptHashes(): string[] {
    const html = readFileSync(join(this.siteDir, 'index.html'), 'utf8');
    return inlineScriptHashes(html);
  }
}

/** The `'sha256-…'` CSP source of each inline `<script>` (one without `src`) in `html`. */
export function inlineScriptHashes(html: string): string[] {
  const hashes: string[] = [];
  const re = /<script(\s[^>]*)?>([\s\S]*?)<\/script>/gi;
  for (let m = re.exec(html); m !== null; m = re.exec(html)) {
    const attrs = m[1] ?? '';
    if (/\ssrc\s*=/i.test(attrs) || m[2] === '') continue;
    hashes.push(`'sha256-${createHash('sha256').update(m[2], 'utf8').digest('base64')}'`);
  }
  return hashes;
}
