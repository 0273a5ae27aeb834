// The storefront's Content-Security-Policy: its own origin only, WebAssembly compilation
// ('wasm-unsafe-eval', not 'unsafe-eval'), the page's inline scripts by hash (the SDK snippet and
// the start-up call; never 'unsafe-inline' for scripts), and Cognito's API for sign-in. A browser
// test (e2e/tests/csp.test.mjs) loads the built storefront under exactly this policy.

/** The policy for a page whose inline scripts hash to `scriptHashes`, signing in at `cognitoHost`. */
export function storefrontCsp(cognitoHost: string, scriptHashes: string[]): string {
  return [
    "default-src 'self'",
    ["script-src 'self' 'wasm-unsafe-eval'", ...scriptHashes].join(' '),
    `connect-src 'self' https://${cognitoHost}`,
    "img-src 'self' data:",
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}
