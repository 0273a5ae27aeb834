// The whole platform for one environment: three stacks, named `Shopstream-<env>-{Data,Web,Ops}`.
// `bin/app.ts` builds it for `cdk`; the tests build it the same way.

import { App, Environment, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

import { Artifacts } from './artifacts';
import { DataStack } from './data-stack';
import { OpsStack } from './ops-stack';
import { settingsFrom } from './settings';
import { WebStack } from './web-stack';

export interface Platform {
  data: DataStack;
  web: WebStack;
  ops: OpsStack;
}

/** Adds the platform to `app`, configured from its context, with cdk-nag's AWS Solutions checks. */
export function buildPlatform(app: App, env?: Environment): Platform {
  // Cross-stack references as CloudFormation exports (CDK's default, stated): a stack in use
  // cannot lose a value another stack imports.
  if (app.node.tryGetContext('@aws-cdk/core:defaultCrossStackReferences') === undefined) {
    app.node.setContext('@aws-cdk/core:defaultCrossStackReferences', 'strong');
  }
  const settings = settingsFrom(app.node);
  const artifacts = new Artifacts(settings.artifactsDir);
  const name = (part: string) => `Shopstream-${settings.envName}-${part}`;
  const tags = { project: 'shopstream', environment: settings.envName };
  const data = new DataStack(app, name('Data'), {
    settings,
    artifacts,
    env,
    tags,
    description: 'Shopstream: stream, state table, lake, processing, shoppers (user pool)',
  });
  const web = new WebStack(app, name('Web'), {
    settings,
    artifacts,
    data,
    env,
    tags,
    description: 'Shopstream: storefront (S3 + CloudFront), ingest and recommendations API (API Gateway + WAF)',
  });
  const ops = new OpsStack(app, name('Ops'), {
    settings,
    data,
    web,
    env,
    tags,
    description: 'Shopstream: alarms and the pipeline dashboard',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { data, web, ops };
}
