//! [`CognitoTokenVerifier`]: the checks, in order, on one token.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use ingest_domain::auth::{AuthError, TokenVerifier, VerifiedIdentity};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use crate::config::{CognitoConfig, ConfigError, TokenUse};
use crate::jwks::Jwks;

/// A longer bearer token is refused before any parsing (Cognito's are 1–4 KB).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Verifies Cognito user pool tokens (RS256 JWTs) against the pool's JWKS. Cheap to clone: clones share the
/// key cache. See the crate documentation for the checks and the caching rules.
#[derive(Clone)]
pub struct CognitoTokenVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    client_ids: HashSet<String>,
    token_uses: Vec<TokenUse>,
    validation: Validation,
    jwks: Jwks,
}

impl std::fmt::Debug for CognitoTokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoTokenVerifier")
            .field("issuer", &self.inner.issuer)
            .field("client_ids", &self.inner.client_ids)
            .field("token_uses", &self.inner.token_uses)
            .finish_non_exhaustive()
    }
}

/// The claims read from a token whose signature, `exp` and `iss` `jsonwebtoken` has checked.
#[derive(Deserialize)]
struct CognitoClaims {
    // Optional here so that a missing claim gets jsonwebtoken's precise "missing claim" error rather than a
    // deserialisation error; both are required (required_spec_claims) and checked again below.
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    token_use: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl CognitoTokenVerifier {
    /// A verifier for `config`; fetches nothing yet (the first verification, or [`Self::refresh_keys`],
    /// fetches the key set). Building needs no runtime; verifying runs on Tokio.
    pub fn new(config: CognitoConfig) -> Result<CognitoTokenVerifier, ConfigError> {
        let jwks_uri = config.validate()?;
        // jsonwebtoken picks its crypto backend from its features; should another crate of the binary also
        // enable its `rust_crypto` feature, the choice would be ambiguous and jsonwebtoken would panic. Naming
        // aws-lc-rs here avoids that; it fails harmlessly when a provider is already installed.
        let _ = jsonwebtoken::crypto::CryptoProvider::install_default(&jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER);

        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = config.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[config.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        // The app client is checked below: access tokens name it in `client_id` and have no `aud`.
        validation.validate_aud = false;

        let jwks = Jwks::new(jwks_uri, config.jwks_ttl, config.min_refetch_interval, config.fetch_timeout);
        Ok(CognitoTokenVerifier {
            inner: Arc::new(Inner {
                issuer: config.issuer,
                client_ids: config.client_ids.into_iter().collect(),
                token_uses: config.token_uses,
                validation,
                jwks,
            }),
        })
    }

    /// Fetches the key set now (at most one fetch at a time), e.g. at start-up to warm the cache or to check
    /// the endpoint; returns how many usable keys it holds. Not rate-limited: do not call it per request.
    pub async fn refresh_keys(&self) -> Result<usize, AuthError> {
        self.inner.jwks.refresh_now().await
    }

    async fn check(&self, token: &str) -> Result<VerifiedIdentity, AuthError> {
        let inner = &*self.inner;
        if token.is_empty() {
            return Err(invalid("the token is empty"));
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid(format!("the token is longer than {MAX_TOKEN_BYTES} bytes")));
        }
        // `alg: none` and unknown algorithms fail here: jsonwebtoken has no such `Algorithm`.
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("the token header is malformed"))?;
        if header.alg != Algorithm::RS256 {
            return Err(invalid(format!("algorithm {:?} is not accepted (RS256 only)", header.alg)));
        }
        let kid = header.kid.ok_or_else(|| invalid("the token header has no key id (kid)"))?;
        let key = inner.jwks.key(&kid).await?;
        let claims = jsonwebtoken::decode::<CognitoClaims>(token, &key, &inner.validation)
            .map_err(|e| invalid(describe(e.kind())))?
            .claims;

        // Exact, and a string (jsonwebtoken also accepts an array containing the issuer).
        if claims.iss.as_deref() != Some(inner.issuer.as_str()) {
            return Err(invalid("the token is from another issuer"));
        }
        let token_use =
            claims.token_use.as_deref().ok_or_else(|| invalid("the token has no token_use claim")).and_then(
                |value| TokenUse::from_claim(value).ok_or_else(|| invalid("the token's token_use is not access or id")),
            )?;
        if !inner.token_uses.contains(&token_use) {
            return Err(invalid(format!("{token_use} tokens are not accepted here")));
        }
        let client_ok = match token_use {
            TokenUse::Access => claims.client_id.as_ref().is_some_and(|id| inner.client_ids.contains(id)),
            TokenUse::Id => match &claims.aud {
                Some(Audience::One(aud)) => inner.client_ids.contains(aud),
                Some(Audience::Many(auds)) => auds.iter().any(|aud| inner.client_ids.contains(aud)),
                None => false,
            },
        };
        if !client_ok {
            let claim = if token_use == TokenUse::Access { "client_id" } else { "aud" };
            return Err(invalid(format!("the token's {claim} is not an allowed app client")));
        }
        match claims.sub {
            Some(sub) if !sub.trim().is_empty() => Ok(VerifiedIdentity { subject: sub }),
            _ => Err(invalid("the token's sub is missing or empty")),
        }
    }
}

#[async_trait]
impl TokenVerifier for CognitoTokenVerifier {
    async fn verify(&self, token: &str) -> Result<VerifiedIdentity, AuthError> {
        self.check(token).await
    }
}

fn invalid(reason: impl Into<String>) -> AuthError {
    AuthError::Invalid(reason.into())
}

/// A fixed reason for each of jsonwebtoken's errors: never its own message, never text from the token.
fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".into(),
        ErrorKind::InvalidSignature => "the token's signature does not verify".into(),
        ErrorKind::InvalidIssuer => "the token is from another issuer".into(),
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => {
            "the token's algorithm is not accepted (RS256 only)".into()
        }
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            claim @ ("exp" | "iss" | "sub") => format!("the token has no {claim} claim"),
            _ => "the token lacks a required claim".into(),
        },
        ErrorKind::InvalidClaimFormat(claim) => match claim.as_str() {
            claim @ ("exp" | "nbf") => format!("the token's {claim} claim is malformed"),
            _ => "a claim of the token is malformed".into(),
        },
        ErrorKind::Json(_) => "the token's claims are malformed or of the wrong type".into(),
        ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => "the pool's key cannot verify this token".into(),
        _ => "the token is malformed".into(),
    }
}
