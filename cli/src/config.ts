import path from 'node:path';
import { appsFilePath } from '@telltale/collector';
import { TelltaleError } from '@telltale/protocol';

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
}

export type ServerOptions = Partial<Omit<ServerConfig, 'configFileRequired'>>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const KEY_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

function invalid(field: string, problem: string): never {
  throw new TelltaleError('TELLTALE_ERR_INVALID_CONFIG', `${field}: ${problem}`);
}

/** Explicit options win over the environment, the environment over defaults. Validated once, then frozen. */
export function resolveServerConfig(
  options: ServerOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ServerConfig {
  const host = options.host ?? env.TELLTALE_HOST ?? '127.0.0.1';
  if (host.trim() === '')
    invalid('TELLTALE_HOST', 'must not be empty (use 127.0.0.1, or 0.0.0.0 to listen everywhere)');

  const rawPort = options.port ?? env.TELLTALE_PORT ?? '8080';
  const port = typeof rawPort === 'number' ? rawPort : Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    invalid('TELLTALE_PORT', `"${String(rawPort)}" is not a port number (0-65535)`);
  }

  const dataDir = path.resolve(options.dataDir ?? env.TELLTALE_DATA_DIR ?? '.telltale');

  const logLevel = options.logLevel ?? env.TELLTALE_LOG_LEVEL ?? 'warn';
  if (!LOG_LEVELS.includes(logLevel as LogLevel)) {
    invalid('TELLTALE_LOG_LEVEL', `"${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  }

  const demoKey = options.demoKey ?? (env.TELLTALE_DEMO_KEY || undefined);
  if (demoKey !== undefined && !KEY_PATTERN.test(demoKey)) {
    invalid('TELLTALE_DEMO_KEY', 'must be 16-128 characters of A-Z, a-z, 0-9, "_" or "-"');
  }

  const demoSecret = options.demoSecret ?? (env.TELLTALE_DEMO_SECRET || undefined);
  if (demoSecret !== undefined && !KEY_PATTERN.test(demoSecret)) {
    invalid('TELLTALE_DEMO_SECRET', 'must be 16-128 characters of A-Z, a-z, 0-9, "_" or "-"');
  }
  if (demoSecret !== undefined && demoSecret === demoKey) {
    invalid('TELLTALE_DEMO_SECRET', 'must differ from TELLTALE_DEMO_KEY: the ingest key is public');
  }

  const named =
    options.configFile === undefined ? undefined : { file: path.resolve(options.configFile), explicit: true };
  const { file: configFile, explicit: configFileRequired } = named ?? appsFilePath(env);

  return Object.freeze({
    host,
    port,
    dataDir,
    logLevel: logLevel as LogLevel,
    demoKey,
    demoSecret,
    configFile,
    configFileRequired,
  });
}
