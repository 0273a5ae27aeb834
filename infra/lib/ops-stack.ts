// Operations: alarms on what loses or delays events, to one SNS topic (e-mailed when `alarmEmail`
// is set), and a dashboard of the pipeline from request to lake.

import { CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

import { DataStack } from './data-stack';
import { Settings } from './settings';
import { WebStack } from './web-stack';

/** Every alarm's threshold, stated once (the tests read these). */
export const THRESHOLDS = {
  /** Function errors (crashes, timeouts) per function in 5 minutes. */
  lambdaErrors: 1,
  /** Throttled invocations per function in 5 minutes. */
  lambdaThrottles: 1,
  /** The processor's lag behind the stream, ms (maximum over a minute, 5 minutes running). */
  iteratorAgeMs: 60_000,
  /** Kinesis writes refused for throughput in 5 minutes (the ingest retries them; sustained is a problem). */
  kinesisWriteThrottles: 1,
  /** Share of API requests answered 5xx in 5 minutes (API Gateway's `5XXError` average). */
  api5xxRate: 0.01,
  /** Records in the processor's on-failure queue. */
  dlqDepth: 1,
  /** Age of the oldest record Firehose has not delivered to the lake, seconds. */
  lakeFreshnessSeconds: 900,
} as const;

export interface OpsStackProps extends StackProps {
  settings: Settings;
  data: DataStack;
  web: WebStack;
}

export class OpsStack extends Stack {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OpsStackProps) {
    super(scope, id, props);
    const { settings, data, web } = props;

    // Its own key: CloudWatch must be allowed to encrypt to it, and the data key stays closed.
    const key = new kms.Key(this, 'AlarmsKey', {
      alias: `alias/${settings.prefix}-alarms`,
      description: 'Shopstream alarm topic',
      enableKeyRotation: true,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'], // in a key policy, "*" is this key
      }),
    );
    this.topic = new sns.Topic(this, 'Alarms', {
      topicName: `${settings.prefix}-alarms`,
      displayName: 'Shopstream alarms',
      masterKey: key,
      enforceSSL: true,
    });
    // `enforceSSL` gives the topic a policy of its own, which replaces SNS's default one: CloudWatch
    // must be allowed to publish explicitly (from this account's alarms only).
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    if (settings.alarmEmail !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail));
    }
    const action = new actions.SnsAction(this.topic);
    const five = Duration.minutes(5);
    const alarm = (id: string, metric: cloudwatch.IMetric, threshold: number, description: string, evaluationPeriods = 1) => {
      const a = new cloudwatch.Alarm(this, id, {
        alarmName: `${settings.prefix}-${id}`,
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods,
        datapointsToAlarm: evaluationPeriods,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(action);
      a.addOkAction(action);
      return a;
    };

    const functions = [
      ['Ingest', web.ingest.fn],
      ['Recommendations', web.recommendations.fn],
      ['Processor', data.processor.fn],
      ['LakeBuild', data.lakeBuild.fn],
    ] as const;
    for (const [name, fn] of functions) {
      alarm(`${name}Errors`, fn.metricErrors({ period: five, statistic: 'Sum' }), THRESHOLDS.lambdaErrors, `${name} Lambda errors (crash or timeout)`);
      alarm(`${name}Throttles`, fn.metricThrottles({ period: five, statistic: 'Sum' }), THRESHOLDS.lambdaThrottles, `${name} Lambda throttled`);
    }
    alarm(
      'ProcessorIteratorAge',
      new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName: 'IteratorAge',
        dimensionsMap: { FunctionName: data.processor.fn.functionName },
        statistic: 'Maximum',
        period: Duration.minutes(1),
      }),
      THRESHOLDS.iteratorAgeMs,
      'The processor lags the stream by over a minute (profiles and recommendations are stale)',
      5,
    );
    alarm(
      'KinesisWriteThrottles',
      data.stream.metricWriteProvisionedThroughputExceeded({ period: five, statistic: 'Sum' }),
      THRESHOLDS.kinesisWriteThrottles,
      'Kinesis refused writes for throughput (on-demand: traffic more than doubled its peak within 15 minutes)',
      2,
    );
    alarm(
      'Api5xxRate',
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName: '5XXError',
        dimensionsMap: { ApiName: web.api.restApiName, Stage: web.api.deploymentStage.stageName },
        statistic: 'Average',
        period: five,
      }),
      THRESHOLDS.api5xxRate,
      'Over 1% of API requests answered 5xx (the tracker keeps the events and retries)',
      2,
    );
    alarm(
      'ProcessorDlqDepth',
      data.processorDlq.metricApproximateNumberOfMessagesVisible({ period: five, statistic: 'Maximum' }),
      THRESHOLDS.dlqDepth,
      'Kinesis records the processor gave up on: replay them from the stream within its retention',
    );
    alarm(
      'LakeFreshness',
      new cloudwatch.Metric({
        namespace: 'AWS/Firehose',
        metricName: 'DeliveryToS3.DataFreshness',
        dimensionsMap: { DeliveryStreamName: data.deliveryStream.deliveryStreamName! },
        statistic: 'Maximum',
        period: five,
      }),
      THRESHOLDS.lakeFreshnessSeconds,
      'Firehose is over 15 minutes behind delivering events to the lake',
      2,
    );

    // ---- the dashboard ----------------------------------------------------------------------------
    const apiMetric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiName: web.api.restApiName, Stage: web.api.deploymentStage.stageName },
        statistic,
        period: Duration.minutes(1),
      });
    // The Lambdas' embedded-metric lines carry a dimension (ingest: Route or Reason; processor:
    // Stream): a search sums over its values.
    const emf = (namespace: string, dimension: string, metricName: string) =>
      new cloudwatch.MathExpression({
        expression: `SUM(SEARCH('{${namespace},${dimension}} MetricName="${metricName}"', 'Sum', 60))`,
        label: metricName,
        period: Duration.minutes(1),
      });
    new CfnOutput(this, 'AlarmTopic', { value: this.topic.topicArn });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${settings.prefix}-pipeline`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests and errors',
        left: [apiMetric('Count', 'Sum'), apiMetric('4XXError', 'Sum'), apiMetric('5XXError', 'Sum')],
      }),
      new cloudwatch.GraphWidget({ title: 'API latency p99 (ms)', left: [apiMetric('Latency', 'p99'), apiMetric('IntegrationLatency', 'p99')] }),
      new cloudwatch.GraphWidget({
        title: 'Events accepted and refused (ingest EMF)',
        left: [emf('Shopstream/Ingest', 'Route', 'EventsAccepted'), emf('Shopstream/Ingest', 'Reason', 'EventsRejected')],
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Kinesis: records in, write throttles',
        left: [data.stream.metricIncomingRecords({ statistic: 'Sum' }), data.stream.metricWriteProvisionedThroughputExceeded({ statistic: 'Sum' })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Processor lag (iterator age, ms)',
        left: [
          new cloudwatch.Metric({
            namespace: 'AWS/Lambda',
            metricName: 'IteratorAge',
            dimensionsMap: { FunctionName: data.processor.fn.functionName },
            statistic: 'Maximum',
          }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda errors',
        left: functions.map(([, fn]) => fn.metricErrors({ statistic: 'Sum' })),
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Processor: applied, duplicates, alerts (EMF)',
        left: [
          emf('Shopstream/Processor', 'Stream', 'Applied'),
          emf('Shopstream/Processor', 'Stream', 'Duplicates'),
          emf('Shopstream/Processor', 'Stream', 'Alerts'),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'DynamoDB consumed capacity',
        left: [data.table.metricConsumedReadCapacityUnits(), data.table.metricConsumedWriteCapacityUnits()],
      }),
      new cloudwatch.SingleValueWidget({
        title: 'Failed records (DLQ) and lake freshness (s)',
        metrics: [
          data.processorDlq.metricApproximateNumberOfMessagesVisible(),
          new cloudwatch.Metric({
            namespace: 'AWS/Firehose',
            metricName: 'DeliveryToS3.DataFreshness',
            dimensionsMap: { DeliveryStreamName: data.deliveryStream.deliveryStreamName! },
            statistic: 'Maximum',
          }),
        ],
      }),
    );
  }
}
