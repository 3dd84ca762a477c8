import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  collectorRoutes,
  createKeyRegistry,
  loadAppsFile,
  openCollectorStores,
  resolveCollectorConfig,
  watchAppsFile,
} from '@telltale/collector';
import { dashboardsPlugin, createDuckDbStore } from '@telltale/dashboards';
import { resolveDispatcherConfig, startDispatchers, type DispatcherOptions } from '@telltale/dispatchers';
import type { SpoolWriter } from '@telltale/spool';
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
  /** The apps file this server reads and watches (`TELLTALE_CONFIG`, default ./telltale.config.json). */
  configFile: string;
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
  const demoApp = {
    id: demo.id,
    name: demo.name,
    ingestKeys: [demo.ingestKey],
    secretKeys: [demo.secretKey],
  };
  const fileApps = await loadAppsFile({
    file: config.configFile,
    required: config.configFileRequired,
    reservedIds: [demo.id],
  });
  const collectorConfig = resolveCollectorConfig({ apps: [demoApp, ...fileApps.apps] }, env);
  // Rotated and revoked keys in the apps file take effect while running.
  const keys = createKeyRegistry(collectorConfig.apps);

  // Client spool, server-log spool and attachment store under the data dir, each with its disk cap.
  const stores = await openCollectorStores(config.dataDir, collectorConfig);
  const spool = stores.spool;
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
  // A failed unlink only delays clean-up; the next checkpoint retries it.
  const removeSegments = (writer: SpoolWriter, what: string) => (segment: number) => {
    writer
      .removeSegmentsBefore(segment)
      .catch((error: unknown) => app.log.warn({ err: error }, `${what} clean-up failed`));
  };
  const dispatchers = await startDispatchers(dispatcherConfig, {
    duckdb,
    spoolDir: spool.dir,
    notify: (listener) => spool.onAppend(listener),
    onRemovableSegment: removeSegments(spool, 'client spool'),
    // The server-log spool: same hooks, so its segments go once every server-log consumer passed them.
    serverLogs: {
      spoolDir: stores.serverLogSpool.dir,
      notify: (listener) => stores.serverLogSpool.onAppend(listener),
      onRemovableSegment: removeSegments(stores.serverLogSpool, 'server-log spool'),
    },
  });

  const appsWatch = watchAppsFile({
    file: config.configFile,
    keys,
    fixedApps: [collectorConfig.apps[0]!],
    initialVersion: fileApps.version,
    onReload: (apps) => app.log.info({ apps: apps.map((a) => a.id) }, 'apps file reloaded'),
    onError: (error) =>
      app.log.error({ err: error }, 'apps file not reloaded; the apps in service stay as they were'),
  });
  await app.register(collectorRoutes, {
    config: collectorConfig,
    spool,
    serverLogSpool: stores.serverLogSpool,
    attachments: stores.attachments,
    keys,
  });
  await app.register(dashboardsPlugin, {
    store: await createDuckDbStore(duckdb),
    listAlerts: () => dispatchers.listAlerts(),
    readAlert: (key: string) => dispatchers.readAlert(key),
    issues: dispatchers.issues,
  });
  await registerDemoRoutes(app, { ingestKey: demo.ingestKey });

  const address = await app.listen({ host: config.host, port: config.port });
  const url = address.replace('[::1]', '127.0.0.1');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    // Stop accepting first, then drain the consumers, then make the spool durable and release DuckDB.
    closing ??= (async () => {
      appsWatch.stop();
      await app.close();
      await dispatchers.close();
      await stores.close();
      duckdb.closeSync();
    })();
    return closing;
  };
  return {
    url,
    demoKey: demo.ingestKey,
    demoSecret: demo.secretKey,
    dataDir: config.dataDir,
    configFile: config.configFile,
    app,
    close,
  };
}
