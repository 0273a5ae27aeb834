//! Who may send (write keys, CORS), who the shopper is (bearer tokens), what the edge adds
//! (enrichment), and where refused events go, through the router with no socket.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::{to_bytes, Body};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Extension;
use event_schema::Timestamp;
use ingest_domain::{
    AuthError, EnrichedEvent, EventSink, FixedClock, Ingest, RejectedEventSink, RejectedRecord, SinkError,
    TokenVerifier, VerifiedIdentity,
};
use ingest_http::{Access, ClientIp, Site};
use serde_json::{json, Value};
use tower::ServiceExt;

#[derive(Default)]
struct Memory {
    events: Mutex<Vec<EnrichedEvent>>,
    rejected: Mutex<Vec<RejectedRecord>>,
}

#[async_trait]
impl EventSink for Memory {
    async fn write(&self, events: &[EnrichedEvent]) -> Result<(), SinkError> {
        self.events.lock().unwrap().extend_from_slice(events);
        Ok(())
    }
    async fn ready(&self) -> Result<(), SinkError> {
        Ok(())
    }
}

#[async_trait]
impl RejectedEventSink for Memory {
    async fn write_rejected(&self, records: &[RejectedRecord]) -> Result<(), SinkError> {
        self.rejected.lock().unwrap().extend_from_slice(records);
        Ok(())
    }
}

/// Accepts `good-<sub>`, refuses anything else; `down` is "cannot check now".
struct StubVerifier;

#[async_trait]
impl TokenVerifier for StubVerifier {
    async fn verify(&self, token: &str) -> Result<VerifiedIdentity, AuthError> {
        match token {
            "down" => Err(AuthError::Unavailable("jwks unreachable".into())),
            t => t
                .strip_prefix("good-")
                .map(|sub| VerifiedIdentity { subject: sub.into() })
                .ok_or_else(|| AuthError::Invalid("signature does not verify".into())),
        }
    }
}

const NOW: &str = "2026-11-22T10:00:05.000Z";
const SHOP: &str = "https://shop.example";

fn ingest(memory: &Arc<Memory>) -> Ingest {
    Ingest::new(memory.clone(), Arc::new(FixedClock(Timestamp::parse_rfc3339(NOW).unwrap())))
        .with_token_verifier(Arc::new(StubVerifier))
        .with_rejected_sink(memory.clone())
}

fn keyed() -> Access {
    Access::write_keys([("wk_shop".to_string(), Site { name: "shop".into(), allowed_origins: vec![SHOP.into()] })])
}

fn batch(user_id: Option<&str>) -> Vec<u8> {
    let mut event = json!({
        "event_id": "019ab2c4-7e10-701c-801c-0000000000e1", "type": "page_view",
        "occurred_at": "2026-11-22T09:00:00.000Z", "anonymous_id": "anon-1", "session_id": "s-1", "properties": {}
    });
    if let Some(u) = user_id {
        event["user_id"] = json!(u);
    }
    // The device clock is one hour behind: sent 09:00:05 device time, received 10:00:05.
    serde_json::to_vec(&json!({"schema_version": 1, "sent_at": "2026-11-22T09:00:05.000Z", "events": [event]})).unwrap()
}

async fn call(app: axum::Router, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let res = app.oneshot(req).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = to_bytes(res.into_body(), usize::MAX).await.unwrap();
    (status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn post(uri: &str) -> axum::http::request::Builder {
    Request::post(uri).header("content-type", "text/plain")
}

#[tokio::test]
async fn a_write_key_is_required_and_must_be_known() {
    let memory = Arc::new(Memory::default());
    let app = || ingest_http::router_with_access(ingest(&memory), keyed());
    let (status, _, body) = call(app(), post("/v1/events").body(Body::from(batch(None))).unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["reason"].as_str().unwrap().contains("write key is required"), "{body}");
    let (status, _, body) = call(app(), post("/v1/events?write_key=nope").body(Body::from(batch(None))).unwrap()).await;
    assert_eq!((status, body["reason"].as_str()), (StatusCode::FORBIDDEN, Some("unknown write key")));
    assert!(memory.events.lock().unwrap().is_empty(), "nothing stored without a valid key");

    // By header, by query, and (Segment's way) as the Basic auth user: accepted, tagged with the site.
    let by_header = post("/v1/events").header("x-write-key", "wk_shop");
    let by_query = post("/v1/events?compression=identity&write_key=wk_shop");
    let by_basic = post("/v1/events").header("authorization", "Basic d2tfc2hvcDo="); // "wk_shop:"
    for req in [by_header, by_query, by_basic] {
        let (status, _, body) = call(app(), req.body(Body::from(batch(None))).unwrap()).await;
        assert_eq!((status, body["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{body}");
    }
    {
        let stored = memory.events.lock().unwrap();
        assert_eq!(stored.len(), 3);
        assert!(stored.iter().all(|e| e.edge.site.as_deref() == Some("shop")));
    }
    // Health endpoints need no key.
    let (status, _, _) = call(app(), Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn cors_allows_listed_origins_only_and_never_a_wildcard() {
    let memory = Arc::new(Memory::default());
    let app = || ingest_http::router_with_access(ingest(&memory), keyed());
    let preflight = |origin: &str, uri: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri(uri)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .body(Body::empty())
            .unwrap()
    };
    let (status, h, _) = call(app(), preflight(SHOP, "/v1/events?write_key=wk_shop")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(h["access-control-allow-origin"], SHOP);
    assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    assert!(h["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    assert!(h.get("access-control-allow-credentials").is_none());
    let (status, h, _) = call(app(), preflight("https://evil.example", "/v1/events?write_key=wk_shop")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(h.get("access-control-allow-origin").is_none());
    let (status, _, _) = call(app(), preflight(SHOP, "/v1/events?write_key=nope")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The key in a header is not in the preflight: any site's origin passes it, the POST decides.
    let (status, _, _) = call(app(), preflight(SHOP, "/v1/events")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, h, _) =
        call(app(), post("/v1/events?write_key=wk_shop").header("origin", SHOP).body(Body::from(batch(None))).unwrap())
            .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["access-control-allow-origin"], SHOP, "the allowed origin is echoed, not *");
    assert_eq!(h["vary"], "Origin");
    let evil = post("/v1/events?write_key=wk_shop").header("origin", "https://evil.example");
    let (status, h, body) = call(app(), evil.body(Body::from(batch(None))).unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["reason"].as_str().unwrap().contains("not allowed"), "{body}");
    assert_eq!(h["access-control-allow-origin"], "https://evil.example", "the refusal is readable by the tracker");
    // The ingest's own origin (the local storefront) is always allowed.
    let own =
        post("/v1/events?write_key=wk_shop").header("host", "127.0.0.1:8080").header("origin", "http://127.0.0.1:8080");
    assert_eq!(call(app(), own.body(Body::from(batch(None))).unwrap()).await.0, StatusCode::OK);
    assert_eq!(memory.events.lock().unwrap().len(), 2);

    // Open access: any origin is echoed.
    let open = ingest_http::router(ingest(&memory));
    let (status, h, _) =
        call(open, post("/v1/events").header("origin", "http://localhost:3000").body(Body::from(batch(None))).unwrap())
            .await;
    assert_eq!((status, h["access-control-allow-origin"].to_str().unwrap()), (StatusCode::OK, "http://localhost:3000"));
}

#[tokio::test]
async fn user_id_comes_from_a_verified_token_only() {
    let memory = Arc::new(Memory::default());
    let app = || ingest_http::router(ingest(&memory));
    // No token: the client's user_id is kept, untrusted, as claimed_user_id.
    let (status, _, _) = call(app(), post("/v1/events").body(Body::from(batch(Some("u-42")))).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    // A valid token: user_id is its subject; a different client user_id is only claimed.
    let with_token = post("/v1/events").header("authorization", "Bearer good-sub-7");
    assert_eq!(call(app(), with_token.body(Body::from(batch(Some("u-42")))).unwrap()).await.0, StatusCode::OK);
    let same = post("/v1/events").header("authorization", "bearer good-u-42");
    assert_eq!(call(app(), same.body(Body::from(batch(Some("u-42")))).unwrap()).await.0, StatusCode::OK);
    {
        let stored = memory.events.lock().unwrap();
        let ids: Vec<(Option<&str>, Option<&str>)> =
            stored.iter().map(|e| (e.event.user_id.as_deref(), e.claimed_user_id.as_deref())).collect();
        assert_eq!(ids, [(None, Some("u-42")), (Some("sub-7"), Some("u-42")), (Some("u-42"), None)]);
        let json: Value = serde_json::from_str(&stored[0].to_json().unwrap()).unwrap();
        assert_eq!(json["claimed_user_id"], "u-42");
        assert!(json.get("user_id").is_none_or(Value::is_null), "{json}");
    }

    // An invalid token is 401 with the reason, and nothing is stored.
    let forged = post("/v1/events").header("authorization", "Bearer forged.jwt.token");
    let (status, h, body) = call(app(), forged.body(Body::from(batch(Some("u-42")))).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(h["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    assert!(body["reason"].as_str().unwrap().contains("signature does not verify"), "{body}");
    assert!(!body.to_string().contains("forged.jwt.token"), "the token is never echoed");
    // Keys cannot be checked now: 503 + Retry-After, nothing stored.
    let down = post("/v1/events").header("authorization", "Bearer down");
    let (status, h, _) = call(app(), down.body(Body::from(batch(None))).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(h.contains_key("retry-after"));
    assert_eq!(memory.events.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn events_are_enriched_at_the_edge() {
    let memory = Arc::new(Memory::default());
    let app = ingest_http::router(ingest(&memory)).layer(Extension(ClientIp("203.0.113.77".parse().unwrap())));
    let req = post("/v1/events")
        .header("user-agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0")
        .header("cloudfront-viewer-country", "NL")
        .body(Body::from(batch(None)))
        .unwrap();
    assert_eq!(call(app, req).await.0, StatusCode::OK);
    let stored = memory.events.lock().unwrap();
    let json: Value = serde_json::from_str(&stored[0].to_json().unwrap()).unwrap();
    assert_eq!(json["received_at"], NOW);
    assert_eq!(json["client_occurred_at"], "2026-11-22T09:00:00.000Z");
    assert_eq!(json["occurred_at"], "2026-11-22T10:00:00.000Z", "corrected by the device's one-hour skew");
    assert_eq!(json["edge"]["ip_prefix"], "203.0.113.0/24");
    assert_eq!(json["edge"]["country"], "NL");
    assert_eq!(json["edge"]["browser"]["name"], "Firefox");
    assert_eq!(json["edge"]["os"]["name"], "Windows 10");
    assert_eq!(json["edge"]["device"], "desktop");
    assert_eq!(json["edge"]["bot"], false);
    assert!(!json.to_string().contains("203.0.113.77"), "the raw IP is never stored");
}

#[tokio::test]
async fn refused_events_and_batches_go_to_the_bad_events_sink_with_reasons() {
    let memory = Arc::new(Memory::default());
    let app = || ingest_http::router(ingest(&memory));
    let mut body: Value = serde_json::from_slice(&batch(None)).unwrap();
    let good = body["events"][0].clone();
    let mut bad = good.clone();
    bad["event_id"] = json!("019ab2c4-7e10-701c-801c-0000000000e2");
    bad["type"] = json!("teleport");
    body["events"] = json!([good, bad, good]);
    let (status, _, answer) = call(app(), post("/v1/events").body(Body::from(body.to_string())).unwrap()).await;
    assert_eq!((status, answer["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{answer}");
    let codes: Vec<&str> =
        answer["rejected"].as_array().unwrap().iter().map(|r| r["errors"][0]["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["unknown_event_type", "duplicate_event_id"]);
    assert!(answer["rejected"][0].get("raw").is_none(), "the raw event is not echoed to the client");

    let (status, _, _) = call(app(), post("/v1/events").body(Body::from("{not json")).unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let rejected = memory.rejected.lock().unwrap();
    assert_eq!(rejected.len(), 3);
    assert_eq!((rejected[0].scope, rejected[0].index), ("event", Some(1)));
    assert_eq!(rejected[0].event_id.as_deref(), Some("019ab2c4-7e10-701c-801c-0000000000e2"));
    assert!(rejected[0].raw.contains("teleport"));
    let stored = serde_json::to_value(&rejected[0]).unwrap();
    assert_eq!(stored["errors"][0]["code"], "unknown_event_type");
    assert!(stored["errors"][0]["reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!((rejected[1].index, rejected[1].errors[0].problem.code()), (Some(2), "duplicate_event_id"));
    assert_eq!((rejected[2].scope, rejected[2].raw.as_str()), ("batch", "{not json"));
    assert_eq!(rejected[2].errors[0].problem.code(), "not_json");
}
