import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createClickHouseClient,
  createClickHouseSink,
  enrichEnvelope,
  migrateClickHouse,
  resolveDispatcherConfig,
  startDispatchers,
  type DispatcherOptions,
  type Dispatchers,
} from '@telltale/dispatchers';
import { clientBatch, DAY_MS, json, serverLogs } from './corpus.js';
import { tempDir, waitFor } from './helpers.js';
import { startClickHouse, type ClickHouseServer } from './services.js';

/** Against a real ClickHouse server (Debian's 18.16 here), one per file: it takes seconds to start. */
describe('ClickHouse sink', () => {
  let clickhouse: ClickHouseServer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let duckdb: DuckDBInstance;
  let reader: DuckDBConnection;
  let client: SpoolWriter;
  let server: SpoolWriter;
  let dispatchers: Dispatchers | undefined;
  let database: string;
  let databases = 0;

  beforeAll(async () => {
    clickhouse = await startClickHouse();
  });
  afterAll(async () => {
    await clickhouse?.destroy();
  });

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    duckdb = await DuckDBInstance.create(path.join(dir, 'telltale.duckdb'));
    reader = await duckdb.connect();
    client = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client') });
    server = await openSpoolWriter({ dir: path.join(dir, 'spool', 'server') });
    databases += 1;
    database = `telltale_${databases}`; // a fresh database per test on the shared server
  });

  afterEach(async () => {
    await dispatchers?.close();
    dispatchers = undefined;
    await client.close();
    await server.close();
    reader.closeSync();
    duckdb.closeSync();
    await cleanup();
  });

  async function start(options: DispatcherOptions = {}): Promise<Dispatchers> {
    const config = resolveDispatcherConfig(
      {
        dataDir: dir,
        pollMs: 50,
        sinks: ['duckdb', 'clickhouse'],
        clickhouse: { url: clickhouse.url, database },
        retention: { duckdb: 0, clickhouse: 0 },
        ...options,
      },
      {},
    );
    dispatchers = await startDispatchers(config, {
      duckdb,
      spoolDir: client.dir,
      notify: (listener) => client.onAppend(listener),
      serverLogs: { spoolDir: server.dir, notify: (listener) => server.onAppend(listener) },
    });
    return dispatchers;
  }

  const number = async (sql: string): Promise<number> => Number((await clickhouse.query(sql)).trim());
  const duckCount = async (sql: string): Promise<number> =>
    Number((await reader.runAndReadAll(sql)).getRows()[0]?.[0] ?? -1);
  const consumer = (name: string) => dispatchers?.stats().consumers.find((c) => c.name === name);

  it('loses nothing and doubles nothing when ClickHouse is stopped mid-stream and restarted', async () => {
    const d = await start();
    const batches = 40;
    const size = 48;
    for (let n = 0; n < 15; n += 1) await client.append(json(clientBatch(n, size)));
    await waitFor(
      'the first batches in ClickHouse',
      async () => (await number(`SELECT count() FROM ${database}.events`)) > 0,
    );

    await clickhouse.stop();
    for (let n = 15; n < 30; n += 1) await client.append(json(clientBatch(n, size)));
    // ClickHouse is down: its consumer waits and retries, and DuckDB is not held back.
    await waitFor(
      'a failed ClickHouse insert',
      () => (d.stats().consumers.find((c) => c.name === 'clickhouse')?.retries ?? 0) > 0,
    );
    await waitFor(
      'DuckDB has every event so far',
      async () => (await duckCount('SELECT count(*) FROM events')) === 30 * size,
      20_000,
    );
    expect(consumer('clickhouse')?.lastError).toMatch(/^clickhouse: /);

    await clickhouse.start();
    for (let n = 30; n < batches; n += 1) await client.append(json(clientBatch(n, size)));
    const sent = batches * size;
    await waitFor(
      'every event in ClickHouse',
      async () => (await number(`SELECT uniqExact(app, id) FROM ${database}.events`)) === sent,
      90_000,
    );
    await waitFor(
      'the clickhouse checkpoint past the last batch',
      () => consumer('clickhouse')?.records === batches,
    );

    // Exactly once where people look: rows (after dedupe) = distinct ids = events sent.
    expect(await number(`SELECT count() FROM ${database}.events FINAL`)).toBe(sent);
    expect(await number(`SELECT uniqExact(id) FROM ${database}.events`)).toBe(sent);
    // Per kind, as the dashboards count them (after dedupe; their store is tested in dashboards/test).
    const counts: Record<string, number> = Object.fromEntries(
      (await clickhouse.query(`SELECT kind, count() FROM ${database}.events FINAL GROUP BY kind`))
        .trim()
        .split('\n')
        .map((line) => [line.split('\t')[0], Number(line.split('\t')[1])]),
    );
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(sent);
    expect(counts).toEqual({ error: sent / 4, feature: sent / 4, assert: sent / 4, log: sent / 4 });
    expect(await duckCount('SELECT count(*) FROM events')).toBe(sent);
    expect(d.stats().sinks.find((s) => s.name === 'clickhouse')?.breaker.state).toBe('closed');
  }, 180_000);

  it('resumes from its checkpoints after a restart: nothing lost, nothing inserted twice', async () => {
    let d = await start();
    for (let n = 0; n < 10; n += 1) await client.append(json(clientBatch(n, 20)));
    await server.append(json(serverLogs(0, 5)));
    await waitFor(
      'first round stored',
      async () => (await number(`SELECT count() FROM ${database}.events`)) === 200,
    );
    await waitFor(
      'first server logs stored',
      async () => (await number(`SELECT count() FROM ${database}.server_logs`)) === 5,
    );
    await waitFor('duckdb done', () => d.stats().consumers.find((c) => c.name === 'duckdb')?.records === 10);
    await d.close();

    for (let n = 10; n < 25; n += 1) await client.append(json(clientBatch(n, 20)));
    await server.append(json(serverLogs(1, 5)));
    d = await start();
    await waitFor(
      'second round stored',
      async () => (await number(`SELECT uniqExact(id) FROM ${database}.events`)) === 500,
    );
    await waitFor(
      'second server logs',
      async () => (await number(`SELECT uniqExact(id) FROM ${database}.server_logs`)) === 10,
    );
    await waitFor('duckdb caught up', async () => (await duckCount('SELECT count(*) FROM events')) === 500);

    // Not even an unmerged duplicate: the restart re-sent nothing that was already committed.
    expect(await number(`SELECT count() FROM ${database}.events`)).toBe(500);
    expect(await number(`SELECT count() FROM ${database}.server_logs`)).toBe(10);
    expect(await duckCount('SELECT count(*) FROM events')).toBe(500);
    expect(await duckCount('SELECT count(DISTINCT id) FROM events')).toBe(500);
    expect(await duckCount('SELECT count(*) FROM server_logs')).toBe(10);
  }, 120_000);

  it('puts client events and server logs of one session on one timeline, scrubbed', async () => {
    await start();
    const now = Date.now();
    await client.append(json(clientBatch(5, 4, now))); // session s-0
    await server.append(json(serverLogs(5, 2, now))); // session s-0, same trace
    await waitFor(
      'both stored',
      async () =>
        (await number(`SELECT count() FROM ${database}.events`)) === 4 &&
        (await number(`SELECT count() FROM ${database}.server_logs`)) === 2,
    );
    // The rows the dashboards' timeline joins (its query is tested in dashboards/test): one session,
    // client events and server lines in time order, every line with its trace, user and release.
    const rows = async (sql: string) =>
      (await clickhouse.query(`${sql} FORMAT JSONEachRow`))
        .trim()
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const joined = (where: string) =>
      rows(
        `SELECT * FROM (
           SELECT 'client' AS source, id, least(ts_ms, received_ms) AS t, CAST(NULL AS Nullable(String)) AS service,
             CAST(NULL AS Nullable(String)) AS level, toNullable(release) AS release, user_id,
             message FROM ${database}.events FINAL WHERE app = 'shop' AND ${where}
           UNION ALL
           SELECT 'server' AS source, id, ts_ms AS t, toNullable(service) AS service, toNullable(level) AS level,
             release, user_id, toNullable(message) AS message FROM ${database}.server_logs FINAL
           WHERE app = 'shop' AND ${where}
         ) ORDER BY t, source, id`,
      );
    const timeline = await joined(`session = 's-0'`);
    expect(timeline.map((t) => `${String(t.source)}:${String(t.id)}`)).toEqual([
      'client:e-5-0',
      'client:e-5-1',
      'client:e-5-2',
      'client:e-5-3',
      'server:l-5-0',
      'server:l-5-1',
    ]);
    const byTrace = await joined(`trace = '4bf92f3577b34da6a3ce929d0e0e4736'`);
    expect(byTrace).toHaveLength(6);
    const log = timeline.find((t) => t.id === 'l-5-0');
    expect(log).toMatchObject({ service: 'api', level: 'info', release: '2.0.1', user_id: 'u-5' });
    expect(log?.message).not.toContain('user@example.com'); // scrubbed on the server side too
    // DuckDB keeps them on the same keys for the embedded timeline.
    const duck = (
      await reader.runAndReadAll(`SELECT id, session, trace, user_id, release FROM server_logs ORDER BY id`)
    ).getRowObjectsJson();
    expect(duck).toEqual([
      {
        id: 'l-5-0',
        session: 's-0',
        trace: '4bf92f3577b34da6a3ce929d0e0e4736',
        user_id: 'u-5',
        release: '2.0.1',
      },
      {
        id: 'l-5-1',
        session: 's-0',
        trace: '4bf92f3577b34da6a3ce929d0e0e4736',
        user_id: 'u-5',
        release: '2.0.1',
      },
    ]);
  });

  // What the dashboards answer over these rows (counted once before a merge) is tested with their store.
  it('stores a replayed batch as a second part, and records each migration once', async () => {
    const sink = createClickHouseSink({ url: clickhouse.url, database });
    try {
      const events = enrichEnvelope(clientBatch(1, 8));
      expect(await sink.export(events)).toEqual({ status: 'ok' });
      expect(await sink.export(events)).toEqual({ status: 'ok' }); // a replay: a second, unmerged part
      expect(await number(`SELECT count() FROM ${database}.events`)).toBe(16);
      expect(await number(`SELECT count() FROM ${database}.events FINAL`)).toBe(8);

      // Versioned migrations: recorded once, and a second run applies nothing.
      expect(
        (await clickhouse.query(`SELECT version FROM ${database}.schema_migrations ORDER BY version`)).trim(),
      ).toBe('1\n2');
      expect(
        await migrateClickHouse(createClickHouseClient({ url: clickhouse.url, database }), database),
      ).toEqual([]);
    } finally {
      await sink.close();
    }
  });

  it('stores text with tabs, line breaks, backslashes and a literal \\N exactly, and nulls as NULL', async () => {
    const sink = createClickHouseSink({ url: clickhouse.url, database });
    try {
      const [row] = enrichEnvelope(clientBatch(7, 1));
      const awkward = 'a\tb\nc\\d \\N\r end';
      expect(await sink.export([{ ...row!, message: awkward, userId: null, loadMs: 12.5 }])).toEqual({
        status: 'ok',
      });
      const stored = JSON.parse(
        await clickhouse.query(
          `SELECT message, isNull(user_id) AS no_user, load_ms, id FROM ${database}.events FORMAT JSONEachRow`,
        ),
      ) as Record<string, unknown>;
      expect(stored).toEqual({ message: awkward, no_user: 1, load_ms: 12.5, id: row!.id });
    } finally {
      await sink.close();
    }
  });

  it('drops whole day partitions past retention, in ClickHouse and DuckDB', async () => {
    const now = Date.now();
    const d = await start({ retention: { duckdb: 30, clickhouse: 30 } });
    await client.append(json(clientBatch(1, 4, now - 40 * DAY_MS)));
    await client.append(json(clientBatch(2, 4, now - 31 * DAY_MS)));
    await client.append(json(clientBatch(3, 4, now)));
    await server.append(json(serverLogs(1, 3, now - 40 * DAY_MS)));
    await server.append(json(serverLogs(2, 3, now)));
    await waitFor(
      'all stored',
      async () =>
        (await number(`SELECT count() FROM ${database}.events`)) === 12 &&
        (await number(`SELECT count() FROM ${database}.server_logs`)) === 6 &&
        (await duckCount('SELECT count(*) FROM events')) === 12 &&
        (await duckCount('SELECT count(*) FROM server_logs')) === 6,
    );
    const partitions = async (): Promise<string[]> =>
      (
        await clickhouse.query(
          `SELECT DISTINCT concat(table, '/', partition) FROM system.parts WHERE database = '${database}' AND active AND table != 'schema_migrations' ORDER BY 1`,
        )
      )
        .trim()
        .split('\n');
    expect(await partitions()).toHaveLength(5);

    const reports = await d.runRetention();
    const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
    const compact = (ms: number): string => day(ms).replaceAll('-', '');
    expect(reports.find((r) => r.sink === 'clickhouse')?.dropped).toEqual([
      `events/${compact(now - 40 * DAY_MS)}`,
      `events/${compact(now - 31 * DAY_MS)}`,
      `server_logs/${compact(now - 40 * DAY_MS)}`,
    ]);
    expect(reports.find((r) => r.sink === 'duckdb')?.dropped).toEqual([
      day(now - 40 * DAY_MS),
      day(now - 31 * DAY_MS),
    ]);
    expect(await partitions()).toEqual([`events/${compact(now)}`, `server_logs/${compact(now)}`]);
    expect(await number(`SELECT count() FROM ${database}.events`)).toBe(4);
    expect(await duckCount('SELECT count(*) FROM events')).toBe(4);
    expect(await duckCount('SELECT count(*) FROM server_logs')).toBe(3);
  });
});
