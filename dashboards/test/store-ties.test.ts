// A generated corpus full of ties (a handful of times, the same ids in two apps, colliding
// fingerprints), written by the real duckdb and clickhouse sinks (every ClickHouse batch twice):
// every list of the store contract, paged forward and back, is the same total order on DuckDB,
// ClickHouse 18.16 and the current engine (chdb), and that order is exactly SORT_KEYS.
import type { ServerLogEnvelope, SpoolEnvelope, TelltaleEvent } from '@telltale/protocol';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  createClickHouseSink,
  createDuckDbSink,
  enrichEnvelope,
  serverLogRows,
  type Sink,
} from '@telltale/dispatchers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClickHouse, type ClickHouseServer } from '../../test-support/clickhouse.js';
import { createClickHouseStore, createDuckDbStore } from '../src/index.js';
import { SORT_KEYS, type DashboardStore, type PageQuery, type SortKey } from '../src/store.js';
import { chdbStore, migrateChdb, openChdb, type Chdb } from './store-harness.js';

const DATABASE = 'telltale_ties';
/** Settable to reproduce a failure: TELLTALE_TEST_SEED=<n>. */
const SEED = Number(process.env.TELLTALE_TEST_SEED ?? 20261120);
const T0 = Date.UTC(2026, 10, 21, 9, 0, 0);
const TRACES = ['a', 'b', 'c'].map((c) => c.repeat(32));
const SPANS = ['1', '2'].map((c) => c.repeat(16));

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(seed: number): { client: SpoolEnvelope[]; server: ServerLogEnvelope[] } {
  const rnd = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const client: SpoolEnvelope[] = [];
  for (const app of ['shop', 'admin']) {
    let id = 0;
    for (let n = 0; n < 8; n += 1) {
      // Three receive times and four event times in all: most rows tie with many others.
      const receivedAt = T0 + pick([0, 1_000, 2_000]);
      const events: TelltaleEvent[] = Array.from({ length: 20 }, (): TelltaleEvent => {
        id += 1;
        const common = { id: `e-${id}`, ts: T0 - pick([0, 10, 20, 30]), trace: pick(TRACES), url: '/x' };
        const kind = pick(['error', 'error', 'feature', 'assert', 'blocked', 'log'] as const);
        if (kind === 'error') {
          const type = pick(['TypeError', 'RangeError', 'Error']);
          return {
            ...common,
            kind,
            type,
            message: `${type} ${pick(['a', 'b'])}`,
            stack: `${type}: x\n    at f${pick([1, 2])} (https://x.example/app.js:1:${pick([1, 2])})`,
            count: pick([1, 3]),
          };
        }
        if (kind === 'feature')
          return {
            ...common,
            kind,
            name: pick(['f-1', 'f-2', 'f-3']),
            count: pick([1, 2]),
            props: { n: id },
          };
        if (kind === 'assert')
          return { ...common, kind, name: pick(['a-1', 'a-2']), soft: rnd() < 0.5, vars: { n: id } };
        if (kind === 'blocked') return { ...common, kind, reason: pick(['r-1', 'r-2']), props: { n: id } };
        return { ...common, kind, level: pick(['info', 'warn'] as const), message: `log ${id}` };
      });
      const user = pick([undefined, 'u-1', 'u-2']);
      client.push({
        v: 1,
        app,
        receivedAt,
        batch: {
          v: 1,
          batchId: `${app}-batch-${n}`,
          sentAt: receivedAt,
          release: pick(['1.0', '1.1', '2.0']),
          environment: 'production',
          session: pick(['s-1', 's-2', 's-3']),
          ...(user === undefined ? {} : { user }),
          events,
        },
      });
    }
  }
  const server: ServerLogEnvelope[] = ['shop', 'admin'].map((app) => ({
    v: 1,
    app,
    receivedAt: T0 + 3_000,
    logs: Array.from({ length: 40 }, (_, i) => ({
      id: `l-${i}`,
      ts: T0 - pick([0, 5, 10]),
      level: pick(['info', 'error'] as const),
      message: pick(['Payment failed', 'payment ok', 'cron']),
      service: pick(['api', 'worker']),
      trace: pick(TRACES),
      span: pick(SPANS),
      session: pick(['s-1', 's-2', 's-3']),
      ...(rnd() < 0.5 ? { user: 'u-1' } : {}),
    })),
  }));
  return { client, server };
}

type Named = Record<'duckdb' | 'clickhouse' | 'chdb', DashboardStore>;

/** A list in its order: the leading `desc` sort-key columns descend, the rest ascend. */
function compareKeys(a: SortKey, b: SortKey, desc: number): number {
  for (let i = 0; i < a.length; i += 1) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    const less = typeof x === 'boolean' ? !x && (y as boolean) : x < y;
    return (less ? -1 : 1) * (i < desc ? -1 : 1);
  }
  return 0;
}

describe(`every list is one total order, the same on every store (seed ${SEED})`, () => {
  let clickhouse: ClickHouseServer;
  let chdb: Chdb;
  let duckdb: DuckDBInstance;
  let sinks: Sink[] = [];
  let stores: Named;

  beforeAll(async () => {
    clickhouse = await startClickHouse();
    chdb = await openChdb();
    duckdb = await DuckDBInstance.create(':memory:');
    const duckSink = await createDuckDbSink(duckdb);
    const clickSink = createClickHouseSink({ url: clickhouse.url, database: DATABASE });
    sinks = [duckSink, clickSink];
    const { client, server } = generate(SEED);
    for (const envelope of client) {
      const rows = enrichEnvelope(envelope);
      for (const sink of [duckSink, clickSink, clickSink])
        expect(await sink.export(rows)).toEqual({ status: 'ok' });
    }
    for (const envelope of server) {
      const rows = serverLogRows(envelope);
      for (const sink of [duckSink, clickSink, clickSink])
        expect(await sink.exportServerLogs!(rows)).toEqual({ status: 'ok' });
    }
    migrateChdb(chdb, DATABASE);
    for (const table of ['events', 'server_logs']) {
      const rows = await clickhouse.query(`SELECT * FROM ${DATABASE}.${table} FORMAT TabSeparated`);
      chdb.exec(`INSERT INTO ${DATABASE}.${table} FORMAT TabSeparated\n${rows}`);
    }
    stores = {
      duckdb: await createDuckDbStore(duckdb),
      clickhouse: await createClickHouseStore({ url: clickhouse.url, database: DATABASE }),
      chdb: chdbStore(chdb, DATABASE),
    };
  }, 180_000);

  afterAll(async () => {
    for (const store of Object.values(stores ?? {})) await store.close();
    for (const sink of sinks) await sink.close?.();
    duckdb?.closeSync();
    await chdb?.close();
    await clickhouse?.destroy();
  });

  /** Forward by `before` and back by `after`, `limit` at a time: both walks give the whole list. */
  async function walk<T>(read: (q: PageQuery) => Promise<T[]>, key: (item: T) => SortKey, limit: number) {
    const whole = await read({ limit: 1000 });
    const forward: T[] = [];
    for (let page = await read({ limit }); page.length > 0;) {
      forward.push(...page);
      if (page.length < limit) break;
      page = await read({ limit, before: key(page.at(-1)!) });
    }
    const back: T[][] = [];
    for (let page = await read({ limit, after: key(whole.at(-1)!) }); page.length > 0;) {
      back.unshift(page);
      if (page.length < limit) break;
      page = await read({ limit, after: key(page[0]!) });
    }
    return { whole, forward, backward: [...back.flat(), whole.at(-1)!] };
  }

  const lists = [
    ['errorGroups', 'groups', 1, (s: DashboardStore, q: PageQuery) => s.errorGroups(q)],
    [
      'errorGroups of one app',
      'groups',
      1,
      (s: DashboardStore, q: PageQuery) => s.errorGroups({ ...q, app: 'admin' }),
    ],
    ['featureUsage', 'features', 1, (s: DashboardStore, q: PageQuery) => s.featureUsage(q)],
    ['assertFailures', 'asserts', 1, (s: DashboardStore, q: PageQuery) => s.assertFailures(q)],
    ['blockedEvents', 'blocked', 1, (s: DashboardStore, q: PageQuery) => s.blockedEvents(q)],
    ['listEvents', 'events', 2, (s: DashboardStore, q: PageQuery) => s.listEvents(q)],
    [
      'listEvents of errors',
      'events',
      2,
      (s: DashboardStore, q: PageQuery) => s.listEvents({ ...q, kind: 'error' }),
    ],
    [
      'listEvents of a session',
      'events',
      2,
      (s: DashboardStore, q: PageQuery) => s.listEvents({ ...q, session: 's-2' }),
    ],
    [
      'timeline of a trace',
      'timeline',
      0,
      (s: DashboardStore, q: PageQuery) => s.timeline({ ...q, trace: TRACES[0] }),
    ],
    [
      'timeline of a session',
      'timeline',
      0,
      (s: DashboardStore, q: PageQuery) => s.timeline({ ...q, session: 's-1' }),
    ],
    [
      'timeline of a request',
      'timeline',
      0,
      (s: DashboardStore, q: PageQuery) => s.timeline({ ...q, request: SPANS[1] }),
    ],
    ['serverLogs', 'logs', 1, (s: DashboardStore, q: PageQuery) => s.serverLogs(q)],
    [
      'serverLogs matching text',
      'logs',
      1,
      (s: DashboardStore, q: PageQuery) => s.serverLogs({ ...q, text: 'PAYMENT' }),
    ],
    [
      'serverLogs of a service and level',
      'logs',
      1,
      (s: DashboardStore, q: PageQuery) => s.serverLogs({ ...q, service: 'api', level: 'error' }),
    ],
  ] as const;

  it.each(lists)('%s', async (_name, list, desc, read) => {
    const key = SORT_KEYS[list] as (item: unknown) => SortKey;
    const duck = await walk((q) => read(stores.duckdb, q) as Promise<unknown[]>, key, 6);
    expect(duck.whole.length).toBeGreaterThan(2);
    // A total order: every key strictly after the one before it.
    for (let i = 1; i < duck.whole.length; i += 1)
      expect(compareKeys(key(duck.whole[i - 1]), key(duck.whole[i]), desc), `item ${i}`).toBe(-1);
    expect(duck.forward).toEqual(duck.whole);
    expect(duck.backward).toEqual(duck.whole);
    for (const name of ['clickhouse', 'chdb'] as const) {
      const other = await walk((q) => read(stores[name], q) as Promise<unknown[]>, key, 6);
      expect(other, name).toEqual(duck);
    }
  });

  it('every group detail and every event detail is the same', async () => {
    const groups = await stores.duckdb.errorGroups({ limit: 1000 });
    for (const g of groups)
      for (const name of ['clickhouse', 'chdb'] as const) {
        expect(await stores[name].errorGroup(g.fingerprint, g.app), name).toEqual(
          await stores.duckdb.errorGroup(g.fingerprint, g.app),
        );
        expect(await stores[name].errorGroup(g.fingerprint), name).toEqual(
          await stores.duckdb.errorGroup(g.fingerprint),
        );
      }
    const events = await stores.duckdb.listEvents({ limit: 1000 });
    expect(events).toHaveLength(320);
    for (const e of events.filter((_, i) => i % 7 === 0))
      for (const name of ['clickhouse', 'chdb'] as const)
        expect(await stores[name].eventById(e.app, e.id), name).toEqual(
          await stores.duckdb.eventById(e.app, e.id),
        );
    for (const name of ['clickhouse', 'chdb'] as const)
      expect(await stores[name].eventCounts(), name).toEqual(await stores.duckdb.eventCounts());
  });
});
