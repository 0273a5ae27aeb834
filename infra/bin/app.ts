#!/usr/bin/env node
// `cdk synth|deploy -c env=dev|prod` (see infra/README.md). Account and region come from the CLI's
// profile at deploy time; a synth needs neither, nor the network.

import { App } from 'aws-cdk-lib';

import { buildPlatform } from '../lib/app';

const app = new App();
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
buildPlatform(app, account !== undefined && region !== undefined ? { account, region } : undefined);
app.synth();
