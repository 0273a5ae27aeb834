//! The ingest Lambda's entry point: reads the configuration once, builds the AWS clients, wires them
//! to the handler, and hands the router to `lambda_http`. Nothing else happens here.

use std::sync::Arc;

use ingest_cognito::{CognitoConfig, CognitoTokenVerifier};
use ingest_domain::{Ingest, SystemClock};
use ingest_kinesis::{KinesisEventSink, RetryPolicy};
use ingest_lambda::{emf::Emf, LambdaConfig};
use ingest_s3::S3RejectedEventSink;

// One thread: Lambda hands an execution environment one invocation at a time, and a current-thread
// runtime starts without spawning workers (0.2–0.5 ms less init, 0.4 MiB less memory in
// bench/README.md's cold starts).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt().json().with_current_span(false).with_target(false).without_time().init();
    let config = LambdaConfig::from_vars(std::env::vars())?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;

    let sink = Arc::new(KinesisEventSink::new(
        aws_sdk_kinesis::Client::new(&aws),
        &config.stream_name,
        RetryPolicy::with_deadline(config.sink_deadline),
    )?);
    let mut ingest = Ingest::new(sink.clone(), Arc::new(SystemClock));
    if let Some(c) = &config.cognito {
        let mut cognito = CognitoConfig::new(&c.region, &c.pool_id, &c.client_ids);
        if let Some(url) = &c.jwks_url {
            cognito = cognito.with_jwks_url(url);
        }
        ingest = ingest.with_token_verifier(Arc::new(CognitoTokenVerifier::new(cognito)?));
    } else {
        tracing::warn!("no Cognito pool configured: bearer tokens are not checked and no user_id is trusted");
    }
    if let Some((bucket, prefix)) = &config.rejected {
        let instance = std::env::var("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_else(|_| "local".into());
        let instance: String = instance.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let aws = aws.clone();
        let rejected =
            S3RejectedEventSink::on_first_use(move || aws_sdk_s3::Client::new(&aws), bucket, prefix, instance);
        ingest = ingest.with_rejected_sink(Arc::new(rejected));
    }
    let counters = {
        let sink = sink.clone();
        Arc::new(move || {
            let m = sink.metrics();
            (m.retries, m.give_ups)
        })
    };
    lambda_http::run(ingest_lambda::app(ingest, config.access, Emf::stdout(counters))).await
}
