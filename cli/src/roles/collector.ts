import path from 'node:path';
import { startCollectorServer, type RunningCollector } from '@telltale/collector';
import { mkdirDurable } from '@telltale/spool';
import { resolveServerConfig } from '../config.js';
import { loggerOptions } from './shared.js';

export interface CollectorRoleOptions {
  env?: NodeJS.ProcessEnv;
  port?: number;
  logger?: boolean;
}

export interface RunningCollectorRole extends RunningCollector {
  dataDir: string;
}

/**
 * `telltale collector`: the collector package's own server (its /healthz, /readyz, /metrics; with
 * `TELLTALE_KAFKA_BROKERS` it forwards the spool to Kafka). Shares the settings of `telltale start`.
 */
export async function startCollectorRole(options: CollectorRoleOptions = {}): Promise<RunningCollectorRole> {
  const env = options.env ?? process.env;
  const config = resolveServerConfig(options.port === undefined ? {} : { port: options.port }, env);
  process.umask(0o077);
  await mkdirDurable(config.dataDir);
  const logger = loggerOptions(config.logLevel, options.logger);
  const running = await startCollectorServer({
    env,
    host: config.host,
    port: config.port,
    dataDir: config.dataDir,
    logger: logger === undefined ? false : logger,
  });
  return {
    ...running,
    url: running.url.replace('[::1]', '127.0.0.1'),
    dataDir: path.resolve(config.dataDir),
  };
}
