//! `GET /v1/recommendations?placement=home|product|cart&anonymous_id=..&user_id=..&sku=..&limit=..`
//!
//! - `200` with `{recommendation_id, placement, strategy, items: [{sku, score, name?, price?, ...}],
//!   generated_at}`; `Cache-Control: no-store` (personal); any origin may read it (no cookies, no
//!   credentials: the shopper's ids are in the query), so a shop on another origin calls it directly
//!   (the SDK's `<shopstream-recs>` widget does). Every answer, errors included, carries
//!   `Access-Control-Allow-Origin: *`.
//! - `OPTIONS` (the CORS preflight a browser sends before a cross-origin `GET` with an
//!   `Authorization` header): `204`, any origin, `GET` with the `Authorization` header, cached by the
//!   browser for [`PREFLIGHT_MAX_AGE_SECS`].
//! - `400 {"error": "bad_parameter", "parameter", "reason"}` for a bad parameter; an unknown shopper
//!   or SKU is not an error (the answer falls back to trending).
//! - With a token verifier: a `user_id` is honoured only with `Authorization: Bearer <token>` whose
//!   `sub` is that user (`401` for an invalid token, `403` for another user's id), so nobody reads a
//!   signed-in shopper's recommendations by guessing their id. Without one (the local server, which
//!   has no user pool) `user_id` is taken as given.
//! - `503` with `Retry-After` when the state store fails.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ingest_domain::{AuthError, TokenVerifier};
use personalize::{RecRequest, Recommender};
use serde_json::json;

/// The route's path.
pub const PATH: &str = "/v1/recommendations";
/// How long a browser may reuse a preflight's answer (Chromium caps it at two hours).
pub const PREFLIGHT_MAX_AGE_SECS: u32 = 7200;

#[derive(Clone)]
struct Api {
    recommender: Recommender,
    verifier: Option<Arc<dyn TokenVerifier>>,
}

/// The API without token checks (`user_id` as given).
pub fn router(recommender: Recommender) -> Router {
    router_with_verifier(recommender, None)
}

/// The API; with `verifier`, a `user_id` needs a token for that user.
pub fn router_with_verifier(recommender: Recommender, verifier: Option<Arc<dyn TokenVerifier>>) -> Router {
    Router::new().route(PATH, get(recommend).options(preflight)).with_state(Api { recommender, verifier })
}

/// The CORS preflight: any origin may `GET` with an `Authorization` header (a signed-in shopper's
/// token); no credentials (cookies) are ever allowed, so `*` is safe.
async fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, OPTIONS"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("authorization"));
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(PREFLIGHT_MAX_AGE_SECS));
    response
}

fn error(status: StatusCode, body: serde_json::Value) -> Response {
    with_headers((status, Json(body)).into_response())
}

fn with_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

async fn recommend(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let request = match RecRequest::from_query(params.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        Ok(r) => r,
        Err(e) => {
            let body = json!({"error": "bad_parameter", "parameter": e.parameter, "reason": e.reason});
            return error(StatusCode::BAD_REQUEST, body);
        }
    };
    if let (Some(verifier), Some(user)) = (&api.verifier, &request.user_id) {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(token) = token else {
            let reason = "user_id needs an Authorization: Bearer token for that user";
            return error(StatusCode::FORBIDDEN, json!({"error": "forbidden", "reason": reason}));
        };
        match verifier.verify(token).await {
            Ok(identity) if identity.subject == *user => {}
            Ok(_) => {
                let reason = "the token is another user's";
                return error(StatusCode::FORBIDDEN, json!({"error": "forbidden", "reason": reason}));
            }
            Err(AuthError::Invalid(reason)) => {
                return error(StatusCode::UNAUTHORIZED, json!({"error": "unauthorized", "reason": reason}));
            }
            Err(AuthError::Unavailable(reason)) => {
                tracing::error!(%reason, "token verification unavailable; answering 503");
                return unavailable();
            }
        }
    }
    match api.recommender.recommend(&request).await {
        Ok(answer) => with_headers(Json(answer).into_response()),
        Err(e) => {
            tracing::error!(error = %e, "state store failed; answering 503");
            unavailable()
        }
    }
}

fn unavailable() -> Response {
    let mut response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"error": "unavailable", "reason": "recommendations are unavailable; retry shortly"}),
    );
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
