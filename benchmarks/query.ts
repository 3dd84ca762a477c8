/**
 * npm run bench:query — 1,000,000 seeded events (and 200,000 server log lines) in an embedded DuckDB
 * file with the real schema, the dashboards on it as `telltale start` serves them (createDuckDbStore,
 * access control with an API token, the dashboards plugin), and the p95 of every JSON API route over
 * BENCH_REQUESTS requests after a warm-up. Baseline, same run: the very statements each route ran
 * (recorded through the store's onQuery hook), replayed on a DuckDB connection of the same instance.
 *
 * Stdout: one JSON line per route, then
 * {"bench":"query","events":1000000,"p95_ms":<worst route p95>,"overhead":<worst API p95 / its SQL p95>}
 * Route lines also carry cpu_p50_ms (this process's CPU time per request: DuckDB's threads and the
 * handler) and the load average, since on a shared machine wall time is mostly the wait for a core.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import Fastify from 'fastify';
import { createDuckDbStore, dashboardsPlugin, registerAuth } from '@telltale/dashboards';
import { DUCKDB_DDL } from '@telltale/schema';
import { EVENTS_SQL, SERVER_LOGS_SQL } from './query-seed.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const LOG_LINES = Math.round(EVENTS / 5);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 30);
const WARM_UP = 3;
const TOKEN = 'bench-query-token-0123456789abcdef';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const log = (line: string): void => void process.stderr.write(`${line}\n`);

interface Statement {
  sql: string;
  params: DuckDBValue[];
}

/** What the routes are asked for: the ids come from the seeded data (the busiest group, one of its events). */
interface Seeded {
  fingerprint: string;
  app: string;
  event: string;
  trace: string;
  session: string;
  now: number;
}

/** One line per route: adding a route to the bench is adding a line here. */
function routes(s: Seeded): Array<[name: string, url: string]> {
  const week = `from=${s.now - 7 * DAY}&to=${s.now}`;
  return [
    ['errors', '/api/errors'],
    ['errors-app', `/api/errors?app=${s.app}`],
    ['error-group', `/api/errors/${s.fingerprint}?app=${s.app}`],
    ['features', '/api/features'],
    ['asserts', '/api/asserts'],
    ['blocked', '/api/blocked'],
    ['events', '/api/events'],
    ['events-errors', '/api/events?kind=error&limit=50'],
    ['events-session', `/api/events?session=${s.session}`],
    ['event', `/api/events/${s.app}/${s.event}`],
    ['stats', '/api/stats'],
    ['timeline-trace', `/api/timeline?trace=${s.trace}`],
    ['timeline-session', `/api/timeline?session=${s.session}&${week}`],
    ['logs', '/api/logs'],
    ['logs-search', `/api/logs?text=timeout&level=warn&${week}`],
    ['errors-filtered', '/api/errors?range=7d&browser=Chrome&path=/checkout'],
    ['events-filtered', '/api/events?range=24h&os=macOS&release=1.5.0'],
    ['search', '/api/search?q=typeerror'],
    ['filter-options', '/api/filter-options?range=7d'],
    ['series-errors', '/api/series/errors'],
    ['series-error-group', `/api/series/errors/${s.fingerprint}?app=${s.app}&range=7d`],
    ['series-features', '/api/series/features?range=30d'],
    ['series-asserts', '/api/series/asserts?range=7d'],
    ['series-blocked', `/api/series/blocked?app=${s.app}&range=7d`],
  ];
}

const p95 = (samples: number[]): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(sorted.length * 0.95) - 1)] ?? 0;
};
const median = (samples: number[]): number => [...samples].sort((a, b) => a - b)[samples.length >> 1] ?? 0;
const round = (ms: number): number => Math.round(ms * 100) / 100;

async function seed(db: DuckDBConnection, now: number): Promise<void> {
  for (const statement of DUCKDB_DDL) await db.run(statement);
  let started = performance.now();
  await db.run(EVENTS_SQL, [BigInt(now), BigInt(EVENTS)]);
  log(`seeded ${EVENTS} events in ${Math.round(performance.now() - started)} ms`);
  started = performance.now();
  await db.run(SERVER_LOGS_SQL, [BigInt(now), BigInt(LOG_LINES)]);
  log(`seeded ${LOG_LINES} server log lines in ${Math.round(performance.now() - started)} ms`);
  await db.run('CHECKPOINT');
}

async function seeded(db: DuckDBConnection, now: number): Promise<Seeded> {
  const rows = (
    await db.runAndReadAll(
      `WITH top AS (SELECT fingerprint, app FROM events WHERE kind = 'error'
         GROUP BY fingerprint, app ORDER BY count(*) DESC, fingerprint, app LIMIT 1)
       SELECT e.fingerprint, e.app, e.id, e.trace, e.session FROM events e JOIN top USING (fingerprint, app)
       WHERE e.kind = 'error' ORDER BY e.ts DESC, e.id LIMIT 1`,
    )
  ).getRowObjectsJson();
  const row = rows[0];
  if (row === undefined) throw new Error('the seed stored no error event');
  return {
    fingerprint: String(row.fingerprint),
    app: String(row.app),
    event: String(row.id),
    trace: String(row.trace),
    session: String(row.session),
    now,
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-bench-query-'));
  const instance = await DuckDBInstance.create(path.join(dir, 'telltale.duckdb'));
  const direct = await instance.connect();
  // Whole hours: the same seed gives the same rows relative to "now" on every run.
  const now = Math.floor(Date.now() / HOUR) * HOUR;
  try {
    log(
      `load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${os.cpus().length} cores`,
    );
    await seed(direct, now);
    const ids = await seeded(direct, now);

    let recording: Statement[] | undefined;
    let storeMs = 0;
    const store = await createDuckDbStore(instance, {
      onQuery: (sql, params, ms) => {
        storeMs += ms;
        recording?.push({ sql, params: [...params] });
      },
    });
    const app = Fastify();
    await registerAuth(app, { dataDir: dir, apiToken: TOKEN });
    await app.register(dashboardsPlugin, { store, listAlerts: async () => [] });
    await app.ready();
    // CPU time beside wall time: on a machine shared with other work, wall time mostly measures the queue for the cores.
    const get = async (
      url: string,
    ): Promise<{ ms: number; cpuMs: number; status: number; bytes: number }> => {
      const cpu = process.cpuUsage();
      const started = performance.now();
      const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu);
      return {
        ms,
        cpuMs: (used.user + used.system) / 1000,
        status: res.statusCode,
        bytes: res.rawPayload.length,
      };
    };

    let worstP95 = 0;
    let worstOverhead = 0;
    for (const [name, url] of routes(ids)) {
      for (let i = 0; i < WARM_UP; i++) await get(url);
      recording = [];
      const probe = await get(url);
      const statements = recording;
      recording = undefined;
      if (probe.status !== 200) throw new Error(`${url} answered ${probe.status}`);
      // Interleaved, so the API and its SQL see the same machine (others' load comes and goes).
      const api: number[] = [];
      const cpu: number[] = [];
      const inStore: number[] = [];
      const sql: number[] = [];
      for (let i = 0; i < REQUESTS; i++) {
        storeMs = 0;
        const answer = await get(url);
        api.push(answer.ms);
        cpu.push(answer.cpuMs);
        inStore.push(storeMs);
        const started = performance.now();
        for (const s of statements) await direct.runAndReadAll(s.sql, s.params);
        sql.push(performance.now() - started);
      }
      const apiP95 = p95(api);
      const sqlP95 = p95(sql);
      const overhead = statements.length === 0 ? null : apiP95 / sqlP95;
      worstP95 = Math.max(worstP95, apiP95);
      if (overhead !== null) worstOverhead = Math.max(worstOverhead, overhead);
      process.stdout.write(
        `${JSON.stringify({
          bench: 'query-route',
          route: name,
          url: url.replace(/[0-9a-f]{32}/g, '<id>'),
          statements: statements.length,
          bytes: probe.bytes,
          p95_ms: round(apiP95),
          sql_p95_ms: round(sqlP95),
          store_sql_p95_ms: round(p95(inStore)),
          cpu_p50_ms: round(median(cpu)),
          load: round(os.loadavg()[0] ?? 0),
          overhead: overhead === null ? null : round(overhead),
        })}\n`,
      );
    }
    await app.close();
    await store.close();
    process.stdout.write(
      `${JSON.stringify({ bench: 'query', events: EVENTS, p95_ms: round(worstP95), overhead: round(worstOverhead) })}\n`,
    );
  } finally {
    direct.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
