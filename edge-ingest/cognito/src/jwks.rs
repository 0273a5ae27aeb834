//! The user pool's public keys: fetched over HTTP(S), parsed, cached by `kid`, refreshed.
//!
//! Rules (see the crate docs for why):
//! - a `kid` found in keys younger than the TTL is answered from memory, with no lock held across I/O;
//! - otherwise (no keys yet, keys past the TTL, or an unknown `kid`) the caller takes the refresh lock, so
//!   concurrent callers wait for one fetch and then read its result instead of fetching again;
//! - the endpoint is fetched at most once per `min_refetch_interval`, whatever the trigger: within it, an
//!   unknown `kid` is `Invalid` at once and, if the last fetch failed, the answer is `Unavailable` at once;
//! - a failed fetch keeps the previous keys until their TTL runs out; keys past the TTL are never used.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use ingest_domain::auth::AuthError;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;

/// A key set larger than this is refused (Cognito's holds two keys, well under 2 KiB).
pub(crate) const MAX_JWKS_BYTES: usize = 64 * 1024;

/// The RSA signing keys of one successful fetch, by `kid`.
#[derive(Default)]
pub(crate) struct KeySet {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

impl KeySet {
    fn is_fresh(&self, now: Instant, ttl: Duration) -> bool {
        self.fetched_at.is_some_and(|at| now.saturating_duration_since(at) < ttl)
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

/// Parses a JWKS document, keeping the keys usable for RS256 signatures: `kty` `RSA` with a `kid`, `n` and
/// `e`, no `alg` or `alg` `RS256`, no `use` or `use` `sig`. Other keys (EC, encryption keys, entries that
/// do not parse) are skipped, so one odd entry does not take the pool's keys down. A document that is not
/// `{"keys": [...]}` is an error.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<HashMap<String, DecodingKey>, String> {
    #[derive(Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    #[derive(Deserialize)]
    struct RsaJwk {
        kid: String,
        kty: String,
        #[serde(default)]
        alg: Option<String>,
        #[serde(default, rename = "use")]
        use_: Option<String>,
        n: String,
        e: String,
    }

    let document: Document =
        serde_json::from_slice(body).map_err(|e| format!("the key set is not a JWKS document: {e}"))?;
    let mut keys = HashMap::new();
    for entry in document.keys {
        let Ok(jwk) = serde_json::from_value::<RsaJwk>(entry) else {
            continue;
        };
        let usable = jwk.kty == "RSA"
            && jwk.alg.as_deref().is_none_or(|alg| alg == "RS256")
            && jwk.use_.as_deref().is_none_or(|u| u == "sig");
        if !usable || jwk.kid.is_empty() || keys.contains_key(&jwk.kid) {
            continue;
        }
        if let Ok(key) = DecodingKey::from_rsa_components(&jwk.n, &jwk.e) {
            keys.insert(jwk.kid, key);
        }
    }
    Ok(keys)
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Fetches the key set document.
///
/// The HTTPS client is built on the first fetch, not with the verifier: building it loads the system's
/// trusted roots (a millisecond or more: every certificate of the CA bundle is decoded and parsed), which
/// a Lambda cold start that only sees anonymous events would otherwise pay for nothing.
struct Fetcher {
    client: OnceLock<HttpsClient>,
    uri: http::Uri,
    timeout: Duration,
}

impl Fetcher {
    fn new(uri: http::Uri, timeout: Duration) -> Fetcher {
        Fetcher { client: OnceLock::new(), uri, timeout }
    }

    /// Whether the HTTPS client (and the trust store with it) has been built yet.
    #[cfg(test)]
    fn client_built(&self) -> bool {
        self.client.get().is_some()
    }

    /// The HTTPS client, built the first time. A failure is not kept: the next fetch tries again.
    fn client(&self) -> Result<&HttpsClient, String> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = build_client(&self.uri, self.timeout)?;
        Ok(self.client.get_or_init(|| client))
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let request = http::Request::get(self.uri.clone())
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::USER_AGENT, concat!("shopstream-ingest-cognito/", env!("CARGO_PKG_VERSION")))
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("cannot build the key set request: {e}"))?;
        let exchange = async {
            let response = self
                .client()?
                .request(request)
                .await
                .map_err(|e| format!("cannot reach the key set: {}", chain(&e)))?;
            let status = response.status();
            if status != http::StatusCode::OK {
                return Err(format!("the key set endpoint answered {status}"));
            }
            let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
                .collect()
                .await
                .map_err(|e| format!("cannot read the key set: {e}"))?
                .to_bytes();
            parse_jwks(&body)
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(format!("the key set did not arrive within {:?}", self.timeout)),
        }
    }
}

/// A hyper client for `uri`: HTTP/1 over TLS (aws-lc-rs, the system's trusted roots) or plain HTTP.
fn build_client(uri: &http::Uri, timeout: Duration) -> Result<HttpsClient, String> {
    let mut http = HttpConnector::new();
    http.enforce_http(false); // the TLS layer handles https
    http.set_connect_timeout(Some(timeout));
    // The provider is named here rather than taken from rustls' process default, which is ambiguous (and
    // panics) when another crate in the binary also enables rustls' `ring` feature.
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match builder.with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider()) {
        Ok(builder) => builder,
        // No trusted roots on this machine: fine for an http URL (local emulator), fatal for https.
        Err(e) if uri.scheme_str() == Some("https") => {
            return Err(format!("cannot load the system's trusted TLS roots for the key set: {e}"))
        }
        Err(_) => hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS setup: {e}"))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        ),
    };
    let connector = builder.https_or_http().enable_http1().wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// An error and its sources on one line ("client error (Connect): tcp connect error: Connection refused").
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[derive(Default)]
struct RefreshState {
    /// When the endpoint was last asked (successfully or not).
    last_attempt: Option<Instant>,
    /// Why the last fetch failed; `None` after a success.
    last_error: Option<String>,
}

/// The cached key set and the rules for refreshing it.
pub(crate) struct Jwks {
    shared: Arc<Shared>,
}

struct Shared {
    fetcher: Fetcher,
    ttl: Duration,
    min_interval: Duration,
    current: RwLock<Arc<KeySet>>,
    refresh: Arc<tokio::sync::Mutex<RefreshState>>,
}

impl Jwks {
    /// Does no I/O: the HTTPS client is built, and the keys fetched, when a token first needs them.
    pub(crate) fn new(uri: http::Uri, ttl: Duration, min_interval: Duration, timeout: Duration) -> Jwks {
        Jwks {
            shared: Arc::new(Shared {
                fetcher: Fetcher::new(uri, timeout),
                ttl,
                min_interval,
                current: RwLock::new(Arc::new(KeySet::default())),
                refresh: Arc::new(tokio::sync::Mutex::new(RefreshState::default())),
            }),
        }
    }

    /// The key named `kid`: `Invalid` if the pool has no such key, `Unavailable` if the keys cannot be had.
    pub(crate) async fn key(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        let shared = &self.shared;
        let keys = shared.snapshot();
        if keys.is_fresh(Instant::now(), shared.ttl) {
            if let Some(key) = keys.keys.get(kid) {
                return Ok(key.clone());
            }
        }

        let state = Arc::clone(&shared.refresh).lock_owned().await;
        // Another caller may have fetched while this one waited for the lock.
        let now = Instant::now();
        let keys = shared.snapshot();
        if keys.is_fresh(now, shared.ttl) {
            if let Some(key) = keys.keys.get(kid) {
                return Ok(key.clone());
            }
        }
        if let Some(last) = state.last_attempt {
            if now.saturating_duration_since(last) < shared.min_interval {
                return match &state.last_error {
                    Some(error) => Err(AuthError::Unavailable(error.clone())),
                    None => keys.keys.get(kid).cloned().ok_or_else(unknown_kid),
                };
            }
        }
        let keys = self.fetch(state).await?;
        keys.keys.get(kid).cloned().ok_or_else(unknown_kid)
    }

    /// Fetches the key set now, whatever the cache holds (but never two fetches at once); returns how many
    /// usable keys it has. For a binary that wants to warm the cache or check the endpoint at start-up.
    pub(crate) async fn refresh_now(&self) -> Result<usize, AuthError> {
        let state = Arc::clone(&self.shared.refresh).lock_owned().await;
        Ok(self.fetch(state).await?.len())
    }

    /// Runs the fetch in its own task, which holds the refresh lock until the outcome is recorded: a caller
    /// that is cancelled meanwhile (client gone, request deadline) neither loses the fetch nor leaves a
    /// recorded attempt without its outcome, and the callers queued on the lock read the result.
    async fn fetch(&self, mut state: tokio::sync::OwnedMutexGuard<RefreshState>) -> Result<Arc<KeySet>, AuthError> {
        let shared = Arc::clone(&self.shared);
        let task = tokio::spawn(async move { shared.fetch_locked(&mut state).await });
        match task.await {
            Ok(outcome) => outcome,
            Err(error) => Err(AuthError::Unavailable(format!("the key set fetch did not complete: {error}"))),
        }
    }
}

impl Shared {
    fn snapshot(&self) -> Arc<KeySet> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    async fn fetch_locked(&self, state: &mut RefreshState) -> Result<Arc<KeySet>, AuthError> {
        let started = Instant::now();
        let outcome = self.fetcher.fetch().await;
        state.last_attempt = Some(started);
        match outcome {
            Ok(keys) => {
                tracing::debug!(keys = keys.len(), url = %self.fetcher.uri, "fetched the Cognito key set");
                let set = Arc::new(KeySet { keys, fetched_at: Some(started) });
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&set);
                state.last_error = None;
                Ok(set)
            }
            Err(error) => {
                tracing::warn!(url = %self.fetcher.uri, %error, "cannot fetch the Cognito key set");
                state.last_error = Some(error.clone());
                Err(AuthError::Unavailable(error))
            }
        }
    }
}

fn unknown_kid() -> AuthError {
    AuthError::Invalid("the token's key id (kid) is not in the user pool's key set".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real 2048-bit modulus is not needed to test the selection rules: from_rsa_components only decodes.
    const N: &str = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";
    const E: &str = "AQAB";

    fn doc(keys: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ "keys": keys })).unwrap_or_default()
    }

    #[test]
    fn keeps_rs256_signing_keys_by_kid() {
        let body = doc(serde_json::json!([
            {"kid": "a", "kty": "RSA", "alg": "RS256", "use": "sig", "n": N, "e": E},
            {"kid": "b", "kty": "RSA", "n": N, "e": E},
        ]));
        let keys = parse_jwks(&body).expect("parses");
        let mut kids: Vec<_> = keys.keys().cloned().collect();
        kids.sort();
        assert_eq!(kids, ["a", "b"]);
    }

    #[test]
    fn skips_keys_that_cannot_verify_rs256_without_failing_the_set() {
        let body = doc(serde_json::json!([
            {"kid": "ec", "kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kid": "enc", "kty": "RSA", "use": "enc", "n": N, "e": E},
            {"kid": "ps", "kty": "RSA", "alg": "PS256", "n": N, "e": E},
            {"kid": "no-n", "kty": "RSA", "e": E},
            {"kty": "RSA", "n": N, "e": E},
            {"kid": 7, "kty": "RSA", "n": N, "e": E},
            {"kid": "bad-b64", "kty": "RSA", "n": "***", "e": E},
            "not an object",
            {"kid": "good", "kty": "RSA", "alg": "RS256", "n": N, "e": E},
        ]));
        let keys = parse_jwks(&body).expect("parses");
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["good"]);
    }

    #[tokio::test]
    async fn the_https_client_is_built_by_the_first_fetch_not_before() {
        let jwks = Jwks::new(
            "http://127.0.0.1:9/jwks.json".parse().unwrap(),
            Duration::from_secs(60),
            Duration::ZERO,
            Duration::from_millis(200),
        );
        assert!(!jwks.shared.fetcher.client_built(), "a new key set must not build its HTTPS client yet");
        // Port 9 (discard) refuses the connection: the fetch fails, but only after building the client.
        let outcome = jwks.refresh_now().await;
        assert!(matches!(outcome, Err(AuthError::Unavailable(_))), "{outcome:?}");
        assert!(jwks.shared.fetcher.client_built());
    }

    #[test]
    fn a_document_without_keys_is_an_error() {
        assert!(parse_jwks(b"not json").is_err());
        assert!(parse_jwks(b"{\"kid\": \"a\"}").is_err());
        assert!(parse_jwks(b"[]").is_err());
        assert_eq!(parse_jwks(b"{\"keys\": []}").map(|k| k.len()), Ok(0));
    }

    #[test]
    fn chain_joins_sources_without_repeating_them() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let error = Outer(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused"));
        assert_eq!(chain(&error), "client error (Connect): Connection refused");
    }
}
