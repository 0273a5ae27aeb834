#!/usr/bin/env node
// A Cognito user pool for the local demo and the browser tests, in a Cognito emulator (moto):
// the pool, an app client that allows USER_PASSWORD_AUTH and refresh (no secret: a browser signs
// in with it), and one confirmed user with a permanent password. Plain calls to Cognito's JSON API
// (moto checks no signature), so no AWS SDK is needed.
//
//   node scripts/cognito-demo.mjs http://127.0.0.1:5000
//   → {"poolId":"us-east-1_…","clientId":"…","username":"demo@shopstream.dev","password":"…","sub":"…"}

export const DEMO_USERNAME = "demo@shopstream.dev";
export const DEMO_PASSWORD = "Demo-pass-2026!";

async function call(endpoint, operation, body) {
  const r = await fetch(endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `AWSCognitoIdentityProviderService.${operation}`,
      // moto takes the region from the credential scope.
      authorization: "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=0",
    },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`Cognito ${operation} answered ${r.status}: ${text}`);
  return text ? JSON.parse(text) : {};
}

/** Creates the pool, client and user in the emulator at `endpoint`; resolves with their ids. */
export async function createDemoPool(endpoint, { username = DEMO_USERNAME, password = DEMO_PASSWORD } = {}) {
  const pool = await call(endpoint, "CreateUserPool", {
    PoolName: "shopstream-demo",
    AutoVerifiedAttributes: ["email"],
    Schema: [{ Name: "email", AttributeDataType: "String", Required: false, Mutable: true }],
  });
  const poolId = pool.UserPool.Id;
  const client = await call(endpoint, "CreateUserPoolClient", {
    UserPoolId: poolId,
    ClientName: "storefront",
    GenerateSecret: false,
    ExplicitAuthFlows: ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
  });
  const clientId = client.UserPoolClient.ClientId;
  await call(endpoint, "AdminCreateUser", {
    UserPoolId: poolId,
    Username: username,
    MessageAction: "SUPPRESS",
    UserAttributes: [
      { Name: "email", Value: username },
      { Name: "email_verified", Value: "true" },
    ],
  });
  await call(endpoint, "AdminSetUserPassword", { UserPoolId: poolId, Username: username, Password: password, Permanent: true });
  const user = await call(endpoint, "AdminGetUser", { UserPoolId: poolId, Username: username });
  const sub = user.UserAttributes.find((a) => a.Name === "sub")?.Value;
  return { poolId, clientId, username, password, sub };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const endpoint = process.argv[2];
  if (!endpoint) {
    console.error("usage: node scripts/cognito-demo.mjs <emulator URL, e.g. http://127.0.0.1:5000>");
    process.exit(2);
  }
  createDemoPool(endpoint).then(
    (pool) => console.log(JSON.stringify(pool)),
    (e) => {
      console.error(`cannot create the demo user pool: ${e.message}`);
      process.exit(1);
    },
  );
}
