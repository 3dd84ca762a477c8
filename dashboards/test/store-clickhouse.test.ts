// The ClickHouse store against Debian's 18.16 server, fed by the real clickhouse sink: re-sent
// batches counted once before any merge, counted events summed, an empty database, bad settings.
// (The answers that were dispatchers' dashboardQueries tests live here now, with the SQL.)
import type { SpoolEnvelope, TelltaleEvent } from '@telltale/protocol';
import { createClickHouseSink, enrichEnvelope } from '@telltale/dispatchers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClickHouse, type ClickHouseServer } from '../../test-support/clickhouse.js';
import { createClickHouseStore, type DashboardStore } from '../src/index.js';

const ERROR_STACK = `TypeError: Cannot read properties of undefined (reading 'items')
    at renderCart (https://shop.example.com/assets/app.3f9a2c1b.js:3:15)
    at handleCheckout (https://shop.example.com/assets/app.3f9a2c1b.js:6:10)`;

/** Batch b-1 of eight events, errors, features, asserts and logs in turn (the dispatchers' test corpus). */
function clientBatch(size: number, receivedAt = Date.now()): SpoolEnvelope {
  const events: TelltaleEvent[] = Array.from({ length: size }, (_, i): TelltaleEvent => {
    const common = { id: `e-1-${i}`, ts: receivedAt - 1_000 + i, url: '/checkout' };
    if (i % 4 === 0)
      return {
        ...common,
        kind: 'error',
        type: 'TypeError',
        message: "Cannot read 'items' (1)",
        stack: ERROR_STACK,
      };
    if (i % 4 === 1) return { ...common, kind: 'feature', name: 'export-csv', props: { rows: i } };
    if (i % 4 === 2)
      return { ...common, kind: 'assert', name: 'cart-total-positive', soft: true, vars: { items: i } };
    return { ...common, kind: 'log', level: 'info', message: 'cart opened' };
  });
  return {
    v: 1,
    app: 'shop',
    receivedAt,
    batch: {
      v: 1,
      batchId: 'b-1',
      sentAt: receivedAt - 100,
      release: '1.4.2',
      environment: 'production',
      session: 's-1',
      user: 'u-1',
      events,
    },
  };
}

const NOW = Date.now();
const counted = (): SpoolEnvelope => ({
  v: 1,
  app: 'shop',
  receivedAt: NOW,
  batch: {
    v: 1,
    batchId: 'c'.repeat(32),
    sentAt: NOW - 100,
    release: '1.0.0',
    environment: 'production',
    session: 's'.repeat(32),
    user: 'u-1',
    events: [
      { id: 'f1', ts: NOW - 900, kind: 'feature', name: 'export-csv', count: 600 },
      { id: 'f2', ts: NOW - 800, kind: 'feature', name: 'export-csv', count: 400 },
      { id: 'f3', ts: NOW - 700, kind: 'feature', name: 'dark-mode' },
      { id: 'b1', ts: NOW - 600, kind: 'blocked', reason: 'file-too-large', count: 9 },
      { id: 'a1', ts: NOW - 500, kind: 'assert', name: 'cart-total', soft: true, count: 12 },
    ],
  },
});

describe('the ClickHouse store (Debian’s 18.16 server)', () => {
  let clickhouse: ClickHouseServer;
  let databases = 0;
  const opened: DashboardStore[] = [];

  beforeAll(async () => {
    clickhouse = await startClickHouse();
  });
  afterAll(async () => {
    for (const store of opened) await store.close();
    await clickhouse?.destroy();
  });

  /** A fresh database on the shared server, written by the real sink, read by the store. */
  async function open() {
    databases += 1;
    const database = `telltale_store_${databases}`;
    const sink = createClickHouseSink({ url: clickhouse.url, database });
    const store = await createClickHouseStore({ url: clickhouse.url, database });
    opened.push(store);
    return { database, sink, store };
  }

  it('counts a replayed batch once in every dashboard query, merged or not', async () => {
    const { database, sink, store } = await open();
    try {
      const events = enrichEnvelope(clientBatch(8));
      expect(await sink.export(events)).toEqual({ status: 'ok' });
      expect(await sink.export(events)).toEqual({ status: 'ok' }); // a replay: a second, unmerged part
      expect(Number((await clickhouse.query(`SELECT count() FROM ${database}.events`)).trim())).toBe(16);

      expect(await store.eventCounts()).toEqual({ error: 2, feature: 2, assert: 2, log: 2, blocked: 0 });
      const [group] = await store.errorGroups();
      expect(group).toMatchObject({
        app: 'shop',
        type: 'TypeError',
        count: 2,
        events: 2,
        users: 1,
        releases: ['1.4.2'],
      });
      expect(await store.featureUsage()).toEqual([
        expect.objectContaining({ name: 'export-csv', uses: 2, users: 1 }),
      ]);
      // The newest use's props (the old query's lastAttrs; the store shows them on the event).
      expect((await store.eventById('shop', 'e-1-5'))?.attrs).toEqual({ rows: 5 });
      expect((await store.assertFailures())[0]).toMatchObject({ name: 'cart-total-positive', count: 2 });
      expect((await store.listEvents({ limit: 100 })).map((e) => e.id).sort()).toEqual(
        events.map((e) => e.id).sort(),
      );
    } finally {
      await sink.close();
    }
  });

  it('feature uses, blocked and assert totals are sums of counts, a replayed batch counted once', async () => {
    const { sink, store } = await open();
    try {
      const rows = enrichEnvelope(counted());
      expect(await sink.export(rows)).toEqual({ status: 'ok' });
      expect(await sink.export(rows)).toEqual({ status: 'ok' }); // a replay: an unmerged second part
      const features = await store.featureUsage();
      expect(features.find((f) => f.name == 'export-csv')).toMatchObject({ uses: 1000, users: 1 });
      expect(features.find((f) => f.name == 'dark-mode')).toMatchObject({ uses: 1 });
      expect((await store.blockedEvents())[0]).toMatchObject({ reason: 'file-too-large', count: 9 });
      expect((await store.assertFailures())[0]).toMatchObject({ name: 'cart-total', count: 12 });
    } finally {
      await sink.close();
    }
  });

  it('answers empty lists before the dispatchers created the tables', async () => {
    const { store } = await open();
    expect(await store.errorGroups()).toEqual([]);
    expect(await store.eventCounts()).toEqual({ error: 0, feature: 0, assert: 0, log: 0, blocked: 0 });
    expect(await store.timeline({ trace: 'a'.repeat(32) })).toEqual([]);
    expect(await store.serverLogs()).toEqual([]);
    expect(await store.eventById('shop', 'nope')).toBeUndefined();
  });

  it('fails a query when the server is unreachable, instead of showing an empty store', async () => {
    const store = await createClickHouseStore({ url: 'http://127.0.0.1:9', database: 'telltale' });
    try {
      await expect(store.eventCounts()).rejects.toThrow();
    } finally {
      await store.close();
    }
  });

  it('refuses bad settings at start, naming the field, the value and the fix', async () => {
    await expect(createClickHouseStore({ url: 'not a url', database: 'telltale' })).rejects.toMatchObject({
      code: 'TELLTALE_ERR_INVALID_CONFIG',
      message: expect.stringMatching(
        /^TELLTALE_ERR_INVALID_CONFIG: clickhouse\.url: "not a url" is not a URL/,
      ),
    });
    await expect(createClickHouseStore({ url: 'ftp://127.0.0.1', database: 'telltale' })).rejects.toThrow(
      /clickhouse\.url: "ftp:\/\/127\.0\.0\.1" must be an http/,
    );
    await expect(
      createClickHouseStore({ url: clickhouse.url, database: 'telltale; DROP TABLE x' }),
    ).rejects.toThrow(/clickhouse\.database: "telltale; DROP TABLE x" is not a plain identifier/);
  });
});
