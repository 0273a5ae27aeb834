// Properties of the synthesized platform that matter for security, cost and reliability, checked
// offline with aws-cdk-lib/assertions. Each test names what it protects; none counts resources.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { buildPlatform } from '../lib/app';
import { PROCESSOR_SOURCE } from '../lib/data-stack';
import { THRESHOLDS } from '../lib/ops-stack';
import { API_PATHS, ORIGIN_VERIFY_HEADER, VIEWER_IP_HEADER } from '../lib/web-stack';
import { INLINE_SCRIPT, synthPlatform } from './fixture';

type Json = Record<string, any>;

const dev = synthPlatform({ env: 'dev' });
const prod = synthPlatform({
  env: 'prod',
  sites: JSON.stringify({ wk_partner: { site: 'partner', origins: ['https://partner.example'] } }),
  storefrontOrigins: 'https://shop.example',
  alarmEmail: 'ops@example.com',
});
const templates = (p: typeof dev) => ({
  data: Template.fromStack(p.platform.data),
  web: Template.fromStack(p.platform.web),
  ops: Template.fromStack(p.platform.ops),
});
const t = templates(dev);
const tp = templates(prod);
const all = (x: typeof t) => [x.data, x.web, x.ops];

function resources(template: Template, type: string): [string, Json][] {
  return Object.entries(template.findResources(type)) as [string, Json][];
}

function onlyResource(template: Template, type: string): Json {
  const found = resources(template, type);
  assert.equal(found.length, 1, `one ${type}`);
  return found[0][1];
}

/** The handler of the dev Web stack's CloudFront Function whose code contains `marker`, runnable here. */
function cloudFrontHandler(marker: string): (event: Json) => Json {
  const code = resources(t.web, 'AWS::CloudFront::Function')
    .map(([, f]) => f.Properties.FunctionCode as string)
    .find((c) => c.includes(marker));
  assert.ok(code, `a CloudFront Function containing ${marker}`);
  return new Function(`${code}; return handler;`)();
}

/** The logical id of the one resource of `type` whose properties match `props`. */
function logicalId(template: Template, type: string, props: Json = {}): string {
  const found = Object.keys(template.findResources(type, { Properties: Match.objectLike(props) }));
  assert.equal(found.length, 1, `one ${type} like ${JSON.stringify(props)}: ${found}`);
  return found[0];
}

describe('encryption at rest on every store', () => {
  it('every bucket is encrypted, private and TLS-only; the lake uses the platform key', () => {
    for (const template of all(t)) {
      for (const [id, bucket] of resources(template, 'AWS::S3::Bucket')) {
        const rules = bucket.Properties.BucketEncryption?.ServerSideEncryptionConfiguration;
        assert.ok(rules?.length > 0, `${id} has no default encryption`);
        assert.deepEqual(bucket.Properties.PublicAccessBlockConfiguration, {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        });
      }
      const policies = resources(template, 'AWS::S3::BucketPolicy').map(([, p]) => p.Properties);
      for (const [id] of resources(template, 'AWS::S3::Bucket')) {
        const policy = policies.find((p) => p.Bucket.Ref === id);
        assert.ok(policy, `${id} has no bucket policy`);
        const denyInsecure = policy!.PolicyDocument.Statement.some(
          (s: Json) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
        );
        assert.ok(denyInsecure, `${id} does not refuse plain HTTP`);
      }
    }
    const key = logicalId(t.data, 'AWS::KMS::Key');
    t.data.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['shopstream-dev-lake-'])]) }),
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [key, 'Arn'] } },
          },
        ],
      },
    });
  });

  it('the stream, the table, the queue and the topics are encrypted with customer-managed keys that rotate', () => {
    const key = logicalId(t.data, 'AWS::KMS::Key');
    t.data.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.ops.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.data.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: { 'Fn::GetAtt': [key, 'Arn'] } },
    });
    t.data.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] } },
    });
    t.data.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] } });
    // Customer-managed keys (CloudWatch cannot publish to a topic under `alias/aws/sns`).
    for (const template of all(t)) {
      const keys = Object.keys(template.findResources('AWS::KMS::Key'));
      for (const [id, topic] of resources(template, 'AWS::SNS::Topic')) {
        assert.deepEqual(topic.Properties.KmsMasterKeyId, { 'Fn::GetAtt': [keys[0], 'Arn'] }, id);
      }
    }
    const firehose = onlyResource(t.data, 'AWS::KinesisFirehose::DeliveryStream').Properties;
    assert.deepEqual(firehose.ExtendedS3DestinationConfiguration.EncryptionConfiguration, {
      KMSEncryptionConfig: { AWSKMSKeyARN: { 'Fn::GetAtt': [key, 'Arn'] } },
    });
    const athena = onlyResource(t.data, 'AWS::Athena::WorkGroup').Properties;
    assert.equal(athena.WorkGroupConfiguration.ResultConfiguration.EncryptionConfiguration.EncryptionOption, 'SSE_KMS');
  });
});

describe('the state table', () => {
  it('is on demand, with point-in-time recovery and the dedup markers TTL', () => {
    for (const x of [t, tp]) {
      x.data.hasResourceProperties('AWS::DynamoDB::Table', {
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
      });
    }
  });

  it('is kept when prod is deleted, and protected from deletion', () => {
    const table = onlyResource(tp.data, 'AWS::DynamoDB::Table');
    assert.equal(table.DeletionPolicy, 'Retain');
    assert.equal(table.Properties.DeletionProtectionEnabled, true);
    assert.equal(onlyResource(t.data, 'AWS::DynamoDB::Table').DeletionPolicy, 'Delete');
  });
});

describe('the stream', () => {
  it('is on demand unless shards are given', () => {
    t.data.hasResourceProperties('AWS::Kinesis::Stream', { StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
    const provisioned = Template.fromStack(synthPlatform({ env: 'dev', streamShards: '4' }).platform.data);
    provisioned.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      ShardCount: 4,
    });
    tp.data.hasResourceProperties('AWS::Kinesis::Stream', { RetentionPeriodHours: 168 });
  });
});

describe('the processor', () => {
  it("reads the stream with the stated batch, window, partial failures, bisection, bounded retries and an on-failure queue", () => {
    const queue = logicalId(t.data, 'AWS::SQS::Queue');
    const fn = logicalId(t.data, 'AWS::Lambda::Function', { FunctionName: 'shopstream-dev-processor' });
    const stream = logicalId(t.data, 'AWS::Kinesis::Stream');
    t.data.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fn },
      EventSourceArn: { 'Fn::GetAtt': [stream, 'Arn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: PROCESSOR_SOURCE.batchSize,
      MaximumBatchingWindowInSeconds: PROCESSOR_SOURCE.maxBatchingWindow.toSeconds(),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: PROCESSOR_SOURCE.retryAttempts,
      MaximumRecordAgeInSeconds: PROCESSOR_SOURCE.maxRecordAge.toSeconds(),
      ParallelizationFactor: 1,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queue, 'Arn'] } } },
    });
    assert.ok(PROCESSOR_SOURCE.retryAttempts > 0 && PROCESSOR_SOURCE.retryAttempts < 10_000, 'bounded');
  });

  it('is told the table, the rejected prefix and the alert topic', () => {
    t.data.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'shopstream-dev-processor',
      Environment: {
        Variables: Match.objectLike({
          SHOPSTREAM_STATE_TABLE: { Ref: logicalId(t.data, 'AWS::DynamoDB::Table') },
          SHOPSTREAM_REJECTED_PREFIX: 'rejected/processor/',
          SHOPSTREAM_ALERT_TOPIC_ARN: { Ref: logicalId(t.data, 'AWS::SNS::Topic') },
        }),
      },
    });
  });
});

describe('the Lambdas', () => {
  it("are given only variables their crates read (each crate's `vars` module), and the ones each requires", () => {
    const required: Record<string, string[]> = {
      'shopstream-dev-ingest': ['SHOPSTREAM_STREAM_NAME', 'SHOPSTREAM_WRITE_KEYS', 'SHOPSTREAM_COGNITO_POOL_ID', 'SHOPSTREAM_COGNITO_CLIENT_IDS', 'SHOPSTREAM_REJECTED_BUCKET'],
      'shopstream-dev-processor': ['SHOPSTREAM_STATE_TABLE', 'SHOPSTREAM_REJECTED_BUCKET', 'SHOPSTREAM_ALERT_TOPIC_ARN'],
      'shopstream-dev-recommendations': ['SHOPSTREAM_STATE_TABLE', 'SHOPSTREAM_COGNITO_POOL_ID', 'SHOPSTREAM_COGNITO_CLIENT_IDS'],
      'shopstream-dev-lake-build': ['SHOPSTREAM_LAKE_BUCKET'],
    };
    const crates: Record<string, string> = {
      'shopstream-dev-ingest': 'edge-ingest/lambda/src/lib.rs',
      'shopstream-dev-processor': 'edge-ingest/processor-lambda/src/lib.rs',
      'shopstream-dev-recommendations': 'edge-ingest/recs-lambda/src/lib.rs',
      'shopstream-dev-lake-build': 'lake-lambda/src/lib.rs',
    };
    const seen: string[] = [];
    for (const template of [t.data, t.web]) {
      for (const [, fn] of resources(template, 'AWS::Lambda::Function')) {
        const source = crates[fn.Properties.FunctionName];
        if (source === undefined) continue;
        seen.push(fn.Properties.FunctionName);
        const rust = readFileSync(join(__dirname, '..', '..', '..', source), 'utf8');
        const declared = new Set([...rust.matchAll(/pub const [A-Z_]+: &str = "([A-Z_]+)";/g)].map((m) => m[1]));
        const given = Object.keys(fn.Properties.Environment.Variables);
        for (const name of given) {
          assert.ok(declared.has(name), `${fn.Properties.FunctionName} is given ${name}, which ${source} does not read`);
        }
        for (const name of required[fn.Properties.FunctionName]) {
          assert.ok(given.includes(name), `${fn.Properties.FunctionName} lacks ${name}`);
        }
      }
    }
    assert.deepEqual(seen.sort(), Object.keys(crates).sort());
  });

  it('are Rust on provided.al2023, arm64, traced, with their own log group and retention', () => {
    for (const [x, days] of [
      [t, 14],
      [tp, 90],
    ] as const) {
      const seen: string[] = [];
      for (const template of [x.data, x.web]) {
        for (const [id, fn] of resources(template, 'AWS::Lambda::Function')) {
          if (!String(fn.Properties.FunctionName).startsWith('shopstream-')) continue; // CDK's own handlers
          seen.push(fn.Properties.FunctionName);
          const p = fn.Properties;
          assert.equal(p.Runtime, 'provided.al2023', id);
          assert.deepEqual(p.Architectures, ['arm64'], id);
          assert.equal(p.Handler, 'bootstrap', id);
          assert.deepEqual(p.TracingConfig, { Mode: 'Active' }, id);
          const group = p.LoggingConfig.LogGroup.Ref;
          assert.equal(template.toJSON().Resources[group].Properties.RetentionInDays, days, id);
        }
      }
      assert.deepEqual(seen.sort(), ['ingest', 'lake-build', 'processor', 'recommendations'].map((n) => `${x === t ? 'shopstream-dev' : 'shopstream-prod'}-${n}`));
    }
  });

  it('the lake build runs alone, every hour', () => {
    const fn = logicalId(t.data, 'AWS::Lambda::Function', { FunctionName: 'shopstream-dev-lake-build' });
    t.data.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'shopstream-dev-lake-build',
      ReservedConcurrentExecutions: 1,
      Timeout: 900,
      EphemeralStorage: { Size: 10240 },
      Environment: { Variables: Match.objectLike({ SHOPSTREAM_LAKE_PREFIX: '' }) },
    });
    t.data.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [fn, 'Arn'] } }),
    });
    // An account at the default concurrency limit cannot reserve: the option drops the reservation.
    const unreserved = Template.fromStack(synthPlatform({ env: 'dev', reserveLakeBuildConcurrency: 'false' }).platform.data);
    unreserved.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'shopstream-dev-lake-build',
      ReservedConcurrentExecutions: Match.absent(),
    });
  });
});

describe('IAM', () => {
  const DATA_SERVICES = ['s3', 'dynamodb', 'kinesis', 'sqs', 'sns', 'kms', 'firehose'];
  const statements = (template: Template) =>
    resources(template, 'AWS::IAM::Policy').flatMap(([id, p]) =>
      (p.Properties.PolicyDocument.Statement as Json[]).map((s) => ({ id, s })),
    );
  const list = (v: unknown) => (Array.isArray(v) ? v : [v]);

  it("no policy allows '*' or a whole service's actions", () => {
    for (const x of [t, tp]) {
      for (const template of all(x)) {
        for (const { id, s } of statements(template)) {
          for (const action of list(s.Action)) {
            assert.notEqual(action, '*', id);
            assert.doesNotMatch(String(action), /^[a-z0-9-]+:\*$/, `${id}: ${action}`);
          }
        }
      }
    }
  });

  it('data actions name their resources (no Resource "*")', () => {
    for (const template of all(t)) {
      for (const { id, s } of statements(template)) {
        const dataActions = list(s.Action).filter((a) => DATA_SERVICES.includes(String(a).split(':')[0]));
        if (dataActions.length === 0 || id.startsWith('SiteFilesRole') || id.startsWith('CatalogFilesRole')) continue;
        for (const r of list(s.Resource)) assert.notEqual(r, '*', `${id}: ${dataActions.join(', ')}`);
      }
    }
  });

  it("each function may call only what its code calls, on the named resources", () => {
    const policyOf = (template: Template, rolePrefix: string) =>
      statements(template)
        .filter(({ id }) => id.startsWith(rolePrefix))
        .map(({ s }) => s);
    const actionsOf = (stmts: Json[]) => new Set(stmts.flatMap((s) => list(s.Action)));
    const table = logicalId(t.data, 'AWS::DynamoDB::Table');
    // Recommendations: read the state table, nothing else of it.
    const recs = policyOf(t.web, 'RecommendationsRole');
    const recsDynamo = recs.filter((s) => list(s.Action).some((a) => String(a).startsWith('dynamodb:')));
    assert.deepEqual([...actionsOf(recsDynamo)].sort(), ['dynamodb:BatchGetItem', 'dynamodb:GetItem']);
    assert.match(JSON.stringify(recsDynamo[0].Resource), /ExportsOutputFnGetAttState/);
    // Ingest: put records on the one stream; no read of it, no table.
    const ingest = actionsOf(policyOf(t.web, 'IngestRole'));
    assert.ok(ingest.has('kinesis:PutRecords'));
    assert.ok(ingest.has('kinesis:DescribeStreamSummary'), '/readyz asks whether the stream is active');
    assert.ok(![...ingest].some((a) => String(a).startsWith('dynamodb:') || a === 'kinesis:GetRecords'));
    // Processor: the table (no Scan, no Delete), its rejected prefix, publish to the alert topic.
    const processor = policyOf(t.data, 'ProcessorRole');
    const dynamo = processor.filter((s) => list(s.Action).some((a) => String(a).startsWith('dynamodb:')));
    assert.deepEqual(dynamo.map((s) => s.Resource), [{ 'Fn::GetAtt': [table, 'Arn'] }]);
    assert.ok(![...actionsOf(processor)].some((a) => ['dynamodb:Scan', 'dynamodb:DeleteItem', 's3:GetObject'].includes(String(a))));
    // Lake build: delete only under curated/.
    const lake = policyOf(t.data, 'LakeBuildRole');
    const deletes = lake.filter((s) => list(s.Action).includes('s3:DeleteObject'));
    assert.equal(deletes.length, 1);
    assert.match(JSON.stringify(deletes[0].Resource), /\/curated\/\*"/);
    assert.doesNotMatch(JSON.stringify(deletes[0].Resource), /\/raw\//);
  });
});

describe('the API', () => {
  it('is a REST API with the WAF web ACL on its stage', () => {
    const stage = logicalId(t.web, 'AWS::ApiGateway::Stage');
    const acl = logicalId(t.web, 'AWS::WAFv2::WebACL');
    t.web.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([{ Ref: stage }])]) }),
      WebACLArn: { 'Fn::GetAtt': [acl, 'Arn'] },
    });
  });

  it("the web ACL has the managed common and known-bad-inputs groups and a rate limit per shopper's IP", () => {
    const rules = onlyResource(t.web, 'AWS::WAFv2::WebACL').Properties.Rules as Json[];
    const byName = Object.fromEntries(rules.map((r) => [r.Name, r]));
    assert.equal(onlyResource(t.web, 'AWS::WAFv2::WebACL').Properties.Scope, 'REGIONAL');
    // Requests CloudFront marked with the secret are counted per viewer address (the header its
    // function sets); all others per source IP. The two scopes are complements.
    const secret = logicalId(t.web, 'AWS::SecretsManager::Secret');
    const fromCloudFront = {
      ByteMatchStatement: {
        FieldToMatch: { SingleHeader: { Name: ORIGIN_VERIFY_HEADER } },
        PositionalConstraint: 'EXACTLY',
        SearchString: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([{ Ref: secret }])]) }),
        TextTransformations: [{ Priority: 0, Type: 'NONE' }],
      },
    };
    Template.fromJSON({ Resources: { R: { Type: 'X', Properties: byName.RatePerIp.Statement.RateBasedStatement } } }).hasResourceProperties('X', {
      AggregateKeyType: 'IP',
      Limit: 2000,
      EvaluationWindowSec: 300,
      ScopeDownStatement: { NotStatement: { Statement: fromCloudFront } },
    });
    Template.fromJSON({ Resources: { R: { Type: 'X', Properties: byName.RatePerViewerIp.Statement.RateBasedStatement } } }).hasResourceProperties('X', {
      AggregateKeyType: 'FORWARDED_IP',
      ForwardedIPConfig: { HeaderName: VIEWER_IP_HEADER, FallbackBehavior: 'MATCH' },
      Limit: 2000,
      EvaluationWindowSec: 300,
      ScopeDownStatement: fromCloudFront,
    });
    assert.deepEqual(byName.RatePerIp.Action, { Block: {} });
    assert.deepEqual(byName.RatePerViewerIp.Action, { Block: {} });
    // CloudFront sends the same secret, and sets the viewer's address from what it saw.
    const origin = onlyResource(t.web, 'AWS::CloudFront::Distribution').Properties.DistributionConfig.Origins.find(
      (o: Json) => o.CustomOriginConfig !== undefined,
    );
    const verify = origin.OriginCustomHeaders.find((h: Json) => h.HeaderName === ORIGIN_VERIFY_HEADER);
    assert.match(JSON.stringify(verify.HeaderValue), new RegExp(`"Ref":"${secret}"`));
    const out = cloudFrontHandler(VIEWER_IP_HEADER)({ viewer: { ip: '198.51.100.7' }, request: { uri: '/v1/events', headers: { [VIEWER_IP_HEADER]: { value: '10.0.0.1' } } } });
    assert.deepEqual(out.headers[VIEWER_IP_HEADER], { value: '198.51.100.7' }, "the viewer's own value is replaced");
    for (const group of ['AWSManagedRulesCommonRuleSet', 'AWSManagedRulesKnownBadInputsRuleSet']) {
      assert.equal(byName[group].Statement.ManagedRuleGroupStatement.VendorName, 'AWS', group);
      assert.deepEqual(byName[group].OverrideAction, { None: {} }, `${group} blocks`);
    }
    // Batches up to 1 MiB: only the body-size rule of the common set is turned to count.
    assert.deepEqual(byName.AWSManagedRulesCommonRuleSet.Statement.ManagedRuleGroupStatement.RuleActionOverrides, [
      { Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } },
    ]);
  });

  it('the stage is throttled, traced and access-logged, without request bodies in the logs', () => {
    t.web.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') }),
      MethodSettings: [
        Match.objectLike({ ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400, LoggingLevel: 'ERROR', DataTraceEnabled: false }),
      ],
    });
    tp.web.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 2000, ThrottlingBurstLimit: 4000 })],
    });
  });

  it('routes /v1/recommendations to its Lambda and the rest of /v1 to the ingest', () => {
    const api = Template.fromStack(dev.platform.web).toJSON().Resources as Json;
    const paths = Object.values(api)
      .filter((r: Json) => r.Type === 'AWS::ApiGateway::Resource')
      .map((r: Json) => r.Properties.PathPart)
      .sort();
    assert.deepEqual(paths, ['healthz', 'readyz', 'recommendations', 'v1', '{proxy+}']);
    const recsFn = logicalId(t.web, 'AWS::Lambda::Function', { FunctionName: 'shopstream-dev-recommendations' });
    t.web.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      Integration: Match.objectLike({
        Type: 'AWS_PROXY',
        Uri: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([{ 'Fn::GetAtt': [recsFn, 'Arn'] }])]) }),
      }),
    });
    t.web.hasResourceProperties('AWS::ApiGateway::RestApi', { BinaryMediaTypes: ['*/*'], EndpointConfiguration: { Types: ['REGIONAL'] } });
    const ingestFn = logicalId(t.web, 'AWS::Lambda::Function', { FunctionName: 'shopstream-dev-ingest' });
    const v1 = logicalId(t.web, 'AWS::ApiGateway::Resource', { PathPart: 'v1' });
    const proxy = logicalId(t.web, 'AWS::ApiGateway::Resource', { PathPart: '{proxy+}', ParentId: { Ref: v1 } });
    t.web.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'ANY',
      ResourceId: { Ref: proxy },
      Integration: Match.objectLike({
        Type: 'AWS_PROXY',
        Uri: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([{ 'Fn::GetAtt': [ingestFn, 'Arn'] }])]) }),
      }),
    });
    logicalId(t.web, 'AWS::ApiGateway::Resource', { PathPart: 'recommendations', ParentId: { Ref: v1 } });
  });

  it("CORS: the ingest allows the storefront's distribution and the configured origins, never '*'", () => {
    const fn = resources(tp.web, 'AWS::Lambda::Function').find(([, f]) => f.Properties.FunctionName === 'shopstream-prod-ingest')![1];
    const keys = fn.Properties.Environment.Variables.SHOPSTREAM_WRITE_KEYS['Fn::Join'][1] as (string | Json)[];
    const distribution = logicalId(tp.web, 'AWS::CloudFront::Distribution');
    const text = keys.map((k) => (typeof k === 'string' ? k : `{{${k['Fn::GetAtt']?.join('.')}}}`)).join('');
    assert.deepEqual(JSON.parse(text), {
      wk_partner: { site: 'partner', origins: ['https://partner.example'] },
      wk_storefront_prod: { site: 'storefront', origins: [`https://{{${distribution}.DomainName}}`, 'https://shop.example'] },
    });
    assert.doesNotMatch(text, /\*/);
    assert.equal(fn.Properties.Environment.Variables.SHOPSTREAM_OPEN_ACCESS, undefined, 'never open in AWS');
  });
});

describe('the storefront distribution', () => {
  const config = onlyResource(t.web, 'AWS::CloudFront::Distribution').Properties.DistributionConfig;

  it('serves the private bucket through Origin Access Control, HTTPS only', () => {
    const site = config.Origins.find((o: Json) => o.S3OriginConfig !== undefined);
    assert.ok(site.OriginAccessControlId, 'OAC');
    assert.equal(site.S3OriginConfig.OriginAccessIdentity, '');
    assert.equal(config.DefaultCacheBehavior.ViewerProtocolPolicy, 'redirect-to-https');
    for (const b of config.CacheBehaviors) assert.equal(b.ViewerProtocolPolicy, 'https-only', b.PathPattern);
    t.web.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always' }),
    });
  });

  it("sends the storefront's API paths to the API stage with the storefront's write key", () => {
    assert.deepEqual(config.CacheBehaviors.map((b: Json) => b.PathPattern).sort(), [...API_PATHS].sort());
    const api = config.Origins.find((o: Json) => o.CustomOriginConfig !== undefined);
    assert.equal(api.CustomOriginConfig.OriginProtocolPolicy, 'https-only');
    assert.equal(api.OriginPath, '/api');
    assert.deepEqual(api.OriginCustomHeaders.find((h: Json) => h.HeaderName === 'X-Write-Key'), {
      HeaderName: 'X-Write-Key',
      HeaderValue: 'wk_storefront_dev',
    });
    for (const b of config.CacheBehaviors) {
      assert.equal(b.TargetOriginId, api.Id);
      assert.equal(b.FunctionAssociations.length, 1, "the viewer's address function");
      assert.equal(b.CachePolicyId, '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', 'caching disabled');
    }
  });

  it('sends security headers, with a CSP that allows the wasm and the inline start-up script only', () => {
    const policy = onlyResource(t.web, 'AWS::CloudFront::ResponseHeadersPolicy').Properties.ResponseHeadersPolicyConfig;
    const h = policy.SecurityHeadersConfig;
    const csp = JSON.stringify(h.ContentSecurityPolicy.ContentSecurityPolicy);
    const hash = `'sha256-${createHash('sha256').update(INLINE_SCRIPT).digest('base64')}'`;
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval' /);
    assert.ok(csp.includes(hash), `the inline script's hash ${hash} is in ${csp}`);
    assert.doesNotMatch(csp, /script-src[^;]*'unsafe-inline'/);
    assert.doesNotMatch(csp, /'unsafe-eval'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(h.StrictTransportSecurity.AccessControlMaxAgeSec, 730 * 86400);
    assert.equal(h.FrameOptions.FrameOption, 'DENY');
    assert.ok(h.ContentTypeOptions.Override);
    for (const b of [config.DefaultCacheBehavior, ...config.CacheBehaviors]) {
      assert.ok(b.ResponseHeadersPolicyId, `${b.PathPattern ?? 'default'} has the headers`);
    }
  });

  it('rewrites only the storefront routes to index.html (not files, the catalog or the API)', () => {
    const handler = cloudFrontHandler('/index.html');
    const uri = (u: string) => handler({ request: { uri: u } }).uri;
    assert.equal(uri('/dashboard'), '/index.html');
    assert.equal(uri('/product/shoes-007'), '/index.html');
    assert.equal(uri('/'), '/index.html');
    assert.equal(uri('/sdk/shopstream.js'), '/sdk/shopstream.js');
    assert.equal(uri('/v1/products'), '/v1/products');
    assert.equal(uri('/v1/products/shoes-007'), '/v1/products/shoes-007');
    assert.equal(config.CustomErrorResponses, undefined, "no distribution-wide 404 -> index.html (it would hide the API's answers)");
  });

  it('publishes config.json with the user pool, and the catalog as JSON', () => {
    const deployments = resources(t.web, 'Custom::CDKBucketDeployment').map(([, d]) => d.Properties);
    const catalog = deployments.find((d) => d.SystemMetadata?.['content-type'] === 'application/json');
    assert.ok(catalog, 'the catalog deployment sets application/json');
    assert.equal(catalog!.Prune, false);
    assert.deepEqual(catalog!.DistributionPaths, ['/v1/products*']);
    const site = deployments.find((d) => d.SystemMetadata === undefined)!;
    assert.equal(site.Prune, false, "the site's deployment would delete the catalog's objects");
    assert.deepEqual(site.DistributionPaths, ['/*'], 'the JS and wasm keep their names: all of it is invalidated');
    // config.json's values are filled in at deploy time: the pool, its client and the region.
    const markers = JSON.stringify(site.SourceMarkers);
    assert.match(markers, /ExportsOutputRefShoppers[0-9A-F]+/, 'the user pool id');
    assert.match(markers, /ExportsOutputRefShoppersStorefront/, 'the app client id');
    assert.match(markers, /AWS::Region/);
  });
});

describe('the user pool', () => {
  it('has a public client (no secret) with password and SRP sign-in and stated token lifetimes', () => {
    t.data.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      ExplicitAuthFlows: Match.arrayWith(['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']),
      AccessTokenValidity: 60,
      IdTokenValidity: 60,
      RefreshTokenValidity: 43200,
      TokenValidityUnits: { AccessToken: 'minutes', IdToken: 'minutes', RefreshToken: 'minutes' },
      PreventUserExistenceErrors: 'ENABLED',
      EnableTokenRevocation: true,
    });
    t.data.hasResourceProperties('AWS::Cognito::UserPool', {
      Policies: { PasswordPolicy: Match.objectLike({ MinimumLength: 12, RequireSymbols: true }) },
    });
  });
});

describe('the lake', () => {
  it('Firehose lands the stream in raw/ by day, one JSON line per event, compressed', () => {
    const s3 = onlyResource(t.data, 'AWS::KinesisFirehose::DeliveryStream').Properties;
    assert.equal(s3.DeliveryStreamType, 'KinesisStreamAsSource');
    const d = s3.ExtendedS3DestinationConfiguration;
    assert.equal(d.Prefix, 'raw/dt=!{timestamp:yyyy-MM-dd}/');
    assert.match(d.ErrorOutputPrefix, /^firehose-errors\//);
    assert.equal(d.CompressionFormat, 'GZIP');
    assert.equal(d.FileExtension, '.jsonl.gz');
    assert.deepEqual(d.ProcessingConfiguration, {
      Enabled: true,
      Processors: [{ Type: 'AppendDelimiterToRecord', Parameters: [{ ParameterName: 'Delimiter', ParameterValue: '\\n' }] }],
    });
  });

  it('the Glue tables are the lake schema of the Rust crate, with partition projection on dt', () => {
    const committed = JSON.parse(readFileSync(join(__dirname, '..', '..', 'lake-tables.json'), 'utf8')).tables as Json[];
    const tables = resources(t.data, 'AWS::Glue::Table').map(([, r]) => r.Properties.TableInput);
    assert.deepEqual(tables.map((x) => x.Name).sort(), committed.map((x) => x.name).sort());
    for (const want of committed) {
      const got = tables.find((x) => x.Name === want.name)!;
      assert.deepEqual(got.StorageDescriptor.Columns.map((c: Json) => [c.Name, c.Type]), want.columns.map((c: Json) => [c.name, c.type]));
      assert.match(JSON.stringify(got.StorageDescriptor.Location), new RegExp(`/${want.location}"`));
      if (want.partitioned) {
        assert.deepEqual(got.PartitionKeys, [{ Name: 'dt', Type: 'string' }]);
        assert.equal(got.Parameters['projection.enabled'], 'true');
        assert.match(JSON.stringify(got.Parameters['storage.location.template']), /dt=\$\{dt\}\//);
      }
    }
    const events = tables.find((x) => x.Name === 'events')!;
    assert.equal(events.StorageDescriptor.SerdeInfo.SerializationLibrary, 'org.openx.data.jsonserde.JsonSerDe');
  });

  it('moves raw events to cheaper storage and expires scratch prefixes', () => {
    const lake = resources(t.data, 'AWS::S3::Bucket').find(([id]) => id.startsWith('Lake'))![1];
    const rules = Object.fromEntries((lake.Properties.LifecycleConfiguration.Rules as Json[]).map((r) => [r.Id, r]));
    assert.deepEqual(
      rules['raw-to-cheaper-storage'].Transitions.map((x: Json) => [x.StorageClass, x.TransitionInDays]),
      [
        ['STANDARD_IA', 30],
        ['GLACIER_IR', 90],
      ],
    );
    assert.equal(rules['raw-to-cheaper-storage'].Prefix, 'raw/');
    assert.equal(rules['athena-results-expire'].ExpirationInDays, 7);
    assert.ok(lake.Properties.LoggingConfiguration.DestinationBucketName, 'access-logged');
  });
});

describe('operations', () => {
  const alarms = resources(t.ops, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
  const topic = logicalId(t.ops, 'AWS::SNS::Topic');
  const find = (namespace: string, metric: string) => alarms.filter((a) => a.Namespace === namespace && a.MetricName === metric);

  it('alarms on Lambda errors and throttles of every function, at the stated thresholds', () => {
    for (const name of ['Ingest', 'Recommendations', 'Processor', 'LakeBuild']) {
      for (const [metric, threshold] of [
        ['Errors', THRESHOLDS.lambdaErrors],
        ['Throttles', THRESHOLDS.lambdaThrottles],
      ] as const) {
        const a = find('AWS/Lambda', metric).find((x) => x.AlarmName === `shopstream-dev-${name}${metric}`);
        assert.ok(a, `${name} ${metric}`);
        assert.equal(a!.Dimensions[0].Name, 'FunctionName');
        assert.equal(a!.Threshold, threshold);
        assert.equal(a!.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
      }
    }
  });

  it('alarms on iterator age, Kinesis write throttles, the 5xx rate, DLQ depth and lake freshness', () => {
    const want: [string, string, number][] = [
      ['AWS/Lambda', 'IteratorAge', THRESHOLDS.iteratorAgeMs],
      ['AWS/Kinesis', 'WriteProvisionedThroughputExceeded', THRESHOLDS.kinesisWriteThrottles],
      ['AWS/ApiGateway', '5XXError', THRESHOLDS.api5xxRate],
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', THRESHOLDS.dlqDepth],
      ['AWS/Firehose', 'DeliveryToS3.DataFreshness', THRESHOLDS.lakeFreshnessSeconds],
    ];
    for (const [ns, metric, threshold] of want) {
      const [a] = find(ns, metric);
      assert.ok(a, `${ns} ${metric}`);
      assert.equal(a.Threshold, threshold, metric);
    }
    assert.equal(find('AWS/ApiGateway', '5XXError')[0].Statistic, 'Average', 'a rate, not a count');
    assert.equal(THRESHOLDS.api5xxRate, 0.01);
    assert.equal(THRESHOLDS.iteratorAgeMs, 60_000);
  });

  it('every alarm notifies the alarm topic, which e-mails when an address is given', () => {
    for (const a of alarms) {
      assert.deepEqual(a.AlarmActions, [{ Ref: topic }], a.AlarmName);
      assert.equal(a.TreatMissingData, 'notBreaching', a.AlarmName);
    }
    tp.ops.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    assert.equal(resources(t.ops, 'AWS::SNS::Subscription').length, 0, 'dev has no address');
  });

  it("the alarm topic's policy lets this account's CloudWatch alarms publish (its TLS policy replaces the default)", () => {
    t.ops.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topic }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'CloudWatchAlarmsPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topic },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ]),
      },
    });
    const key = onlyResource(t.ops, 'AWS::KMS::Key').Properties.KeyPolicy.Statement as Json[];
    assert.ok(key.some((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com' && s.Action.includes('kms:GenerateDataKey*')));
  });

  it('has a dashboard of the pipeline', () => {
    const body = JSON.stringify(onlyResource(t.ops, 'AWS::CloudWatch::Dashboard').Properties.DashboardBody);
    for (const metric of ['IteratorAge', '5XXError', 'IncomingRecords', 'EventsAccepted', 'DeliveryToS3.DataFreshness']) {
      assert.ok(body.includes(metric), metric);
    }
  });
});

describe('environments', () => {
  it('nothing account- or region-specific is in the templates', () => {
    for (const x of [t, tp]) {
      for (const template of all(x)) {
        const text = JSON.stringify(template.toJSON());
        assert.doesNotMatch(text, /\b\d{12}\b/, 'an account id');
        assert.doesNotMatch(text, /\b(us|eu|ap|sa|ca|me|af)-(east|west|north|south|central|northeast|southeast)-\d\b/, 'a region');
      }
    }
  });

  it('dev empties its buckets on delete; prod keeps them', () => {
    const autoDeleted = (template: Template) =>
      resources(template, 'Custom::S3AutoDeleteObjects').map(([, r]) => JSON.stringify(r.Properties.BucketName));
    assert.ok(autoDeleted(t.data).some((b) => b.includes('Lake')), 'dev lake');
    assert.ok(autoDeleted(t.data).some((b) => b.includes('AccessLogs')), 'dev access logs');
    assert.deepEqual(autoDeleted(tp.data), [], 'prod keeps its data');
    assert.ok(autoDeleted(tp.web).some((b) => b.includes('Site')), 'the site bucket is rebuilt by every deploy');
  });

  it("API Gateway's account-wide CloudWatch role is kept, and a second environment of the account can leave it alone", () => {
    const account = onlyResource(t.web, 'AWS::ApiGateway::Account');
    assert.equal(account.DeletionPolicy, 'Retain');
    const shared = Template.fromStack(synthPlatform({ env: 'dev', apiGatewayCloudWatchRole: 'false' }).platform.web);
    shared.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  it('dev and prod differ in retention and names, from one app', () => {
    assert.equal(dev.platform.data.stackName, 'Shopstream-dev-Data');
    assert.equal(prod.platform.web.stackName, 'Shopstream-prod-Web');
    assert.equal(onlyResource(tp.data, 'AWS::Kinesis::Stream').Properties.Name, 'shopstream-prod-events');
    assert.equal(resources(tp.data, 'AWS::S3::Bucket').find(([id]) => id.startsWith('Lake'))![1].DeletionPolicy, 'Retain');
  });
});

describe('cdk-nag (AwsSolutions)', () => {
  it('both environments synthesize with no unacknowledged finding', () => {
    for (const p of [dev, prod]) p.app.synth();
  });

  it('a finding fails the synth (the checks are live)', () => {
    const { app, platform } = synthPlatform({ env: 'dev' });
    new s3.Bucket(platform.data, 'Careless', { enforceSSL: false });
    let report = '';
    assert.throws(
      () => app.synth(),
      (e: Error) => {
        report = /found in: (\S+)/.exec(e.message)?.[1] ?? '';
        return /Validation failed/.test(e.message);
      },
    );
    const violations = (JSON.parse(readFileSync(report, 'utf8')).pluginReports as Json[]).flatMap((r) => r.violations as Json[]);
    const careless = violations.filter((v) =>
      (v.violatingConstructs as Json[]).some((c) => c.constructPath === 'Shopstream-dev-Data/Careless/Resource'),
    );
    assert.deepEqual(careless.map((v) => v.ruleName).sort(), ['AwsSolutions-S1', 'AwsSolutions-S10']);
    assert.equal(violations.length, careless.length, 'nothing else is reported');
  });

  it('every acknowledgement carries a reason', () => {
    let seen = 0;
    for (const stack of [dev.platform.data, dev.platform.web, dev.platform.ops]) {
      for (const c of stack.node.findAll()) {
        for (const m of c.node.metadata) {
          if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
          for (const [id, reason] of Object.entries(m.data as Record<string, string>)) {
            seen++;
            assert.ok(typeof reason === 'string' && reason.length >= 30, `${c.node.path} ${id}: "${reason}"`);
          }
        }
      }
    }
    assert.ok(seen > 10, `${seen} acknowledgements`);
  });
});

describe('settings and artifacts', () => {
  it('refuse bad context with the key at fault', () => {
    assert.throws(() => synthPlatform({ env: 'staging' }), /context env=staging/);
    assert.throws(() => synthPlatform({ sites: '{' }), /context sites: not JSON/);
    assert.throws(
      () => synthPlatform({ sites: JSON.stringify({ k: { site: 's', origins: ['https://*.example'] } }) }),
      /context sites: k.origins/,
    );
    assert.throws(() => synthPlatform({ storefrontOrigins: 'https://shop.example/path' }), /storefrontOrigins/);
    assert.throws(() => synthPlatform({ streamShards: '0' }), /streamShards=0/);
  });

  it('a synth without the built artifacts says how to build them', () => {
    const app = new App({ context: { artifacts: '/nonexistent/shopstream-build' } });
    assert.throws(() => buildPlatform(app), /lambda\/ingest-lambda\/bootstrap.*run `cargo xtask package`/);
  });
});
