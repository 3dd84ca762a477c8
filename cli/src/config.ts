import path from 'node:path';
import { appsFilePath } from '@telltale/collector';
import {
  invalidConfig as invalid,
  readEnvTable,
  booleanSetting,
  choiceSetting,
  portSetting,
  positiveSetting,
  readSetting,
  textSetting,
  SERVICE_SETTINGS,
  type EnvTable,
} from '@telltale/protocol';

/** Settings of the one-process server (`telltale start`). Collector and dispatcher settings live in their packages. */
export interface ServerConfig {
  /** Interface to listen on. Default 127.0.0.1: nothing is exposed unless asked for (`TELLTALE_HOST`). */
  readonly host: string;
  /** TCP port (`TELLTALE_PORT`, default 8080; 0 picks a free port). */
  readonly port: number;
  /** Where the spool, checkpoints, DuckDB file, alert log and outbox live (`TELLTALE_DATA_DIR`, default ./.telltale). */
  readonly dataDir: string;
  /** pino level (`TELLTALE_LOG_LEVEL`, default `warn`: no line per request; `info` adds access logs without query strings). */
  readonly logLevel: LogLevel;
  /** Fixed ingest key for the demo app (`TELLTALE_DEMO_KEY`); otherwise one is generated once and kept in the data dir. */
  readonly demoKey: string | undefined;
  /** Fixed secret key for the demo app (`TELLTALE_DEMO_SECRET`); otherwise generated once like the ingest key. */
  readonly demoSecret: string | undefined;
  /**
   * The apps file (`TELLTALE_CONFIG`, default ./telltale.config.json): apps besides the demo app,
   * written by `telltale apps …` and re-read while running. Optional unless it was named.
   */
  readonly configFile: string;
  /** True when the file was named (option or TELLTALE_CONFIG): then it must exist. */
  readonly configFileRequired: boolean;
  /**
   * The demo app and `/demo` (`TELLTALE_DEMO`): on by default on a loopback host; on any other host
   * only with TELLTALE_DEMO=1, since the demo page hands out an ingest key.
   */
  readonly demo: boolean;
  readonly access: AccessConfig;
}

/** Who may reach the dashboards, API and /metrics (docs/security.md). */
export interface AccessConfig {
  /** `TELLTALE_PUBLIC_URL`: the http(s) address people and the SSO provider use; its host is allowed besides loopback. */
  readonly publicUrl: URL | undefined;
  /** `TELLTALE_API_TOKEN`: one fixed admin token (32-128 of A-Z a-z 0-9 _ -), e.g. for monitoring. */
  readonly apiToken: string | undefined;
  /** `TELLTALE_DASHBOARD_PORT`: serve dashboards, API, login and /metrics on this port only. */
  readonly dashboardPort: number | undefined;
  /** `TELLTALE_DASHBOARD_HOST` (default 127.0.0.1): where the dashboard listener listens. */
  readonly dashboardHost: string;
  /** `TELLTALE_SESSION_IDLE_HOURS` (default 12) and `TELLTALE_SESSION_MAX_DAYS` (default 7). */
  readonly sessionIdleMs: number;
  readonly sessionMaxAgeMs: number;
  /** Single sign-on, when `TELLTALE_OIDC_ISSUER` is set. */
  readonly oidc:
    { issuer: string; clientId: string; clientSecret: string; allowedDomains: readonly string[] } | undefined;
}

export type ServerOptions = Partial<Omit<ServerConfig, 'configFileRequired' | 'access'>> & {
  access?: Partial<AccessConfig>;
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const KEY = '^[A-Za-z0-9_-]{16,128}$';
const KEY_RULE = 'must be 16-128 characters of A-Z, a-z, 0-9, "_" or "-"';

/** `telltale start`'s own variables (besides SERVICE_SETTINGS and the access ones below). */
export const SERVER_SETTINGS = {
  host: SERVICE_SETTINGS.host,
  port: SERVICE_SETTINGS.port,
  dataDir: SERVICE_SETTINGS.dataDir,
  logLevel: choiceSetting('TELLTALE_LOG_LEVEL', LOG_LEVELS, 'warn'),
  demoKey: textSetting('TELLTALE_DEMO_KEY', KEY, KEY_RULE, true),
  demoSecret: textSetting('TELLTALE_DEMO_SECRET', KEY, KEY_RULE, true),
} as const satisfies EnvTable;

/** Explicit options win over the environment, the environment over defaults. Validated once, then frozen. */
export function resolveServerConfig(
  options: ServerOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ServerConfig {
  const values = readEnvTable(SERVER_SETTINGS, env, options);
  const { host, port, logLevel, demoKey, demoSecret } = values;
  const dataDir = path.resolve(values.dataDir);
  if (demoSecret !== undefined && demoSecret === demoKey) {
    invalid('TELLTALE_DEMO_SECRET', 'must differ from TELLTALE_DEMO_KEY: the ingest key is public');
  }

  const named =
    options.configFile === undefined ? undefined : { file: path.resolve(options.configFile), explicit: true };
  const { file: configFile, explicit: configFileRequired } = named ?? appsFilePath(env);

  const demo = resolveDemo(options.demo, env, host);
  const access = Object.freeze({ ...resolveAccess(env), ...options.access });

  return Object.freeze({
    demo,
    access,
    host,
    port,
    dataDir,
    logLevel,
    demoKey,
    demoSecret,
    configFile,
    configFileRequired,
  });
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost', '[::1]']);
export const isLoopbackHost = (host: string): boolean => LOOPBACK_HOSTS.has(host.toLowerCase());

/** The access variables with one rule each (docs/security.md); the OIDC four are checked together below. */
export const ACCESS_SETTINGS = {
  demo: booleanSetting('TELLTALE_DEMO', 'is not 1 or 0 (the demo app is on by default on loopback only)'),
  apiToken: SERVICE_SETTINGS.apiToken,
  dashboardPort: portSetting('TELLTALE_DASHBOARD_PORT'),
  dashboardHost: { ...SERVICE_SETTINGS.host, env: 'TELLTALE_DASHBOARD_HOST' },
  sessionIdleHours: positiveSetting('TELLTALE_SESSION_IDLE_HOURS', 8760, 12, 'hours'),
  sessionMaxDays: positiveSetting('TELLTALE_SESSION_MAX_DAYS', 3650, 7, 'days'),
} as const satisfies EnvTable;

function resolveDemo(option: boolean | undefined, env: NodeJS.ProcessEnv, host: string): boolean {
  return readSetting(ACCESS_SETTINGS.demo, env, { field: 'demo', value: option }) ?? isLoopbackHost(host);
}

function resolveAccess(env: NodeJS.ProcessEnv): AccessConfig {
  let publicUrl: URL | undefined;
  if (env.TELLTALE_PUBLIC_URL) {
    try {
      publicUrl = new URL(env.TELLTALE_PUBLIC_URL);
    } catch {
      invalid(
        'TELLTALE_PUBLIC_URL',
        `"${env.TELLTALE_PUBLIC_URL}" is not a URL; e.g. https://telltale.example.com`,
      );
    }
    if (publicUrl.protocol !== 'https:' && publicUrl.protocol !== 'http:')
      invalid('TELLTALE_PUBLIC_URL', 'must start with https:// (or http://)');
  }
  const { apiToken, dashboardPort, dashboardHost, sessionIdleHours, sessionMaxDays } = readEnvTable(
    ACCESS_SETTINGS,
    env,
  );

  let oidc: AccessConfig['oidc'];
  if (env.TELLTALE_OIDC_ISSUER) {
    const need = (field: string): string =>
      env[field] || invalid(field, 'is required when TELLTALE_OIDC_ISSUER is set');
    const allowedDomains = need('TELLTALE_OIDC_ALLOWED_DOMAINS')
      .split(',')
      .map((domain) => domain.trim().toLowerCase())
      .filter((domain) => domain !== '');
    if (allowedDomains.length === 0)
      invalid('TELLTALE_OIDC_ALLOWED_DOMAINS', 'list at least one email domain, e.g. example.com');
    oidc = {
      issuer: env.TELLTALE_OIDC_ISSUER,
      clientId: need('TELLTALE_OIDC_CLIENT_ID'),
      clientSecret: need('TELLTALE_OIDC_CLIENT_SECRET'),
      allowedDomains,
    };
  }
  return {
    publicUrl,
    apiToken,
    dashboardPort,
    dashboardHost,
    sessionIdleMs: sessionIdleHours * 3600_000,
    sessionMaxAgeMs: sessionMaxDays * 86_400_000,
    oidc,
  };
}
