import { Type, type TInteger } from '@sinclair/typebox';
import { intSetting, invalidConfig as invalid, LIMITS, readSetting, type EnvTable } from '@telltale/protocol';
import { APP_QUOTA_FIELDS, resolveApps, type CollectorApp, type CollectorAppOptions } from './apps.js';
import {
  DEFAULT_PUBLIC_KEY_BUDGETS,
  PUBLIC_KEY_BUDGET_SETTINGS,
  type PublicKeyBudgets,
} from './public-budgets.js';
import { resolveTrustProxy, type TrustProxy } from './trust-proxy.js';

export type { CollectorApp, CollectorAppOptions } from './apps.js';
export type { TrustProxy, HopTrust } from './trust-proxy.js';

export interface CollectorLimits {
  /** Largest request body as sent, in bytes (`TELLTALE_MAX_COMPRESSED_BYTES`, default LIMITS.maxCompressedBytes = 1 MiB). */
  readonly maxCompressedBytes: number;
  /** Largest body after gunzip, in bytes: beyond it is a zip bomb (`TELLTALE_MAX_DECOMPRESSED_BYTES`, default 10 MiB). */
  readonly maxDecompressedBytes: number;
  /**
   * Largest body after gunzip of a request made with a public ingest key (`TELLTALE_MAX_PUBLIC_DECOMPRESSED_BYTES`,
   * default maxDecompressedBytes: wire protocol v1 lets any client send that much). The browser SDK's
   * batches stay under 60,000 characters, so an operator whose apps use only it may set 2 MiB.
   */
  readonly maxPublicDecompressedBytes: number;
  /** Largest attachment upload as sent, in bytes (`TELLTALE_MAX_ATTACHMENT_BYTES`, default 2 MiB). */
  readonly maxAttachmentBytes: number;
  /**
   * Most JSON values (or protobuf fields) one ingest body may hold, counted before parsing
   * (`TELLTALE_MAX_BODY_VALUES`, default DEFAULT_MAX_BODY_VALUES = 512 000: 1000 events of 512
   * values each; a full v1 event, 50 breadcrumbs and both attribute maps at their caps, is under 450).
   */
  readonly maxBodyValues: number;
  /** Most lines, blank ones included, in one `POST /v1/logs` NDJSON body (`TELLTALE_MAX_BODY_LINES`, default 2000). */
  readonly maxBodyLines: number;
}

/** Values one event may hold before the body budget refuses its batch (see CollectorLimits.maxBodyValues). */
export const MAX_VALUES_PER_EVENT = 512;
export const DEFAULT_MAX_BODY_VALUES = LIMITS.maxEventsPerBatch * MAX_VALUES_PER_EVENT;
/** Twice the most log lines in one request: room for blank lines between them. */
export const DEFAULT_MAX_BODY_LINES = 2 * LIMITS.maxEventsPerBatch;

/** A token bucket: `perSecond` requests on average, `burst` at once. 0 turns the limit off. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export interface CollectorRateLimits {
  /** Per key (`TELLTALE_RATE_LIMIT_PER_KEY` / `_BURST`, default 1000/s, burst 2000): one app cannot crowd out the others. */
  readonly perKey: RateLimit;
  /** Per client IP (`TELLTALE_RATE_LIMIT_PER_IP` / `_BURST`, default 100/s, burst 200). Behind a proxy, needs trustProxy. */
  readonly perIp: RateLimit;
}

export interface CollectorTimeouts {
  /** Whole request headers must arrive within this (`TELLTALE_HEADERS_TIMEOUT_MS`, default 10 s): slowloris. */
  readonly headersMs: number;
  /** Whole request, body included, within this (`TELLTALE_REQUEST_TIMEOUT_MS`, default 30 s). */
  readonly requestMs: number;
  /** Idle keep-alive connections close after this (`TELLTALE_KEEP_ALIVE_TIMEOUT_MS`, default 65 s, above common proxies' 60 s). */
  readonly keepAliveMs: number;
}

export interface CollectorConnections {
  /** Open connections at most (`TELLTALE_MAX_CONNECTIONS`, default 10000). */
  readonly max: number;
  /** Open connections per client address (`TELLTALE_MAX_CONNECTIONS_PER_IP`, default 256; 0 = off; off with trustProxy). */
  readonly perIp: number;
}

export interface CollectorStorage {
  /** Disk cap of each spool (client, server logs) in bytes (`TELLTALE_SPOOL_DISK_CAP_BYTES`, default 1 GiB). */
  readonly spoolMaxBytes: number;
  /** Disk cap of the attachment store in bytes (`TELLTALE_ATTACHMENTS_DISK_CAP_BYTES`, default 1 GiB). */
  readonly attachmentsMaxBytes: number;
}

export interface CollectorRetention {
  /** Attachment day folders older than this are deleted whole, at start and hourly (`TELLTALE_ATTACHMENTS_RETENTION_DAYS`, default 30). */
  readonly attachmentsDays: number;
}

/**
 * Per-app quotas, the defaults for every app; an app overrides them with `quotas` in the apps file
 * (`telltale apps quota`). 0 turns one off. Over a quota: 429 TELLTALE_ERR_QUOTA_EXCEEDED + Retry-After.
 * The public-key budgets (PublicKeyBudgets: `TELLTALE_QUOTA_BYTES_PER_ADDRESS_PER_HOUR`, …) hold each
 * client of an ingest key to a small share of them: 429 TELLTALE_ERR_CLIENT_QUOTA_EXCEEDED.
 */
export interface CollectorQuotas extends PublicKeyBudgets {
  /** Events (client events and server log lines) accepted per app per clock minute (`TELLTALE_QUOTA_EVENTS_PER_MINUTE`, default 60,000). */
  readonly eventsPerMinute: number;
  /** Bytes stored in the spools per app per UTC day (`TELLTALE_QUOTA_BYTES_PER_DAY`, default 2 GiB). */
  readonly bytesPerDay: number;
  /** Attachments per session id per UTC day with the ingest key (`TELLTALE_QUOTA_ATTACHMENTS_PER_SESSION`, default 3). */
  readonly attachmentsPerSession: number;
  /** Attachments per app per UTC day (`TELLTALE_QUOTA_ATTACHMENTS_PER_DAY`, default 1,000). */
  readonly attachmentsPerDay: number;
  /** Attachment bytes (as stored, gzip) per app per UTC day (`TELLTALE_QUOTA_ATTACHMENT_BYTES_PER_DAY`, default 256 MiB). */
  readonly attachmentBytesPerDay: number;
  /**
   * Most of a spool's disk cap one app may hold in bytes not yet removed, as a fraction
   * (`TELLTALE_SPOOL_APP_SHARE`, default 0.5; 0 or 1 = off). Applies only while there is more than
   * one app, so a noisy app cannot make the collector refuse everyone's data. Collector-wide only.
   */
  readonly spoolShare: number;
}

export interface CollectorConfig {
  /** Apps and their keys (options, `TELLTALE_APPS`, or `telltale.config.json`; at least one app is required). */
  readonly apps: readonly CollectorApp[];
  readonly limits: CollectorLimits;
  readonly rateLimits: CollectorRateLimits;
  readonly timeouts: CollectorTimeouts;
  readonly connections: CollectorConnections;
  readonly storage: CollectorStorage;
  readonly quotas: CollectorQuotas;
  readonly retention: CollectorRetention;
  /**
   * Which reverse proxies' X-Forwarded-For is believed (`TELLTALE_TRUST_PROXY`, default false): a
   * hop count (`1`) or addresses/CIDRs (`10.0.0.1,192.168.0.0/16,fd00::/8`); `true`/`*` are refused.
   */
  readonly trustProxy: TrustProxy;
}

export interface CollectorOptions {
  apps?: readonly CollectorAppOptions[];
  limits?: Partial<CollectorLimits>;
  rateLimits?: { perKey?: Partial<RateLimit>; perIp?: Partial<RateLimit> };
  timeouts?: Partial<CollectorTimeouts>;
  connections?: Partial<CollectorConnections>;
  storage?: Partial<CollectorStorage>;
  quotas?: Partial<CollectorQuotas>;
  retention?: Partial<CollectorRetention>;
  trustProxy?: false | number | string | readonly string[];
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
// Far above any sane upload, far below what would let one request exhaust memory.
const MAX_LIMIT_BYTES = GiB;
const MAX_DISK_CAP_BYTES = 2 ** 50;
export const DEFAULT_MAX_ATTACHMENT_BYTES = 2 * MiB;
export const DEFAULT_DISK_CAP_BYTES = GiB;
export const DEFAULT_SPOOL_APP_SHARE = 0.5;
export const DEFAULT_ATTACHMENTS_RETENTION_DAYS = 30;
/** Generous: far above a healthy app, low enough that one runaway app cannot fill a disk in a day. */
export const DEFAULT_QUOTAS: CollectorQuotas = Object.freeze({
  eventsPerMinute: 60_000,
  bytesPerDay: 2 * GiB,
  attachmentsPerSession: 3,
  attachmentsPerDay: 1000,
  attachmentBytesPerDay: 256 * MiB,
  spoolShare: DEFAULT_SPOOL_APP_SHARE,
  ...DEFAULT_PUBLIC_KEY_BUDGETS,
});

const bytes = (env: string, fallback: number, max = MAX_LIMIT_BYTES, min = 1) =>
  intSetting(env, min, max, fallback, 'bytes');
const ms = (env: string, fallback: number) => intSetting(env, 100, 3_600_000, fallback, 'milliseconds');
const quota = (env: string, fallback: number, unit: string) =>
  intSetting(env, 0, MAX_DISK_CAP_BYTES, fallback, `${unit} (0 = off)`);

/**
 * The collector's environment, one entry per field (option path → variable, bounds, default).
 * The bursts' defaults are twice their rates, filled in after reading.
 */
export const COLLECTOR_SETTINGS = {
  'limits.maxCompressedBytes': bytes('TELLTALE_MAX_COMPRESSED_BYTES', LIMITS.maxCompressedBytes),
  'limits.maxDecompressedBytes': bytes('TELLTALE_MAX_DECOMPRESSED_BYTES', LIMITS.maxDecompressedBytes),
  'limits.maxAttachmentBytes': bytes('TELLTALE_MAX_ATTACHMENT_BYTES', DEFAULT_MAX_ATTACHMENT_BYTES),
  'limits.maxBodyValues': intSetting(
    'TELLTALE_MAX_BODY_VALUES',
    1000,
    100_000_000,
    DEFAULT_MAX_BODY_VALUES,
    'values',
  ),
  'limits.maxBodyLines': intSetting(
    'TELLTALE_MAX_BODY_LINES',
    10,
    10_000_000,
    DEFAULT_MAX_BODY_LINES,
    'lines',
  ),
  'rateLimits.perKey.perSecond': intSetting(
    'TELLTALE_RATE_LIMIT_PER_KEY',
    0,
    1_000_000,
    1000,
    'requests per second (0 = off)',
  ),
  'rateLimits.perKey.burst': intSetting(
    'TELLTALE_RATE_LIMIT_PER_KEY_BURST',
    0,
    10_000_000,
    undefined,
    'requests',
  ),
  'rateLimits.perIp.perSecond': intSetting(
    'TELLTALE_RATE_LIMIT_PER_IP',
    0,
    1_000_000,
    100,
    'requests per second (0 = off)',
  ),
  'rateLimits.perIp.burst': intSetting(
    'TELLTALE_RATE_LIMIT_PER_IP_BURST',
    0,
    10_000_000,
    undefined,
    'requests',
  ),
  'timeouts.headersMs': ms('TELLTALE_HEADERS_TIMEOUT_MS', 10_000),
  'timeouts.requestMs': ms('TELLTALE_REQUEST_TIMEOUT_MS', 30_000),
  'timeouts.keepAliveMs': ms('TELLTALE_KEEP_ALIVE_TIMEOUT_MS', 65_000),
  'connections.max': intSetting('TELLTALE_MAX_CONNECTIONS', 1, 1_000_000, 10_000, 'connections'),
  'connections.perIp': intSetting('TELLTALE_MAX_CONNECTIONS_PER_IP', 0, 1_000_000, 256, 'connections'),
  'storage.spoolMaxBytes': bytes(
    'TELLTALE_SPOOL_DISK_CAP_BYTES',
    DEFAULT_DISK_CAP_BYTES,
    MAX_DISK_CAP_BYTES,
    64 * 1024,
  ),
  'storage.attachmentsMaxBytes': bytes(
    'TELLTALE_ATTACHMENTS_DISK_CAP_BYTES',
    DEFAULT_DISK_CAP_BYTES,
    MAX_DISK_CAP_BYTES,
    64 * 1024,
  ),
  'retention.attachmentsDays': intSetting(
    'TELLTALE_ATTACHMENTS_RETENTION_DAYS',
    1,
    3650,
    DEFAULT_ATTACHMENTS_RETENTION_DAYS,
    'days',
  ),
  'quotas.eventsPerMinute': quota(
    'TELLTALE_QUOTA_EVENTS_PER_MINUTE',
    DEFAULT_QUOTAS.eventsPerMinute,
    'items',
  ),
  'quotas.bytesPerDay': quota('TELLTALE_QUOTA_BYTES_PER_DAY', DEFAULT_QUOTAS.bytesPerDay, 'bytes'),
  'quotas.attachmentsPerSession': quota(
    'TELLTALE_QUOTA_ATTACHMENTS_PER_SESSION',
    DEFAULT_QUOTAS.attachmentsPerSession,
    'items',
  ),
  'quotas.attachmentsPerDay': quota(
    'TELLTALE_QUOTA_ATTACHMENTS_PER_DAY',
    DEFAULT_QUOTAS.attachmentsPerDay,
    'items',
  ),
  'quotas.attachmentBytesPerDay': quota(
    'TELLTALE_QUOTA_ATTACHMENT_BYTES_PER_DAY',
    DEFAULT_QUOTAS.attachmentBytesPerDay,
    'bytes',
  ),
  ...PUBLIC_KEY_BUDGET_SETTINGS,
  'quotas.spoolShare': {
    env: 'TELLTALE_SPOOL_APP_SHARE',
    schema: Type.Number({ minimum: 0, maximum: 1, default: DEFAULT_SPOOL_APP_SHARE }),
    expected: 'must be a fraction of the disk cap from 0 to 1 (e.g. 0.5; 0 or 1 = off)',
  },
  trustProxy: {
    env: 'TELLTALE_TRUST_PROXY',
    schema: Type.String(),
    expected: 'must be a hop count (1) or proxy addresses/CIDRs (10.0.0.1,192.168.0.0/16)',
  },
  apps: { env: 'TELLTALE_APPS', schema: Type.String(), expected: 'must be a JSON array of apps' },
} as const satisfies EnvTable;

type IntField = Exclude<keyof typeof COLLECTOR_SETTINGS, 'quotas.spoolShare' | 'trustProxy' | 'apps'>;

/** An explicit option, else the environment variable, else the default (COLLECTOR_SETTINGS). */
function resolveInt(env: NodeJS.ProcessEnv, field: IntField, option: unknown): number | undefined {
  return readSetting<TInteger>(COLLECTOR_SETTINGS[field], env, { field, value: option });
}
const resolveNumber = (env: NodeJS.ProcessEnv, field: IntField, option: unknown): number =>
  resolveInt(env, field, option)!;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function section(value: unknown, field: string, known: readonly string[]): Record<string, unknown> {
  const raw = value ?? {};
  if (!isRecord(raw)) invalid(field, `must be an object { ${known.join(', ')} }`);
  for (const key of Object.keys(raw)) {
    if (!known.includes(key))
      invalid(`${field}.${key}`, `unknown setting; expected one of ${known.join(', ')}`);
  }
  return raw;
}

function resolveQuotas(value: unknown, env: NodeJS.ProcessEnv): CollectorQuotas {
  const raw = section(value, 'quotas', Object.keys(DEFAULT_QUOTAS));
  const quotas = Object.fromEntries(
    APP_QUOTA_FIELDS.map((name) => [name, resolveNumber(env, `quotas.${name}`, raw[name])]),
  ) as Omit<CollectorQuotas, 'spoolShare'>;
  const spoolShare = readSetting(COLLECTOR_SETTINGS['quotas.spoolShare'], env, {
    field: 'quotas.spoolShare',
    value: raw.spoolShare,
  });
  return Object.freeze({ ...quotas, spoolShare });
}

function resolveAppsFrom(options: CollectorOptions, env: NodeJS.ProcessEnv): CollectorApp[] {
  const howToFix =
    'pass apps: [{ id, name, ingestKeys: [key] }], set TELLTALE_APPS to that JSON array, ' +
    'or add one with "telltale apps add <id>"';
  if (options.apps !== undefined) return resolveApps(options.apps, 'apps', howToFix);
  let parsed: unknown;
  try {
    parsed = env.TELLTALE_APPS === undefined ? undefined : JSON.parse(env.TELLTALE_APPS);
  } catch {
    invalid(
      'TELLTALE_APPS',
      'is not valid JSON; expected [{"id":"web","name":"Web app","ingestKeys":["..."]}]',
    );
  }
  return resolveApps(parsed, env.TELLTALE_APPS === undefined ? 'apps' : 'TELLTALE_APPS', howToFix);
}

function resolveRateLimit(
  value: unknown,
  field: 'rateLimits.perKey' | 'rateLimits.perIp',
  env: NodeJS.ProcessEnv,
): RateLimit {
  const raw = section(value, field, ['perSecond', 'burst']);
  const perSecond = resolveNumber(env, `${field}.perSecond`, raw.perSecond);
  const burst = resolveInt(env, `${field}.burst`, raw.burst) ?? perSecond * 2;
  if (perSecond > 0 && burst < 1) invalid(`${field}.burst`, 'must be at least 1 when the rate limit is on');
  return Object.freeze({ perSecond, burst });
}

/**
 * Explicit options win over the environment (`TELLTALE_*`), the environment over defaults.
 * Validated once at start-up and frozen; a bad field stops start-up naming the field and the fix.
 */
export function resolveCollectorConfig(
  options: CollectorOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): CollectorConfig {
  if (!isRecord(options)) invalid('options', 'must be an object');
  section(options, 'options', [
    'apps',
    'limits',
    'rateLimits',
    'timeouts',
    'connections',
    'storage',
    'quotas',
    'retention',
    'trustProxy',
  ]);
  const apps = resolveAppsFrom(options, env);

  const limitOptions = section(options.limits, 'limits', [
    'maxCompressedBytes',
    'maxDecompressedBytes',
    'maxPublicDecompressedBytes',
    'maxAttachmentBytes',
    'maxBodyValues',
    'maxBodyLines',
  ]);
  const maxCompressedBytes = resolveNumber(env, 'limits.maxCompressedBytes', limitOptions.maxCompressedBytes);
  const maxDecompressedBytes = resolveNumber(
    env,
    'limits.maxDecompressedBytes',
    limitOptions.maxDecompressedBytes,
  );
  // A plain (identity) body is its own decompressed form, so it must fit both limits.
  if (maxDecompressedBytes < maxCompressedBytes) {
    invalid(
      'limits.maxDecompressedBytes',
      `must be at least limits.maxCompressedBytes (${maxCompressedBytes})`,
    );
  }
  const maxPublicDecompressedBytes =
    resolveInt(env, 'limits.maxPublicDecompressedBytes', limitOptions.maxPublicDecompressedBytes) ??
    maxDecompressedBytes;
  if (maxPublicDecompressedBytes > maxDecompressedBytes)
    invalid(
      'limits.maxPublicDecompressedBytes',
      `must not exceed limits.maxDecompressedBytes (${maxDecompressedBytes}): it is the lower limit of public-key requests`,
    );
  const maxAttachmentBytes = resolveNumber(env, 'limits.maxAttachmentBytes', limitOptions.maxAttachmentBytes);
  const maxBodyValues = resolveNumber(env, 'limits.maxBodyValues', limitOptions.maxBodyValues);
  const maxBodyLines = resolveNumber(env, 'limits.maxBodyLines', limitOptions.maxBodyLines);

  const rateOptions = section(options.rateLimits, 'rateLimits', ['perKey', 'perIp']);
  const rateLimits = Object.freeze({
    perKey: resolveRateLimit(rateOptions.perKey, 'rateLimits.perKey', env),
    perIp: resolveRateLimit(rateOptions.perIp, 'rateLimits.perIp', env),
  });

  const timeoutOptions = section(options.timeouts, 'timeouts', ['headersMs', 'requestMs', 'keepAliveMs']);
  const headersMs = resolveNumber(env, 'timeouts.headersMs', timeoutOptions.headersMs);
  const requestMs = resolveNumber(env, 'timeouts.requestMs', timeoutOptions.requestMs);
  const keepAliveMs = resolveNumber(env, 'timeouts.keepAliveMs', timeoutOptions.keepAliveMs);
  // Node refuses a headers timeout longer than the request timeout.
  if (headersMs > requestMs)
    invalid('timeouts.headersMs', `must not exceed timeouts.requestMs (${requestMs})`);

  const connectionOptions = section(options.connections, 'connections', ['max', 'perIp']);
  const connections = Object.freeze({
    max: resolveNumber(env, 'connections.max', connectionOptions.max),
    perIp: resolveNumber(env, 'connections.perIp', connectionOptions.perIp),
  });

  const storageOptions = section(options.storage, 'storage', ['spoolMaxBytes', 'attachmentsMaxBytes']);
  const storage = Object.freeze({
    spoolMaxBytes: resolveNumber(env, 'storage.spoolMaxBytes', storageOptions.spoolMaxBytes),
    attachmentsMaxBytes: resolveNumber(
      env,
      'storage.attachmentsMaxBytes',
      storageOptions.attachmentsMaxBytes,
    ),
  });
  const retentionOptions = section(options.retention, 'retention', ['attachmentsDays']);
  const retention = Object.freeze({
    attachmentsDays: resolveNumber(env, 'retention.attachmentsDays', retentionOptions.attachmentsDays),
  });

  const trustProxy = resolveTrustProxy(options.trustProxy, env.TELLTALE_TRUST_PROXY);

  return Object.freeze({
    apps: Object.freeze(apps),
    limits: Object.freeze({
      maxCompressedBytes,
      maxDecompressedBytes,
      maxPublicDecompressedBytes,
      maxAttachmentBytes,
      maxBodyValues,
      maxBodyLines,
    }),
    rateLimits,
    timeouts: Object.freeze({ headersMs, requestMs, keepAliveMs }),
    connections,
    storage,
    quotas: resolveQuotas(options.quotas, env),
    retention,
    trustProxy: Array.isArray(trustProxy) ? (Object.freeze(trustProxy) as string[]) : trustProxy,
  });
}
