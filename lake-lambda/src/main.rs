//! The lake build Lambda's entry point: reads the configuration once, builds the S3 client, wires
//! them to the job, and hands it to `lambda_runtime`. Nothing else happens here.

use lake_lambda::LakeJobConfig;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt().json().with_current_span(false).with_target(false).without_time().init();
    let config = LakeJobConfig::from_vars(std::env::vars())?;
    let mut aws = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &config.region {
        aws = aws.region(aws_config::Region::new(region.clone()));
    }
    let aws = aws.load().await;
    let s3 = aws_sdk_s3::Client::new(&aws);
    // Lambda's writable disk (`/tmp`, as TMPDIR leaves it).
    let work_dir = std::env::temp_dir();
    let (s3, config, work_dir) = (&s3, &config, work_dir.as_path());
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, lambda_runtime::Error>(lake_lambda::handle(s3, config, work_dir, event.payload).await?)
    }))
    .await
}
