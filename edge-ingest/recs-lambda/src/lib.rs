//! The recommendations API (`GET /v1/recommendations`) as an AWS Lambda behind API Gateway (REST
//! API or HTTP API): the same `recs-http` router the local server runs, over personalize's
//! [`Recommender`] reading the state table the processor Lambda writes.
//!
//! - [`RecsConfig::from_vars`] turns the function's environment (passed in by `main`; this library
//!   reads no environment variable) into settings, refusing incomplete ones at cold start. The
//!   Cognito variables are the ingest Lambda's, read the same way, so one stack configuration
//!   serves both functions.
//! - [`state_store`] is the table as this function reads it: eventually consistent reads (half the
//!   cost; the API compares no version) and a short retry budget ([`STORE_RETRY_POLICY`]), so a
//!   DynamoDB outage is a quick `503` with `Retry-After` rather than a page waiting on a widget.
//! - [`app`] is the router the function serves: `recs-http`'s, with API Gateway's stage prefix
//!   removed from the path.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::Router;
use dynamodb_state::{DynamoStateStore, RetryPolicy};
use ingest_domain::TokenVerifier;
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use personalize::Recommender;

/// Environment variables the function reads (set by the CDK stack).
pub mod vars {
    /// The DynamoDB table the processor Lambda writes (profiles, items, trending lists). Required.
    pub const STATE_TABLE: &str = "SHOPSTREAM_STATE_TABLE";
    /// Cognito user pool whose tokens identify signed-in shoppers, with the client ids (the ingest
    /// Lambda's variables). Optional: without them a `user_id` is taken as given.
    pub const COGNITO_POOL_ID: &str = "SHOPSTREAM_COGNITO_POOL_ID";
    /// Comma-separated app client ids allowed in tokens.
    pub const COGNITO_CLIENT_IDS: &str = "SHOPSTREAM_COGNITO_CLIENT_IDS";
    /// The pool's region (default: the function's `AWS_REGION`).
    pub const COGNITO_REGION: &str = "SHOPSTREAM_COGNITO_REGION";
    /// Override of the JWKS URL (tests against an emulator; default: the pool's well-known URL).
    pub const COGNITO_JWKS_URL: &str = "SHOPSTREAM_COGNITO_JWKS_URL";
    /// Set by Lambda: the table's region, and the pool's unless `SHOPSTREAM_COGNITO_REGION` says.
    pub const AWS_REGION: &str = "AWS_REGION";
}

/// How long one DynamoDB call (a BatchGetItem of a few keys) may take before it counts as failed
/// and is retried: small reads answer in milliseconds, and an answer is a few of them in a row.
pub const DYNAMODB_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);

/// Retries of a read for serving: two, after full-jitter waits of at most 25 and 50 ms. With
/// [`DYNAMODB_ATTEMPT_TIMEOUT`], a read gives up within about 3.1 s and the API answers `503`
/// (the processor keeps the store's default budget of six retries).
pub const STORE_RETRY_POLICY: RetryPolicy =
    RetryPolicy { max_retries: 2, backoff_base: Duration::from_millis(25), backoff_cap: Duration::from_millis(100) };

/// The function's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecsConfig {
    pub state_table: String,
    /// The table's region (Lambda's own when `None`).
    pub region: Option<String>,
    /// `None`: no user pool, a `user_id` is taken as given.
    pub cognito: Option<CognitoSettings>,
}

/// The user pool whose tokens a `user_id` must come with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CognitoSettings {
    pub region: String,
    pub pool_id: String,
    pub client_ids: Vec<String>,
    pub jwks_url: Option<String>,
}

impl CognitoSettings {
    /// The verifier's configuration (its defaults for leeway, key cache and token uses).
    pub fn verifier_config(&self) -> ingest_cognito::CognitoConfig {
        let config = ingest_cognito::CognitoConfig::new(&self.region, &self.pool_id, &self.client_ids);
        match &self.jwks_url {
            Some(url) => config.with_jwks_url(url),
            None => config,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl RecsConfig {
    /// Reads the settings from `vars` (the process environment, which `main` passes). A blank
    /// value counts as absent.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = vars.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect();
        let get = |k: &str| vars.get(k).map(|v| v.trim().to_string());

        let state_table =
            get(vars::STATE_TABLE).ok_or_else(|| ConfigError(format!("{} is required", vars::STATE_TABLE)))?;
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if !(3..=255).contains(&state_table.len()) || !state_table.chars().all(valid_char) {
            return Err(ConfigError(format!(
                "{}: {state_table:?} is not a DynamoDB table name (3 to 255 of a-z, A-Z, 0-9, '_', '-', '.')",
                vars::STATE_TABLE
            )));
        }
        let region = get(vars::AWS_REGION);
        let cognito = match (get(vars::COGNITO_POOL_ID), get(vars::COGNITO_CLIENT_IDS)) {
            (None, None) => None,
            (Some(pool_id), Some(ids)) => {
                let region = get(vars::COGNITO_REGION).or_else(|| region.clone()).ok_or_else(|| {
                    ConfigError(format!("{} or {} is required", vars::COGNITO_REGION, vars::AWS_REGION))
                })?;
                let client_ids: Vec<String> =
                    ids.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
                if client_ids.is_empty() {
                    return Err(ConfigError(format!("{} names no client id", vars::COGNITO_CLIENT_IDS)));
                }
                Some(CognitoSettings { region, pool_id, client_ids, jwks_url: get(vars::COGNITO_JWKS_URL) })
            }
            (Some(_), None) => {
                return Err(ConfigError(format!(
                    "{} is set but {} is missing (they go together)",
                    vars::COGNITO_POOL_ID,
                    vars::COGNITO_CLIENT_IDS
                )))
            }
            (None, Some(_)) => {
                return Err(ConfigError(format!(
                    "{} is set but {} is missing (they go together)",
                    vars::COGNITO_CLIENT_IDS,
                    vars::COGNITO_POOL_ID
                )))
            }
        };
        Ok(RecsConfig { state_table, region, cognito })
    }
}

/// The state table as the API reads it: eventually consistent, with [`STORE_RETRY_POLICY`].
/// `client` should carry [`DYNAMODB_ATTEMPT_TIMEOUT`] as its operation attempt timeout.
pub fn state_store(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> DynamoStateStore {
    DynamoStateStore::new(client, table).with_consistent_reads(false).with_retry_policy(STORE_RETRY_POLICY)
}

/// The router the function serves: `GET /v1/recommendations` (with `verifier`, a `user_id` needs
/// that user's token), reached under any API Gateway stage.
pub fn app(recommender: Recommender, verifier: Option<Arc<dyn TokenVerifier>>) -> Router {
    let routes = recs_http::router_with_verifier(recommender, verifier);
    Router::new().fallback_service(tower::ServiceBuilder::new().map_request(strip_stage).service(routes))
}

/// `lambda_http` puts the stage in front of the path (`/prod/v1/recommendations`) for a REST API
/// and for an HTTP API's named stage (not `$default`) unless `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH`
/// is set; the routes are stage-free, so the prefix goes.
fn strip_stage(mut request: Request) -> Request {
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.stage.clone(),
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|s| s != "$default") else { return request };
    let uri = request.uri();
    let Some(rest) = uri.path().strip_prefix('/').and_then(|p| p.strip_prefix(stage.as_str())) else {
        return request;
    };
    if !rest.starts_with('/') {
        return request;
    }
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
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn err(pairs: &[(&str, &str)]) -> String {
        RecsConfig::from_vars(vars(pairs)).unwrap_err().to_string()
    }

    #[test]
    fn a_complete_environment_is_read() {
        let config = RecsConfig::from_vars(vars(&[
            (vars::STATE_TABLE, "shopstream-state"),
            (vars::AWS_REGION, "eu-west-1"),
            (vars::COGNITO_POOL_ID, "eu-west-1_abc"),
            (vars::COGNITO_CLIENT_IDS, "c1, c2,"),
            ("SHOPSTREAM_STREAM_NAME", "events"), // the ingest's: ignored here
        ]))
        .unwrap();
        let cognito = CognitoSettings {
            region: "eu-west-1".into(),
            pool_id: "eu-west-1_abc".into(),
            client_ids: vec!["c1".into(), "c2".into()],
            jwks_url: None,
        };
        assert_eq!(
            config,
            RecsConfig {
                state_table: "shopstream-state".into(),
                region: Some("eu-west-1".into()),
                cognito: Some(cognito)
            }
        );

        let config = RecsConfig::from_vars(vars(&[
            (vars::STATE_TABLE, " t.1 "),
            (vars::AWS_REGION, "eu-west-1"),
            (vars::COGNITO_POOL_ID, "us-east-1_xyz"),
            (vars::COGNITO_CLIENT_IDS, "c"),
            (vars::COGNITO_REGION, "us-east-1"),
            (vars::COGNITO_JWKS_URL, "http://127.0.0.1:5000/us-east-1_xyz/.well-known/jwks.json"),
        ]))
        .unwrap();
        assert_eq!(config.state_table, "t.1");
        let cognito = config.cognito.unwrap();
        assert_eq!((cognito.region.as_str(), config.region.as_deref()), ("us-east-1", Some("eu-west-1")));
        assert!(cognito.verifier_config().validate().is_ok());
        assert_eq!(
            cognito.verifier_config().jwks_url,
            "http://127.0.0.1:5000/us-east-1_xyz/.well-known/jwks.json",
            "the override reaches the verifier"
        );

        let config = RecsConfig::from_vars(vars(&[(vars::STATE_TABLE, "state"), (vars::AWS_REGION, " ")])).unwrap();
        assert_eq!(config, RecsConfig { state_table: "state".into(), region: None, cognito: None }, "blank is absent");
    }

    #[test]
    fn a_missing_or_bad_table_is_refused_at_cold_start() {
        assert_eq!(err(&[]), "configuration: SHOPSTREAM_STATE_TABLE is required");
        assert_eq!(err(&[(vars::STATE_TABLE, "  ")]), "configuration: SHOPSTREAM_STATE_TABLE is required");
        let spaced = err(&[(vars::STATE_TABLE, "a b")]);
        assert!(spaced.starts_with("configuration: SHOPSTREAM_STATE_TABLE: \"a b\" is not"), "{spaced}");
        assert!(err(&[(vars::STATE_TABLE, "ab")]).contains("not a DynamoDB table name"));
        assert!(err(&[(vars::STATE_TABLE, &"t".repeat(256))]).contains("not a DynamoDB table name"));
    }

    #[test]
    fn a_partly_configured_user_pool_is_refused_at_cold_start() {
        let table = (vars::STATE_TABLE, "state");
        let region = (vars::AWS_REGION, "eu-west-1");
        assert_eq!(
            err(&[table, region, (vars::COGNITO_POOL_ID, "p")]),
            concat!(
                "configuration: SHOPSTREAM_COGNITO_POOL_ID is set but SHOPSTREAM_COGNITO_CLIENT_IDS is missing ",
                "(they go together)"
            )
        );
        assert_eq!(
            err(&[table, region, (vars::COGNITO_CLIENT_IDS, "c")]),
            concat!(
                "configuration: SHOPSTREAM_COGNITO_CLIENT_IDS is set but SHOPSTREAM_COGNITO_POOL_ID is missing ",
                "(they go together)"
            )
        );
        assert_eq!(
            err(&[table, region, (vars::COGNITO_POOL_ID, "p"), (vars::COGNITO_CLIENT_IDS, " , ")]),
            "configuration: SHOPSTREAM_COGNITO_CLIENT_IDS names no client id"
        );
        assert_eq!(
            err(&[table, (vars::COGNITO_POOL_ID, "p"), (vars::COGNITO_CLIENT_IDS, "c")]),
            "configuration: SHOPSTREAM_COGNITO_REGION or AWS_REGION is required"
        );
    }

    #[test]
    fn serving_gives_up_on_the_store_within_3_1_seconds() {
        // Every attempt times out, then every backoff is at its ceiling: the worst case.
        let attempts = STORE_RETRY_POLICY.max_retries + 1;
        let waits = (0..STORE_RETRY_POLICY.max_retries)
            .map(|r| STORE_RETRY_POLICY.backoff_base.saturating_mul(2u32.pow(r)).min(STORE_RETRY_POLICY.backoff_cap))
            .sum::<Duration>();
        let worst = DYNAMODB_ATTEMPT_TIMEOUT * attempts + waits;
        assert_eq!(worst, Duration::from_millis(3_075), "the budget the docs state");
    }
}
