import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'chdb';
import Fastify, { type FastifyInstance } from 'fastify';
import { CLICKHOUSE_MIGRATIONS, clickHouseMigrationsTable } from '@telltale/schema';
import type { AlertSummary } from '../src/alerts.js';
import { registerAuth } from '../src/auth/register.js';
import { dashboardsPlugin } from '../src/plugin.js';
import type { DashboardStore } from '../src/store.js';
import { clickHouseStoreOver } from '../src/stores/clickhouse.js';
import type { ClickHouseRunner, Row } from '../src/stores/clickhouse-query.js';

/** The fixed admin token (TELLTALE_API_TOKEN) every parity request carries. */
export const API_TOKEN = 'parity-token-0123456789abcdef';

/** The dashboards as a process serves them: access control first, then the plugin over `store`. */
export async function buildDashboards(
  store: DashboardStore,
  dataDir: string,
  alerts: AlertSummary[] = [],
): Promise<FastifyInstance> {
  const app = Fastify();
  await registerAuth(app, { dataDir, apiToken: API_TOKEN });
  await app.register(dashboardsPlugin, { store, listAlerts: async () => alerts });
  await app.ready();
  return app;
}

/** GET with the token; status and parsed JSON body. */
export async function getJson(app: FastifyInstance, url: string): Promise<{ status: number; body: any }> {
  const res = await app.inject({
    method: 'GET',
    url,
    headers: { authorization: `Bearer ${API_TOKEN}` },
  });
  return { status: res.statusCode, body: res.json() };
}

/** The current ClickHouse engine, embedded (npm chdb): a session in its own temp dir. */
export interface Chdb {
  session: Session;
  version: string;
  /** Runs statements, each on its own. */
  exec(...statements: string[]): void;
  /** The store's runner over this session: real `{name:Type}` parameter binding. */
  runner(): ClickHouseRunner;
  close(): Promise<void>;
}

export async function openChdb(): Promise<Chdb> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-chdb-'));
  const session = new Session(dir);
  const exec = (...statements: string[]) => {
    for (const statement of statements) session.query(statement);
  };
  return {
    session,
    version: session.query('SELECT version()', 'TabSeparated').trim(),
    exec,
    runner: () => ({
      async rows(query): Promise<Row[]> {
        const result = await session.queryBindAsync(query.sql, query.params, { format: 'JSONEachRow' });
        const text = result.text().trim();
        return text === '' ? [] : text.split('\n').map((line) => JSON.parse(line) as Row);
      },
      async close() {},
    }),
    async close() {
      session.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The schema's migrations, applied to a chdb session (the sink applies the same to a server). */
export function migrateChdb(chdb: Chdb, database: string): void {
  chdb.exec(`CREATE DATABASE IF NOT EXISTS ${database}`, clickHouseMigrationsTable(database));
  for (const migration of CLICKHOUSE_MIGRATIONS) chdb.exec(...migration.statements(database));
}

/** A DashboardStore over chdb, through the same SQL as the HTTP store. */
export const chdbStore = (chdb: Chdb, database: string): DashboardStore =>
  clickHouseStoreOver(chdb.runner(), database);
