import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import {
  invalidConfig as invalid,
  kafkaSettingsFromEnv,
  readEnvTable,
  SERVICE_SETTINGS,
  type KafkaSettings,
} from '@telltale/protocol';
import { build, type CollectorLogger } from './app.js';
import { connectionDrain } from './connection-drain.js';
import { appsFilePath, appsFileVersion, readAppsFile } from './apps-file.js';
import { watchAppsFile, type AppsWatch } from './apps-watch.js';
import { createKeyRegistry } from './apps.js';
import { resolveCollectorConfig, type CollectorOptions } from './config.js';
import { startKafkaForwarder, type KafkaForwarder } from './forward/forwarder.js';
import { registerForwarderMetrics } from './forward/metrics.js';
import { createCollectorMetrics } from './metrics.js';
import { requireMetricsToken } from './ops-routes.js';
import { openCollectorStores } from './storage.js';

export interface CollectorServerOptions {
  /** Interface to listen on (`TELLTALE_HOST`, default 127.0.0.1: nothing is exposed unless asked for). */
  host?: string;
  /** TCP port (`TELLTALE_PORT`, default 8080; 0 picks a free one). */
  port?: number;
  /** Data directory: `<dataDir>/spool/client`, `spool/server`, `attachments` (`TELLTALE_DATA_DIR`, default ./.telltale). */
  dataDir?: string;
  config?: CollectorOptions;
  /**
   * Forward the spools to Kafka (default: from `TELLTALE_KAFKA_BROKERS` and the other
   * `TELLTALE_KAFKA_*` variables; unset = no forwarding). Requests are still acknowledged after
   * the local fsync; the forwarder produces afterwards and removes a segment once it is in Kafka.
   */
  kafka?: KafkaSettings;
  logger?: CollectorLogger;
  env?: NodeJS.ProcessEnv;
}

export interface RunningCollector {
  url: string;
  app: FastifyInstance;
  /** The Kafka settings in force (undefined: no forwarding, the spools are read locally). */
  kafka: KafkaSettings | undefined;
  /** The spools' forwarder to Kafka, when `kafka` is set (its stats are on /metrics too). */
  forwarder: KafkaForwarder | undefined;
  /** Graceful shutdown: stop accepting, finish in-flight requests (each fsync'd), close the spools. */
  close(): Promise<void>;
}

/** The standalone collector's Kafka settings: the option wins whole, else the environment; undefined = off. */
export function resolveCollectorKafka(
  options: Pick<CollectorServerOptions, 'kafka'>,
  env: NodeJS.ProcessEnv = process.env,
): KafkaSettings | undefined {
  return options.kafka ?? kafkaSettingsFromEnv(env);
}

/**
 * Runs the collector alone (collectors behind a load balancer, each with its own spool). Apps come
 * from options, `TELLTALE_APPS`, or the apps file (`TELLTALE_CONFIG`, default ./telltale.config.json),
 * which is watched for key rotations.
 */
export async function startCollectorServer(options: CollectorServerOptions = {}): Promise<RunningCollector> {
  const env = options.env ?? process.env;
  // The same variables, defaults and empty-value rule as `telltale start` (protocol's SERVICE_SETTINGS).
  const settings = readEnvTable(SERVICE_SETTINGS, env, {
    host: options.host,
    port: options.port,
    dataDir: options.dataDir,
  });
  const { host, port, apiToken } = settings;
  const dataDir = path.resolve(settings.dataDir);

  const kafka = resolveCollectorKafka(options, env);

  const appsFromElsewhere = options.config?.apps !== undefined || env.TELLTALE_APPS !== undefined;
  const { file, explicit } = appsFilePath(env);
  const fileVersion = appsFromElsewhere ? undefined : await appsFileVersion(file);
  const fromFile = appsFromElsewhere ? undefined : await readAppsFile(file);
  if (explicit && !appsFromElsewhere && fromFile === undefined)
    invalid('TELLTALE_CONFIG', `${file} does not exist; create it with "telltale apps add <id>"`);
  const config = resolveCollectorConfig(
    fromFile ? { ...options.config, apps: fromFile.file.apps } : (options.config ?? {}),
    env,
  );

  const stores = await openCollectorStores(dataDir, config);
  const keys = createKeyRegistry(config.apps);
  const metrics = createCollectorMetrics();
  let app: FastifyInstance | undefined;
  let watch: AppsWatch | undefined;
  let forwarder: KafkaForwarder | undefined;
  // Shutdown must not wait on an idle keep-alive client (an SDK's or a load balancer's pool).
  const connections = connectionDrain();
  try {
    app = await build(config, {
      serverFactory: connections.serverFactory,
      metrics,
      spool: stores.spool,
      serverLogSpool: stores.serverLogSpool,
      attachments: stores.attachments,
      keys,
      logger: options.logger ?? false,
    });
    // This port faces the internet: the counters are for the operator's scraper only.
    requireMetricsToken(app, apiToken);
    const log = app.log;
    if (kafka !== undefined) {
      // Before listen: the backlog it counts at start is then exactly what is in the spools.
      forwarder = await startKafkaForwarder({
        kafka,
        dataDir,
        spool: stores.spool,
        serverLogSpool: stores.serverLogSpool,
        log: (level, message) => log[level](message),
      });
      const running = forwarder;
      registerForwarderMetrics(metrics.registry, () => running.stats());
    }
    if (fromFile)
      watch = watchAppsFile({
        file,
        keys,
        initialVersion: fileVersion,
        onReload: (apps) => log.info({ apps: apps.map((a) => a.id) }, 'collector: apps reloaded'),
        onError: (error) => log.error({ err: error }, 'collector: apps file not reloaded'),
      });
    const address = await app.listen({ host, port });
    let closing: Promise<void> | undefined;
    // Stop taking requests first, then let in-flight appends finish their fsync, then the forwarder
    // its produce in flight (and commit); what is left in the spools goes to Kafka at the next start.
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        watch?.stop();
        connections.drain();
        await app!.close();
        await forwarder?.close();
        await stores.close();
      })());
    return { url: address, app, kafka, forwarder, close };
  } catch (error) {
    watch?.stop();
    await app?.close();
    await forwarder?.close();
    await stores.close();
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
