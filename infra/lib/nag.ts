// cdk-nag acknowledgements. cdk-nag 3 matches an acknowledgement by its exact id, and a rule that
// reports several findings (IAM5: one per wildcard) needs one per finding: `IAM5[Action::s3:List*]`.
// Each carries the reason it is acceptable; the tests check no finding is left unacknowledged and
// every acknowledgement has a reason.

import { CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** Acknowledges AwsSolutions `findings` (such as `CFR1` or `IAM5[Resource::*]`) on `scope` and below. */
export function acknowledge(scope: IConstruct, reason: string, ...findings: string[]): void {
  Validations.of(scope).acknowledge(...findings.map((f) => ({ id: `AwsSolutions-${f}`, reason })));
}

/** How cdk-nag names `Fn::GetAtt <resource>.Arn` in a finding: `<LogicalId.Arn>`. */
export function arnRef(resource: IConstruct): string {
  const cfn = (resource.node.defaultChild ?? resource) as CfnElement;
  return `<${Stack.of(cfn).getLogicalId(cfn)}.Arn>`;
}
