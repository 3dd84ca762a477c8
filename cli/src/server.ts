import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { DuckDBInstance } from '@duckdb/node-api';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  collectorRoutes,
  createCollectorMetrics,
  createKeyRegistry,
  loadAppsFile,
  sentryDsn,
  openCollectorStores,
  resolveCollectorConfig,
  watchAppsFile,
} from '@telltale/collector';
import {
  createDuckDbStore,
  dashboardsPlugin,
  type DashboardStore,
  registerAuth,
  type RegisteredRoute,
} from '@telltale/dashboards';
import {
  createDispatcherMetrics,
  createPipelineMonitor,
  replayDeadLetters,
  resolveDispatcherConfig,
  startDispatchers,
  summarizeDeadLetters,
  type DispatcherOptions,
} from '@telltale/dispatchers';
import { dataLayout, TelltaleError } from '@telltale/protocol';
import { mkdirDurable, type SpoolWriter } from '@telltale/spool';
import { isLoopbackHost, resolveServerConfig, type ServerConfig, type ServerOptions } from './config.js';
import { ensureDemoApp } from './demo-app.js';
import { registerDemoRoutes } from './demo-routes.js';
import { resolveStoreConfig } from './roles/config.js';
import { clickHouseRoleStore } from './roles/stores.js';
import { authOptions, listenName, loggerOptions } from './roles/shared.js';
import {
  clientErrorHandler,
  closeListener,
  connectionDrain,
  shutdownSteps,
  type ConnectionDrain,
} from './roles/shutdown.js';

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
  /** Where the dashboards, API, login and /metrics answer: `url`, or the TELLTALE_DASHBOARD_PORT listener. */
  dashboardUrl: string;
  /** The one-time first-start link (`<dashboard>/login/token/…`) while no user exists; print it. */
  loginLink: string | undefined;
  /** Undefined when the demo app is off (a non-loopback host without TELLTALE_DEMO=1). */
  demoKey: string | undefined;
  demoSecret: string | undefined;
  dataDir: string;
  /** The apps file this server reads and watches (`TELLTALE_CONFIG`, default ./telltale.config.json). */
  configFile: string;
  app: FastifyInstance;
  /** Every route the server registered, each method apart (the route-enumeration test walks them). */
  routes(): readonly RegisteredRoute[];
  close(): Promise<void>;
  /** The step `close()` is waiting for (e.g. "the dispatchers"), for the shutdown deadline's message. */
  shutdownStep(): string | undefined;
}

/**
 * One process, embedded defaults: collector (/v1/*), dashboards (/ and /api/*), the demo page
 * (/demo), and the dispatchers tailing the local spool into DuckDB and the alerter.
 */
export async function startTelltale(options: StartOptions = {}): Promise<RunningTelltale> {
  const env = options.env ?? process.env;
  const config = resolveServerConfig(options, env);
  // Our files set 0600/0700 themselves; DuckDB creates its database and WAL with no mode option, so
  // the umask keeps those (and any other library's files under the data dir) this user's only.
  process.umask(0o077);
  // The data dir itself is 0700 (created so, or tightened if an older version left it open): older
  // files in it, written world-readable, are out of reach through it.
  await mkdirDurable(config.dataDir);
  // Off on a public address unless asked for: the demo page hands its ingest key to anyone.
  const demo = config.demo
    ? await ensureDemoApp(config.dataDir, { ingestKey: config.demoKey, secretKey: config.demoSecret })
    : undefined;
  const demoApps = demo
    ? [
        {
          id: demo.id,
          name: demo.name,
          projectId: demo.projectId,
          ingestKeys: [demo.ingestKey],
          secretKeys: [demo.secretKey],
        },
      ]
    : [];
  const fileApps = await loadAppsFile({
    file: config.configFile,
    required: config.configFileRequired,
    reservedIds: ['demo'],
  });
  if (demoApps.length === 0 && fileApps.apps.length === 0)
    throw new TelltaleError(
      'TELLTALE_ERR_INVALID_CONFIG',
      `apps: none to receive events from; on ${config.host} the demo app is off. Add an app (telltale apps add web) or set TELLTALE_DEMO=1`,
    );
  const collectorConfig = resolveCollectorConfig({ apps: [...demoApps, ...fileApps.apps] }, env);
  // Rotated and revoked keys in the apps file take effect while running.
  const keys = createKeyRegistry(collectorConfig.apps);

  // Client spool, server-log spool and attachment store under the data dir, each with its disk cap.
  const stores = await openCollectorStores(config.dataDir, collectorConfig);
  const spool = stores.spool;
  const duckdb = await DuckDBInstance.create(dataLayout(config.dataDir).duckdb);
  const { access } = config;
  const dashboardUrl =
    env.TELLTALE_DASHBOARD_URL ||
    access.publicUrl?.origin ||
    `http://${listenName(access.dashboardPort === undefined ? config.host : access.dashboardHost)}:${access.dashboardPort ?? config.port}`;
  const dispatcherConfig = resolveDispatcherConfig(
    { dataDir: config.dataDir, dashboardUrl, alertAppsFile: config.configFile, ...options.dispatcher },
    env,
  );
  // The dashboards read what a sink of this process writes: DuckDB, or ClickHouse when asked for.
  const storeConfig = resolveStoreConfig(env, config.dataDir);
  if (storeConfig.kind === 'clickhouse' && !dispatcherConfig.sinks.includes('clickhouse'))
    throw new TelltaleError(
      'TELLTALE_ERR_INVALID_CONFIG',
      `TELLTALE_STORE: "clickhouse" needs the clickhouse sink in this process (TELLTALE_SINKS=${dispatcherConfig.sinks.join(',')}); add it: TELLTALE_SINKS=duckdb,clickhouse`,
    );
  // Shutdown must not wait on a keep-alive browser tab or an idle pool: see connectionDrain.
  const connections = connectionDrain();
  const app = Fastify({
    serverFactory: connections.serverFactory,
    logger: loggerOptions(config.logLevel, options.logger),
    bodyLimit: collectorConfig.limits.maxCompressedBytes,
    trustProxy: collectorConfig.trustProxy,
    clientErrorHandler,
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
  // One registry for the collector's and the dispatchers' figures: this process's /metrics serves both.
  const metrics = createCollectorMetrics();
  const spoolDirs = { client: spool.dir, server: stores.serverLogSpool.dir };
  createDispatcherMetrics(() => dispatchers.stats(), metrics.registry, { spools: spoolDirs });
  const monitor = createPipelineMonitor(() => dispatchers.stats(), { spools: spoolDirs });

  const appsWatch = watchAppsFile({
    file: config.configFile,
    keys,
    fixedApps: collectorConfig.apps.slice(0, demoApps.length),
    initialVersion: fileApps.version,
    onReload: (apps) => app.log.info({ apps: apps.map((a) => a.id) }, 'apps file reloaded'),
    onError: (error) =>
      app.log.error({ err: error }, 'apps file not reloaded; the apps in service stay as they were'),
  });
  // Before every route: the one access hook sees each request (docs/security.md).
  const dashboardSockets = new WeakSet<Socket>();
  const auth = await registerAuth(app, {
    ...authOptions(config.dataDir, access, dashboardUrl),
    ...(access.dashboardPort === undefined
      ? {}
      : { onDashboardListener: (request) => dashboardSockets.has(request.raw.socket) }),
  });
  await app.register(collectorRoutes, {
    config: collectorConfig,
    spool,
    serverLogSpool: stores.serverLogSpool,
    attachments: stores.attachments,
    keys,
    metrics,
  });
  let ingestUrl = `http://127.0.0.1:${config.port}`;
  let dashboardStore: DashboardStore | undefined;
  await app.register(dashboardsPlugin, {
    store: (dashboardStore =
      storeConfig.kind === 'clickhouse'
        ? (await clickHouseRoleStore(storeConfig.clickhouse)).store
        : await createDuckDbStore(duckdb)),
    listAlerts: (query) => dispatchers.listAlerts(query),
    readAlert: (key: string) => dispatchers.readAlert(key),
    issues: dispatchers.issues,
    // The /health page: the dispatchers' figures, this process's spools and refusals, the dead letters.
    health: async () => ({
      ...(await monitor.figures()),
      spools: { client: spool.stats(), server: stores.serverLogSpool.stats() },
      rejected: metrics.snapshot().rejectedByReason,
      deadLetters: await summarizeDeadLetters(dispatcherConfig.dataDir),
    }),
    // Through this process's DuckDB instance: DuckDB takes one writer per file.
    replayDeadLetters: (consumer) =>
      replayDeadLetters({
        dataDir: dispatcherConfig.dataDir,
        consumer,
        env,
        deps: { duckdb },
        deadlineMs: 10_000,
      }),
    // DSNs name the address SDKs send to: the public URL when set, else this listener (known after listen).
    apps: () =>
      keys.apps().map((a) => ({
        id: a.id,
        name: a.name,
        projectId: a.projectId,
        dsn: sentryDsn(a, access.publicUrl?.origin ?? ingestUrl),
      })),
  });
  await registerDemoRoutes(app, {
    ingestKey: demo?.ingestKey,
    secretKey: demo?.secretKey,
    bufferDir: dataLayout(config.dataDir).demoApiBuffer, // the demo API's telltaleDestination buffer
  });

  const address = await app.listen({ host: config.host, port: config.port });
  const url = address.replace('[::1]', '127.0.0.1');
  ingestUrl = url;
  let dashboardServer: Server | undefined;
  let dashboardAddress = url;
  if (access.dashboardPort !== undefined) {
    try {
      ({ server: dashboardServer, url: dashboardAddress } = await listenForDashboards(
        app,
        access,
        dashboardSockets,
        connections,
      ));
    } catch (error) {
      await app.close();
      throw error;
    }
  }
  const linkBase = access.publicUrl?.origin ?? dashboardAddress;

  let closing: Promise<void> | undefined;
  const steps = shutdownSteps();
  const close = (): Promise<void> => {
    // Stop accepting first, then drain the consumers, then make the spool durable and release DuckDB.
    closing ??= (async () => {
      appsWatch.stop();
      await steps.step("the HTTP listeners (requests in flight, the demo API's log shipping)", () => {
        connections.drain();
        return Promise.all([app.close(), dashboardServer && closeListener(dashboardServer)]);
      });
      monitor.close();
      await steps.step('the dispatchers', () => dispatchers.close());
      await steps.step('the dashboard store', () => dashboardStore?.close());
      await steps.step('the spools and the attachment store', () => stores.close());
      await steps.step('DuckDB', () => duckdb.closeSync());
    })();
    return closing;
  };
  return {
    url,
    dashboardUrl: dashboardAddress,
    loginLink: auth.firstStartToken && `${linkBase}/login/token/${auth.firstStartToken}`,
    demoKey: demo?.ingestKey,
    demoSecret: demo?.secretKey,
    dataDir: config.dataDir,
    configFile: config.configFile,
    app,
    routes: auth.routes,
    close,
    shutdownStep: steps.pending,
  };
}

/**
 * The second listener (TELLTALE_DASHBOARD_PORT): a plain HTTP server handing requests to the same
 * fastify routes, so one access hook and one route table serve both ports; the hook tells them
 * apart by the socket and keeps the main port to the ingest surface.
 */
async function listenForDashboards(
  app: FastifyInstance,
  access: ServerConfig['access'],
  sockets: WeakSet<Socket>,
  connections: ConnectionDrain,
): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => app.routing(request, response));
  server.on('connection', (socket) => sockets.add(socket));
  connections.track(server);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(access.dashboardPort, access.dashboardHost, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : access.dashboardPort;
  const host = listenName(access.dashboardHost);
  return { server, url: `http://${isLoopbackHost(host) ? '127.0.0.1' : host}:${port}` };
}
