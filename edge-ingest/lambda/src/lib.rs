//! The ingest as an AWS Lambda behind API Gateway (REST): the same `ingest-http` router the local
//! server runs, plus what only AWS needs.
//!
//! - [`LambdaConfig::from_vars`] turns the function's environment (passed in by `main`; this
//!   library reads no environment variable) into settings, refusing incomplete ones at cold start.
//! - [`app`] puts the router behind two layers: the client IP from API Gateway's request context
//!   (enrichment truncates it; it is never stored or logged), and one CloudWatch Embedded Metric
//!   Format line per request ([`emf`]).

pub mod emf;

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use ingest_domain::Ingest;
use ingest_http::{Access, ClientIp, Site};
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use serde::Deserialize;

/// Environment variables the function reads (set by the CDK stack).
pub mod vars {
    /// Kinesis stream the accepted events go to. Required.
    pub const STREAM_NAME: &str = "SHOPSTREAM_STREAM_NAME";
    /// How long the sink may retry a batch before answering 503 (ms; default 3000, keep it well
    /// inside the function's timeout).
    pub const SINK_DEADLINE_MS: &str = "SHOPSTREAM_SINK_DEADLINE_MS";
    /// `{"<write key>": {"site": "<name>", "origins": ["https://shop.example"]}, ...}`. Required
    /// unless `SHOPSTREAM_OPEN_ACCESS=true`.
    pub const WRITE_KEYS: &str = "SHOPSTREAM_WRITE_KEYS";
    /// `true` accepts any request without a write key, from any origin (never in production).
    pub const OPEN_ACCESS: &str = "SHOPSTREAM_OPEN_ACCESS";
    /// Cognito user pool whose tokens identify signed-in shoppers; with the client ids. Optional:
    /// without them no `user_id` is trusted.
    pub const COGNITO_POOL_ID: &str = "SHOPSTREAM_COGNITO_POOL_ID";
    /// Comma-separated app client ids allowed in tokens.
    pub const COGNITO_CLIENT_IDS: &str = "SHOPSTREAM_COGNITO_CLIENT_IDS";
    /// The pool's region (default: the function's `AWS_REGION`).
    pub const COGNITO_REGION: &str = "SHOPSTREAM_COGNITO_REGION";
    /// Override of the JWKS URL (tests against an emulator; default: the pool's well-known URL).
    pub const COGNITO_JWKS_URL: &str = "SHOPSTREAM_COGNITO_JWKS_URL";
    /// S3 bucket (and prefix, default `rejected/`) for refused events. Optional: without it they are
    /// only logged.
    pub const REJECTED_BUCKET: &str = "SHOPSTREAM_REJECTED_BUCKET";
    pub const REJECTED_PREFIX: &str = "SHOPSTREAM_REJECTED_PREFIX";
    /// Set by Lambda.
    pub const AWS_REGION: &str = "AWS_REGION";
}

/// The function's settings.
#[derive(Clone, Debug)]
pub struct LambdaConfig {
    pub stream_name: String,
    pub sink_deadline: Duration,
    pub access: Access,
    pub cognito: Option<CognitoSettings>,
    pub rejected: Option<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CognitoSettings {
    pub region: String,
    pub pool_id: String,
    pub client_ids: Vec<String>,
    pub jwks_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

#[derive(Deserialize)]
struct SiteSpec {
    site: String,
    #[serde(default)]
    origins: Vec<String>,
}

pub const DEFAULT_SINK_DEADLINE: Duration = Duration::from_secs(3);

impl LambdaConfig {
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = vars.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect();
        let get = |k: &str| vars.get(k).map(|v| v.trim().to_string());
        let need = |k: &str| get(k).ok_or_else(|| ConfigError(format!("{k} is required")));

        let stream_name = need(vars::STREAM_NAME)?;
        let sink_deadline = match get(vars::SINK_DEADLINE_MS) {
            None => DEFAULT_SINK_DEADLINE,
            Some(ms) => match ms.parse::<u64>() {
                Ok(ms) if (1..=60_000).contains(&ms) => Duration::from_millis(ms),
                _ => return Err(ConfigError(format!("{} must be 1..=60000 ms, not {ms:?}", vars::SINK_DEADLINE_MS))),
            },
        };
        let access = match (get(vars::WRITE_KEYS), get(vars::OPEN_ACCESS).as_deref()) {
            (Some(json), _) => {
                let specs: HashMap<String, SiteSpec> = serde_json::from_str(&json)
                    .map_err(|e| ConfigError(format!("{} is not valid: {e}", vars::WRITE_KEYS)))?;
                if specs.is_empty() {
                    return Err(ConfigError(format!("{} has no key", vars::WRITE_KEYS)));
                }
                for spec in specs.values() {
                    if let Some(bad) = spec.origins.iter().find(|o| !ingest_http::access::is_valid_origin(o)) {
                        return Err(ConfigError(format!(
                            "{}: origin {bad:?} must be a scheme and host such as https://shop.example (no path, no wildcard)",
                            vars::WRITE_KEYS
                        )));
                    }
                }
                Access::write_keys(
                    specs.into_iter().map(|(k, s)| (k, Site { name: s.site, allowed_origins: s.origins })),
                )
            }
            (None, Some("true")) => Access::Open,
            (None, _) => {
                return Err(ConfigError(format!(
                    "{} is required (or {}=true to accept any request, never in production)",
                    vars::WRITE_KEYS,
                    vars::OPEN_ACCESS
                )))
            }
        };
        let cognito = match (get(vars::COGNITO_POOL_ID), get(vars::COGNITO_CLIENT_IDS)) {
            (None, None) => None,
            (Some(pool_id), Some(ids)) => {
                let region = get(vars::COGNITO_REGION).or_else(|| get(vars::AWS_REGION)).ok_or_else(|| {
                    ConfigError(format!("{} or {} is required", vars::COGNITO_REGION, vars::AWS_REGION))
                })?;
                let client_ids: Vec<String> =
                    ids.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
                Some(CognitoSettings { region, pool_id, client_ids, jwks_url: get(vars::COGNITO_JWKS_URL) })
            }
            _ => {
                return Err(ConfigError(format!(
                    "{} and {} go together",
                    vars::COGNITO_POOL_ID,
                    vars::COGNITO_CLIENT_IDS
                )))
            }
        };
        let rejected = get(vars::REJECTED_BUCKET)
            .map(|bucket| (bucket, get(vars::REJECTED_PREFIX).unwrap_or_else(|| "rejected/".into())));
        Ok(LambdaConfig { stream_name, sink_deadline, access, cognito, rejected })
    }
}

/// The router the function serves: ingest routes behind `access`, with the client IP from API
/// Gateway and an EMF metrics line per request.
pub fn app(ingest: Ingest, access: Access, metrics: emf::Emf) -> Router {
    let routes = ingest_http::router_with_access(ingest, access);
    Router::new()
        .fallback_service(tower::ServiceBuilder::new().map_request(strip_stage).service(routes))
        .layer(axum::middleware::from_fn(client_ip))
        .layer(axum::middleware::from_fn_with_state(metrics, emf::record))
}

/// `lambda_http` puts a REST API's stage in front of the path (`/prod/v1/events`) unless
/// `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set; the routes are stage-free, so the prefix goes.
fn strip_stage(mut request: Request) -> Request {
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage else { return request };
    let prefix = format!("/{stage}/");
    let uri = request.uri();
    if let Some(rest) = uri.path().strip_prefix(&prefix[..prefix.len() - 1]).filter(|r| r.starts_with('/')) {
        let path_and_query = match uri.query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_string(),
        };
        if let Ok(pq) = path_and_query.parse::<axum::http::uri::PathAndQuery>() {
            let mut parts = uri.clone().into_parts();
            parts.path_and_query = Some(pq);
            if let Ok(new) = axum::http::Uri::from_parts(parts) {
                *request.uri_mut() = new;
            }
        }
    }
    request
}

/// API Gateway's view of the caller (`requestContext.identity.sourceIp`), as a request extension.
async fn client_ip(mut request: Request, next: Next) -> Response {
    let ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.identity.source_ip.as_deref().and_then(|s| s.parse().ok()),
        _ => None,
    };
    if let Some(ip) = ip {
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_complete_environment_is_read() {
        let config = LambdaConfig::from_vars(vars(&[
            (vars::STREAM_NAME, "events"),
            (vars::SINK_DEADLINE_MS, "2500"),
            (vars::WRITE_KEYS, r#"{"wk_1": {"site": "shop", "origins": ["https://shop.example"]}}"#),
            (vars::COGNITO_POOL_ID, "eu-west-1_abc"),
            (vars::COGNITO_CLIENT_IDS, "c1, c2"),
            (vars::AWS_REGION, "eu-west-1"),
            (vars::REJECTED_BUCKET, "lake"),
        ]))
        .unwrap();
        assert_eq!(config.stream_name, "events");
        assert_eq!(config.sink_deadline, Duration::from_millis(2500));
        let Access::WriteKeys(keys) = &config.access else { panic!("keys expected") };
        assert_eq!(keys["wk_1"].allowed_origins, ["https://shop.example"]);
        let cognito = config.cognito.unwrap();
        assert_eq!((cognito.region.as_str(), cognito.client_ids.len()), ("eu-west-1", 2));
        assert_eq!(config.rejected, Some(("lake".into(), "rejected/".into())));
    }

    #[test]
    fn incomplete_or_unsafe_settings_are_refused_at_cold_start() {
        let base = [(vars::STREAM_NAME, "events"), (vars::OPEN_ACCESS, "true")];
        assert!(LambdaConfig::from_vars(vars(&base)).is_ok());
        let err = |pairs: &[(&str, &str)]| LambdaConfig::from_vars(vars(pairs)).unwrap_err().to_string();
        assert!(err(&[(vars::OPEN_ACCESS, "true")]).contains("SHOPSTREAM_STREAM_NAME is required"));
        assert!(err(&[(vars::STREAM_NAME, "events")]).contains("SHOPSTREAM_WRITE_KEYS is required"));
        assert!(err(&[(vars::STREAM_NAME, "e"), (vars::WRITE_KEYS, "{}")]).contains("no key"));
        assert!(err(&[(vars::STREAM_NAME, "e"), (vars::WRITE_KEYS, r#"{"k": {"site": "s", "origins": ["*"]}}"#)])
            .contains("no wildcard"));
        assert!(err(&[base[0], base[1], (vars::SINK_DEADLINE_MS, "0")]).contains("1..=60000"));
        assert!(err(&[base[0], base[1], (vars::COGNITO_POOL_ID, "p")]).contains("go together"));
        assert!(err(&[base[0], base[1], (vars::COGNITO_POOL_ID, "p"), (vars::COGNITO_CLIENT_IDS, "c")])
            .contains("AWS_REGION"));
    }
}
