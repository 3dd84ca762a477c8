import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import Fastify, { type FastifyInstance } from 'fastify';
import { DUCKDB_DDL } from '@telltale/schema';
import type { AlertSummary } from '../src/alerts.js';
import type { IssueServices } from '../src/issues.js';
import { dashboardsPlugin } from '../src/plugin.js';
import type { DashboardStore } from '../src/store.js';
import { createDuckDbStore } from '../src/stores/duckdb.js';

/** A stored row as the duckdb sink writes it; tests give only what matters to them. */
export interface Row {
  app?: string;
  id: string;
  kind: 'error' | 'assert' | 'feature' | 'blocked' | 'log';
  ts: number;
  receivedAt?: number;
  release?: string;
  environment?: string;
  session?: string;
  user?: string | null;
  url?: string | null;
  fingerprint?: string | null;
  name?: string | null;
  errorType?: string | null;
  message?: string | null;
  stack?: string | null;
  level?: string | null;
  count?: number;
  soft?: boolean | null;
  attrs?: unknown;
  breadcrumbs?: unknown;
  browser?: string | null;
  os?: string | null;
}

export const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
export const MIN = 60_000;

const COLUMNS = `app, id, kind, ts, received_at, day, batch_id, release, environment, session, user_id, url,
  fingerprint, name, error_type, message, stack, level, count, soft, attrs, breadcrumbs, browser, browser_version,
  os, os_version`;

export async function insertRows(db: DuckDBConnection, rows: Row[]): Promise<void> {
  for (const r of rows) {
    const receivedAt = r.receivedAt ?? r.ts + 500;
    await db.run(
      `INSERT INTO events (${COLUMNS}) VALUES ($1, $2, $3, epoch_ms($4::BIGINT), epoch_ms($5::BIGINT),
        CAST(epoch_ms($5::BIGINT) AS DATE), $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20, $21, $22, $23, $24, $25)`,
      [
        r.app ?? 'shop',
        r.id,
        r.kind,
        BigInt(r.ts),
        BigInt(receivedAt),
        `batch-${r.id}`,
        r.release ?? '1.4.0',
        r.environment ?? 'production',
        r.session ?? 's-1',
        r.user === undefined ? 'u-1' : r.user,
        r.url ?? '/checkout',
        r.fingerprint ?? null,
        r.name ?? null,
        r.errorType ?? null,
        r.message ?? null,
        r.stack ?? null,
        r.level ?? null,
        r.count ?? 1,
        r.soft ?? null,
        r.attrs === undefined ? null : JSON.stringify(r.attrs),
        r.breadcrumbs === undefined ? null : JSON.stringify(r.breadcrumbs),
        r.browser === undefined ? 'Chrome' : r.browser,
        '131.0',
        r.os === undefined ? 'macOS' : r.os,
        '15.1',
      ],
    );
  }
}

export const FP_TYPEERROR = 'a'.repeat(32);
export const FP_XSS = 'b'.repeat(32);

/** A small, realistic day of one shop app plus an admin app. */
export const SAMPLE_ROWS: Row[] = [
  // One error group: 3 events from 2 users and 1 anonymous session, 2 releases, 7 occurrences in all.
  {
    id: 'e1',
    kind: 'error',
    ts: T0,
    fingerprint: FP_TYPEERROR,
    errorType: 'TypeError',
    message: "Cannot read properties of undefined (reading 'total')",
    count: 4,
    user: 'u-1',
    session: 's-1',
    release: '1.3.9',
    stack:
      "TypeError: Cannot read properties of undefined (reading 'total')\n    at cartTotal (cart.js:12:9)",
    breadcrumbs: [{ ts: T0 - 2000, level: 'info', category: 'ui.click', message: 'button#pay' }],
  },
  {
    id: 'e2',
    kind: 'error',
    ts: T0 + 5 * MIN,
    fingerprint: FP_TYPEERROR,
    errorType: 'TypeError',
    message: "Cannot read properties of undefined (reading 'total')",
    count: 2,
    user: 'u-2',
    session: 's-2',
    release: '1.4.0',
    stack: 'TypeError: ...\n    at cartTotal (cart.js:12:9)',
  },
  {
    id: 'e3',
    kind: 'error',
    ts: T0 + 10 * MIN,
    fingerprint: FP_TYPEERROR,
    errorType: 'TypeError',
    message: "Cannot read properties of undefined (reading 'total')",
    count: 1,
    user: null,
    session: 's-anon',
    release: '1.4.0',
    stack: 'TypeError: ...\n    at cartTotal (cart.js:12:9)',
    browser: 'Firefox',
    os: 'Windows',
  },
  // A hostile message must be shown as text, never run.
  {
    id: 'e4',
    kind: 'error',
    ts: T0 + 2 * MIN,
    fingerprint: FP_XSS,
    errorType: 'Error',
    message: '<script>alert("pwned")</script>',
    user: 'u-1',
    session: 's-1',
  },
  // Feature usage: export-csv used 3 times by 2 users; first use at T0 + 1 min.
  { id: 'f1', kind: 'feature', ts: T0 + 1 * MIN, name: 'export-csv', user: 'u-1', attrs: { rows: 120 } },
  { id: 'f2', kind: 'feature', ts: T0 + 3 * MIN, name: 'export-csv', user: 'u-1' },
  { id: 'f3', kind: 'feature', ts: T0 + 4 * MIN, name: 'export-csv', user: 'u-3', session: 's-3' },
  { id: 'f4', kind: 'feature', ts: T0 + 6 * MIN, name: 'dark-mode', user: null, session: 's-9' },
  // Asserts: one soft, one hard.
  {
    id: 'a1',
    kind: 'assert',
    ts: T0 + 7 * MIN,
    name: 'workspaces-under-100',
    soft: true,
    attrs: { workspaces: 131 },
  },
  {
    id: 'a2',
    kind: 'assert',
    ts: T0 + 8 * MIN,
    name: 'cart-total-matches',
    soft: false,
    attrs: { lines: 3, checksum: 'c0ffee' },
    user: 'u-2',
    session: 's-2',
  },
  // Blocked: file too large, twice by the same user.
  { id: 'b1', kind: 'blocked', ts: T0 + 9 * MIN, name: 'file-too-large', attrs: { sizeMb: 42 } },
  { id: 'b2', kind: 'blocked', ts: T0 + 11 * MIN, name: 'file-too-large', attrs: { sizeMb: 77 } },
  // Another app with no logs at all: stats must still say log: 0.
  {
    id: 'x1',
    kind: 'feature',
    app: 'admin',
    ts: T0 + 12 * MIN,
    name: 'invite-user',
    user: 'admin-1',
    session: 'sa-1',
  },
];

export const SAMPLE_ALERTS: AlertSummary[] = [
  {
    key: 'new-error:shop:aaaa',
    kind: 'new-error',
    app: 'shop',
    subject: '[shop] New error: TypeError <b>',
    createdAt: T0,
    status: 'sent',
    transport: 'outbox',
    file: 'outbox/1.eml',
  },
  {
    key: 'first-feature:shop:export-csv',
    kind: 'first-feature',
    app: 'shop',
    subject: '[shop] First use: export-csv',
    createdAt: new Date(T0 + MIN).toISOString(),
    status: 'pending',
    transport: 'smtp',
  },
];

export interface Harness {
  instance: DuckDBInstance;
  db: DuckDBConnection;
  store: DashboardStore;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** A real in-memory DuckDB with the sink's schema, the store on its own connection, and the plugin. */
export async function createHarness(
  rows: Row[] = SAMPLE_ROWS,
  options: { issues?: IssueServices; alerts?: AlertSummary[] } = {},
): Promise<Harness> {
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  for (const statement of DUCKDB_DDL) await db.run(statement);
  await insertRows(db, rows);
  const store = await createDuckDbStore(instance);
  const app = Fastify();
  await app.register(dashboardsPlugin, {
    store,
    listAlerts: async () => options.alerts ?? SAMPLE_ALERTS,
    readAlert: async (key) =>
      key === 'new-error:shop:aaaa'
        ? 'Subject: New error\r\nContent-Type: text/html\r\n\r\n<script>x()</script>'
        : undefined,
    ...(options.issues === undefined ? {} : { issues: options.issues }),
  });
  await app.ready();
  return {
    instance,
    db,
    store,
    app,
    async close() {
      await app.close();
      await store.close();
      db.closeSync();
      instance.closeSync();
    },
  };
}
