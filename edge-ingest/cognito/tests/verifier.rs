//! CognitoTokenVerifier against hand-made tokens signed with the fixture keys and a local JWKS server: every
//! check refuses its attack, and the key cache rotates, refreshes, rate-limits and shares fetches.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ingest_cognito::{CognitoConfig, CognitoTokenVerifier, TokenUse, MAX_TOKEN_BYTES};
use ingest_domain::auth::{TokenVerifier, VerifiedIdentity};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

fn config(server: &JwksServer) -> CognitoConfig {
    CognitoConfig::new(REGION, POOL, [CLIENT])
        .with_jwks_url(server.url())
        .with_min_refetch_interval(Duration::from_millis(200))
}

fn verifier(config: CognitoConfig) -> CognitoTokenVerifier {
    CognitoTokenVerifier::new(config).expect("valid config")
}

async fn server_with_a() -> (JwksServer, TestKey) {
    let a = TestKey::a();
    (JwksServer::start(vec![a.jwk()]).await, a)
}

fn me() -> VerifiedIdentity {
    VerifiedIdentity { subject: SUB.to_owned() }
}

#[tokio::test]
async fn accepts_access_and_id_tokens_and_returns_their_sub() {
    let (server, a) = server_with_a().await;
    let verifier = verifier(config(&server));
    assert_eq!(verifier.verify(&a.sign(&access_claims(SUB))).await.expect("access token"), me());
    assert_eq!(verifier.verify(&a.sign(&id_claims(SUB))).await.expect("id token"), me());
    // An id token may carry aud as an array (OIDC); the allowed client must be in it.
    let mut claims = id_claims("other-sub");
    claims["aud"] = json!([OTHER_CLIENT, CLIENT]);
    assert_eq!(verifier.verify(&a.sign(&claims)).await.expect("aud array").subject, "other-sub");
    assert_eq!(server.hits(), 1, "the key set is fetched once and then cached");
}

#[tokio::test]
async fn refuses_alg_none_before_fetching_any_key() {
    let (server, a) = server_with_a().await;
    let verifier = verifier(config(&server));
    let claims = access_claims(SUB);
    let (_, _, real_signature) = parts(&a.sign(&claims));
    for alg in ["none", "None", "NONE"] {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": a.kid });
        assert_invalid(&verifier, &assemble(&header, &claims, ""), "header").await;
        assert_invalid(&verifier, &assemble(&header, &claims, &real_signature), "header").await;
    }
    let no_alg = json!({ "typ": "JWT", "kid": a.kid });
    assert_invalid(&verifier, &assemble(&no_alg, &claims, &real_signature), "header").await;
    assert_eq!(server.hits(), 0, "a token with no acceptable algorithm must not reach the key set");
}

#[tokio::test]
async fn refuses_hs256_signed_with_the_public_key_as_secret() {
    let (server, a) = server_with_a().await;
    let verifier = verifier(config(&server));
    let jwk = a.jwk();
    let n = jwk["n"].as_str().expect("n").to_owned();
    let n_bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &n).expect("n is base64url");
    let secrets: Vec<Vec<u8>> =
        vec![jwk.to_string().into_bytes(), json!({"keys": [jwk]}).to_string().into_bytes(), n.into_bytes(), n_bytes];
    for secret in secrets {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let mut header = Header::new(alg);
            header.kid = Some(a.kid.clone());
            let token =
                jsonwebtoken::encode(&header, &access_claims(SUB), &EncodingKey::from_secret(&secret)).expect("signs");
            let reason = assert_invalid(&verifier, &token, "RS256 only").await;
            assert!(reason.contains("HS"), "{reason}");
        }
    }
}

#[tokio::test]
async fn refuses_another_issuer() {
    let (server, a) = server_with_a().await;
    let verifier = verifier(config(&server));
    let issuers = [
        json!("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OtherPool"),
        json!("https://cognito-idp.us-east-1.amazonaws.com/eu-west-1_TestPool"),
        json!(format!("{ISSUER}/")),
        json!("http://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool"),
        // jsonwebtoken alone accepts an array containing the issuer; Cognito's iss is one string.
        json!([ISSUER, "https://evil.example"]),
    ];
    for iss in issuers {
        let mut claims = access_claims(SUB);
        claims["iss"] = iss;
        assert_invalid(&verifier, &a.sign(&claims), "").await;
    }
    let mut claims = access_claims(SUB);
    claims.as_object_mut().expect("object").remove("iss");
    assert_invalid(&verifier, &a.sign(&claims), "no iss").await;
    // The positive control: the same token with the right issuer passes.
    assert!(verifier.verify(&a.sign(&access_claims(SUB))).await.is_ok());
}

#[tokio::test]
async fn refuses_app_clients_that_are_not_allowed() {
    let (server, a) = server_with_a().await;
    let verifier = verifier(config(&server));
    let edit = |mut claims: Value, key: &str, value: Option<Value>| {
        match value {
            Some(value) => claims[key] = value,
            None => {
                claims.as_object_mut().expect("object").remove(key);
            }
        }
        claims
    };
    // access tokens name the client in client_id ...
    let wrong_access = edit(access_claims(SUB), "client_id", Some(json!(OTHER_CLIENT)));
    assert_invalid(&verifier, &a.sign(&wrong_access), "client_id").await;
    let no_client_id = edit(access_claims(SUB), "client_id", None);
    assert_invalid(&verifier, &a.sign(&no_client_id), "client_id").await;
    // ... and an aud naming the allowed client does not stand in for it.
    let confused = edit(wrong_access.clone(), "aud", Some(json!(CLIENT)));
    assert_invalid(&verifier, &a.sign(&confused), "client_id").await;
    // id tokens name it in aud.
    let wrong_id = edit(id_claims(SUB), "aud", Some(json!(OTHER_CLIENT)));
    assert_invalid(&verifier, &a.sign(&wrong_id), "aud").await;
    let no_aud = edit(id_claims(SUB), "aud", None);
    assert_invalid(&verifier, &a.sign(&no_aud), "aud").await;
    let empty_aud = edit(id_claims(SUB), "aud", Some(json!([])));
    assert_invalid(&verifier, &a.sign(&empty_aud), "aud").await;
    let confused = edit(wrong_id, "client_id", Some(json!(CLIENT)));
    assert_invalid(&verifier, &a.sign(&confused), "aud").await;

    // A verifier that allows the other client accepts exactly those tokens.
    let other = self::verifier(CognitoConfig::new(REGION, POOL, [OTHER_CLIENT, "third"]).with_jwks_url(server.url()));
    let mut claims = access_claims(SUB);
    claims["client_id"] = json!(OTHER_CLIENT);
    assert_eq!(other.verify(&a.sign(&claims)).await.expect("other client"), me());
    assert_invalid(&other, &a.sign(&access_claims(SUB)), "client_id").await;
}

#[tokio::test]
async fn refuses_expired_tokens_beyond_a_small_leeway() {
    let (server, a) = server_with_a().await;
    let verifier = verifier(config(&server).with_leeway(Duration::from_secs(10)));
    let with_exp = |exp: Value| {
        let mut claims = access_claims(SUB);
        claims["exp"] = exp;
        a.sign(&claims)
    };
    assert_invalid(&verifier, &with_exp(json!(now() - 60)), "expired").await;
    assert_invalid(&verifier, &with_exp(json!(now() - 24 * 3600)), "expired").await;
    assert_invalid(&verifier, &with_exp(json!(0)), "expired").await;
    assert_invalid(&verifier, &with_exp(json!("tomorrow")), "exp").await;
    let mut no_exp = access_claims(SUB);
    no_exp.as_object_mut().expect("object").remove("exp");
    assert_invalid(&verifier, &a.sign(&no_exp), "no exp").await;
    // Within the leeway: a token that expired 2 s ago is still accepted (clock skew).
    assert_eq!(verifier.verify(&with_exp(json!(now() - 2))).await.expect("within leeway"), me());
    // A token not valid before some future time is refused too.
    let mut early = access_claims(SUB);
    early["nbf"] = json!(now() + 3600);
    assert_invalid(&verifier, &a.sign(&early), "not valid yet").await;
}

#[tokio::test]
async fn refuses_a_tampered_payload_or_header() {
    let (server, a) = server_with_a().await;
    let verifier = verifier(config(&server));
    let token = a.sign(&access_claims(SUB));
    let (header, payload, signature) = parts(&token);
    assert!(verifier.verify(&token).await.is_ok(), "the untouched token passes");

    let mut claims = decode_part(&payload);
    claims["sub"] = json!("someone-else");
    assert_invalid(&verifier, &format!("{header}.{}.{signature}", b64(&claims)), "signature").await;
    let mut claims = decode_part(&payload);
    claims["exp"] = json!(now() + 365 * 24 * 3600);
    assert_invalid(&verifier, &format!("{header}.{}.{signature}", b64(&claims)), "signature").await;
    // The header is signed too.
    let mut head = decode_part(&header);
    head["typ"] = json!("at+jwt");
    assert_invalid(&verifier, &format!("{}.{payload}.{signature}", b64(&head)), "signature").await;
    // A flipped signature.
    let mut flipped = signature.into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).expect("ascii");
    assert_invalid(&verifier, &format!("{header}.{payload}.{flipped}"), "signature").await;
}

#[tokio::test]
async fn refuses_an_unknown_kid_and_a_key_that_is_not_the_named_one() {
    let (server, a) = server_with_a().await;
    let b = TestKey::b();
    let verifier = verifier(config(&server));
    // Key B is not published: its own kid is unknown ...
    assert_invalid(&verifier, &b.sign(&access_claims(SUB)), "kid").await;
    // ... and naming key A's kid does not make its signature A's.
    assert_invalid(&verifier, &b.sign_as(&access_claims(SUB), &a.kid), "signature").await;
    // No kid at all.
    let (_, payload, signature) = parts(&a.sign(&access_claims(SUB)));
    let no_kid = format!("{}.{payload}.{signature}", b64(&json!({"alg": "RS256", "typ": "JWT"})));
    assert_invalid(&verifier, &no_kid, "no key id").await;
}

#[tokio::test]
async fn refuses_token_uses_that_are_not_accepted() {
    let (server, a) = server_with_a().await;
    let verifier = verifier(config(&server));
    for token_use in [json!("refresh"), json!("ACCESS"), json!(""), json!(1)] {
        let mut claims = access_claims(SUB);
        claims["token_use"] = token_use;
        assert_invalid(&verifier, &a.sign(&claims), "").await;
    }
    let mut claims = access_claims(SUB);
    claims.as_object_mut().expect("object").remove("token_use");
    assert_invalid(&verifier, &a.sign(&claims), "token_use").await;

    let id_only = self::verifier(config(&server).with_token_uses([TokenUse::Id]));
    assert_invalid(&id_only, &a.sign(&access_claims(SUB)), "access tokens are not accepted").await;
    assert_eq!(id_only.verify(&a.sign(&id_claims(SUB))).await.expect("id token"), me());
    let access_only = self::verifier(config(&server).with_token_uses([TokenUse::Access]));
    assert_invalid(&access_only, &a.sign(&id_claims(SUB)), "id tokens are not accepted").await;
    assert_eq!(access_only.verify(&a.sign(&access_claims(SUB))).await.expect("access token"), me());
}

#[tokio::test]
async fn refuses_malformed_tokens_and_missing_or_empty_sub() {
    let (server, a) = server_with_a().await;
    let verifier = verifier(config(&server));
    for token in ["", "abc", "a.b", "a.b.c", "....", "eyJhbGciOiJSUzI1NiJ9.%%%.sig"] {
        assert_invalid(&verifier, token, "").await;
    }
    assert_invalid(&verifier, &"a".repeat(MAX_TOKEN_BYTES + 1), "longer").await;
    for sub in [None, Some(json!("")), Some(json!("  ")), Some(json!(42))] {
        let mut claims = access_claims(SUB);
        match sub {
            Some(sub) => claims["sub"] = sub,
            None => {
                claims.as_object_mut().expect("object").remove("sub");
            }
        }
        assert_invalid(&verifier, &a.sign(&claims), "").await;
    }
    // Claims that are not an object.
    let (header, _, _) = parts(&a.sign(&access_claims(SUB)));
    let array = format!("{header}.{}.sig", b64(&json!(["not", "claims"])));
    assert_invalid(&verifier, &array, "").await;
}

#[tokio::test]
async fn a_rotated_in_key_is_accepted_after_one_refetch_which_the_rate_limit_spaces_out() {
    let (server, a) = server_with_a().await;
    let b = TestKey::b();
    let verifier = verifier(config(&server).with_min_refetch_interval(Duration::from_millis(300)));
    assert!(verifier.verify(&a.sign(&access_claims(SUB))).await.is_ok());
    assert_eq!(server.hits(), 1);

    // Rotation: key B is published next to A.
    server.set_keys(vec![a.jwk(), b.jwk()]);
    let b_token = b.sign(&id_claims(SUB));
    // Right after a fetch, an unknown kid does not refetch: refused, and the endpoint is not asked.
    assert_invalid(&verifier, &b_token, "kid").await;
    assert_eq!(server.hits(), 1, "an unknown kid within the minimum interval must not refetch");

    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(verifier.verify(&b_token).await.expect("B after the refetch"), me());
    assert_eq!(server.hits(), 2, "exactly one refetch picks up the new key");
    assert!(verifier.verify(&a.sign(&access_claims(SUB))).await.is_ok(), "A is still published");
    assert!(verifier.verify(&b.sign(&access_claims(SUB))).await.is_ok());
    assert_eq!(server.hits(), 2, "both keys now come from the cache");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_forged_kids_costs_the_endpoint_one_fetch_per_interval() {
    let (server, a) = server_with_a().await;
    let b = TestKey::b();
    let interval = Duration::from_millis(1500);
    let verifier = verifier(config(&server).with_min_refetch_interval(interval));
    assert!(verifier.verify(&a.sign(&access_claims(SUB))).await.is_ok());
    assert_eq!(server.hits(), 1);
    tokio::time::sleep(interval + Duration::from_millis(50)).await;

    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..60 {
        let verifier = verifier.clone();
        let token = b.sign_as(&access_claims(SUB), &format!("forged-{i}"));
        tasks.push(tokio::spawn(async move { verifier.verify(&token).await }));
    }
    for task in tasks {
        let outcome = task.await.expect("task");
        assert!(matches!(outcome, Err(ingest_domain::auth::AuthError::Invalid(_))), "{outcome:?}");
    }
    // Sequential ones too, still within the interval (the first fetch of the flood began it).
    for i in 0..20 {
        assert_invalid(&verifier, &b.sign_as(&access_claims(SUB), &format!("later-{i}")), "kid").await;
    }
    assert!(started.elapsed() < interval, "the flood took too long to test the interval");
    assert_eq!(server.hits(), 2, "80 forged kids in one interval must cost one fetch");
    // Genuine tokens are still served from the cache meanwhile.
    assert!(verifier.verify(&a.sign(&access_claims(SUB))).await.is_ok());
    assert_eq!(server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_verifications_share_one_fetch() {
    let (server, a) = server_with_a().await;
    server.set_delay(Duration::from_millis(300));
    let verifier = verifier(config(&server));
    let mut tasks = Vec::new();
    for i in 0..32 {
        let verifier = verifier.clone();
        let token = a.sign(&access_claims(&format!("user-{i}")));
        tasks.push(tokio::spawn(async move { (i, verifier.verify(&token).await) }));
    }
    for task in tasks {
        let (i, outcome) = task.await.expect("task");
        assert_eq!(outcome.expect("verified").subject, format!("user-{i}"));
    }
    assert_eq!(server.hits(), 1, "32 concurrent first verifications must share one fetch");
}

#[tokio::test]
async fn keys_are_fetched_again_after_the_ttl_and_retired_keys_stop_working() {
    let (server, a) = server_with_a().await;
    let b = TestKey::b();
    let ttl = Duration::from_millis(300);
    let verifier = verifier(config(&server).with_jwks_ttl(ttl).with_min_refetch_interval(Duration::from_millis(50)));
    let a_token = a.sign(&access_claims(SUB));
    assert!(verifier.verify(&a_token).await.is_ok());
    assert!(verifier.verify(&a_token).await.is_ok());
    assert_eq!(server.hits(), 1, "within the TTL the cache answers");

    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert!(verifier.verify(&a_token).await.is_ok());
    assert_eq!(server.hits(), 2, "past the TTL a known kid triggers a refresh");

    // Key A is retired: once the TTL runs out it is no longer accepted.
    server.set_keys(vec![b.jwk()]);
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert_invalid(&verifier, &a_token, "kid").await;
    assert_eq!(server.hits(), 3);
    assert!(verifier.verify(&b.sign(&access_claims(SUB))).await.is_ok());
}

#[tokio::test]
async fn an_unreachable_key_set_is_unavailable_not_invalid() {
    let a = TestKey::a();
    let verifier = verifier(CognitoConfig::new(REGION, POOL, [CLIENT]).with_jwks_url(closed_url()));
    let reason = assert_unavailable(&verifier, &a.sign(&access_claims(SUB))).await;
    assert!(reason.contains("cannot reach"), "{reason}");
    assert!(verifier.refresh_keys().await.is_err());
}

#[tokio::test]
async fn a_key_set_that_answers_badly_is_unavailable() {
    let (server, a) = server_with_a().await;
    let token = a.sign(&access_claims(SUB));
    let fresh = || verifier(config(&server));

    server.fail_with(500);
    assert!(assert_unavailable(&fresh(), &token).await.contains("500"));
    server.fail_with(404);
    assert!(assert_unavailable(&fresh(), &token).await.contains("404"));
    server.serve_body("<html>not json</html>");
    assert!(assert_unavailable(&fresh(), &token).await.contains("not a JWKS"));
    server.serve_body(format!("{{\"keys\": [], \"pad\": \"{}\"}}", "x".repeat(ingest_cognito::MAX_JWKS_BYTES)));
    assert!(assert_unavailable(&fresh(), &token).await.contains("cannot read"));

    server.set_keys(vec![a.jwk()]);
    server.set_delay(Duration::from_secs(3));
    let slow = verifier(config(&server).with_fetch_timeout(Duration::from_millis(200)));
    let started = Instant::now();
    assert!(assert_unavailable(&slow, &token).await.contains("did not arrive"));
    assert!(started.elapsed() < Duration::from_secs(2), "the fetch timeout was not applied");
}

#[tokio::test]
async fn a_failed_fetch_is_not_retried_within_the_interval_and_recovery_follows() {
    let (server, a) = server_with_a().await;
    let token = a.sign(&access_claims(SUB));
    server.fail_with(503);
    let interval = Duration::from_millis(300);
    let verifier = verifier(config(&server).with_min_refetch_interval(interval));
    assert_unavailable(&verifier, &token).await;
    assert_unavailable(&verifier, &token).await;
    assert_eq!(server.hits(), 1, "a failing endpoint is asked once per interval, not per request");

    server.set_keys(vec![a.jwk()]);
    tokio::time::sleep(interval + Duration::from_millis(50)).await;
    assert_eq!(verifier.verify(&token).await.expect("recovered"), me());
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn keys_past_the_ttl_are_not_used_when_the_refresh_fails() {
    let (server, a) = server_with_a().await;
    let token = a.sign(&access_claims(SUB));
    let ttl = Duration::from_millis(200);
    let verifier = verifier(config(&server).with_jwks_ttl(ttl).with_min_refetch_interval(Duration::from_millis(50)));
    assert!(verifier.verify(&token).await.is_ok());
    server.fail_with(500);
    // Within the TTL the cached key still answers, whatever the endpoint does.
    assert!(verifier.verify(&token).await.is_ok());
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert_unavailable(&verifier, &token).await;
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn refresh_keys_fetches_now_and_counts_the_usable_keys() {
    let (server, a) = server_with_a().await;
    let b = TestKey::b();
    server.set_keys(vec![a.jwk(), b.jwk(), json!({"kid": "ec", "kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"})]);
    let verifier = verifier(config(&server));
    assert_eq!(verifier.refresh_keys().await.expect("fetched"), 2);
    assert_eq!(server.hits(), 1);
    assert!(verifier.verify(&b.sign(&access_claims(SUB))).await.is_ok());
    assert_eq!(server.hits(), 1, "the warmed cache answers");
}

#[test]
fn new_refuses_a_config_that_cannot_work() {
    let base = CognitoConfig::new(REGION, POOL, [CLIENT]);
    assert!(CognitoTokenVerifier::new(base.clone()).is_ok());
    assert!(CognitoTokenVerifier::new(CognitoConfig { client_ids: vec![], ..base.clone() }).is_err());
    assert!(CognitoTokenVerifier::new(base.clone().with_jwks_url("not a url")).is_err());
    assert!(CognitoTokenVerifier::new(base.with_token_uses([])).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verification_cancelled_mid_fetch_does_not_lose_the_fetch() {
    let (server, a) = server_with_a().await;
    server.set_delay(Duration::from_millis(300));
    let verifier = verifier(config(&server).with_min_refetch_interval(Duration::from_secs(30)));
    let token = a.sign(&access_claims(SUB));
    // The caller gives up (a client disconnects, a request deadline) while the key set is on its way.
    let cancelled = tokio::time::timeout(Duration::from_millis(50), verifier.verify(&token)).await;
    assert!(cancelled.is_err(), "the first verification should still have been waiting for the key set");
    // The fetch it started completes anyway and serves the next caller: no second fetch, and no
    // "unknown kid" from an empty cache that the rate limit would then keep for 30 s.
    assert_eq!(verifier.verify(&token).await.expect("verified after the cancelled one"), me());
    assert_eq!(server.hits(), 1);
}
