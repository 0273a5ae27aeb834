//! The recommendations Lambda's router fed API Gateway events as AWS sends them (REST API and HTTP
//! API, `tests/fixtures/`), reading a state table in moto's DynamoDB that personalize's `Processor`
//! filled, as the processor Lambda does.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use dynamodb_state::DynamoStateStore;
use event_schema::Timestamp;
use http_body_util::BodyExt;
use ingest_domain::{AuthError, FixedClock, TokenVerifier, VerifiedIdentity};
use personalize::contract::{event, record, T0};
use personalize::{Processor, Recommender};
use recs_lambda::{vars, RecsConfig, DYNAMODB_ATTEMPT_TIMEOUT};
use serde_json::{json, Value};
use testkit::Moto;
use tower::ServiceExt;

/// A DynamoDB client on `endpoint`, with the attempt timeout `main` gives it.
fn dynamodb_at(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .timeout_config(TimeoutConfig::builder().operation_attempt_timeout(DYNAMODB_ATTEMPT_TIMEOUT).build())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

fn dynamodb() -> aws_sdk_dynamodb::Client {
    dynamodb_at(&Moto::shared().endpoint())
}

/// A state table of its own, filled by the processor from three orders of a tent with a stove
/// (and views that name them), as the processor Lambda would from the stream.
async fn seeded_table() -> String {
    let table = testkit::unique("recs");
    DynamoStateStore::create_table(&dynamodb(), &table).await.unwrap();
    let mut events = Vec::new();
    for i in 0..3 {
        let items =
            json!([{"sku": "tent", "quantity": 1, "price": 100.0}, {"sku": "stove", "quantity": 1, "price": 40.0}]);
        let order = json!({"order_id": format!("o-{i}"), "revenue": 140.0, "currency": "EUR", "items": items});
        events.push(event("purchase", &format!("shopper-{i}"), &format!("s-{i}"), i, order));
    }
    let stove =
        json!({"sku": "stove", "name": "Camping Stove", "price": 40.0, "currency": "EUR", "category": "camping"});
    events.push(event("product_view", "viewer", "s-v", 5, stove));
    let tent = json!({"sku": "tent", "name": "Tent", "price": 100.0, "currency": "EUR", "category": "camping"});
    events.push(event("product_view", "viewer", "s-v", 6, tent));
    let records: Vec<_> = events.iter().enumerate().map(|(i, e)| record(i as i64, e)).collect();
    let store = Arc::new(DynamoStateStore::new(dynamodb(), &table));
    let outcome = Processor::new(store).process(&records, None).await;
    assert_eq!((outcome.applied, outcome.failed_from), (5, None), "{outcome:?}");
    table
}

/// The function's router wired as `main` wires it (the store from `recs_lambda::state_store`),
/// with the clock a minute after the events.
fn app_on(client: aws_sdk_dynamodb::Client, table: &str, verifier: Option<Arc<dyn TokenVerifier>>) -> axum::Router {
    let store = Arc::new(recs_lambda::state_store(client, table));
    let recommender = Recommender::new(store, Arc::new(FixedClock(Timestamp(T0 + 60_000))));
    recs_lambda::app(recommender, verifier)
}

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A REST API (payload 1.0) event for `GET /<stage>/v1/recommendations?<query>`.
fn rest_event(query: &[(&str, &str)]) -> Value {
    let mut event = fixture("apigw-rest-get-recommendations.json");
    let single: serde_json::Map<String, Value> = query.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    let multi: serde_json::Map<String, Value> = query.iter().map(|(k, v)| (k.to_string(), json!([v]))).collect();
    event["queryStringParameters"] = Value::Object(single);
    event["multiValueQueryStringParameters"] = Value::Object(multi);
    event
}

/// An HTTP API (payload 2.0) event for the same request on `stage` (`$default`: no prefix).
fn http_api_event(stage: &str, query: &[(&str, &str)]) -> Value {
    let mut event = fixture("apigw-http-get-recommendations.json");
    let raw = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let single: serde_json::Map<String, Value> = query.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    event["rawQueryString"] = json!(raw);
    event["queryStringParameters"] = Value::Object(single);
    event["requestContext"]["stage"] = json!(stage);
    if stage != "$default" {
        // A named stage is part of the HTTP API's raw path.
        event["rawPath"] = json!(format!("/{stage}/v1/recommendations"));
        event["requestContext"]["http"]["path"] = event["rawPath"].clone();
    }
    event
}

/// The event through `lambda_http`'s conversion (as the runtime does) and the router.
async fn invoke(app: axum::Router, event: &Value) -> (u16, axum::http::HeaderMap, Value) {
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let response = app.oneshot(request.map(|b| axum::body::Body::from(b.to_vec()))).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status.as_u16(), parts.headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn skus(answer: &Value) -> Vec<&str> {
    answer["items"].as_array().unwrap().iter().map(|i| i["sku"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_product_page_on_the_rest_api_gets_what_is_bought_with_the_item() {
    let table = seeded_table().await;
    let app = app_on(dynamodb(), &table, None);
    let event = rest_event(&[("placement", "product"), ("sku", "tent"), ("limit", "3")]);
    let (status, headers, answer) = invoke(app, &event).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((answer["placement"].as_str(), answer["strategy"].as_str()), (Some("product"), Some("bought_together")));
    assert_eq!(skus(&answer)[0], "stove", "{answer}");
    assert!(!skus(&answer).contains(&"tent"), "not the item itself: {answer}");
    assert_eq!(answer["items"][0]["name"], "Camping Stove");
    assert_eq!(answer["items"][0]["price"], 40.0);
    assert!(answer["items"][0]["score"].as_f64().unwrap() > 0.0);
    let id = answer["recommendation_id"].as_str().unwrap();
    assert_eq!((id.len(), id.as_bytes()[14]), (36, b'7'), "a UUIDv7: {id}");
    assert_eq!(answer["generated_at"], "2026-11-22T10:01:00.000Z");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn an_unknown_sku_on_the_http_api_falls_back_to_trending_on_any_stage() {
    let table = seeded_table().await;
    for stage in ["$default", "prod"] {
        let app = app_on(dynamodb(), &table, None);
        let event = http_api_event(stage, &[("placement", "product"), ("sku", "never-seen")]);
        let (status, _, answer) = invoke(app, &event).await;
        assert_eq!(status, 200, "{stage}: {answer}");
        assert_eq!(answer["strategy"], "trending", "{stage}: {answer}");
        let mut got = skus(&answer);
        got.sort();
        assert_eq!(got, ["stove", "tent"], "{stage}: the popular items: {answer}");
    }
    // The same HTTP API event, known item: its neighbours, so the query really was read.
    let event = http_api_event("prod", &[("placement", "product"), ("sku", "stove")]);
    let (status, _, answer) = invoke(app_on(dynamodb(), &table, None), &event).await;
    assert_eq!((status, answer["strategy"].as_str(), skus(&answer)[0]), (200, Some("bought_together"), "tent"));
}

#[tokio::test]
async fn a_bad_parameter_is_400_with_the_parameter_and_a_reason() {
    let table = seeded_table().await;
    for (query, parameter) in [
        (&[("placement", "aisle")][..], "placement"),
        (&[("placement", "product")][..], "sku"),
        (&[("placement", "product"), ("sku", "tent"), ("limit", "0")][..], "limit"),
        (&[("placement", "cart")][..], "anonymous_id"),
    ] {
        let (status, headers, answer) = invoke(app_on(dynamodb(), &table, None), &rest_event(query)).await;
        assert_eq!(status, 400, "{query:?}: {answer}");
        assert_eq!((answer["error"].as_str(), answer["parameter"].as_str()), (Some("bad_parameter"), Some(parameter)));
        assert!(answer["reason"].as_str().is_some_and(|r| !r.is_empty()), "{answer}");
        assert!(!headers.contains_key("retry-after"));
    }
}

#[tokio::test]
async fn dynamodb_unavailable_is_503_with_retry_after_and_soon() {
    // A port nothing listens on: every call's connection is refused.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = app_on(dynamodb_at(&format!("http://127.0.0.1:{closed}")), "shopstream-state", None);
    let started = Instant::now();
    let (status, headers, answer) = invoke(app, &rest_event(&[("placement", "product"), ("sku", "tent")])).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(answer["error"], "unavailable");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_failing_read_is_tried_three_times_then_answered_503() {
    // A server that hangs up on every connection: each try of the read is one connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    let app = app_on(dynamodb_at(&format!("http://127.0.0.1:{port}")), "shopstream-state", None);
    let (status, headers, _) = invoke(app, &rest_event(&[("placement", "product"), ("sku", "tent")])).await;
    assert_eq!((status, headers.contains_key("retry-after")), (503, true));
    // The serving budget (the first try and two retries), not the processor's seven tries.
    assert_eq!(connections.load(Ordering::SeqCst), 3);
}

/// Tokens `good-<sub>` verify as `<sub>`; anything else is invalid.
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
async fn with_a_user_pool_a_user_id_needs_that_users_token() {
    let table = seeded_table().await;
    let app = app_on(dynamodb(), &table, Some(Arc::new(Tokens)));
    let mut event = rest_event(&[("placement", "home"), ("user_id", "u1")]);
    let (status, _, answer) = invoke(app.clone(), &event).await;
    assert_eq!((status, answer["error"].as_str()), (403, Some("forbidden")), "{answer}");
    event["headers"]["Authorization"] = json!("Bearer good-u2");
    assert_eq!(invoke(app.clone(), &event).await.0, 403, "another user's token");
    event["headers"]["Authorization"] = json!("Bearer good-u1");
    let (status, _, answer) = invoke(app.clone(), &event).await;
    assert_eq!((status, answer["strategy"].as_str()), (200, Some("trending")), "{answer}");
    let anonymous = rest_event(&[("placement", "home"), ("anonymous_id", "a")]);
    assert_eq!(invoke(app, &anonymous).await.0, 200, "an anonymous id needs no token");
}

#[test]
fn the_user_pool_is_configured_as_for_the_ingest_lambda() {
    // One stack configuration serves both functions: same names, same reading.
    let pairs = [
        (vars::COGNITO_POOL_ID, ingest_lambda::vars::COGNITO_POOL_ID),
        (vars::COGNITO_CLIENT_IDS, ingest_lambda::vars::COGNITO_CLIENT_IDS),
        (vars::COGNITO_REGION, ingest_lambda::vars::COGNITO_REGION),
        (vars::COGNITO_JWKS_URL, ingest_lambda::vars::COGNITO_JWKS_URL),
        (vars::AWS_REGION, ingest_lambda::vars::AWS_REGION),
    ];
    for (ours, theirs) in pairs {
        assert_eq!(ours, theirs);
    }
    let common = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut env = vec![
            (ingest_lambda::vars::STREAM_NAME, "events"),
            (ingest_lambda::vars::OPEN_ACCESS, "true"),
            (vars::STATE_TABLE, "shopstream-state"),
            (vars::AWS_REGION, "eu-west-1"),
            (vars::COGNITO_POOL_ID, "eu-west-1_abc"),
            (vars::COGNITO_CLIENT_IDS, "c1,c2"),
        ];
        env.extend_from_slice(extra);
        env.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    for extra in [
        &[][..],
        &[
            (vars::COGNITO_REGION, "us-east-1"),
            (vars::COGNITO_JWKS_URL, "http://127.0.0.1:5000/p/.well-known/jwks.json"),
        ],
    ] {
        let ours = RecsConfig::from_vars(common(extra)).unwrap().cognito.unwrap();
        let theirs = ingest_lambda::LambdaConfig::from_vars(common(extra)).unwrap().cognito.unwrap();
        assert_eq!(
            (ours.region, ours.pool_id, ours.client_ids, ours.jwks_url),
            (theirs.region, theirs.pool_id, theirs.client_ids, theirs.jwks_url)
        );
    }
}
