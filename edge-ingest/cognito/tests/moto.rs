//! Against a real moto server: CognitoAdmin makes a pool, an app client and a user and signs in; the
//! verifier accepts the access and id tokens with moto's JWKS and names the user's `sub`; tokens for another
//! pool, client or use, and forged variants of moto's tokens, are refused.

mod common;

use aws_sdk_cognitoidentityprovider::config::{Credentials, Region};
use aws_sdk_cognitoidentityprovider::{Client, Config};
use bytes::Bytes;
use common::{assemble, assert_invalid, b64, decode_part, parts};
use http_body_util::{BodyExt, Empty};
use ingest_cognito::{AdminError, CognitoAdmin, CognitoConfig, CognitoTokenVerifier, DemoPool, TokenUse, Tokens};
use ingest_domain::auth::TokenVerifier;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use testkit::{unique, Moto};

const REGION: &str = "us-east-1";
const PASSWORD: &str = "Demo-Passw0rd!";

fn admin(moto: &Moto) -> CognitoAdmin {
    let config = Config::builder()
        .endpoint_url(moto.endpoint())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .behavior_version_latest()
        .build();
    CognitoAdmin::new(Client::from_conf(config))
}

fn jwks_url(moto: &Moto, pool_id: &str) -> String {
    format!("{}/{pool_id}/.well-known/jwks.json", moto.endpoint())
}

/// A pool with an app client and a signed-in user.
struct Fixture {
    moto: &'static Moto,
    admin: CognitoAdmin,
    username: String,
    demo: DemoPool,
    tokens: Tokens,
}

impl Fixture {
    async fn new() -> Fixture {
        let moto = tokio::task::spawn_blocking(Moto::shared).await.expect("moto starts");
        let admin = admin(moto);
        let username = unique("shopper");
        let demo = admin
            .create_demo(&unique("pool"), &unique("client"), &username, PASSWORD)
            .await
            .expect("pool, client and user");
        let tokens = admin.sign_in(&demo.client_id, &username, PASSWORD).await.expect("signs in");
        Fixture { moto, admin, username, demo, tokens }
    }

    fn config(&self) -> CognitoConfig {
        CognitoConfig::new(REGION, &self.demo.pool_id, [self.demo.client_id.clone()])
            .with_jwks_url(jwks_url(self.moto, &self.demo.pool_id))
    }

    fn verifier(&self) -> CognitoTokenVerifier {
        CognitoTokenVerifier::new(self.config()).expect("config")
    }
}

async fn get_json(url: &str) -> Value {
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = client.get(url.parse().expect("url")).await.expect("GET");
    assert_eq!(response.status(), 200, "{url}");
    let body = response.into_body().collect().await.expect("body").to_bytes();
    serde_json::from_slice(&body).expect("JSON")
}

#[tokio::test]
async fn moto_access_and_id_tokens_verify_and_name_the_users_sub() {
    let f = Fixture::new().await;
    let sub = f.admin.user_sub(&f.demo.pool_id, &f.username).await.expect("AdminGetUser");
    assert!(!sub.is_empty());
    assert_eq!(f.demo.user_sub, sub, "create_user returns the sub AdminGetUser reports");

    let verifier = f.verifier();
    let access = verifier.verify(&f.tokens.access_token).await.expect("access token verifies");
    let id = verifier.verify(&f.tokens.id_token).await.expect("id token verifies");
    assert_eq!(access.subject, sub);
    assert_eq!(id.subject, sub);

    // The claims are what the checks rely on: moto signs with the real AWS issuer and the two client claims.
    let (_, access_payload, _) = parts(&f.tokens.access_token);
    let (_, id_payload, _) = parts(&f.tokens.id_token);
    let (access_claims, id_claims) = (decode_part(&access_payload), decode_part(&id_payload));
    let issuer = f.admin.issuer(&f.demo.pool_id).expect("client has a region");
    assert_eq!(access_claims["iss"], issuer.as_str());
    assert_eq!(access_claims["token_use"], "access");
    assert_eq!(access_claims["client_id"], f.demo.client_id.as_str());
    assert_eq!(id_claims["token_use"], "id");
    assert_eq!(id_claims["aud"], f.demo.client_id.as_str());
    assert!(f.tokens.expires_in > 0);
}

#[tokio::test]
async fn moto_tokens_are_refused_for_another_pool_client_or_use() {
    let f = Fixture::new().await;
    let (access, id) = (&f.tokens.access_token, &f.tokens.id_token);

    // A second pool of the same moto: its tokens carry a valid signature (moto signs every pool with one
    // key) but another issuer.
    let other = Fixture::new().await;
    let verifier = f.verifier();
    assert_invalid(&verifier, &other.tokens.access_token, "issuer").await;
    assert_invalid(&verifier, &other.tokens.id_token, "issuer").await;

    // Another app client of the same pool.
    let wrong_client =
        CognitoTokenVerifier::new(CognitoConfig { client_ids: vec!["some-other-client".into()], ..f.config() })
            .expect("config");
    assert_invalid(&wrong_client, access, "client_id").await;
    assert_invalid(&wrong_client, id, "aud").await;

    // One token use only.
    let id_only = CognitoTokenVerifier::new(f.config().with_token_uses([TokenUse::Id])).expect("config");
    assert_invalid(&id_only, access, "access tokens are not accepted").await;
    assert!(id_only.verify(id).await.is_ok());
    let access_only = CognitoTokenVerifier::new(f.config().with_token_uses([TokenUse::Access])).expect("config");
    assert_invalid(&access_only, id, "id tokens are not accepted").await;
    assert!(access_only.verify(access).await.is_ok());

    // The same pool id in another region is another issuer.
    let other_region = CognitoTokenVerifier::new(
        CognitoConfig::new("eu-west-1", &f.demo.pool_id, [f.demo.client_id.clone()])
            .with_jwks_url(jwks_url(f.moto, &f.demo.pool_id)),
    )
    .expect("config");
    assert_invalid(&other_region, access, "issuer").await;
}

#[tokio::test]
async fn forged_variants_of_moto_tokens_are_refused() {
    let f = Fixture::new().await;
    let verifier = f.verifier();
    let (header, payload, signature) = parts(&f.tokens.access_token);
    let head = decode_part(&header);
    let claims = decode_part(&payload);
    let kid = head["kid"].as_str().expect("moto's tokens name a kid").to_owned();

    // alg none, with and without moto's signature.
    let none = json!({"alg": "none", "typ": "JWT", "kid": kid});
    assert_invalid(&verifier, &assemble(&none, &claims, ""), "header").await;
    assert_invalid(&verifier, &assemble(&none, &claims, &signature), "header").await;

    // HS256 keyed with moto's public key material.
    let jwks = get_json(&jwks_url(f.moto, &f.demo.pool_id)).await;
    let jwk =
        jwks["keys"].as_array().and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str())).expect("kid published");
    for secret in [jwk.to_string(), jwks.to_string(), jwk["n"].as_str().expect("n").to_owned()] {
        let mut hs = Header::new(Algorithm::HS256);
        hs.kid = Some(kid.clone());
        let token = jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(secret.as_bytes())).expect("signs");
        assert_invalid(&verifier, &token, "RS256 only").await;
    }

    // Payload changed, signature kept: another user's sub, a later exp.
    let mut stolen = claims.clone();
    stolen["sub"] = json!("00000000-0000-0000-0000-000000000000");
    assert_invalid(&verifier, &format!("{header}.{}.{signature}", b64(&stolen)), "signature").await;
    let mut extended = claims.clone();
    extended["exp"] = json!(claims["exp"].as_u64().expect("exp") + 86_400);
    assert_invalid(&verifier, &format!("{header}.{}.{signature}", b64(&extended)), "signature").await;

    // An unknown kid (header edited, so the signature is moot; the kid is checked first).
    let mut unknown = head.clone();
    unknown["kid"] = json!("not-a-moto-kid");
    assert_invalid(&verifier, &format!("{}.{payload}.{signature}", b64(&unknown)), "kid").await;

    // The untouched token still passes with the same verifier.
    assert_eq!(verifier.verify(&f.tokens.access_token).await.expect("genuine").subject, f.demo.user_sub);
}

#[tokio::test]
async fn sign_in_with_a_wrong_password_fails_and_a_second_user_gets_another_sub() {
    let f = Fixture::new().await;
    match f.admin.sign_in(&f.demo.client_id, &f.username, "Wrong-Passw0rd!").await {
        Err(AdminError::Service { operation, message }) => {
            assert_eq!(operation, "InitiateAuth");
            assert!(!message.contains("Wrong-Passw0rd!"), "the password leaked into the error");
        }
        other => panic!("expected a refused sign-in, got {other:?}"),
    }
    let second = unique("shopper");
    let second_sub = f.admin.create_user(&f.demo.pool_id, &second, PASSWORD).await.expect("second user");
    assert_ne!(second_sub, f.demo.user_sub);
    let tokens = f.admin.sign_in(&f.demo.client_id, &second, PASSWORD).await.expect("second signs in");
    assert_eq!(f.verifier().verify(&tokens.id_token).await.expect("verifies").subject, second_sub);
    f.admin.delete_user_pool(&f.demo.pool_id).await.expect("deletes the pool");
    assert!(f.admin.user_sub(&f.demo.pool_id, &second).await.is_err(), "the pool is gone");
}
