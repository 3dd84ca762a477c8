import {
  envText,
  intSetting,
  invalidConfig as invalid,
  readSetting,
  type EnvTable,
} from '@telltale/protocol';

/** The sinks `TELLTALE_SINKS` can name; each is a folder under sinks/. */
export const SINK_KINDS = ['duckdb', 'clickhouse', 'log-analytics', 'blob-archive'] as const;
export type SinkKind = (typeof SINK_KINDS)[number];

export interface ClickHouseSettings {
  /** HTTP interface without credentials, e.g. http://clickhouse:8123 (`TELLTALE_CLICKHOUSE_URL`). */
  readonly url: string;
  /** Database of the tables, created if missing (`TELLTALE_CLICKHOUSE_DATABASE`, default telltale). */
  readonly database: string;
  /** `TELLTALE_CLICKHOUSE_USER`, or the user part of the URL. */
  readonly username: string | undefined;
  /** `TELLTALE_CLICKHOUSE_PASSWORD`, or the password part of the URL. */
  readonly password: string | undefined;
}

export interface LogAnalyticsSettings {
  /** Data collection endpoint, https (`TELLTALE_LA_ENDPOINT`). */
  readonly endpoint: string;
  /** Immutable id of the data collection rule, dcr-… (`TELLTALE_LA_RULE_ID`). */
  readonly ruleId: string;
  /** Stream of client events (`TELLTALE_LA_STREAM`, default Custom-TelltaleEvents_CL). */
  readonly stream: string;
  /** Stream of server logs (`TELLTALE_LA_SERVER_STREAM`, default Custom-TelltaleServerLogs_CL). */
  readonly serverStream: string;
}

export interface BlobArchiveSettings {
  /** `TELLTALE_BLOB_CONNECTION_STRING`. */
  readonly connectionString: string;
  /** `TELLTALE_BLOB_ARCHIVE_CONTAINER`, default telltale-archive (created if missing). */
  readonly container: string;
}

export interface BlobSourceSettings {
  /** `TELLTALE_BLOB_SOURCE_CONNECTION_STRING`, default `TELLTALE_BLOB_CONNECTION_STRING`. */
  readonly connectionString: string;
  /** `TELLTALE_BLOB_SOURCE_CONTAINER`: setting it turns the Blob source on. */
  readonly container: string;
  /** `TELLTALE_BLOB_SOURCE_PREFIX`: only blobs whose names start with it. */
  readonly prefix: string | undefined;
  /** Listing interval, ms (`TELLTALE_BLOB_SOURCE_POLL_MS`, default 10000). */
  readonly pollMs: number;
}

/** Days of raw data each store keeps (0 keeps everything); whole days are dropped. */
export interface RetentionSettings {
  /** `TELLTALE_DUCKDB_RETENTION_DAYS`, default `TELLTALE_RETENTION_DAYS` (30). */
  readonly duckdb: number;
  /** `TELLTALE_CLICKHOUSE_RETENTION_DAYS`, default `TELLTALE_RETENTION_DAYS`. */
  readonly clickhouse: number;
  /** `TELLTALE_BLOB_RETENTION_DAYS`, default `TELLTALE_RETENTION_DAYS`. */
  readonly blobArchive: number;
  /** `TELLTALE_DEAD_LETTER_RETENTION_DAYS` (default 14): scrubbed copies of poison records, by day folder. */
  readonly deadLetters: number;
  /** How often retention runs, ms (default 1 h; it also runs at start). */
  readonly intervalMs: number;
}

export interface SinkSettings {
  readonly sinks: readonly SinkKind[];
  readonly clickhouse: ClickHouseSettings | undefined;
  readonly logAnalytics: LogAnalyticsSettings | undefined;
  readonly blobArchive: BlobArchiveSettings | undefined;
  readonly blobSource: BlobSourceSettings | undefined;
  readonly retention: RetentionSettings;
}

export interface SinkOptions {
  sinks?: readonly string[];
  clickhouse?: Partial<ClickHouseSettings>;
  logAnalytics?: Partial<LogAnalyticsSettings>;
  blobArchive?: Partial<BlobArchiveSettings>;
  blobSource?: Partial<BlobSourceSettings>;
  retention?: Partial<RetentionSettings>;
}

export const SINK_DEFAULTS = Object.freeze({
  sinks: ['duckdb'] as readonly SinkKind[],
  clickhouseDatabase: 'telltale',
  laStream: 'Custom-TelltaleEvents_CL',
  laServerStream: 'Custom-TelltaleServerLogs_CL',
  archiveContainer: 'telltale-archive',
  blobSourcePollMs: 10_000,
  retentionDays: 30,
  deadLetterRetentionDays: 14,
  retentionIntervalMs: 3_600_000,
});

/** The one empty-value rule (protocol's envText) for options and variables alike. */
const text = (value: string | undefined): string | undefined =>
  value === undefined ? undefined : envText({ value }, 'value');

const days = (env: string, fallback?: number) => intSetting(env, 0, 36_500, fallback, '');

/** The sinks' numeric variables (the per-store retentions default to TELLTALE_RETENTION_DAYS). */
export const SINK_SETTINGS = {
  blobSourcePollMs: intSetting(
    'TELLTALE_BLOB_SOURCE_POLL_MS',
    50,
    3_600_000,
    SINK_DEFAULTS.blobSourcePollMs,
    '',
  ),
  retentionDays: days('TELLTALE_RETENTION_DAYS', SINK_DEFAULTS.retentionDays),
  duckdb: days('TELLTALE_DUCKDB_RETENTION_DAYS'),
  clickhouse: days('TELLTALE_CLICKHOUSE_RETENTION_DAYS'),
  blobArchive: days('TELLTALE_BLOB_RETENTION_DAYS'),
  deadLetters: days('TELLTALE_DEAD_LETTER_RETENTION_DAYS', SINK_DEFAULTS.deadLetterRetentionDays),
} as const satisfies EnvTable;

const RETENTION_INTERVAL = intSetting('', 1_000, 86_400_000, SINK_DEFAULTS.retentionIntervalMs, '');

/** An option (named `field` in errors) else the variable else the default; whole numbers only. */
function integer(
  key: keyof typeof SINK_SETTINGS,
  field: string,
  option: number | undefined,
  env: NodeJS.ProcessEnv,
) {
  return readSetting(SINK_SETTINGS[key], env, { field, value: option });
}

function httpUrl(field: string, raw: string, example: string, httpsOnly = false): URL {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  const ok = url !== undefined && (url.protocol === 'https:' || (!httpsOnly && url.protocol === 'http:'));
  // Never echo the value: it may carry a password.
  if (!ok) invalid(field, `must be an ${httpsOnly ? 'https' : 'http(s)'} URL such as ${example}`);
  return url!;
}

// Azure container names: 3–63 of a-z 0-9 and single hyphens, starting with a letter or digit.
const CONTAINER = /^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/;

function container(field: string, raw: string): string {
  if (!CONTAINER.test(raw))
    invalid(field, `"${raw}" is not a container name (3–63 of a-z, 0-9 and single "-")`);
  return raw;
}

function connectionString(field: string, raw: string | undefined, neededBy: string): string {
  if (raw === undefined)
    invalid(field, `is required by ${neededBy} (the storage account's connection string)`);
  if (!/(?:^|;)\s*(?:AccountName|BlobEndpoint)\s*=/i.test(raw) && !/UseDevelopmentStorage=true/i.test(raw))
    invalid(field, 'does not look like a storage connection string (it needs AccountName= or BlobEndpoint=)');
  return raw;
}

function parseSinks(raw: readonly string[] | string | undefined): readonly SinkKind[] {
  if (raw === undefined) return SINK_DEFAULTS.sinks;
  const names = (typeof raw === 'string' ? raw.split(',') : raw).map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) return SINK_DEFAULTS.sinks;
  for (const name of names)
    if (!(SINK_KINDS as readonly string[]).includes(name))
      invalid(
        'TELLTALE_SINKS',
        `unknown sink "${name}" (choose from ${SINK_KINDS.join(', ')}, comma-separated)`,
      );
  return [...new Set(names)] as SinkKind[];
}

/** Explicit options win over the environment, the environment over defaults. */
export function resolveSinkSettings(options: SinkOptions, env: NodeJS.ProcessEnv): SinkSettings {
  const sinks = parseSinks(options.sinks ?? text(env.TELLTALE_SINKS));

  let clickhouse: ClickHouseSettings | undefined;
  if (sinks.includes('clickhouse')) {
    const raw = text(options.clickhouse?.url ?? env.TELLTALE_CLICKHOUSE_URL);
    if (raw === undefined)
      invalid(
        'TELLTALE_CLICKHOUSE_URL',
        'is required when TELLTALE_SINKS has clickhouse (e.g. http://127.0.0.1:8123)',
      );
    const url = httpUrl('TELLTALE_CLICKHOUSE_URL', raw, 'http://127.0.0.1:8123');
    const database =
      text(options.clickhouse?.database ?? env.TELLTALE_CLICKHOUSE_DATABASE) ??
      SINK_DEFAULTS.clickhouseDatabase;
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(database))
      invalid(
        'TELLTALE_CLICKHOUSE_DATABASE',
        `"${database}" must be letters, digits and "_" (e.g. telltale)`,
      );
    const username =
      text(options.clickhouse?.username ?? env.TELLTALE_CLICKHOUSE_USER) ??
      (url.username === '' ? undefined : decodeURIComponent(url.username));
    const password =
      options.clickhouse?.password ??
      env.TELLTALE_CLICKHOUSE_PASSWORD ??
      (url.password === '' ? undefined : decodeURIComponent(url.password));
    url.username = '';
    url.password = '';
    clickhouse = Object.freeze({
      url: url.toString().replace(/(?<!\/)\/+$/, ''),
      database,
      username,
      password,
    });
  }

  let logAnalytics: LogAnalyticsSettings | undefined;
  if (sinks.includes('log-analytics')) {
    const endpoint = text(options.logAnalytics?.endpoint ?? env.TELLTALE_LA_ENDPOINT);
    if (endpoint === undefined)
      invalid(
        'TELLTALE_LA_ENDPOINT',
        'is required when TELLTALE_SINKS has log-analytics (the DCE logs ingestion URL)',
      );
    httpUrl(
      'TELLTALE_LA_ENDPOINT',
      endpoint,
      'https://my-dce-a1b2.westeurope-1.ingest.monitor.azure.com',
      true,
    );
    const ruleId = text(options.logAnalytics?.ruleId ?? env.TELLTALE_LA_RULE_ID);
    if (ruleId === undefined || !/^dcr-[0-9a-f]{32}$/.test(ruleId))
      invalid(
        'TELLTALE_LA_RULE_ID',
        'must be the rule\'s immutable id, "dcr-" and 32 hex digits (deploy/azure/ prints it)',
      );
    const stream = text(options.logAnalytics?.stream ?? env.TELLTALE_LA_STREAM) ?? SINK_DEFAULTS.laStream;
    const serverStream =
      text(options.logAnalytics?.serverStream ?? env.TELLTALE_LA_SERVER_STREAM) ??
      SINK_DEFAULTS.laServerStream;
    for (const [field, value] of [
      ['TELLTALE_LA_STREAM', stream],
      ['TELLTALE_LA_SERVER_STREAM', serverStream],
    ] as const)
      if (!/^Custom-[A-Za-z0-9_]{1,100}$/.test(value))
        invalid(field, `"${value}" must be a custom stream name such as Custom-TelltaleEvents_CL`);
    logAnalytics = Object.freeze({
      endpoint: endpoint.replace(/(?<!\/)\/+$/, ''),
      ruleId,
      stream,
      serverStream,
    });
  }

  const sharedBlob = text(env.TELLTALE_BLOB_CONNECTION_STRING);
  let blobArchive: BlobArchiveSettings | undefined;
  if (sinks.includes('blob-archive')) {
    blobArchive = Object.freeze({
      connectionString: connectionString(
        'TELLTALE_BLOB_CONNECTION_STRING',
        text(options.blobArchive?.connectionString) ?? sharedBlob,
        'the blob-archive sink',
      ),
      container: container(
        'TELLTALE_BLOB_ARCHIVE_CONTAINER',
        text(options.blobArchive?.container ?? env.TELLTALE_BLOB_ARCHIVE_CONTAINER) ??
          SINK_DEFAULTS.archiveContainer,
      ),
    });
  }

  let blobSource: BlobSourceSettings | undefined;
  const sourceContainer = text(options.blobSource?.container ?? env.TELLTALE_BLOB_SOURCE_CONTAINER);
  if (sourceContainer !== undefined) {
    blobSource = Object.freeze({
      connectionString: connectionString(
        'TELLTALE_BLOB_SOURCE_CONNECTION_STRING',
        text(options.blobSource?.connectionString ?? env.TELLTALE_BLOB_SOURCE_CONNECTION_STRING) ??
          sharedBlob,
        'the Blob source (TELLTALE_BLOB_SOURCE_CONTAINER); TELLTALE_BLOB_CONNECTION_STRING is used when unset',
      ),
      container: container('TELLTALE_BLOB_SOURCE_CONTAINER', sourceContainer),
      prefix: text(options.blobSource?.prefix ?? env.TELLTALE_BLOB_SOURCE_PREFIX),
      pollMs: integer('blobSourcePollMs', 'blobSource.pollMs', options.blobSource?.pollMs, env)!,
    });
  }

  const all = integer('retentionDays', 'retention.days', undefined, env)!;
  const r = options.retention;
  const retention: RetentionSettings = Object.freeze({
    duckdb: integer('duckdb', 'retention.duckdb', r?.duckdb, env) ?? all,
    clickhouse: integer('clickhouse', 'retention.clickhouse', r?.clickhouse, env) ?? all,
    blobArchive: integer('blobArchive', 'retention.blobArchive', r?.blobArchive, env) ?? all,
    deadLetters: integer('deadLetters', 'retention.deadLetters', r?.deadLetters, env)!,
    // Option only (tests and embedders): no variable.
    intervalMs: readSetting(RETENTION_INTERVAL, {}, { field: 'retention.intervalMs', value: r?.intervalMs })!,
  });

  return Object.freeze({
    sinks: Object.freeze([...sinks]),
    clickhouse,
    logAnalytics,
    blobArchive,
    blobSource,
    retention,
  });
}
