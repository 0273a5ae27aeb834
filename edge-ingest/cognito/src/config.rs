//! What a [`CognitoTokenVerifier`](crate::CognitoTokenVerifier) accepts, and how it keeps the keys.

use std::fmt;
use std::time::Duration;

/// Which kind of Cognito token (`token_use` claim) the verifier accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenUse {
    /// `token_use = "access"`: the app client is named by the `client_id` claim.
    Access,
    /// `token_use = "id"`: the app client is named by the `aud` claim.
    Id,
}

impl TokenUse {
    /// The claim's value.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUse::Access => "access",
            TokenUse::Id => "id",
        }
    }

    /// `"access"` or `"id"`; anything else (such as `"refresh"`) is not a token this crate accepts.
    pub fn from_claim(value: &str) -> Option<TokenUse> {
        match value {
            "access" => Some(TokenUse::Access),
            "id" => Some(TokenUse::Id),
            _ => None,
        }
    }
}

impl fmt::Display for TokenUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Default leeway on `exp` (and `nbf` when present): 10 s of clock skew.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(10);
/// Default time keys are used before the key set is fetched again: 1 hour.
pub const DEFAULT_JWKS_TTL: Duration = Duration::from_secs(3600);
/// Default minimum time between two fetches of the key set (an unknown `kid` or a failed fetch wait this
/// long before the next fetch): 10 s.
pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// Default bound on one fetch of the key set (connect, answer and body): 5 s.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings of a [`CognitoTokenVerifier`](crate::CognitoTokenVerifier). [`CognitoConfig::new`] fills in
/// the AWS issuer and JWKS URL of a pool and the defaults; the `with_*` methods change one setting.
///
/// The library reads no environment variable: the binary builds this from its own configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CognitoConfig {
    /// The exact `iss` a token must carry: `https://cognito-idp.<region>.amazonaws.com/<pool_id>`.
    pub issuer: String,
    /// Where the pool's public keys are fetched. In AWS it is `<issuer>/.well-known/jwks.json`; it is a
    /// separate setting because emulators serve it elsewhere (moto: `<endpoint>/<pool_id>/.well-known/jwks.json`)
    /// while their tokens carry the real AWS issuer. `http` and `https` URLs are accepted.
    pub jwks_url: String,
    /// The app client ids whose tokens are accepted (`client_id` of access tokens, `aud` of id tokens).
    pub client_ids: Vec<String>,
    /// The `token_use` values accepted. Default: access and id tokens.
    pub token_uses: Vec<TokenUse>,
    /// Clock skew allowed on `exp` (and `nbf`), rounded down to whole seconds. Default [`DEFAULT_LEEWAY`].
    pub leeway: Duration,
    /// How long fetched keys are used before the key set is fetched again. Keys older than this are not
    /// used: if the refresh fails, verification answers `Unavailable`. Default [`DEFAULT_JWKS_TTL`]. (Set
    /// below `min_refetch_interval`, the keys of the last successful fetch serve until that interval ends.)
    pub jwks_ttl: Duration,
    /// Minimum time between two fetches of the key set, whatever triggers them (an unknown `kid`, expiry,
    /// a failed fetch), so forged `kid`s cannot hammer the endpoint. Default [`DEFAULT_MIN_REFETCH_INTERVAL`].
    pub min_refetch_interval: Duration,
    /// Bound on one fetch (connect, answer, body). Default [`DEFAULT_FETCH_TIMEOUT`].
    pub fetch_timeout: Duration,
}

impl CognitoConfig {
    /// The settings for user pool `pool_id` in `region` (e.g. `eu-west-1`), accepting access and id tokens of
    /// the given app clients, with the AWS issuer and JWKS URL and the default timings.
    pub fn new<I, S>(region: &str, pool_id: &str, client_ids: I) -> CognitoConfig
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let issuer = issuer_url(region, pool_id);
        CognitoConfig {
            jwks_url: format!("{issuer}/.well-known/jwks.json"),
            issuer,
            client_ids: client_ids.into_iter().map(Into::into).collect(),
            token_uses: vec![TokenUse::Access, TokenUse::Id],
            leeway: DEFAULT_LEEWAY,
            jwks_ttl: DEFAULT_JWKS_TTL,
            min_refetch_interval: DEFAULT_MIN_REFETCH_INTERVAL,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
        }
    }

    /// Fetch the keys from `url` instead of `<issuer>/.well-known/jwks.json` (emulators, tests).
    pub fn with_jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = url.into();
        self
    }

    /// Expect `issuer` as `iss` instead of the AWS URL of the pool.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// Accept only these token uses.
    pub fn with_token_uses(mut self, uses: impl IntoIterator<Item = TokenUse>) -> Self {
        self.token_uses = uses.into_iter().collect();
        self
    }

    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    pub fn with_jwks_ttl(mut self, ttl: Duration) -> Self {
        self.jwks_ttl = ttl;
        self
    }

    pub fn with_min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    pub fn with_fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// Checks the settings; [`CognitoTokenVerifier::new`](crate::CognitoTokenVerifier::new) calls it.
    pub fn validate(&self) -> Result<http::Uri, ConfigError> {
        if self.issuer.trim().is_empty() {
            return Err(ConfigError("the expected issuer is empty".into()));
        }
        if self.client_ids.is_empty() || self.client_ids.iter().any(|id| id.trim().is_empty()) {
            return Err(ConfigError("at least one app client id is needed, and none may be empty".into()));
        }
        if self.token_uses.is_empty() {
            return Err(ConfigError("at least one token use (access or id) must be accepted".into()));
        }
        if self.fetch_timeout.is_zero() {
            return Err(ConfigError("the JWKS fetch timeout must be positive".into()));
        }
        let uri: http::Uri = self
            .jwks_url
            .parse()
            .map_err(|e| ConfigError(format!("the JWKS URL {:?} is not a URL: {e}", self.jwks_url)))?;
        match uri.scheme_str() {
            Some("http") | Some("https") if uri.host().is_some() => Ok(uri),
            _ => Err(ConfigError(format!("the JWKS URL {:?} is not an absolute http(s) URL", self.jwks_url))),
        }
    }
}

/// `https://cognito-idp.<region>.amazonaws.com/<pool_id>`, the `iss` of a user pool's tokens.
pub fn issuer_url(region: &str, pool_id: &str) -> String {
    format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}")
}

/// A [`CognitoConfig`] that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Cognito verifier configuration: {0}")]
pub struct ConfigError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_derives_the_aws_issuer_and_jwks_url_and_accepts_both_uses() {
        let config = CognitoConfig::new("eu-west-1", "eu-west-1_AbC", ["client-1"]);
        assert_eq!(config.issuer, "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC");
        assert_eq!(config.jwks_url, "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json");
        assert_eq!(config.token_uses, vec![TokenUse::Access, TokenUse::Id]);
        assert_eq!(config.client_ids, vec!["client-1".to_string()]);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn with_jwks_url_keeps_the_issuer() {
        let config = CognitoConfig::new("us-east-1", "us-east-1_x", ["c"])
            .with_jwks_url("http://127.0.0.1:5000/us-east-1_x/.well-known/jwks.json");
        assert_eq!(config.issuer, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x");
        assert_eq!(config.validate().map(|u| u.port_u16()), Ok(Some(5000)));
    }

    #[test]
    fn validate_rejects_settings_that_would_accept_nothing_or_fetch_nowhere() {
        let ok = CognitoConfig::new("us-east-1", "p", ["c"]);
        let no_clients = CognitoConfig { client_ids: vec![], ..ok.clone() };
        let empty_client = CognitoConfig { client_ids: vec![" ".into()], ..ok.clone() };
        let no_uses = ok.clone().with_token_uses([]);
        let relative = ok.clone().with_jwks_url("/jwks.json");
        let ftp = ok.clone().with_jwks_url("ftp://example.com/jwks.json");
        let no_issuer = ok.clone().with_issuer("");
        let no_timeout = ok.clone().with_fetch_timeout(Duration::ZERO);
        for bad in [no_clients, empty_client, no_uses, relative, ftp, no_issuer, no_timeout] {
            assert!(bad.validate().is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn token_use_parses_only_access_and_id() {
        assert_eq!(TokenUse::from_claim("access"), Some(TokenUse::Access));
        assert_eq!(TokenUse::from_claim("id"), Some(TokenUse::Id));
        assert_eq!(TokenUse::from_claim("refresh"), None);
        assert_eq!(TokenUse::from_claim("Access"), None);
        assert_eq!(TokenUse::Id.to_string(), "id");
    }
}
