//! The processor Lambda's entry point: reads the configuration once, builds the AWS clients, wires
//! them to the handler, and hands it to `lambda_runtime`. Nothing else happens here.

use std::sync::Arc;

use aws_lambda_events::event::kinesis::KinesisEvent;
use dynamodb_state::DynamoStateStore;
use ingest_s3::S3RejectedEventSink;
use ingest_sns::SnsAlertSink;
use lambda_runtime::{service_fn, LambdaEvent};
use personalize::{NoStartingStock, Processor};
use processor_lambda::{Emf, ProcessorConfig, DYNAMODB_ATTEMPT_TIMEOUT};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt().json().with_current_span(false).with_target(false).without_time().init();
    let config = ProcessorConfig::from_vars(std::env::vars())?;
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
    let mut processor = Processor::new(Arc::new(DynamoStateStore::new(dynamodb, &config.state_table)));
    match &config.rejected {
        Some(r) => {
            // Made with the first undecodable records: most invocations have none.
            let s3_config = aws.clone();
            let make = move || aws_sdk_s3::Client::new(&s3_config);
            let sink = S3RejectedEventSink::on_first_use(make, &r.bucket, &r.prefix, &config.instance);
            processor = processor.with_rejected_sink(Arc::new(sink));
        }
        None => tracing::warn!("no bad-events bucket configured: records that cannot be processed are only logged"),
    }
    match &config.alert_topic {
        Some(topic) => {
            // The topic's own region: SNS publishes only through the endpoint of the topic's region.
            let sns = aws_sdk_sns::Client::from_conf(
                aws_sdk_sns::config::Builder::from(&aws).region(aws_config::Region::new(topic.region.clone())).build(),
            );
            let alerts = SnsAlertSink::new(sns, topic.arn.clone());
            // Stock is known from the stores' `inventory_snapshot` counts only: the Lambda has no catalog.
            processor = processor.with_alerts(Arc::new(alerts), Arc::new(NoStartingStock));
        }
        None => tracing::info!("no alert topic configured: stock is not kept and no low-stock alert is raised"),
    }
    let emf = Emf::stdout();
    lambda_runtime::run(service_fn(|event: LambdaEvent<KinesisEvent>| {
        let (processor, emf) = (processor.clone(), emf.clone());
        async move { Ok::<_, lambda_runtime::Error>(processor_lambda::handle(&processor, &emf, event.payload).await) }
    }))
    .await
}
