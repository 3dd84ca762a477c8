import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ServerLogEnvelope, SpoolEnvelope } from '@telltale/protocol';
import { openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveDispatcherConfig, startDispatchers, type Dispatchers } from '@telltale/dispatchers';
import { startClickHouse, type ClickHouseServer } from '../../test-support/clickhouse.js';
import { tempDir, waitFor } from '../../test-support/wait.js';
import {
  createClickHouseStore,
  createDuckDbStore,
  type DashboardStore,
  type TimelineQuery,
} from '../src/index.js';

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const OTHER = '0af7651916cd43dd8448eb211c80319c';
const SPAN_A = '00f067aa0ba902b7';
const SPAN_B = '11f067aa0ba902b7';

/**
 * One corpus, two stores: client batches (one browser clock 30 s fast, so its times exceed the
 * receive time; one batch uploaded twice) and server logs (two requests, a line without trace),
 * dispatched into DuckDB and ClickHouse 18.16 by the real dispatchers; every timeline query must
 * answer the same rows from both stores (moved here from the dispatchers with the ClickHouse SQL).
 */
function corpus(now: number): { client: SpoolEnvelope[]; server: ServerLogEnvelope[] } {
  const batch = (
    n: number,
    session: string,
    trace: string,
    skew: number,
    receivedAt: number,
  ): SpoolEnvelope =>
    ({
      v: 1,
      receivedAt,
      app: 'shop',
      batch: {
        v: 1,
        batchId: `b-${n}`,
        sentAt: receivedAt + skew,
        release: '3.1.0',
        environment: 'production',
        session,
        user: n % 2 === 0 ? 'u-1' : undefined,
        events: [
          {
            id: `c-${n}-0`,
            ts: receivedAt + skew - 30,
            kind: 'feature',
            name: 'checkout-click',
            trace,
            url: '/cart',
          },
          {
            id: `c-${n}-1`,
            ts: receivedAt + skew - 20,
            kind: 'log',
            level: 'info',
            message: 'calling /api/checkout',
            trace,
          },
          {
            id: `c-${n}-2`,
            ts: receivedAt + skew - 10,
            kind: 'error',
            type: 'CheckoutError',
            message: 'checkout failed: 502',
            stack: 'CheckoutError: checkout failed\n    at pay (https://shop.example/app.js:1:10)',
            trace,
            url: '/cart',
          },
          { id: `c-${n}-3`, ts: receivedAt + skew - 5, kind: 'blocked', reason: 'card-declined', trace },
        ],
      },
    }) as SpoolEnvelope;
  const first = batch(1, TRACE, TRACE, 30_000, now - 2_000);
  return {
    client: [first, batch(2, OTHER, OTHER, 0, now - 1_500), first, batch(3, TRACE, TRACE, 0, now - 1_000)],
    server: [
      {
        v: 1,
        app: 'shop',
        receivedAt: now - 1_000,
        logs: [
          {
            id: 's-1',
            ts: now - 1_990,
            level: 'info',
            message: 'POST /api/checkout',
            service: 'api',
            trace: TRACE,
            span: SPAN_A,
            session: TRACE,
          },
          {
            id: 's-2',
            ts: now - 1_985,
            level: 'error',
            message: 'payment provider 502',
            service: 'payments',
            trace: TRACE,
            span: SPAN_A,
            user: 'u-1',
            release: '9.0.0',
          },
          {
            id: 's-3',
            ts: now - 1_200,
            level: 'warn',
            message: 'retrying',
            service: 'api',
            trace: TRACE,
            span: SPAN_B,
          },
          { id: 's-4', ts: now - 1_100, level: 'info', message: 'unrelated', service: 'api', trace: OTHER },
          { id: 's-5', ts: now - 1_000, level: 'info', message: 'cron tick', service: 'cron' },
        ],
      },
    ],
  };
}

describe('the timeline answers the same on DuckDB and on ClickHouse', () => {
  let clickhouse: ClickHouseServer;
  let cleanup: () => Promise<void>;
  let duckdb: DuckDBInstance;
  let store: DashboardStore;
  let queries: DashboardStore;
  let dispatchers: Dispatchers;
  let writers: SpoolWriter[];
  let now: number;

  beforeAll(async () => {
    clickhouse = await startClickHouse();
    let dir: string;
    ({ dir, remove: cleanup } = await tempDir('telltale-timeline-parity-'));
    duckdb = await DuckDBInstance.create(path.join(dir, 'telltale.duckdb'));
    const client = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client') });
    const server = await openSpoolWriter({ dir: path.join(dir, 'spool', 'server') });
    writers = [client, server];
    const database = 'telltale_parity';
    const config = resolveDispatcherConfig(
      {
        dataDir: dir,
        pollMs: 50,
        sinks: ['duckdb', 'clickhouse'],
        clickhouse: { url: clickhouse.url, database },
        retention: { duckdb: 0, clickhouse: 0 },
      },
      {},
    );
    dispatchers = await startDispatchers(config, {
      duckdb,
      spoolDir: client.dir,
      notify: (listener) => client.onAppend(listener),
      serverLogs: { spoolDir: server.dir, notify: (listener) => server.onAppend(listener) },
    });
    now = Date.now();
    const data = corpus(now);
    for (const envelope of data.client) await client.append(json(envelope));
    for (const envelope of data.server) await server.append(json(envelope));
    store = await createDuckDbStore(duckdb);
    queries = await createClickHouseStore({ url: clickhouse.url, database });
    const count = async () =>
      Number((await clickhouse.query(`SELECT uniqExact(id) FROM ${database}.events`)).trim()) +
      Number((await clickhouse.query(`SELECT uniqExact(id) FROM ${database}.server_logs`)).trim());
    await waitFor('ClickHouse has the corpus', async () => (await count()) === 17, 60_000);
    await waitFor(
      'DuckDB has the corpus',
      async () => (await store.timeline({ trace: TRACE, limit: 100 })).length === 11,
    );
  }, 120_000);

  afterAll(async () => {
    await store?.close();
    await queries?.close();
    await dispatchers?.close();
    for (const writer of writers ?? []) await writer.close();
    duckdb?.closeSync();
    await clickhouse?.destroy();
    await cleanup?.();
  });

  const both = async (query: TimelineQuery) => {
    const [duck, click] = await Promise.all([store.timeline(query), queries.timeline(query)]);
    return { duck, click };
  };

  it.each<[string, TimelineQuery]>([
    ['trace', { trace: TRACE }],
    ['session', { session: TRACE }],
    ['user', { user: 'u-1' }],
    ['request', { request: SPAN_A }],
    ['trace and app', { trace: OTHER, app: 'shop' }],
    ['trace in a time range', { trace: TRACE, from: 0, to: Number.MAX_SAFE_INTEGER }],
    ['no such trace', { trace: 'ffffffffffffffffffffffffffffffff' }],
  ])('by %s', async (_name, query) => {
    const { duck, click } = await both({ ...query, limit: 100 });
    expect(click).toEqual(duck);
    if (query.trace !== 'ffffffffffffffffffffffffffffffff') expect(duck.length).toBeGreaterThan(0);
  });

  it('puts the fast browser clock back at the receive time, in order with the server lines', async () => {
    const { duck } = await both({ trace: TRACE, limit: 100 });
    // Batch b-1 came in at now − 2000 with times 30 s ahead: anchored at its receive time, it is
    // placed before the server lines of the request it caused (now − 1990), not 30 s after them.
    expect(duck.map((i) => `${i.source}:${i.ids.event}`)).toEqual([
      'client:c-1-0',
      'client:c-1-1',
      'client:c-1-2',
      'client:c-1-3',
      'server:s-1',
      'server:s-2',
      'server:s-3',
      'client:c-3-0',
      'client:c-3-1',
      'client:c-3-2',
      'client:c-3-3',
    ]);
    expect(duck[0]!.ts).toBe(now - 2_000);
    expect(duck.find((i) => i.ids.event === 'c-1-2')?.fingerprint).toEqual(expect.any(String));
  });

  it('pages the same way: keyset pages of 3 forward and back', async () => {
    const all = await store.timeline({ trace: TRACE, limit: 100 });
    const key = (i: (typeof all)[number]) => [i.ts, i.source, i.app, i.ids.event] as const;
    const pages: string[][] = [];
    let before: readonly (string | number)[] | undefined;
    for (;;) {
      const { duck, click } = await both({ trace: TRACE, limit: 3, before });
      expect(click).toEqual(duck);
      if (duck.length === 0) break;
      pages.push(duck.map((i) => i.ids.event));
      before = key(duck.at(-1)!);
    }
    expect(pages.flat()).toEqual(all.map((i) => i.ids.event));
    const back = await both({ trace: TRACE, limit: 3, after: key(all[6]!) });
    expect(back.click).toEqual(back.duck);
    expect(back.duck.map((i) => i.ids.event)).toEqual(all.slice(3, 6).map((i) => i.ids.event));
  });
});
