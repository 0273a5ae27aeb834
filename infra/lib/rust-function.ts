// One of the workspace's Lambdas: a Rust `bootstrap` on `provided.al2023`, arm64 (Graviton: about
// 20% cheaper per GB-second than x86_64), X-Ray active, its own log group with a stated retention,
// and its own role that starts with nothing but writing to that log group. The stacks then grant
// each function exactly the data actions its code calls, on the named resources.

import { Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

import { Artifacts, LambdaName } from './artifacts';
import { acknowledge, arnRef } from './nag';
import { Settings } from './settings';

export interface RustFunctionProps {
  artifacts: Artifacts;
  settings: Settings;
  binary: LambdaName;
  description: string;
  environment: Record<string, string>;
  memorySize: number;
  timeout: Duration;
  reservedConcurrentExecutions?: number;
  ephemeralStorageSize?: Size;
}

export class RustFunction extends Construct {
  readonly fn: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RustFunctionProps) {
    super(scope, id);
    const { settings } = props;
    const name = `${settings.prefix}-${id.replace(/[A-Z]/g, (c, i) => (i === 0 ? '' : '-') + c.toLowerCase())}`;
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${name}`,
      retention: settings.logRetention,
      removalPolicy: settings.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${name}: its log group, X-Ray, and the data actions its code calls`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn, `${this.logGroup.logGroupArn}:log-stream:*`],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
        resources: ['*'],
      }),
    );
    acknowledge(
      this.role,
      'X-Ray PutTraceSegments and PutTelemetryRecords have no resource-level permissions; every data action is scoped to its resource',
      'IAM5[Resource::*]',
    );
    acknowledge(
      this.role,
      "The streams of the function's own log group: Lambda names one per instance at run time",
      `IAM5[Resource::${arnRef(this.logGroup)}:log-stream:*]`,
    );
    this.fn = new lambda.Function(this, 'Function', {
      functionName: name,
      description: props.description,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(props.artifacts.lambdaDir(props.binary)),
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: props.environment,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      ephemeralStorageSize: props.ephemeralStorageSize,
    });
  }
}
