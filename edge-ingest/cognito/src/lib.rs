//! `ingest-cognito`: the AWS adapter of the domain's [`TokenVerifier`](ingest_domain::auth::TokenVerifier)
//! port, [`CognitoTokenVerifier`], which verifies Amazon Cognito user pool tokens; and [`CognitoAdmin`], a
//! small admin client (pool, app client, user, sign-in) for the demo and the tests.
//!
//! # What a token must be
//!
//! [`CognitoTokenVerifier::verify`](ingest_domain::auth::TokenVerifier::verify) answers
//! `VerifiedIdentity { subject: sub }` only for a token that passes, in this order:
//!
//! 1. at most [`MAX_TOKEN_BYTES`], three base64url parts with a JSON header;
//! 2. header `alg` is `RS256`, nothing else: `none`, `HS256` (the "public key as HMAC secret" trick) and every
//!    other algorithm are refused before any key is looked at;
//! 3. header `kid` names a key of the pool's key set (JWKS, see below); keys come only from the configured
//!    URL, never from the token's own `jku`, `x5u` or `jwk` header parameters, which are ignored;
//! 4. the RS256 signature verifies with that key (aws-lc-rs, through `jsonwebtoken`);
//! 5. `exp` is present and not past, allowing [`CognitoConfig::leeway`] of clock skew (default
//!    [`DEFAULT_LEEWAY`], 10 s); `nbf`, if present, is not in the future by more than the leeway;
//! 6. `iss` is a string equal to [`CognitoConfig::issuer`] (`https://cognito-idp.<region>.amazonaws.com/<pool_id>`);
//! 7. `token_use` is `access` or `id` and one of [`CognitoConfig::token_uses`] (both by default; `refresh`
//!    or anything else is refused);
//! 8. the app client is allowed ([`CognitoConfig::client_ids`]): `client_id` for access tokens, `aud` for id
//!    tokens (Cognito puts the client in different claims for the two);
//! 9. `sub` is present and not empty.
//!
//! Any failure is [`AuthError::Invalid`](ingest_domain::auth::AuthError::Invalid) with a fixed, human reason:
//! no reason ever contains the token or any text taken from it. When the keys cannot be had the answer is
//! [`AuthError::Unavailable`](ingest_domain::auth::AuthError::Unavailable) (the caller answers 503 and the
//! client retries), never `Invalid`: a shopper is not told their token is bad because a fetch failed.
//!
//! # The key set (JWKS)
//!
//! Fetched from [`CognitoConfig::jwks_url`], a separate setting from the issuer because emulators serve it
//! elsewhere (moto: `<endpoint>/<pool_id>/.well-known/jwks.json`) while their tokens carry the AWS issuer.
//! Only RSA keys with a `kid`, no `alg` or `RS256`, and no `use` or `sig` are kept; a larger document than
//! 64 KiB, a non-200 answer, a timeout ([`CognitoConfig::fetch_timeout`]) or a body that is not a JWKS is a
//! failed fetch.
//!
//! - Keys are cached by `kid` and used for [`CognitoConfig::jwks_ttl`] (default 1 h); after that the next
//!   verification fetches the set again (periodic refresh, so removed keys stop being accepted). Keys past
//!   the TTL are never used: if that refresh fails, the answer is `Unavailable`.
//! - A `kid` not in the cached set triggers one refetch, which is how a rotated-in key is picked up.
//! - The endpoint is fetched at most once per [`CognitoConfig::min_refetch_interval`] (default 10 s),
//!   whatever triggers it: within that interval a still-unknown `kid` is `Invalid` at once and, if the last
//!   fetch failed, the answer is `Unavailable` at once. A flood of tokens with forged `kid`s therefore costs
//!   the endpoint one request per interval.
//! - Concurrent verifications that need a fetch share one: the first takes a lock and fetches, the others
//!   wait for it and read its result. Verifications whose key is cached never wait for a fetch. The fetch
//!   runs in its own task, so a verification cancelled meanwhile (client gone, deadline) does not lose it.
//!
//! The fetch runs on the HTTP stack the AWS SDK already builds (hyper + hyper-rustls on aws-lc-rs, with the
//! system's trusted roots), so the adapter adds no HTTP client crate. That client, and the trust store it
//! loads, is built on the first fetch: a verifier costs nothing until a token arrives (a Lambda cold start
//! that only sees anonymous events does not load the trust store a second time, after the SDK's).
//!
//! Like every library of the workspace, this crate reads no environment variable: the binary builds the
//! [`CognitoConfig`] and the SDK `Client`.

#[cfg(feature = "admin")]
mod admin;
mod config;
mod jwks;
mod verifier;

#[cfg(feature = "admin")]
pub use admin::{AdminError, CognitoAdmin, DemoPool, Tokens};
pub use config::{
    issuer_url, CognitoConfig, ConfigError, TokenUse, DEFAULT_FETCH_TIMEOUT, DEFAULT_JWKS_TTL, DEFAULT_LEEWAY,
    DEFAULT_MIN_REFETCH_INTERVAL,
};
pub use verifier::{CognitoTokenVerifier, MAX_TOKEN_BYTES};

/// The maximum size of a key set document the verifier accepts.
pub const MAX_JWKS_BYTES: usize = jwks::MAX_JWKS_BYTES;
