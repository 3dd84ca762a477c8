import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { TelltaleError } from '@telltale/protocol';
import { openSpoolWriter } from '@telltale/spool';
import { build, type CollectorLogger } from './app.js';
import { resolveCollectorConfig, type CollectorOptions } from './config.js';

export interface CollectorServerOptions {
  /** Interface to listen on (`TELLTALE_HOST`, default 127.0.0.1: nothing is exposed unless asked for). */
  host?: string;
  /** TCP port (`TELLTALE_PORT`, default 8080; 0 picks a free one). */
  port?: number;
  /** Data directory; the spool is `<dataDir>/spool/client` (`TELLTALE_DATA_DIR`, default ./.telltale). */
  dataDir?: string;
  config?: CollectorOptions;
  logger?: CollectorLogger;
  env?: NodeJS.ProcessEnv;
}

export interface RunningCollector {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

function invalid(field: string, problem: string): never {
  throw new TelltaleError('TELLTALE_ERR_INVALID_CONFIG', `${field}: ${problem}`);
}

/** Runs the collector alone (collectors behind a load balancer, each with its own spool). */
export async function startCollectorServer(options: CollectorServerOptions = {}): Promise<RunningCollector> {
  const env = options.env ?? process.env;
  const host = options.host ?? (env.TELLTALE_HOST || '127.0.0.1');
  const rawPort = options.port ?? (env.TELLTALE_PORT || '8080');
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    invalid('TELLTALE_PORT', `"${String(rawPort)}" is not a port number (0-65535)`);
  const dataDir = path.resolve(options.dataDir ?? (env.TELLTALE_DATA_DIR || '.telltale'));
  const config = resolveCollectorConfig(options.config ?? {}, env);

  const spool = await openSpoolWriter({ dir: path.join(dataDir, 'spool', 'client') });
  let app: FastifyInstance | undefined;
  try {
    app = await build(config, { spool, logger: options.logger ?? false });
    const address = await app.listen({ host, port });
    let closing: Promise<void> | undefined;
    // Stop taking requests first, then let in-flight appends finish their fsync.
    const close = (): Promise<void> => (closing ??= app!.close().then(() => spool.close()));
    return { url: address, app, close };
  } catch (error) {
    await app?.close();
    await spool.close();
    throw error;
  }
}

const isMain =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (isMain) {
  startCollectorServer({ logger: true }).then(
    (collector) => {
      process.stdout.write(`telltale collector listening on ${collector.url}\n`);
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          collector.close().then(
            () => process.exit(0),
            () => process.exit(1),
          );
        });
      }
    },
    (error: unknown) => {
      process.stderr.write(
        `telltale collector did not start: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
