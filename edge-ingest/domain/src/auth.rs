//! Who sent a batch: the port through which a bearer token (a Cognito user pool token in AWS) is
//! verified. The adapter (`CognitoTokenVerifier`) fetches and caches the pool's keys; the domain only
//! sees the outcome.

use async_trait::async_trait;

/// A shopper whose token was verified: `subject` is the token's `sub`, the only `user_id` the ingest
/// trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedIdentity {
    pub subject: String,
}

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token is malformed, forged, expired, for another pool or client, or of the wrong use:
    /// the request is answered `401` with this reason (which never echoes the token).
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The token could not be checked now (the key set cannot be fetched): `503`, the client retries.
    #[error("token verification unavailable: {0}")]
    Unavailable(String),
}

/// Verifies a bearer token (without the `Bearer ` prefix).
#[async_trait]
pub trait TokenVerifier: Send + Sync + 'static {
    async fn verify(&self, token: &str) -> Result<VerifiedIdentity, AuthError>;
}
