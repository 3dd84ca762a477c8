import Fastify, { type FastifyInstance } from 'fastify';
import { dashboardsPlugin, registerAuth, type RegisteredRoute } from '@telltale/dashboards';
import {
  openErrorIntelligence,
  resolveDispatcherConfig,
  type ErrorIntelligence,
} from '@telltale/dispatchers';
import { mkdirDurable } from '@telltale/spool';
import { resolveServerConfig } from '../config.js';
import { openAlertList } from './alert-reader.js';
import { resolveStoreConfig, type StoreConfig } from './config.js';
import { bearerMatches, processRegistry, readyAnswer, renderRegistries } from './ops.js';
import { authOptions, listenName, loggerOptions } from './shared.js';
import { clientErrorHandler, connectionDrain } from './shutdown.js';
import { openRoleStore, type RoleStore } from './stores.js';
import { dataLayout } from '@telltale/protocol';

export interface DashboardsRoleOptions {
  env?: NodeJS.ProcessEnv;
  /** Overrides of `TELLTALE_PORT` / `TELLTALE_HOST` (tests pass port 0). */
  port?: number;
  host?: string;
  logger?: boolean;
}

export interface RunningDashboards {
  url: string;
  dataDir: string;
  store: StoreConfig['kind'];
  /** The one-time first-start link while no user exists; print it. */
  loginLink: string | undefined;
  app: FastifyInstance;
  /** Every route, each method apart (the route-enumeration test walks them). */
  routes(): readonly RegisteredRoute[];
  close(): Promise<void>;
}

/**
 * `telltale dashboards`: pages, JSON API, sign-in and /metrics behind the same access hook as in
 * `telltale start`; /healthz and /readyz open. Events come from the data dir's DuckDB (read-only
 * snapshots) or ClickHouse (`TELLTALE_STORE=clickhouse`); alerts, group lifecycle and mute rules from
 * the data dir (see docs/scaling.md for where they live when dispatchers run elsewhere).
 */
export async function startDashboardsRole(options: DashboardsRoleOptions = {}): Promise<RunningDashboards> {
  const env = options.env ?? process.env;
  const config = resolveServerConfig(
    {
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.host ? { host: options.host } : {}),
    },
    env,
  );
  const storeConfig = resolveStoreConfig(env, config.dataDir);
  const dispatcherConfig = resolveDispatcherConfig({ dataDir: config.dataDir, sinks: [] }, env);
  process.umask(0o077);
  await mkdirDurable(config.dataDir);

  const { access } = config;
  const dashboardUrl =
    env.TELLTALE_DASHBOARD_URL ||
    access.publicUrl?.origin ||
    `http://${listenName(config.host)}:${config.port}`;
  // Shutdown must not wait on a keep-alive browser tab: see connectionDrain.
  const connections = connectionDrain();
  const app = Fastify({
    serverFactory: connections.serverFactory,
    logger: loggerOptions(config.logLevel, options.logger),
    clientErrorHandler,
  });
  let store: RoleStore | undefined;
  let intelligence: ErrorIntelligence | undefined;
  let alerts: Awaited<ReturnType<typeof openAlertList>> | undefined;
  const closeAll = async (): Promise<void> => {
    connections.drain();
    await app.close();
    await alerts?.close();
    await store?.close();
    await intelligence?.close();
  };
  try {
    // Before every route: the one access hook sees each request (docs/security.md).
    const auth = await registerAuth(app, authOptions(config.dataDir, access, dashboardUrl));
    store = await openRoleStore(storeConfig, dataLayout(config.dataDir).duckdb);
    intelligence = await openErrorIntelligence(dispatcherConfig);
    alerts = await openAlertList(config.dataDir, dispatcherConfig.kafka);
    const registry = processRegistry('dashboards');
    let draining = false;
    const activeStore = store;
    app.get('/healthz', async () => ({ status: 'ok' }));
    // Open to probes; the reasons (the store's address and error) only with the token.
    const { apiToken } = access;
    app.get('/readyz', async (request, reply) => {
      const reasons = [...(draining ? ['shutting down'] : []), ...(await activeStore.notReady())];
      const trusted = apiToken !== undefined && bearerMatches(request.headers.authorization, apiToken);
      const answer = readyAnswer(reasons, trusted);
      return reply.code(answer.code).send(answer.body);
    });
    // Not on the ingest list: the access hook asks for a session or a token, as in `telltale start`.
    app.get('/metrics', async (_request, reply) =>
      reply.type('text/plain; version=0.0.4').send(await renderRegistries([registry])),
    );
    await app.register(dashboardsPlugin, {
      store: store.store,
      listAlerts: alerts.listAlerts,
      readAlert: alerts.readAlert,
      issues: intelligence.issues,
    });
    app.addHook('onClose', async () => {
      draining = true;
    });
    const address = await app.listen({ host: config.host, port: config.port });
    const url = address.replace('[::1]', '127.0.0.1');
    const linkBase = access.publicUrl?.origin ?? url;
    let closing: Promise<void> | undefined;
    return {
      url,
      dataDir: config.dataDir,
      store: storeConfig.kind,
      loginLink: auth.firstStartToken && `${linkBase}/login/token/${auth.firstStartToken}`,
      app,
      routes: auth.routes,
      close: () => (closing ??= closeAll()),
    };
  } catch (error) {
    await closeAll().catch(() => undefined);
    throw error;
  }
}
