import { availableParallelism } from 'node:os';
import path from 'node:path';
import {
  booleanSetting,
  envText,
  intSetting,
  invalidConfig as invalid,
  kafkaSettingsFromEnv,
  readSetting,
  SERVICE_SETTINGS,
  type EnvTable,
  type KafkaSettings,
} from '@telltale/protocol';
import {
  resolveSinkSettings,
  type SinkOptions,
  type SinkSettings,
  type KafkaConsumerTimings,
} from './pipeline/index.js';
import { resolveAlertSettings, type AlertSettings } from './alerts/index.js';

/**
 * Settings of the dispatchers (spool consumers, sinks, alert emails). Validated once, then frozen.
 * The sink fields (`sinks`, `clickhouse`, `logAnalytics`, `blobArchive`, `blobSource`, `retention`)
 * are documented in pipeline/sinks/settings.ts.
 */
export interface DispatcherConfig extends SinkSettings, AlertSettings {
  /** Holds checkpoints/, dead-letter/, alerts/ and outbox/ (`TELLTALE_DATA_DIR`, default ./.telltale). */
  readonly dataDir: string;
  /** SMTP server for alert emails, e.g. smtp://user:pass@mail.example.com:587 (`TELLTALE_SMTP_URL`).
   *  Unset: alerts are written as .eml files to <dataDir>/outbox/. */
  readonly smtpUrl: string | undefined;
  /** Recipients of alert emails, comma-separated (`TELLTALE_ALERT_TO`); required with smtpUrl. */
  readonly alertTo: string | undefined;
  /** Sender of alert emails (`TELLTALE_ALERT_FROM`, default telltale@localhost). */
  readonly alertFrom: string;
  /** Base URL of the dashboards, used for links in emails (`TELLTALE_DASHBOARD_URL`, default http://127.0.0.1:8080). */
  readonly dashboardUrl: string;
  /** How often consumers look for new spool records when no append notification arrives, ms (default 250). */
  readonly pollMs: number;
  /** Most spool records (client batches) handed to a sink at once (default 100). */
  readonly batchSize: number;
  /**
   * Worker threads that decode and enrich spool records, so that work never holds the HTTP event
   * loop (`TELLTALE_DISPATCH_THREADS`, default one less than the CPUs, at least 1; 0 decodes on the
   * main thread, for debugging).
   */
  readonly dispatchThreads: number;
  /**
   * Start with every consumer paused (`TELLTALE_DISPATCH_PAUSED=1`): the collector acknowledges and
   * spools, nothing is drained until a start without it. For measuring the collector alone
   * (`npm run bench:e2e`); the spool's disk cap still applies.
   */
  readonly dispatchPaused: boolean;
  /**
   * Kafka between collectors and dispatchers (`TELLTALE_KAFKA_BROKERS`, `_CLIENT_ID`,
   * `_TOPIC_PREFIX`, `_IDEMPOTENT`; see protocol's kafka.ts). Set: the sink consumers and the
   * alerts consumer read the client and server topics as a consumer group instead of the local
   * spools. Unset: Kafka is off.
   */
  readonly kafka?: KafkaSettings;
  /**
   * How the Kafka consumers behave (pipeline/sources/kafka/timings.ts); from the environment only
   * `TELLTALE_KAFKA_SESSION_TIMEOUT_MS` (how long a killed dispatcher holds its partitions,
   * default 30 s; the broker's group.min/max.session.timeout.ms bound it).
   */
  readonly kafkaTimings?: Partial<KafkaConsumerTimings>;
}

export type DispatcherOptions = Partial<Omit<DispatcherConfig, keyof SinkSettings>> & SinkOptions;

export const DISPATCHER_DEFAULTS = Object.freeze({
  dataDir: '.telltale',
  alertFrom: 'telltale@localhost',
  dashboardUrl: 'http://127.0.0.1:8080',
  pollMs: 250,
  batchSize: 100,
});

/** Leaves a CPU for the HTTP event loop (collector, dashboards) and the sinks' own work. */
export function defaultDispatchThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

const MAX_DISPATCH_THREADS = 64;

// Deliberately loose: nodemailer and the SMTP server are the real judges; this catches typos early.
const ADDRESS = /^(?:[^<>@\s,]+@[^<>@\s,]+|[^<>,]*<[^<>@\s,]+@[^<>@\s,]+>)$/;

/** The one empty-value rule (protocol's envText) for options and variables alike. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined ? undefined : envText({ value }, 'value');
}

/** The dispatchers' own numeric and on/off variables (sinks: SINK_SETTINGS; alerts: alerts/settings.ts). */
export const DISPATCHER_SETTINGS = {
  dataDir: SERVICE_SETTINGS.dataDir,
  dispatchThreads: intSetting(
    'TELLTALE_DISPATCH_THREADS',
    0,
    MAX_DISPATCH_THREADS,
    undefined,
    'threads (0 decodes on the main thread)',
  ),
  dispatchPaused: booleanSetting(
    'TELLTALE_DISPATCH_PAUSED',
    'must be 1 (consumers paused) or 0 (running, the default)',
    false,
  ),
  kafkaSessionTimeoutMs: intSetting(
    'TELLTALE_KAFKA_SESSION_TIMEOUT_MS',
    1_000,
    3_600_000,
    undefined,
    'milliseconds (default 30000)',
  ),
} as const satisfies EnvTable;

function checkAddresses(field: string, value: string): string {
  const parts = value.split(',').map((part) => part.trim());
  for (const part of parts) {
    if (!ADDRESS.test(part))
      invalid(field, `"${part}" is not an email address (use name@example.com, comma-separated for several)`);
  }
  return parts.join(', ');
}

function checkInteger(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    invalid(field, `${String(value)} must be an integer from ${min} to ${max}`);
  return value;
}

/** Explicit options win over the environment, the environment over defaults. */
export function resolveDispatcherConfig(
  options: DispatcherOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): DispatcherConfig {
  const dataDir = path.resolve(
    readSetting(DISPATCHER_SETTINGS.dataDir, env, { field: 'dataDir', value: options.dataDir }),
  );

  const smtpUrl = nonEmpty(options.smtpUrl ?? env.TELLTALE_SMTP_URL);
  if (smtpUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(smtpUrl);
    } catch {
      url = undefined;
    }
    // Never echo the URL: it may carry the SMTP password.
    if (url === undefined || (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || url.hostname === '') {
      invalid('TELLTALE_SMTP_URL', 'must look like smtp://user:pass@host:587 or smtps://host:465');
    }
  }

  const rawTo = nonEmpty(options.alertTo ?? env.TELLTALE_ALERT_TO);
  const alertTo = rawTo === undefined ? undefined : checkAddresses('TELLTALE_ALERT_TO', rawTo);
  if (smtpUrl !== undefined && alertTo === undefined) {
    invalid(
      'TELLTALE_ALERT_TO',
      'is required when TELLTALE_SMTP_URL is set (who should receive the alert emails?)',
    );
  }

  const alertFrom = checkAddresses(
    'TELLTALE_ALERT_FROM',
    nonEmpty(options.alertFrom ?? env.TELLTALE_ALERT_FROM) ?? DISPATCHER_DEFAULTS.alertFrom,
  );
  if (alertFrom.includes(',')) invalid('TELLTALE_ALERT_FROM', 'must be a single address');

  const rawDashboard =
    nonEmpty(options.dashboardUrl ?? env.TELLTALE_DASHBOARD_URL) ?? DISPATCHER_DEFAULTS.dashboardUrl;
  let dashboard: URL | undefined;
  try {
    dashboard = new URL(rawDashboard);
  } catch {
    dashboard = undefined;
  }
  if (dashboard === undefined || (dashboard.protocol !== 'http:' && dashboard.protocol !== 'https:')) {
    invalid(
      'TELLTALE_DASHBOARD_URL',
      `"${rawDashboard}" must be an http(s) URL such as https://telltale.example.com`,
    );
  }
  const dashboardUrl = rawDashboard.replace(/(?<!\/)\/+$/, '');

  const pollMs = checkInteger('pollMs', options.pollMs ?? DISPATCHER_DEFAULTS.pollMs, 10, 60_000);
  const batchSize = checkInteger('batchSize', options.batchSize ?? DISPATCHER_DEFAULTS.batchSize, 1, 10_000);

  const dispatchThreads =
    readSetting(DISPATCHER_SETTINGS.dispatchThreads, env, {
      field: 'dispatchThreads',
      value: options.dispatchThreads,
    }) ?? defaultDispatchThreads();
  const dispatchPaused = readSetting(DISPATCHER_SETTINGS.dispatchPaused, env, {
    field: 'dispatchPaused',
    value: options.dispatchPaused,
  });

  // Options win whole: a test or embedder passing `kafka` does not mix in half of the environment.
  const kafka = options.kafka ?? kafkaSettingsFromEnv(env);
  const sessionTimeoutMs = readSetting(DISPATCHER_SETTINGS.kafkaSessionTimeoutMs, env);
  const kafkaTimings =
    options.kafkaTimings ??
    (sessionTimeoutMs === undefined
      ? undefined
      : // Heartbeats a tenth of the session apart, as Kafka advises (a third at most).
        { sessionTimeoutMs, heartbeatIntervalMs: Math.max(100, Math.floor(sessionTimeoutMs / 10)) });

  const sinks = resolveSinkSettings(options, env);
  // Alert throttling and source-map cache: alerts/settings.ts.
  const alerts = resolveAlertSettings(options, env);

  return Object.freeze({
    dataDir,
    smtpUrl,
    alertTo,
    alertFrom,
    dashboardUrl,
    pollMs,
    batchSize,
    dispatchThreads,
    dispatchPaused,
    ...(kafka === undefined ? {} : { kafka: Object.freeze({ ...kafka, brokers: [...kafka.brokers] }) }),
    ...(kafkaTimings === undefined ? {} : { kafkaTimings: Object.freeze({ ...kafkaTimings }) }),
    ...sinks,
    ...alerts,
  });
}
