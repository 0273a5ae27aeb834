//! The recommendations API over HTTP, on the memory store.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use event_schema::Timestamp;
use ingest_domain::{AuthError, FixedClock, TokenVerifier, VerifiedIdentity};
use personalize::contract::{event, record, T0};
use personalize::model::{Key, Versioned};
use personalize::store::{Commit, StoreError};
use personalize::{MemoryStore, Processor, Recommender, StateStore};
use serde_json::{json, Value};
use tower::ServiceExt;

async fn recommender() -> Recommender {
    let store = Arc::new(MemoryStore::new());
    let mut events = Vec::new();
    for i in 0..3 {
        let items =
            json!([{"sku": "tent", "quantity": 1, "price": 100.0}, {"sku": "stove", "quantity": 1, "price": 40.0}]);
        let order = json!({"order_id": format!("o{i}"), "revenue": 140.0, "currency": "EUR", "items": items});
        events.push(event("purchase", &format!("p{i}"), "s", i, order));
    }
    let view = json!({"sku": "stove", "name": "Camping Stove", "price": 40.0, "category": "camping"});
    events.push(event("product_view", "v", "s", 5, view));
    let records: Vec<_> = events.iter().enumerate().map(|(i, e)| record(i as i64, e)).collect();
    assert_eq!(Processor::new(store.clone()).process(&records, None).await.applied, 4);
    Recommender::new(store, Arc::new(FixedClock(Timestamp(T0 + 10_000))))
}

async fn get(app: axum::Router, uri: &str, token: Option<&str>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = Request::get(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let body = to_bytes(res.into_body(), usize::MAX).await.unwrap();
    (status, headers, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn a_product_placement_answers_its_neighbours_with_strategy_id_and_display_fields() {
    let app = recs_http::router(recommender().await);
    let (status, headers, body) = get(app, "/v1/recommendations?placement=product&sku=tent&limit=3", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(body["placement"], "product");
    assert_eq!(body["strategy"], "bought_together");
    assert_eq!(body["items"][0]["sku"], "stove");
    assert_eq!(body["items"][0]["name"], "Camping Stove");
    assert_eq!(body["items"][0]["price"], 40.0);
    assert!(body["items"][0]["score"].as_f64().unwrap() > 0.0);
    assert_eq!(body["recommendation_id"].as_str().unwrap().len(), 36);
    assert_eq!(body["generated_at"], "2026-11-22T10:00:10.000Z");
}

#[tokio::test]
async fn bad_parameters_are_400_with_the_parameter_and_a_reason() {
    let app = recs_http::router(recommender().await);
    for (query, parameter) in [
        ("", "placement"),
        ("placement=aisle", "placement"),
        ("placement=product", "sku"),
        ("placement=cart", "anonymous_id"),
        ("placement=home&anonymous_id=a&limit=500", "limit"),
    ] {
        let (status, _, body) = get(app.clone(), &format!("/v1/recommendations?{query}"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!((body["error"].as_str(), body["parameter"].as_str()), (Some("bad_parameter"), Some(parameter)));
        assert!(!body["reason"].as_str().unwrap().is_empty());
    }
    // An unknown shopper is not an error: trending answers.
    let (status, _, body) = get(app, "/v1/recommendations?placement=home&anonymous_id=nobody", None).await;
    assert_eq!((status, body["strategy"].as_str()), (StatusCode::OK, Some("trending")));
}

struct Tokens;

#[async_trait]
impl TokenVerifier for Tokens {
    async fn verify(&self, token: &str) -> Result<VerifiedIdentity, AuthError> {
        token
            .strip_prefix("good-")
            .map(|sub| VerifiedIdentity { subject: sub.into() })
            .ok_or_else(|| AuthError::Invalid("signature does not verify".into()))
    }
}

#[tokio::test]
async fn with_a_verifier_a_user_id_needs_that_users_token() {
    let app = recs_http::router_with_verifier(recommender().await, Some(Arc::new(Tokens)));
    let uri = "/v1/recommendations?placement=home&user_id=u1";
    assert_eq!(get(app.clone(), uri, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(get(app.clone(), uri, Some("forged")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(get(app.clone(), uri, Some("good-u2")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(get(app.clone(), uri, Some("good-u1")).await.0, StatusCode::OK);
    let anonymous = "/v1/recommendations?placement=home&anonymous_id=a";
    assert_eq!(get(app, anonymous, None).await.0, StatusCode::OK, "anonymous ids need no token");
}

struct Down;

#[async_trait]
impl StateStore for Down {
    async fn load(&self, _: &[Key]) -> Result<HashMap<Key, Versioned>, StoreError> {
        Err(StoreError::unavailable("down", std::io::Error::other("connection refused")))
    }
    async fn applied(&self, _: &[String]) -> Result<HashSet<String>, StoreError> {
        unreachable!()
    }
    async fn commit(&self, _: Commit) -> Result<(), StoreError> {
        unreachable!()
    }
    fn max_commit_writes(&self) -> usize {
        100
    }
    async fn checkpoint(&self, _: &str) -> Result<Option<i64>, StoreError> {
        unreachable!()
    }
}

#[tokio::test]
async fn a_failing_store_is_503_with_retry_after() {
    let recommender = Recommender::new(Arc::new(Down), Arc::new(FixedClock(Timestamp(T0))));
    let (status, headers, body) =
        get(recs_http::router(recommender), "/v1/recommendations?placement=product&sku=x", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(body["error"], "unavailable");
}

async fn send(app: axum::Router, req: Request<Body>) -> axum::http::Response<Body> {
    app.oneshot(req).await.unwrap()
}

#[tokio::test]
async fn a_cors_preflight_from_any_origin_allows_get_with_an_authorization_header() {
    // With a verifier too: the preflight itself carries no token and must not need one.
    let app = recs_http::router_with_verifier(recommender().await, Some(Arc::new(Tokens)));
    for origin in ["https://shop.example", "http://127.0.0.1:8080"] {
        let req = Request::options("/v1/recommendations?placement=home&user_id=u1")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .body(Body::empty())
            .unwrap();
        let res = send(app.clone(), req).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{origin}");
        let h = res.headers();
        assert_eq!(h["access-control-allow-origin"], "*");
        assert!(h["access-control-allow-methods"].to_str().unwrap().contains("GET"));
        assert!(h["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase().contains("authorization"));
        assert_eq!(h["access-control-max-age"], recs_http::PREFLIGHT_MAX_AGE_SECS.to_string().as_str());
        assert!(h.get("access-control-allow-credentials").is_none(), "no cookies, ever");
    }
}

#[tokio::test]
async fn every_answer_may_be_read_by_any_origin_errors_included() {
    let app = recs_http::router(recommender().await);
    for (uri, status) in [
        ("/v1/recommendations?placement=product&sku=tent", StatusCode::OK),
        ("/v1/recommendations?placement=aisle", StatusCode::BAD_REQUEST),
    ] {
        let req = Request::get(uri).header("origin", "https://shop.example").body(Body::empty()).unwrap();
        let res = send(app.clone(), req).await;
        assert_eq!(res.status(), status, "{uri}");
        assert_eq!(res.headers()["access-control-allow-origin"], "*", "{uri}");
    }
    let tokens = recs_http::router_with_verifier(recommender().await, Some(Arc::new(Tokens)));
    let (status, headers, _) = get(tokens, "/v1/recommendations?placement=home&user_id=u1", Some("forged")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["access-control-allow-origin"], "*");
    let down = Recommender::new(Arc::new(Down), Arc::new(FixedClock(Timestamp(T0))));
    let (status, headers, _) = get(recs_http::router(down), "/v1/recommendations?placement=product&sku=x", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["access-control-allow-origin"], "*");
}
