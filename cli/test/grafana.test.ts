import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'chdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectorPaths } from '@telltale/collector';
import {
  CLICKHOUSE_MIGRATIONS,
  CLICKHOUSE_MS_COLUMNS,
  EVENT_COLUMNS,
  SERVER_LOG_COLUMNS,
  TABLES,
} from '@telltale/schema';
import { openSpoolWriter } from '@telltale/spool';
import { startClickHouse, type ClickHouseServer } from '../../test-support/clickhouse.js';
import { parsePrometheus } from '../../test-support/prometheus.js';
import { tempDir, waitFor } from '../../test-support/wait.js';
import { startCollectorRole } from '../src/roles/collector.js';
import { startDispatcherRole } from '../src/roles/dispatcher.js';
import { seedRows, seedWindow, EXPECTED, type PanelRows } from './grafana-corpus.js';
import {
  clickHouseQueries,
  expandMacros,
  GRAFANA_DIR,
  interpolateVariables,
  panelsOf,
  prometheusQueries,
  promNames,
  readDashboard,
  sqlNames,
  type DashboardQuery,
} from './grafana-queries.js';

// js-yaml comes with eslint (no types of its own): Grafana's provisioning files are YAML.
const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };

const events = readDashboard('telltale-events.json');
const pipeline = readDashboard('telltale-pipeline.json');
const DATABASE = 'telltale';
/** The variables as a user picks them: app "shop" (not "blog"), environment "prod" (not "staging"). */
const VARS = { database: DATABASE, app: ['shop'], environment: ['prod'] };

/** A panel's SQL as the plugin sends it for the seeded window and a Grafana interval. */
const literalSql = (q: DashboardQuery, intervalSeconds = 3600): string =>
  expandMacros(interpolateVariables(q.text, VARS), { ...seedWindow(), intervalSeconds });

const COLUMNS: Record<string, readonly string[]> = {
  [`${DATABASE}.${TABLES.events}`]: [...EVENT_COLUMNS, ...CLICKHOUSE_MS_COLUMNS],
  [`${DATABASE}.${TABLES.serverLogs}`]: [...SERVER_LOG_COLUMNS, ...CLICKHOUSE_MS_COLUMNS],
};

describe('deploy/grafana: the files Grafana provisions', () => {
  it('names two data sources by uid, and every panel and variable uses one of them', () => {
    const sources = yaml.load(
      readFileSync(path.join(GRAFANA_DIR, 'provisioning/datasources/telltale.yaml'), 'utf8'),
    ) as { datasources: Array<{ uid: string; type: string }> };
    const byUid = new Map(sources.datasources.map((d) => [d.uid, d.type]));
    expect([...byUid]).toEqual([
      ['telltale-clickhouse', 'grafana-clickhouse-datasource'],
      ['telltale-prometheus', 'prometheus'],
    ]);
    const providers = yaml.load(
      readFileSync(path.join(GRAFANA_DIR, 'provisioning/dashboards/telltale.yaml'), 'utf8'),
    ) as { providers: Array<{ type: string; options: { path: string } }> };
    expect(providers.providers).toMatchObject([{ type: 'file' }]);
    expect(readdirSync(path.join(GRAFANA_DIR, 'dashboards')).sort()).toEqual([
      'telltale-events.json',
      'telltale-pipeline.json',
    ]);

    for (const [dashboard, type] of [
      [events, 'grafana-clickhouse-datasource'],
      [pipeline, 'prometheus'],
    ] as const) {
      const panels = panelsOf(dashboard);
      expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
      // On Grafana's 24-column grid, no panel overlaps another.
      const cells = new Set<string>();
      for (const { title, gridPos: g } of panels) {
        expect(g.x + g.w, title).toBeLessThanOrEqual(24);
        for (let x = g.x; x < g.x + g.w; x++)
          for (let y = g.y; y < g.y + g.h; y++) {
            expect(cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
            cells.add(`${x},${y}`);
          }
      }
      for (const panel of panels) {
        expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
        for (const ds of [panel.datasource, ...panel.targets!.map((t) => t.datasource)]) {
          expect(ds?.type, panel.title).toBe(type);
          expect(byUid.get(ds!.uid), `${panel.title}: uid ${ds?.uid}`).toBe(type);
        }
      }
    }
    expect(events.uid).not.toBe(pipeline.uid);
  });
});

describe('the ClickHouse dashboard over @telltale/schema', () => {
  const queries = clickHouseQueries(events);

  it('every query names only tables and columns the schema defines', () => {
    expect(queries.length).toBeGreaterThanOrEqual(10);
    for (const q of queries) {
      const names = sqlNames(literalSql(q));
      expect(names.tables.length, q.where).toBeGreaterThan(0);
      for (const table of names.tables) expect(Object.keys(COLUMNS), q.where).toContain(table);
      const known = new Set(names.tables.flatMap((t) => COLUMNS[t] ?? []));
      const unknown = names.columns.filter((c) => !known.has(c));
      expect(unknown, `${q.where} names columns the schema lacks`).toEqual([]);
    }
  });

  it('a typo in a column or a table would be caught', () => {
    const names = sqlNames("SELECT fingerprnt, count() AS n FROM telltale.event FINAL WHERE kind = 'error'");
    expect(names.tables).toEqual(['telltale.event']);
    expect(names.columns).toEqual(['fingerprnt', 'kind']);
    expect(() => expandMacros('SELECT $__timeFilterr(ts)', { ...seedWindow(), intervalSeconds: 60 })).toThrow(
      /not a macro/,
    );
  });

  it('time-series queries give Grafana a time column first, in time order', () => {
    for (const q of queries.filter((query) => query.timeSeries)) {
      expect(q.text, q.where).toMatch(/^SELECT\s+\S[\s\S]*? AS time,/);
      expect(q.text, q.where).toMatch(/\nORDER BY time(, \w+)?$/);
    }
  });
});

type Runner = (sql: string) => Promise<Array<Record<string, unknown>>>;

/** Rows with ClickHouse's quoted 64-bit integers read back as numbers. */
const numbers = (row: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v]),
  );

/** The panels' answers over the seeded corpus, checked against what a user should see. */
async function expectPanelsShowTheCorpus(run: Runner): Promise<void> {
  const answers: PanelRows = {};
  for (const q of clickHouseQueries(events)) answers[q.where] = await run(literalSql(q));
  for (const [where, expected] of Object.entries(EXPECTED(3600)))
    expect(answers[where], where).toEqual(expected);
  // Zoomed in (30-minute buckets), "per hour" stays per hour.
  const perHour = clickHouseQueries(events).find((q) => q.where.includes('Errors per hour'))!;
  expect(await run(literalSql(perHour, 1800))).toEqual(EXPECTED(1800)['panel "Errors per hour by group" A']);
}

describe('the ClickHouse panels run', () => {
  it('on the current engine (chdb), after the schema DDL, and show the seeded corpus', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-grafana-chdb-'));
    const session = new Session(dir);
    try {
      session.query(`SET session_timezone = 'UTC'`); // the expected DateTimes are printed in UTC
      session.query(`CREATE DATABASE ${DATABASE}`);
      for (const m of CLICKHOUSE_MIGRATIONS) for (const s of m.statements(DATABASE)) session.query(s);
      for (const [table, rows] of seedRows())
        session.query(`INSERT INTO ${DATABASE}.${table} FORMAT JSONEachRow ${rows.join('\n')}`);
      // The panels bucket by intDiv (18.16 has no toStartOfInterval): the same buckets as the plugin's $__timeInterval.
      const bucket = expandMacros('$__timeInterval(ts)', { ...seedWindow(), intervalSeconds: 1800 });
      const differ = `SELECT countIf(${bucket} != toDateTime(intDiv(toUInt32(ts), 1800) * 1800)), count() FROM ${DATABASE}.events`;
      expect(session.query(differ, 'CSV').trim()).toMatch(/^0,[1-9]\d*$/);
      await expectPanelsShowTheCorpus(async (sql) =>
        session
          .query(sql, 'JSONEachRow')
          .split('\n')
          .filter(Boolean)
          .map((line) => numbers(JSON.parse(line) as Record<string, unknown>)),
      );
    } finally {
      session.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('on ClickHouse 18.16 (every panel: buckets by intDiv, not toStartOfInterval, which 18.16 lacks)', () => {
    let server: ClickHouseServer;
    beforeAll(async () => {
      server = await startClickHouse();
    });
    afterAll(async () => {
      await server?.destroy();
    });

    it('after the schema DDL, and show the seeded corpus', async () => {
      // 18.16 prints DateTimes in the server's zone and has no session_timezone; the expectations are UTC.
      expect((await server.query('SELECT timezone()')).trim()).toMatch(/^(Etc\/)?UTC$/);
      await server.query(`CREATE DATABASE ${DATABASE}`);
      for (const m of CLICKHOUSE_MIGRATIONS) for (const s of m.statements(DATABASE)) await server.query(s);
      for (const [table, rows] of seedRows())
        await server.query(`INSERT INTO ${DATABASE}.${table} FORMAT JSONEachRow\n${rows.join('\n')}`);
      await expectPanelsShowTheCorpus(async (sql) =>
        (await server.query(`${sql}\nFORMAT JSONEachRow`))
          .split('\n')
          .filter(Boolean)
          .map((line) => numbers(JSON.parse(line) as Record<string, unknown>)),
      );
    });
  });
});

const TOKEN = 'grafana-test-token-0123456789-abcdefghij';
const INGEST_KEY = 'tt_live_grafana_ingest_0001';
/** Labels Prometheus adds to every scraped series (the target's), not in the text itself. */
const TARGET_LABELS = ['job', 'instance'];

describe('the Prometheus dashboard over /metrics', () => {
  it('names only metrics and labels that a running collector and dispatcher expose', async () => {
    const data = await tempDir('grafana-metrics');
    const env: NodeJS.ProcessEnv = {
      TELLTALE_DATA_DIR: data.dir,
      TELLTALE_APPS: JSON.stringify([{ id: 'shop', name: 'Shop', ingestKeys: [INGEST_KEY], secretKeys: [] }]),
      TELLTALE_API_TOKEN: TOKEN,
      TELLTALE_DISPATCH_THREADS: '1',
      TELLTALE_LOG_LEVEL: 'warn',
    };
    // A record no consumer can read, so the dead-letter counter has a sample (and its labels show).
    const spool = await openSpoolWriter({ dir: collectorPaths(data.dir).clientSpool });
    await spool.append(Buffer.from('{"v":1,"app":"shop", not json'));
    await spool.close();
    const collector = await startCollectorRole({ env, port: 0, logger: false });
    const dispatcher = await startDispatcherRole({ env, opsPort: 0 }).catch(async (error: unknown) => {
      await collector.close();
      throw error;
    });
    try {
      const post = (key: string) =>
        fetch(`${collector.url}/v1/batch?key=${key}`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: JSON.stringify({
            v: 1,
            batchId: `b-${key}`,
            sentAt: Date.now(),
            release: '1.0.0',
            environment: 'prod',
            session: 's-1',
            events: [
              { id: 'e-1', ts: Date.now(), kind: 'error', type: 'TypeError', message: 'x is undefined' },
            ],
          }),
        });
      expect((await post(INGEST_KEY)).status).toBe(202);
      expect((await post('tt_live_not_a_key_00000000')).status).toBe(401);
      // Not HTTP at all: the HTTP layer refuses it before any route (telltale_collector_client_errors_total).
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(new URL(collector.url).port), '127.0.0.1', () =>
          socket.end('NOT HTTP\r\n\r\n'),
        );
        socket.on('error', reject).on('close', () => resolve());
        socket.resume();
      });
      await waitFor('the dispatcher handled both records', () =>
        dispatcher.dispatchers.stats().consumers.some((c) => c.name === 'duckdb' && c.records >= 2),
      );

      const exposed = new Map<string, Set<string>>();
      for (const url of [`${collector.url}/metrics`, `${dispatcher.opsUrl}/metrics`]) {
        const answer = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
        expect(answer.status, url).toBe(200);
        for (const sample of parsePrometheus(await answer.text()).samples) {
          const labels = exposed.get(sample.name) ?? new Set<string>();
          for (const label of Object.keys(sample.labels)) labels.add(label);
          exposed.set(sample.name, labels);
        }
      }

      const queries = prometheusQueries(pipeline);
      expect(queries.length).toBeGreaterThanOrEqual(12);
      for (const q of queries) {
        const { metrics, labels } = promNames(q.text);
        expect(metrics.length, q.where).toBeGreaterThan(0);
        const missing = metrics.filter((m) => !exposed.has(m));
        expect(missing, `${q.where}: ${q.text}`).toEqual([]);
        const known = new Set([...TARGET_LABELS, ...metrics.flatMap((m) => [...exposed.get(m)!])]);
        expect(
          labels.filter((l) => !known.has(l)),
          `${q.where}: labels none of its metrics has`,
        ).toEqual([]);
      }
      // The reader itself: a misspelt metric or label is not waved through.
      expect(promNames('sum by (reasn) (rate(telltale_collector_rejectd_total{route="batch"}[5m]))')).toEqual(
        {
          metrics: ['telltale_collector_rejectd_total'],
          labels: ['route', 'reasn'],
        },
      );
    } finally {
      await dispatcher.close();
      await collector.close();
      await data.remove();
    }
  }, 120_000);
});
