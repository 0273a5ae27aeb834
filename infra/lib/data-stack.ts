// The data plane: the stream, the state table, the lake and what feeds them, the shoppers' user
// pool. Everything here that stores data is encrypted with the platform's KMS key (rotated
// yearly), and the processing path is Kinesis -> processor Lambda -> DynamoDB, with Firehose
// landing the same records in the lake's `raw/` and an hourly job building `curated/`.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ArnFormat, Aws, CfnOutput, Duration, RemovalPolicy, Size, Stack, StackProps } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

import { Artifacts } from './artifacts';
import { acknowledge, arnRef } from './nag';
import { RustFunction } from './rust-function';
import { Settings } from './settings';

/** The processor's Kinesis event source, stated (the tests read these). */
export const PROCESSOR_SOURCE = {
  batchSize: 500,
  maxBatchingWindow: Duration.seconds(1),
  retryAttempts: 20,
  maxRecordAge: Duration.days(1),
  parallelizationFactor: 1,
} as const;

/** Prefixes in the lake bucket (the `lake` crate's layout, plus what AWS writes beside it). */
export const LAKE = {
  raw: 'raw/',
  curated: 'curated/',
  reference: 'reference/',
  firehoseErrors: 'firehose-errors/',
  rejected: 'rejected/',
  athenaResults: 'athena-results/',
} as const;

/** The Glue tables, generated from the lake's Rust schema (`shopstream lake glue-tables`). */
interface LakeTable {
  name: string;
  location: string;
  format: 'json' | 'parquet';
  columns: { name: string; type: string }[];
  partitioned: boolean;
  parameters: Record<string, string>;
}

export function lakeTables(): LakeTable[] {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', 'lake-tables.json'), 'utf8')).tables as LakeTable[];
}

/** The lake bucket's name: unique per account and region, and known to other stacks without an export. */
export function lakeBucketName(settings: Settings): string {
  return `${settings.prefix}-lake-${Aws.ACCOUNT_ID}-${Aws.REGION}`;
}

export interface DataStackProps extends StackProps {
  settings: Settings;
  artifacts: Artifacts;
}

export class DataStack extends Stack {
  readonly key: kms.Key;
  readonly logsBucket: s3.Bucket;
  readonly lakeBucket: s3.Bucket;
  readonly stream: kinesis.Stream;
  readonly table: dynamodb.Table;
  readonly userPool: cognito.UserPool;
  readonly userPoolClient: cognito.UserPoolClient;
  readonly stockAlerts: sns.Topic;
  readonly processor: RustFunction;
  readonly processorDlq: sqs.Queue;
  readonly lakeBuild: RustFunction;
  readonly deliveryStream: firehose.CfnDeliveryStream;
  readonly glueDatabase: string;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { settings, artifacts } = props;
    const removal = settings.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.key = new kms.Key(this, 'Key', {
      alias: `alias/${settings.prefix}`,
      description: 'Shopstream: the stream, the state table, the lake, the alert topic and the DLQ',
      enableKeyRotation: true,
      removalPolicy: removal,
    });

    // Server access logs of the buckets and CloudFront's standard logs. Log delivery cannot write
    // with a KMS key, so this one bucket uses S3-managed keys.
    this.logsBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER, // CloudFront's standard logs use ACLs
      lifecycleRules: [{ id: 'expire', expiration: Duration.days(90) }],
      removalPolicy: removal,
      autoDeleteObjects: !settings.retainData, // dev: `cdk destroy` empties it first
    });
    acknowledge(this.logsBucket, 'This is the access-log bucket; logging it into itself would loop', 'S1');

    this.lakeBucket = new s3.Bucket(this, 'Lake', {
      bucketName: lakeBucketName(settings),
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true, // one KMS call per object prefix and hour, not per object
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsBucket: this.logsBucket,
      serverAccessLogsPrefix: 'lake/',
      lifecycleRules: [
        {
          id: 'raw-to-cheaper-storage',
          prefix: LAKE.raw,
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(90) },
          ],
        },
        {
          id: 'curated-to-infrequent-access',
          prefix: LAKE.curated,
          transitions: [{ storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(90) }],
        },
        { id: 'rejected-expire', prefix: LAKE.rejected, expiration: Duration.days(90) },
        { id: 'firehose-errors-expire', prefix: LAKE.firehoseErrors, expiration: Duration.days(30) },
        { id: 'athena-results-expire', prefix: LAKE.athenaResults, expiration: Duration.days(7) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: removal,
      autoDeleteObjects: !settings.retainData, // dev: `cdk destroy` empties it first
    });

    this.stream = new kinesis.Stream(this, 'Events', {
      streamName: `${settings.prefix}-events`,
      streamMode: settings.streamShards === undefined ? kinesis.StreamMode.ON_DEMAND : kinesis.StreamMode.PROVISIONED,
      shardCount: settings.streamShards,
      encryption: kinesis.StreamEncryption.KMS,
      encryptionKey: this.key,
      retentionPeriod: settings.streamRetention,
      removalPolicy: removal,
    });
    acknowledge(
      this.stream,
      "The platform's customer-managed key: rotated, shared by the stream's consumers' grants, deleted with the data",
      'KDS3',
    );

    // One table (the dynamodb-state crate's single-table layout): profiles `p#…`, item neighbours
    // and recommendations `n#…`/`r#…`/`t#…`, stock `s#…`, dedup markers `e#…` with a TTL.
    this.table = new dynamodb.Table(this, 'State', {
      tableName: `${settings.prefix}-state`,
      partitionKey: { name: 'k', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'ttl',
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      deletionProtection: settings.retainData,
      removalPolicy: removal,
    });

    this.userPool = new cognito.UserPool(this, 'Shoppers', {
      userPoolName: `${settings.prefix}-shoppers`,
      selfSignUpEnabled: true,
      signInAliases: { username: true, email: true },
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { sms: false, otp: true },
      deletionProtection: settings.retainData,
      removalPolicy: removal,
    });
    this.userPoolClient = this.userPool.addClient('Storefront', {
      userPoolClientName: `${settings.prefix}-storefront`,
      generateSecret: false, // a browser cannot keep one
      authFlows: { userPassword: true, userSrp: true },
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
    });
    acknowledge(
      this.userPool,
      'Shoppers may turn on TOTP MFA (optional); requiring it of every shopper would stop most sign-ups of a shop',
      'COG2',
    );
    acknowledge(
      this.userPool,
      "Threat protection needs the Plus plan (billed per monthly active user); an operator turns it on with the pool's feature plan when the shop's risk warrants it",
      'COG3',
      'COG8',
    );

    this.stockAlerts = new sns.Topic(this, 'StockAlerts', {
      topicName: `${settings.prefix}-stock-alerts`,
      displayName: 'Shopstream low-stock alerts',
      masterKey: this.key,
      enforceSSL: true,
    });

    // ---- processing: Kinesis -> processor -> DynamoDB (+ stock alerts) -------------------------
    this.processorDlq = new sqs.Queue(this, 'ProcessorFailures', {
      queueName: `${settings.prefix}-processor-failures`,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      this.processorDlq,
      "This queue is the processor's on-failure destination (pointers to Kinesis records), alarmed on depth",
      'SQS3',
    );

    this.processor = new RustFunction(this, 'Processor', {
      artifacts,
      settings,
      binary: 'processor',
      description: 'Kinesis -> profiles, item-to-item recommendations and stock in DynamoDB',
      memorySize: 512,
      timeout: Duration.seconds(60),
      environment: {
        SHOPSTREAM_STATE_TABLE: this.table.tableName,
        SHOPSTREAM_REJECTED_BUCKET: this.lakeBucket.bucketName,
        SHOPSTREAM_REJECTED_PREFIX: `${LAKE.rejected}processor/`,
        SHOPSTREAM_ALERT_TOPIC_ARN: this.stockAlerts.topicArn,
      },
    });
    const processorRole = this.processor.role;
    processorRole.addToPolicy(
      new iam.PolicyStatement({
        // TransactWriteItems is authorized by the actions inside it: the store's transactions only Put.
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem'],
        resources: [this.table.tableArn],
      }),
    );
    processorRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [this.lakeBucket.arnForObjects(`${LAKE.rejected}processor/*`)],
      }),
    );
    processorRole.addToPolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.stockAlerts.topicArn] }));
    processorRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [this.key.keyArn] }),
    );
    this.processor.fn.addEventSource(
      new sources.KinesisEventSource(this.stream, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: PROCESSOR_SOURCE.batchSize,
        maxBatchingWindow: PROCESSOR_SOURCE.maxBatchingWindow,
        reportBatchItemFailures: true,
        bisectBatchOnError: true,
        retryAttempts: PROCESSOR_SOURCE.retryAttempts,
        maxRecordAge: PROCESSOR_SOURCE.maxRecordAge,
        parallelizationFactor: PROCESSOR_SOURCE.parallelizationFactor,
        onFailure: new sources.SqsDlq(this.processorDlq),
      }),
    );
    acknowledge(
      processorRole,
      "The lake's rejected/processor/ object prefix: the processor names each object at run time",
      `IAM5[Resource::${arnRef(this.lakeBucket)}/${LAKE.rejected}processor/*]`,
    );
    acknowledge(
      processorRole,
      "The Kinesis event source's grant on the stream's key (decrypting records); scoped to that one key",
      'IAM5[Action::kms:GenerateDataKey*]',
      'IAM5[Action::kms:ReEncrypt*]',
    );

    // ---- lake: Firehose -> raw/, Glue tables, Athena, hourly curated build ----------------------
    const firehoseLogs = new logs.LogGroup(this, 'FirehoseLogs', {
      logGroupName: `/aws/kinesisfirehose/${settings.prefix}-raw`,
      retention: settings.logRetention,
      removalPolicy: removal,
    });
    const firehoseLogStream = firehoseLogs.addStream('S3Delivery', { logStreamName: 'S3Delivery' });
    const firehoseRole = new iam.Role(this, 'FirehoseRole', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com'),
      description: 'Firehose: read the event stream, write the lake raw/ prefix',
    });
    firehoseRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:GetShardIterator', 'kinesis:GetRecords', 'kinesis:ListShards'],
        resources: [this.stream.streamArn],
      }),
    );
    firehoseRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:AbortMultipartUpload', 's3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [this.lakeBucket.bucketArn],
      }),
    );
    firehoseRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [this.lakeBucket.arnForObjects(`${LAKE.raw}*`), this.lakeBucket.arnForObjects(`${LAKE.firehoseErrors}*`)],
      }),
    );
    firehoseRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [this.key.keyArn] }),
    );
    firehoseRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:PutLogEvents'],
        resources: [
          this.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: `${firehoseLogs.logGroupName}:log-stream:${firehoseLogStream.logStreamName}`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    acknowledge(
      firehoseRole,
      'Firehose names each object under these lake prefixes at delivery time',
      `IAM5[Resource::${arnRef(this.lakeBucket)}/${LAKE.raw}*]`,
      `IAM5[Resource::${arnRef(this.lakeBucket)}/${LAKE.firehoseErrors}*]`,
    );
    this.deliveryStream = new firehose.CfnDeliveryStream(this, 'RawDelivery', {
      deliveryStreamName: `${settings.prefix}-raw`,
      deliveryStreamType: 'KinesisStreamAsSource',
      kinesisStreamSourceConfiguration: { kinesisStreamArn: this.stream.streamArn, roleArn: firehoseRole.roleArn },
      extendedS3DestinationConfiguration: {
        bucketArn: this.lakeBucket.bucketArn,
        roleArn: firehoseRole.roleArn,
        // The lake's raw layout, by the UTC day Firehose received the record (the ingest's
        // received day, to within the buffer interval).
        prefix: `${LAKE.raw}dt=!{timestamp:yyyy-MM-dd}/`,
        errorOutputPrefix: `${LAKE.firehoseErrors}!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/`,
        bufferingHints: { intervalInSeconds: 300, sizeInMBs: 128 },
        compressionFormat: 'GZIP',
        fileExtension: '.jsonl.gz',
        encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: this.key.keyArn } },
        // Each Kinesis record is one event's JSON with no newline: add one, so the objects are JSON
        // lines (what the lake crate and Athena's JSON SerDe read).
        processingConfiguration: {
          enabled: true,
          processors: [{ type: 'AppendDelimiterToRecord', parameters: [{ parameterName: 'Delimiter', parameterValue: '\\n' }] }],
        },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: firehoseLogs.logGroupName,
          logStreamName: firehoseLogStream.logStreamName,
        },
      },
    });
    this.deliveryStream.node.addDependency(firehoseRole);
    acknowledge(
      this.deliveryStream,
      'Firehose server-side encryption applies to Direct PUT only; the source stream is KMS-encrypted and objects are written with the same KMS key',
      'KDF1',
    );

    this.glueDatabase = `${settings.prefix.replace(/-/g, '_')}_lake`;
    const database = new glue.CfnDatabase(this, 'LakeDatabase', {
      catalogId: this.account,
      databaseInput: { name: this.glueDatabase, description: 'Shopstream lake: raw events and the curated star schema' },
    });
    for (const t of lakeTables()) {
      const location = `s3://${this.lakeBucket.bucketName}/${t.location}`;
      const parameters: Record<string, string> = { ...t.parameters };
      if (t.partitioned) {
        parameters['storage.location.template'] = `${location}dt=\${dt}/`;
      }
      const table = new glue.CfnTable(this, `Table-${t.name}`, {
        catalogId: this.account,
        databaseName: this.glueDatabase,
        tableInput: {
          name: t.name,
          tableType: 'EXTERNAL_TABLE',
          parameters,
          partitionKeys: t.partitioned ? [{ name: 'dt', type: 'string' }] : [],
          storageDescriptor: {
            location,
            columns: t.columns,
            ...(t.format === 'json'
              ? {
                  inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
                  outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
                  serdeInfo: {
                    serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
                    parameters: { 'ignore.malformed.json': 'true' },
                  },
                }
              : {
                  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
                  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
                  serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
                }),
          },
        },
      });
      table.node.addDependency(database);
    }
    new athena.CfnWorkGroup(this, 'Athena', {
      name: `${settings.prefix}-lake`,
      description: 'Queries over the Shopstream lake (examples/sql)',
      recursiveDeleteOption: !settings.retainData,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: 10 * 1024 ** 3, // 10 GiB: $0.05 a query at most
        resultConfiguration: {
          outputLocation: `s3://${this.lakeBucket.bucketName}/${LAKE.athenaResults}`,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: this.key.keyArn },
        },
      },
    });

    this.lakeBuild = new RustFunction(this, 'LakeBuild', {
      artifacts,
      settings,
      binary: 'lakeBuild',
      description: 'Hourly: rebuilds the curated Parquet days whose raw files changed',
      memorySize: 2048,
      timeout: Duration.minutes(15),
      // The job copies the changed days' raw objects (gzip) to /tmp before building them.
      ephemeralStorageSize: Size.gibibytes(10),
      // One build at a time: two would race on the manifest (the lake crate's lock is local). An
      // account at Lambda's default concurrency limit (10) cannot reserve any: there,
      // `-c reserveLakeBuildConcurrency=false`, and the hourly schedule (each run well under an
      // hour) is what keeps runs apart.
      reservedConcurrentExecutions: settings.reserveLakeBuildConcurrency ? 1 : undefined,
      environment: { SHOPSTREAM_LAKE_BUCKET: this.lakeBucket.bucketName, SHOPSTREAM_LAKE_PREFIX: '' },
    });
    const lakeRole = this.lakeBuild.role;
    lakeRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.lakeBucket.bucketArn] }));
    lakeRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [LAKE.raw, LAKE.reference, LAKE.curated].map((p) => this.lakeBucket.arnForObjects(`${p}*`)),
      }),
    );
    lakeRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:DeleteObject'],
        resources: [this.lakeBucket.arnForObjects(`${LAKE.curated}*`)],
      }),
    );
    lakeRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [this.key.keyArn] }),
    );
    acknowledge(
      lakeRole,
      'The job lists and reads the days under these lake prefixes and rewrites curated/ objects it names at run time',
      ...[LAKE.raw, LAKE.reference, LAKE.curated].map((p) => `IAM5[Resource::${arnRef(this.lakeBucket)}/${p}*]`),
    );
    const schedulerRole = new iam.Role(this, 'LakeBuildSchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'EventBridge Scheduler: invoke the lake build',
    });
    // The target grants lambda:InvokeFunction on the function and its versions (`:*`).
    acknowledge(
      schedulerRole,
      "Invoking the lake-build function's versions (the target's grant); that one function only",
      `IAM5[Resource::${arnRef(this.lakeBuild.fn)}:*]`,
    );
    new CfnOutput(this, 'LakeBucket', { description: 'raw/, curated/, reference/ (products.jsonl, stores.jsonl)', value: this.lakeBucket.bucketName });
    new CfnOutput(this, 'AthenaWorkGroup', { description: 'Run examples/sql here', value: `${settings.prefix}-lake` });
    new CfnOutput(this, 'GlueDatabase', { value: this.glueDatabase });
    new CfnOutput(this, 'StockAlertsTopic', { description: 'Subscribe to receive low-stock alerts', value: this.stockAlerts.topicArn });
    new CfnOutput(this, 'ProcessorFailuresQueue', { value: this.processorDlq.queueUrl });
    new scheduler.Schedule(this, 'LakeBuildSchedule', {
      description: 'Builds the curated lake from raw/',
      schedule: scheduler.ScheduleExpression.rate(settings.lakeBuildEvery),
      target: new schedulerTargets.LambdaInvoke(this.lakeBuild.fn, {
        role: schedulerRole,
        retryAttempts: 2,
        maxEventAge: Duration.minutes(30),
      }),
    });
  }
}
