// What shoppers' browsers reach: the storefront on S3 behind CloudFront, and the REST API (ingest
// and recommendations) behind WAF. The storefront calls the API on its own origin: CloudFront sends
// `/v1/events` and `/v1/recommendations` to API Gateway and adds the storefront's public write key
// on the way. Third-party shops send to the API's URL directly, with their own write keys.
//
// The distribution and the API live in one stack on purpose: the ingest's allow-list names the
// distribution's domain, and the distribution names the API's; across two stacks that is a cycle.

import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

import { Artifacts } from './artifacts';
import { storefrontCsp } from './csp';
import { DataStack, LAKE, lakeBucketName } from './data-stack';
import { acknowledge, arnRef } from './nag';
import { RustFunction } from './rust-function';
import { Settings, SiteAccess } from './settings';

/** The API Gateway stage name (also the path CloudFront prefixes to API requests). */
export const STAGE = 'api';

/** Set by CloudFront on API requests: the viewer's address (over anything the viewer sent). */
export const VIEWER_IP_HEADER = 'x-shopstream-viewer-ip';
/** Set by CloudFront on API requests: a secret that marks them as having come through it. */
export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';

/** The paths CloudFront sends to the API (everything else is the site on S3). */
export const API_PATHS = ['/v1/events', '/v1/recommendations'];

export interface WebStackProps extends StackProps {
  settings: Settings;
  artifacts: Artifacts;
  data: DataStack;
}

export class WebStack extends Stack {
  readonly api: apigw.RestApi;
  readonly ingest: RustFunction;
  readonly recommendations: RustFunction;
  readonly webAcl: wafv2.CfnWebACL;
  readonly siteBucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, props: WebStackProps) {
    super(scope, id, props);
    const { settings, artifacts, data } = props;
    const removal = settings.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    // ---- the API --------------------------------------------------------------------------------
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      logGroupName: `/aws/apigateway/${settings.prefix}-access`,
      retention: settings.logRetention,
      removalPolicy: removal,
    });
    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: `${settings.prefix}-api`,
      description: 'Shopstream: event ingest and recommendations',
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      // API Gateway's CloudWatch role is one setting per account and region: the environment that
      // owns it keeps it (retained), and one sharing the account with it passes
      // `-c apiGatewayCloudWatchRole=false` so that it neither overwrites nor deletes it.
      cloudWatchRole: settings.apiGatewayCloudWatchRole,
      cloudWatchRoleRemovalPolicy: settings.apiGatewayCloudWatchRole ? RemovalPolicy.RETAIN : undefined,
      deployOptions: {
        stageName: STAGE,
        throttlingRateLimit: settings.apiRateLimit,
        throttlingBurstLimit: settings.apiBurstLimit,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false, // request bodies hold shoppers' data
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields({
          caller: false,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: false,
        }),
      },
      // Every body reaches the Lambda byte for byte (base64 in the proxy event, which lambda_http
      // decodes): a gzip-encoded JSON batch is still `application/json` and must not be read as text.
      binaryMediaTypes: ['*/*'],
    });

    const storefrontOrigin = (domain: string) => `https://${domain}`;
    const cognitoEnv = {
      SHOPSTREAM_COGNITO_POOL_ID: data.userPool.userPoolId,
      SHOPSTREAM_COGNITO_CLIENT_IDS: data.userPoolClient.userPoolClientId,
    };

    // ---- the site bucket and the distribution ----------------------------------------------------
    this.siteBucket = new s3.Bucket(this, 'Site', {
      encryption: s3.BucketEncryption.S3_MANAGED, // CloudFront's OAC reads SSE-S3 without a key grant
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsBucket: data.logsBucket,
      serverAccessLogsPrefix: 'site/',
      removalPolicy: RemovalPolicy.DESTROY, // rebuilt from the repository by every deploy
      autoDeleteObjects: true,
    });

    const csp = storefrontCsp(`cognito-idp.${this.region}.amazonaws.com`, artifacts.inlineScriptHashes());
    const headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      responseHeadersPolicyName: `${settings.prefix}-security-headers`,
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: csp, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
      },
    });
    // The single-page app's routes (`/dashboard`, `/product/…`) are index.html; files, the
    // catalog (`/v1/products…`) and the API are not rewritten. A distribution-wide 404 -> index.html
    // would also turn the API's own 403/404 answers into a page.
    // A viewer-request function: `body` edits `request` (and may read `event`), then it is sent on.
    const viewerRequest = (id: string, name: string, comment: string, body: string[]) =>
      new cloudfront.Function(this, id, {
        functionName: `${settings.prefix}-${name}`,
        runtime: cloudfront.FunctionRuntime.JS_2_0,
        comment,
        code: cloudfront.FunctionCode.fromInline(
          ['function handler(event) {', '  var request = event.request;', ...body.map((l) => `  ${l}`), '  return request;', '}'].join('\n'),
        ),
      });
    const spaRoutes = viewerRequest('SpaRoutes', 'spa-routes', "Serves index.html for the storefront's routes", [
      'var uri = request.uri;',
      "if (uri.startsWith('/v1/')) return request;",
      "var last = uri.substring(uri.lastIndexOf('/') + 1);",
      "if (last.indexOf('.') === -1) request.uri = '/index.html';",
    ]);
    const siteOrigin = origins.S3BucketOrigin.withOriginAccessControl(this.siteBucket);
    // Requests through CloudFront reach the API from CloudFront's addresses, so a rate limit per
    // source IP would count an edge, not a shopper. CloudFront therefore sends two headers: the
    // viewer's address (`X-Shopstream-Viewer-Ip`, set by this function, over anything the viewer
    // sent) and a secret only it knows (`X-Origin-Verify`); the web ACL counts requests carrying
    // the secret per viewer address, and all others per source IP.
    const originSecret = new secretsmanager.Secret(this, 'OriginVerify', {
      secretName: `${settings.prefix}-origin-verify`,
      description: 'Shared by CloudFront (an origin header) and the API web ACL: marks requests that came through the distribution',
      generateSecretString: { passwordLength: 40, excludePunctuation: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledge(
      originSecret,
      'A marker shared by CloudFront and WAF, not a credential of a system: rotating it means redeploying both, which `cdk deploy` does when the secret is replaced',
      'SMG4',
    );
    const originSecretValue = originSecret.secretValue.unsafeUnwrap();
    const viewerIp = viewerRequest('ViewerIp', 'viewer-ip', "Tells the API (and its web ACL) the viewer's address", [
      `request.headers['${VIEWER_IP_HEADER}'] = { value: event.viewer.ip };`,
    ]);

    // The API's host from its id, not from its stage URL: the stage depends on the methods, the
    // methods on the ingest Lambda, whose allow-list names this distribution.
    const apiHost = `${this.api.restApiId}.execute-api.${this.region}.${this.urlSuffix}`;
    const apiOrigin = new origins.HttpOrigin(apiHost, {
      originPath: `/${STAGE}`,
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
      customHeaders: { 'X-Write-Key': settings.storefrontWriteKey, [ORIGIN_VERIFY_HEADER]: originSecretValue },
    });
    const apiBehavior: cloudfront.BehaviorOptions = {
      origin: apiOrigin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      responseHeadersPolicy: headers,
      functionAssociations: [{ function: viewerIp, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
    };
    this.distribution = new cloudfront.Distribution(this, 'Storefront', {
      comment: `${settings.prefix} storefront`,
      defaultRootObject: 'index.html',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: data.logsBucket,
      logFilePrefix: 'cloudfront/',
      defaultBehavior: {
        origin: siteOrigin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        compress: true,
        responseHeadersPolicy: headers,
        functionAssociations: [{ function: spaRoutes, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: Object.fromEntries(API_PATHS.map((p) => [p, apiBehavior])),
    });
    acknowledge(this.distribution, 'A shop sells to any country; no geo restriction', 'CFR1');
    acknowledge(
      this.distribution,
      "The API paths pass the regional web ACL on the API stage (CloudFront's requests reach it); the rest is static files. A CLOUDFRONT-scope ACL would need a us-east-1 stack",
      'CFR2',
    );
    acknowledge(
      this.distribution,
      'The default *.cloudfront.net certificate decides the viewer TLS policy; a custom domain with its ACM certificate (not part of this app yet) would set TLSv1.2_2021',
      'CFR4',
    );

    // ---- who may send: the storefront (through CloudFront) and the configured third-party sites --
    const sites: Record<string, SiteAccess> = {
      ...settings.sites,
      [settings.storefrontWriteKey]: {
        site: 'storefront',
        origins: [storefrontOrigin(this.distribution.distributionDomainName), ...settings.storefrontOrigins],
      },
    };

    // ---- the Lambdas -----------------------------------------------------------------------------
    this.ingest = new RustFunction(this, 'Ingest', {
      artifacts,
      settings,
      binary: 'ingest',
      description: 'POST /v1/events (and the Segment-compatible routes): validate, enrich, Kinesis',
      memorySize: 256,
      timeout: Duration.seconds(10),
      environment: {
        SHOPSTREAM_STREAM_NAME: data.stream.streamName,
        SHOPSTREAM_SINK_DEADLINE_MS: '3000',
        SHOPSTREAM_WRITE_KEYS: this.toJsonString(sites),
        SHOPSTREAM_REJECTED_BUCKET: lakeBucketName(settings),
        SHOPSTREAM_REJECTED_PREFIX: `${LAKE.rejected}ingest/`,
        ...cognitoEnv,
      },
    });
    this.ingest.role.addToPolicy(
      new iam.PolicyStatement({
        // PutRecords for events; DescribeStreamSummary for `/readyz` (the stream is active).
        actions: ['kinesis:PutRecords', 'kinesis:DescribeStreamSummary'],
        resources: [data.stream.streamArn],
      }),
    );
    const rejectedObjects = `arn:${this.partition}:s3:::${lakeBucketName(settings)}/${LAKE.rejected}ingest/*`;
    this.ingest.role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [rejectedObjects] }));
    this.ingest.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['kms:GenerateDataKey'], resources: [data.key.keyArn] }),
    );
    acknowledge(
      this.ingest.role,
      "The lake's rejected/ingest/ object prefix: the ingest names each object at run time",
      `IAM5[Resource::arn:<AWS::Partition>:s3:::${settings.prefix}-lake-<AWS::AccountId>-<AWS::Region>/${LAKE.rejected}ingest/*]`,
    );

    this.recommendations = new RustFunction(this, 'Recommendations', {
      artifacts,
      settings,
      binary: 'recommendations',
      description: 'GET /v1/recommendations: reads profiles and item neighbours from DynamoDB',
      memorySize: 256,
      timeout: Duration.seconds(5),
      environment: { SHOPSTREAM_STATE_TABLE: data.table.tableName, ...cognitoEnv },
    });
    this.recommendations.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'], resources: [data.table.tableArn] }),
    );
    this.recommendations.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [data.key.keyArn] }),
    );

    // ---- routes ----------------------------------------------------------------------------------
    const ingestIntegration = new apigw.LambdaIntegration(this.ingest.fn, { proxy: true });
    const recsIntegration = new apigw.LambdaIntegration(this.recommendations.fn, { proxy: true });
    const v1 = this.api.root.addResource('v1');
    // `/v1/events` and the Segment-compatible `/v1/batch`, `/v1/track`, `/v1/t`, …: the ingest
    // router answers them (and 404 for the rest). Preflights are answered by the Lambda, which
    // knows each write key's allowed origins.
    v1.addResource('{proxy+}').addMethod('ANY', ingestIntegration);
    const recs = v1.addResource('recommendations');
    recs.addMethod('GET', recsIntegration);
    recs.addMethod('OPTIONS', recsIntegration);
    this.api.root.addResource('healthz').addMethod('GET', ingestIntegration);
    this.api.root.addResource('readyz').addMethod('GET', ingestIntegration);
    acknowledge(
      this.api,
      'The ingest validates each event and answers a reason per event (4xx for the bad, 202 for the good beside them); a gateway model would refuse whole batches without reasons',
      'APIG2',
    );
    acknowledge(
      this.api,
      'A public tracker endpoint: sites are identified by public write keys and an allow-list of origins, shoppers by Cognito tokens the Lambdas verify (anonymous shoppers send too)',
      'APIG4',
      'COG4',
    );
    acknowledge(
      this.api,
      "API Gateway's account-level CloudWatch role: the AWS managed policy made for it",
      'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    );

    // ---- WAF on the API stage --------------------------------------------------------------------
    const managed = (name: string, priority: number, excluded: string[] = []): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name,
          ruleActionOverrides: excluded.map((rule) => ({ name: rule, actionToUse: { count: {} } })),
        },
      },
      visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: name, sampledRequestsEnabled: true },
    });
    const fromCloudFront: wafv2.CfnWebACL.StatementProperty = {
      byteMatchStatement: {
        fieldToMatch: { singleHeader: { Name: ORIGIN_VERIFY_HEADER } },
        positionalConstraint: 'EXACTLY',
        searchString: originSecretValue,
        textTransformations: [{ priority: 0, type: 'NONE' }],
      },
    };
    this.webAcl = new wafv2.CfnWebACL(this, 'ApiAcl', {
      name: `${settings.prefix}-api`,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: `${settings.prefix}-api`, sampledRequestsEnabled: true },
      rules: [
        {
          // Sent straight to the API (other shops' trackers): per source IP.
          name: 'RatePerIp',
          priority: 0,
          action: { block: {} },
          statement: {
            rateBasedStatement: {
              aggregateKeyType: 'IP',
              limit: settings.wafRequestsPerIpPer5Min,
              evaluationWindowSec: 300,
              scopeDownStatement: { notStatement: { statement: fromCloudFront } },
            },
          },
          visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'RatePerIp', sampledRequestsEnabled: true },
        },
        {
          // Through the storefront's distribution: per viewer address, as CloudFront reports it.
          name: 'RatePerViewerIp',
          priority: 1,
          action: { block: {} },
          statement: {
            rateBasedStatement: {
              aggregateKeyType: 'FORWARDED_IP',
              forwardedIpConfig: { headerName: VIEWER_IP_HEADER, fallbackBehavior: 'MATCH' },
              limit: settings.wafRequestsPerIpPer5Min,
              evaluationWindowSec: 300,
              scopeDownStatement: fromCloudFront,
            },
          },
          visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'RatePerViewerIp', sampledRequestsEnabled: true },
        },
        // A batch may be up to 1 MiB (event-schema's MAX_BATCH_BYTES); the common rule set blocks
        // bodies over 8 KB, so that one rule only counts: the ingest enforces its own named limits.
        managed('AWSManagedRulesCommonRuleSet', 2, ['SizeRestrictions_BODY']),
        managed('AWSManagedRulesKnownBadInputsRuleSet', 3),
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'ApiAclAssociation', {
      resourceArn: this.api.deploymentStage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });

    // ---- the site's files --------------------------------------------------------------------------
    const siteConfig = {
      auth: {
        region: this.region,
        userPoolId: data.userPool.userPoolId,
        clientId: data.userPoolClient.userPoolClientId,
        endpoint: `https://cognito-idp.${this.region}.amazonaws.com/`,
        codesSent: true,
      },
    };
    const deployRole = (id: string) => {
      const role = new iam.Role(this, id, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: "CDK's BucketDeployment: copy the site's files from the asset bucket, invalidate the distribution",
      });
      acknowledge(
        role,
        "CDK's BucketDeployment grants: read its asset objects, write the site bucket's objects, create invalidations (no resource-level permission), write its logs",
        'IAM5[Action::s3:GetObject*]',
        'IAM5[Action::s3:GetBucket*]',
        'IAM5[Action::s3:List*]',
        'IAM5[Action::s3:DeleteObject*]',
        'IAM5[Action::s3:Abort*]',
        'IAM5[Resource::*]',
        `IAM5[Resource::${arnRef(this.siteBucket)}/*]`,
        'IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
      );
      return role;
    };
    const siteDeploy = new s3deploy.BucketDeployment(this, 'SiteFiles', {
      sources: [s3deploy.Source.asset(artifacts.siteDir), s3deploy.Source.jsonData('config.json', siteConfig)],
      destinationBucket: this.siteBucket,
      prune: false, // the catalog's objects sit beside the site's
      distribution: this.distribution,
      // Everything: the JS and wasm keep their names from build to build, and a page must not load
      // a new index.html with an old wasm-bindgen pair (or the reverse) from the edge's cache.
      distributionPaths: ['/*'],
      role: deployRole('SiteFilesRole'),
      memoryLimit: 512,
    });
    const catalogDeploy = new s3deploy.BucketDeployment(this, 'CatalogFiles', {
      // `v1/products` is both an object (the list) and the prefix of each product's object: S3
      // keys are flat, a folder cannot hold both, so the list comes from its own file.
      sources: [s3deploy.Source.asset(artifacts.catalogDir), s3deploy.Source.data('v1/products', artifacts.catalogList())],
      destinationBucket: this.siteBucket,
      prune: false,
      contentType: 'application/json',
      cacheControl: [s3deploy.CacheControl.maxAge(Duration.minutes(5))],
      distribution: this.distribution,
      distributionPaths: ['/v1/products*'],
      role: deployRole('CatalogFilesRole'),
      memoryLimit: 512,
    });
    catalogDeploy.node.addDependency(siteDeploy);
    // The deployments' shared handler (a singleton at the stack's root).
    for (const child of this.node.children) {
      if (child.node.id.startsWith('Custom::CDKBucketDeployment')) {
        acknowledge(child, "CDK's BucketDeployment handler: its runtime is chosen by aws-cdk-lib (pinned in package.json)", 'L1');
      }
    }

    new CfnOutput(this, 'StorefrontUrl', {
      description: 'The demo shop (its tracker sends to /v1/events on the same origin)',
      value: `https://${this.distribution.distributionDomainName}/`,
    });
    new CfnOutput(this, 'EventsEndpoint', {
      description: "Other shops' trackers: shopstream.init({ endpoint: <this>, writeKey: <a key of the sites context> })",
      value: `${this.api.url}v1/events`,
    });
    new CfnOutput(this, 'RecommendationsEndpoint', { value: `${this.api.url}v1/recommendations` });
  }
}
