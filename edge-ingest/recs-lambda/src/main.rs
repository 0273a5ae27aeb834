//! The recommendations Lambda's entry point: reads the configuration once, builds the DynamoDB
//! client and the token verifier, wires them to the router, and hands it to `lambda_http`. Nothing
//! else happens here.

use std::sync::Arc;

use ingest_cognito::CognitoTokenVerifier;
use ingest_domain::{SystemClock, TokenVerifier};
use personalize::recommend::ITEM_CACHE_TTL;
use personalize::Recommender;
use recs_lambda::{RecsConfig, DYNAMODB_ATTEMPT_TIMEOUT};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt().json().with_current_span(false).with_target(false).without_time().init();
    let config = RecsConfig::from_vars(std::env::vars())?;
    let mut aws = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &config.region {
        aws = aws.region(aws_config::Region::new(region.clone()));
    }
    let aws = aws.load().await;

    let timeouts =
        aws_config::timeout::TimeoutConfig::builder().operation_attempt_timeout(DYNAMODB_ATTEMPT_TIMEOUT).build();
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&aws).timeout_config(timeouts).build(),
    );
    let store = Arc::new(recs_lambda::state_store(dynamodb, &config.state_table));
    let recommender = Recommender::new(store, Arc::new(SystemClock)).with_item_cache(ITEM_CACHE_TTL);
    let verifier: Option<Arc<dyn TokenVerifier>> = match &config.cognito {
        Some(c) => Some(Arc::new(CognitoTokenVerifier::new(c.verifier_config())?)),
        None => {
            tracing::warn!("no Cognito pool configured: a user_id is taken as given, without a token");
            None
        }
    };
    lambda_http::run(recs_lambda::app(recommender, verifier)).await
}
