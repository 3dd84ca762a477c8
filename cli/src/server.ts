import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import Fastify, { type FastifyInstance } from 'fastify';
import { collectorRoutes, resolveCollectorConfig } from '@telltale/collector';
import { dashboardsPlugin, createDuckDbStore } from '@telltale/dashboards';
import { resolveDispatcherConfig, startDispatchers, type DispatcherOptions } from '@telltale/dispatchers';
import { openSpoolWriter } from '@telltale/spool';
import { resolveServerConfig, type ServerOptions } from './config.js';
import { ensureDemoApp } from './demo-app.js';
import { registerDemoRoutes } from './demo-routes.js';

export interface StartOptions extends ServerOptions {
  /** Dispatcher settings (SMTP, alert recipients); the environment fills what is not given. */
  dispatcher?: Partial<DispatcherOptions>;
  /** Fastify logger; false in tests. */
  logger?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface RunningTelltale {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  demoKey: string;
  demoSecret: string;
  dataDir: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

// Ingest keys travel in query strings (beacons cannot set headers): never let them reach a log line.
const redactedUrl = (url: string): string => url.split('?')[0] ?? url;

/**
 * One process, embedded defaults: collector (/v1/*), dashboards (/ and /api/*), the demo page
 * (/demo), and the dispatchers tailing the local spool into DuckDB and the alerter.
 */
export async function startTelltale(options: StartOptions = {}): Promise<RunningTelltale> {
  const env = options.env ?? process.env;
  const config = resolveServerConfig(options, env);
  const demo = await ensureDemoApp(config.dataDir, {
    ingestKey: config.demoKey,
    secretKey: config.demoSecret,
  });
  const collectorConfig = resolveCollectorConfig(
    { apps: [{ id: demo.id, name: demo.name, ingestKeys: [demo.ingestKey], secretKeys: [demo.secretKey] }] },
    env,
  );

  const spool = await openSpoolWriter({ dir: path.join(config.dataDir, 'spool', 'client') });
  const duckdb = await DuckDBInstance.create(path.join(config.dataDir, 'telltale.duckdb'));
  const dashboardUrl = env.TELLTALE_DASHBOARD_URL || `http://${config.host}:${config.port}`;
  const dispatcherConfig = resolveDispatcherConfig(
    { dataDir: config.dataDir, dashboardUrl, ...options.dispatcher },
    env,
  );
  const app = Fastify({
    logger:
      options.logger === false
        ? false
        : {
            level: config.logLevel,
            serializers: {
              req: (request: { method: string; url: string }) => ({
                method: request.method,
                url: redactedUrl(request.url),
              }),
            },
          },
    bodyLimit: collectorConfig.limits.maxCompressedBytes,
    trustProxy: collectorConfig.trustProxy,
  });
  const dispatchers = await startDispatchers(dispatcherConfig, {
    duckdb,
    spoolDir: path.join(config.dataDir, 'spool', 'client'),
    notify: (listener) => spool.onAppend(listener),
    // A failed unlink only delays clean-up; the next checkpoint retries it.
    onRemovableSegment: (segment) => {
      spool
        .removeSegmentsBefore(segment)
        .catch((error: unknown) => app.log.warn({ err: error }, 'spool clean-up failed'));
    },
  });

  await app.register(collectorRoutes, { config: collectorConfig, spool });
  await app.register(dashboardsPlugin, {
    store: await createDuckDbStore(duckdb),
    listAlerts: () => dispatchers.listAlerts(),
    readAlert: (key: string) => dispatchers.readAlert(key),
  });
  await registerDemoRoutes(app, { ingestKey: demo.ingestKey });

  const address = await app.listen({ host: config.host, port: config.port });
  const url = address.replace('[::1]', '127.0.0.1');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    // Stop accepting first, then drain the consumers, then make the spool durable and release DuckDB.
    closing ??= (async () => {
      await app.close();
      await dispatchers.close();
      await spool.close();
      duckdb.closeSync();
    })();
    return closing;
  };
  return { url, demoKey: demo.ingestKey, demoSecret: demo.secretKey, dataDir: config.dataDir, app, close };
}
