//! Shared by the integration tests: the fixture keys, token forging, and a local JWKS server that counts
//! its hits and can rotate keys, fail, or be slow.

#![allow(dead_code)] // each test binary uses a different part

use std::net::TcpListener as StdListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ingest_cognito::CognitoTokenVerifier;
use ingest_domain::auth::{AuthError, TokenVerifier};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

pub const REGION: &str = "eu-west-1";
pub const POOL: &str = "eu-west-1_TestPool";
pub const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool";
pub const CLIENT: &str = "allowedclient0123456789";
pub const OTHER_CLIENT: &str = "otherclient9876543210";
pub const SUB: &str = "3f0c8a52-6b1e-4d7a-9a53-0d2f4e1c7b90";

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).expect("clock after 1970")
}

/// One of the checked-in RSA keys, with the `kid` the tests publish it under.
pub struct TestKey {
    pub kid: String,
    key: EncodingKey,
    jwk: Value,
}

impl TestKey {
    /// `tests/fixtures/<file>` (PKCS#1 PEM, see fixtures/README.md).
    pub fn load(file: &str, kid: &str) -> TestKey {
        let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
        let pem = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
        let der = STANDARD.decode(body).expect("fixture PEM body is base64");
        let key = EncodingKey::from_rsa_der(&der);
        let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::RS256).expect("RSA fixture"))
            .expect("JWK serialises");
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        assert_eq!(jwk["kty"], "RSA");
        TestKey { kid: kid.to_owned(), key, jwk }
    }

    pub fn a() -> TestKey {
        TestKey::load("rsa-a.pem", "key-a")
    }

    pub fn b() -> TestKey {
        TestKey::load("rsa-b.pem", "key-b")
    }

    /// The public JWK (`kid`, `kty`, `alg`, `use`, `n`, `e`).
    pub fn jwk(&self) -> Value {
        self.jwk.clone()
    }

    /// An RS256 token over `claims` with this key's `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(claims, &self.kid)
    }

    /// An RS256 token over `claims`, signed with this key but naming `kid`.
    pub fn sign_as(&self, claims: &Value, kid: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.key).expect("signs")
    }
}

pub fn access_claims(sub: &str) -> Value {
    let now = now();
    json!({
        "iss": ISSUER, "sub": sub, "client_id": CLIENT, "token_use": "access",
        "iat": now, "auth_time": now, "exp": now + 3600, "username": "shopper", "jti": "j-1",
    })
}

pub fn id_claims(sub: &str) -> Value {
    let now = now();
    json!({
        "iss": ISSUER, "sub": sub, "aud": CLIENT, "token_use": "id",
        "iat": now, "auth_time": now, "exp": now + 3600, "cognito:username": "shopper",
    })
}

pub fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("serialises"))
}

/// `base64url(header).base64url(claims).signature`, with no signing: for `alg: none` and tampering.
pub fn assemble(header: &Value, claims: &Value, signature: &str) -> String {
    format!("{}.{}.{signature}", b64(header), b64(claims))
}

/// The three parts of a token.
pub fn parts(token: &str) -> (String, String, String) {
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        panic!("not a JWS compact token");
    };
    (h.to_owned(), p.to_owned(), s.to_owned())
}

pub fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

/// Asserts `token` is refused as `Invalid` with a reason containing `expect`, and that the reason echoes
/// neither the token nor any part of it. Returns the reason.
pub async fn assert_invalid(verifier: &CognitoTokenVerifier, token: &str, expect: &str) -> String {
    match verifier.verify(token).await {
        Err(AuthError::Invalid(reason)) => {
            if !token.is_empty() {
                assert!(!reason.contains(token), "reason echoes the token");
            }
            for part in token.split('.').filter(|p| p.len() >= 8) {
                assert!(!reason.contains(part), "reason {reason:?} echoes a part of the token");
            }
            assert!(reason.contains(expect), "refused for {reason:?}, expected a reason containing {expect:?}");
            reason
        }
        other => panic!("expected Invalid({expect}...), got {other:?}"),
    }
}

pub async fn assert_unavailable(verifier: &CognitoTokenVerifier, token: &str) -> String {
    match verifier.verify(token).await {
        Err(AuthError::Unavailable(reason)) => {
            assert!(!reason.contains(token));
            reason
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[derive(Clone)]
enum Answer {
    Keys(Vec<Value>),
    Status(u16),
    Body(String),
}

#[derive(Clone)]
struct ServerState {
    answer: Arc<Mutex<Answer>>,
    delay: Arc<Mutex<Duration>>,
    hits: Arc<AtomicUsize>,
}

/// A JWKS endpoint on 127.0.0.1 (`GET /jwks.json`), stopped with the test's runtime.
pub struct JwksServer {
    url: String,
    state: ServerState,
}

impl JwksServer {
    pub async fn start(keys: Vec<Value>) -> JwksServer {
        let state = ServerState {
            answer: Arc::new(Mutex::new(Answer::Keys(keys))),
            delay: Arc::new(Mutex::new(Duration::ZERO)),
            hits: Arc::new(AtomicUsize::new(0)),
        };
        let app = Router::new().route("/jwks.json", get(answer)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        JwksServer { url, state }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many requests the endpoint has answered (or started answering).
    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// Publishes these keys from now on (a rotation).
    pub fn set_keys(&self, keys: Vec<Value>) {
        *self.state.answer.lock().expect("lock") = Answer::Keys(keys);
    }

    /// Answers every request with `status` and an empty body from now on.
    pub fn fail_with(&self, status: u16) {
        *self.state.answer.lock().expect("lock") = Answer::Status(status);
    }

    /// Answers 200 with this body from now on.
    pub fn serve_body(&self, body: impl Into<String>) {
        *self.state.answer.lock().expect("lock") = Answer::Body(body.into());
    }

    pub fn set_delay(&self, delay: Duration) {
        *self.state.delay.lock().expect("lock") = delay;
    }
}

async fn answer(State(state): State<ServerState>) -> (StatusCode, [(header::HeaderName, &'static str); 1], String) {
    state.hits.fetch_add(1, Ordering::SeqCst);
    let delay = *state.delay.lock().expect("lock");
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let answer = state.answer.lock().expect("lock").clone();
    let json = [(header::CONTENT_TYPE, "application/json")];
    match answer {
        Answer::Keys(keys) => (StatusCode::OK, json, json!({ "keys": keys }).to_string()),
        Answer::Status(status) => (StatusCode::from_u16(status).expect("status"), json, String::new()),
        Answer::Body(body) => (StatusCode::OK, json, body),
    }
}

/// A URL on 127.0.0.1 where nothing listens.
pub fn closed_url() -> String {
    let listener = StdListener::bind("127.0.0.1:0").expect("binds");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/jwks.json")
}
