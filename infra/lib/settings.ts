// What differs between environments, read once from the CDK context (`-c key=value`). Nothing
// account-specific lives in the repository: the account and region come from the CLI's profile
// (CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION) at deploy time, and a synth needs neither.

import { Duration } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

export type EnvName = 'dev' | 'prod';

/** A site allowed to send events: its public write key maps to a name and its browser origins. */
export interface SiteAccess {
  site: string;
  origins: string[];
}

export interface Settings {
  envName: EnvName;
  /** Prefix of every physical name this app sets (`shopstream-dev`). */
  prefix: string;
  /** On-demand Kinesis (the default), or provisioned with this many shards. */
  streamShards?: number;
  /** Kinesis retention: how long a stalled processor may lag before records age out. */
  streamRetention: Duration;
  /** Keep data stores (buckets, table, stream key) when the stack is deleted. */
  retainData: boolean;
  logRetention: RetentionDays;
  /** The public write key CloudFront adds to the storefront's own API calls. */
  storefrontWriteKey: string;
  /** Further browser origins the storefront's key accepts (a custom domain). */
  storefrontOrigins: string[];
  /** Third-party shops sending straight to the API: write key -> site. */
  sites: Record<string, SiteAccess>;
  /** Where alarms are e-mailed (optional; the topic exists either way). */
  alarmEmail?: string;
  /** API Gateway stage throttling (requests per second across all callers, and burst). */
  apiRateLimit: number;
  apiBurstLimit: number;
  /** WAF rate-based rule: requests per IP per 5 minutes before that IP is blocked. */
  wafRequestsPerIpPer5Min: number;
  /** The curated lake job's schedule. */
  lakeBuildEvery: Duration;
  /** The built Lambdas, storefront and catalog (`cargo xtask package` writes `infra/build/`). */
  artifactsDir: string;
  /** Whether this environment sets API Gateway's account-wide CloudWatch role (false for the
   * second environment of one account and region). */
  apiGatewayCloudWatchRole: boolean;
  /** Reserve the lake build's concurrency at 1 (accounts at the default limit of 10 cannot reserve). */
  reserveLakeBuildConcurrency: boolean;
}

/** The defaults per environment; every one can be overridden from the context. */
type Derived = 'envName' | 'prefix' | 'sites' | 'storefrontOrigins' | 'artifactsDir' | 'apiGatewayCloudWatchRole' | 'reserveLakeBuildConcurrency';
const DEFAULTS: Record<EnvName, Omit<Settings, Derived>> = {
  dev: {
    streamRetention: Duration.hours(24),
    retainData: false,
    logRetention: RetentionDays.TWO_WEEKS,
    storefrontWriteKey: 'wk_storefront_dev',
    apiRateLimit: 200,
    apiBurstLimit: 400,
    wafRequestsPerIpPer5Min: 2000,
    lakeBuildEvery: Duration.hours(1),
  },
  prod: {
    streamRetention: Duration.days(7),
    retainData: true,
    logRetention: RetentionDays.THREE_MONTHS,
    storefrontWriteKey: 'wk_storefront_prod',
    apiRateLimit: 2000,
    apiBurstLimit: 4000,
    wafRequestsPerIpPer5Min: 2000,
    lakeBuildEvery: Duration.hours(1),
  },
};

/** Context lookup, as the CDK node offers it. */
export interface ContextReader {
  tryGetContext(key: string): unknown;
}

function str(ctx: ContextReader, key: string): string | undefined {
  const v = ctx.tryGetContext(key);
  if (v === undefined || v === null || v === '') return undefined;
  return String(v);
}

function bool(ctx: ContextReader, key: string, byDefault: boolean): boolean {
  const v = str(ctx, key);
  if (v === undefined) return byDefault;
  if (v !== 'true' && v !== 'false') throw new Error(`context ${key}=${v}: expected true or false`);
  return v === 'true';
}

function int(ctx: ContextReader, key: string, min: number, max: number): number | undefined {
  const v = str(ctx, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`context ${key}=${v}: expected a whole number from ${min} to ${max}`);
  }
  return n;
}

const ORIGIN = /^https?:\/\/[^/*\s]+$/;

function origins(list: unknown, what: string): string[] {
  if (!Array.isArray(list) || list.some((o) => typeof o !== 'string' || !ORIGIN.test(o))) {
    throw new Error(`${what}: expected a list of origins such as "https://shop.example" (no path, no wildcard)`);
  }
  return list as string[];
}

/** Reads and checks the settings; a bad value fails the synth with the key it came from. */
export function settingsFrom(ctx: ContextReader): Settings {
  const envName = str(ctx, 'env') ?? 'dev';
  if (envName !== 'dev' && envName !== 'prod') {
    throw new Error(`context env=${envName}: expected dev or prod`);
  }
  const d = DEFAULTS[envName];
  const sitesJson = str(ctx, 'sites');
  let sites: Record<string, SiteAccess> = {};
  if (sitesJson !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(sitesJson);
    } catch (e) {
      throw new Error(`context sites: not JSON (${(e as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error('context sites: expected {"<write key>": {"site": "<name>", "origins": ["https://..."]}}');
    }
    for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
      const v = value as { site?: unknown; origins?: unknown };
      if (typeof v?.site !== 'string' || v.site === '') throw new Error(`context sites: ${key} needs a "site" name`);
      sites[key] = { site: v.site, origins: origins(v.origins, `context sites: ${key}.origins`) };
    }
  }
  const storefrontOrigins = origins(
    (str(ctx, 'storefrontOrigins') ?? '').split(',').filter((o) => o !== ''),
    'context storefrontOrigins',
  );
  const storefrontWriteKey = str(ctx, 'storefrontWriteKey') ?? d.storefrontWriteKey;
  if (storefrontWriteKey in sites) {
    throw new Error(`context sites: ${storefrontWriteKey} is the storefront's own write key`);
  }
  const alarmEmail = str(ctx, 'alarmEmail');
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+$/.test(alarmEmail)) {
    throw new Error(`context alarmEmail=${alarmEmail}: not an e-mail address`);
  }
  return {
    ...d,
    envName,
    prefix: `shopstream-${envName}`,
    streamShards: int(ctx, 'streamShards', 1, 500),
    storefrontWriteKey,
    storefrontOrigins,
    sites,
    alarmEmail,
    apiRateLimit: int(ctx, 'apiRateLimit', 1, 10000) ?? d.apiRateLimit,
    apiBurstLimit: int(ctx, 'apiBurstLimit', 1, 5000) ?? d.apiBurstLimit,
    wafRequestsPerIpPer5Min: int(ctx, 'wafRequestsPerIpPer5Min', 100, 2_000_000_000) ?? d.wafRequestsPerIpPer5Min,
    artifactsDir: str(ctx, 'artifacts') ?? 'build',
    apiGatewayCloudWatchRole: bool(ctx, 'apiGatewayCloudWatchRole', true),
    reserveLakeBuildConcurrency: bool(ctx, 'reserveLakeBuildConcurrency', true),
  };
}
