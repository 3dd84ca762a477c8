// The series corpus through the real dispatchers into DuckDB and ClickHouse 18.16, copied into the
// current engine (chdb): every /api/series route answers the same JSON on all three, with the counts
// the corpus was built to give.
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FastifyInstance } from 'fastify';
import { openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import {
  createClickHouseClient,
  migrateClickHouse,
  resolveDispatcherConfig,
  startDispatchers,
  type Dispatchers,
} from '@telltale/dispatchers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClickHouse, type ClickHouseServer } from '../../test-support/clickhouse.js';
import { tempDir, waitFor } from '../../test-support/wait.js';
import { createClickHouseStore, createDuckDbStore, type DashboardStore } from '../src/index.js';
import { DAY, dense, EXPECTED, HOUR, SERIES_EVENTS, seriesEnvelopes } from './series-corpus.js';
import { buildDashboards, chdbStore, getJson, migrateChdb, openChdb, type Chdb } from './store-harness.js';

const DATABASE = 'telltale_series';
const T0 = Date.UTC(2026, 10, 10);
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const HOURLY = `from=${T0}&to=${T0 + DAY}`;
const DAILY = `from=${T0}&to=${T0 + 7 * DAY}`;

describe('every /api/series route answers the same on DuckDB, ClickHouse 18.16 and the current engine', () => {
  let clickhouse: ClickHouseServer;
  let chdb: Chdb;
  let dir: string;
  let remove: () => Promise<void>;
  let duckdb: DuckDBInstance;
  let writer: SpoolWriter | undefined;
  let dispatchers: Dispatchers | undefined;
  const stores: DashboardStore[] = [];
  let apps: Record<'duckdb' | 'clickhouse' | 'chdb', FastifyInstance>;
  const raw = async (sql: string) => Number((await clickhouse.query(sql)).trim());

  beforeAll(async () => {
    clickhouse = await startClickHouse();
    chdb = await openChdb();
    ({ dir, remove } = await tempDir('series-parity'));
    duckdb = await DuckDBInstance.create(path.join(dir, 'telltale.duckdb'));
    const client = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client') });
    writer = client;
    await migrateClickHouse(createClickHouseClient({ url: clickhouse.url, database: DATABASE }), DATABASE);
    // Merges stopped: the re-sent copy stays in a part of its own, so FINAL is what collapses it.
    await clickhouse.query(`SYSTEM STOP MERGES ${DATABASE}.events`);
    const config = resolveDispatcherConfig(
      {
        dataDir: dir,
        pollMs: 50,
        sinks: ['duckdb', 'clickhouse'],
        clickhouse: { url: clickhouse.url, database: DATABASE },
        retention: { duckdb: 0, clickhouse: 0 },
      },
      {},
    );
    dispatchers = await startDispatchers(config, {
      duckdb,
      spoolDir: client.dir,
      notify: (listener) => client.onAppend(listener),
    });
    let stored = 0;
    for (const envelope of seriesEnvelopes(T0, T0 + 10 * DAY)) {
      await client.append(json(envelope));
      stored += envelope.batch.events.length;
      await waitFor(
        'the batch in ClickHouse',
        async () => (await raw(`SELECT count() FROM ${DATABASE}.events`)) >= stored,
      );
    }
    await waitFor(
      'every distinct row in ClickHouse',
      async () => (await raw(`SELECT count() FROM ${DATABASE}.events FINAL`)) === SERIES_EVENTS,
    );
    const duckStore = await createDuckDbStore(duckdb);
    await waitFor('DuckDB has the corpus', async () => {
      const counts = await duckStore.eventCounts();
      return Object.values(counts).reduce((a, b) => a + b, 0) === SERIES_EVENTS;
    });
    migrateChdb(chdb, DATABASE);
    chdb.exec(`SYSTEM STOP MERGES ${DATABASE}.events`);
    const rows = await clickhouse.query(`SELECT * FROM ${DATABASE}.events FORMAT TabSeparated`);
    for (let copy = 0; copy < 2; copy += 1)
      chdb.exec(`INSERT INTO ${DATABASE}.events FORMAT TabSeparated\n${rows}`);
    const clickStore = await createClickHouseStore({ url: clickhouse.url, database: DATABASE });
    const currentStore = chdbStore(chdb, DATABASE);
    stores.push(duckStore, clickStore, currentStore);
    apps = {
      duckdb: await buildDashboards(duckStore, dir),
      clickhouse: await buildDashboards(clickStore, dir),
      chdb: await buildDashboards(currentStore, dir),
    };
  }, 240_000);

  afterAll(async () => {
    for (const app of Object.values(apps ?? {})) await app.close();
    for (const store of stores) await store.close();
    await dispatchers?.close();
    await writer?.close();
    duckdb?.closeSync();
    await chdb?.close();
    await clickhouse?.destroy();
    await remove?.();
  });

  /** The DuckDB answer, after checking both ClickHouse engines answer exactly the same. */
  async function same(url: string): Promise<{ status: number; body: any }> {
    const duck = await getJson(apps.duckdb, url);
    expect.soft(await getJson(apps.clickhouse, url), `ClickHouse 18.16: ${url}`).toEqual(duck);
    expect.soft(await getJson(apps.chdb, url), `chdb: ${url}`).toEqual(duck);
    return duck;
  }

  const groupId = async (app: string, type: string): Promise<string> => {
    const { body } = await same('/api/errors');
    return body.groups.find((g: any) => g.app === app && g.type === type).id;
  };

  it('sparklines: events per hour of every group on the page, empty hours zero', async () => {
    const { status, body } = await same(`/api/series/errors?${HOURLY}`);
    expect(status).toBe(200);
    expect(body.bucket).toBe('hour');
    expect(body.buckets).toHaveLength(24);
    expect(body.buckets[0]).toBe(T0);
    const line = (app: string, type: string) =>
      body.groups.find((g: any) => g.app === app && g.fingerprint === ids[`${app}:${type}`]).events;
    const ids: Record<string, string> = {
      'shop:TypeError': await groupId('shop', 'TypeError'),
      'shop:RangeError': await groupId('shop', 'RangeError'),
      'admin:TypeError': await groupId('admin', 'TypeError'),
    };
    expect(body.groups).toHaveLength(3);
    expect(line('shop', 'TypeError')).toEqual(dense(24, EXPECTED.hourly.shopA));
    expect(line('shop', 'RangeError')).toEqual(dense(24, EXPECTED.hourly.shopB));
    expect(line('admin', 'TypeError')).toEqual(dense(24, EXPECTED.hourly.adminA));
    // The list's own filter narrows the sparklines too.
    const admin = await same(`/api/series/errors?${HOURLY}&app=admin`);
    expect(admin.body.groups.map((g: any) => g.app)).toEqual(['admin']);
  });

  it("one group: events, users and each release's first event, hourly and daily", async () => {
    const id = await groupId('shop', 'TypeError');
    const hourly = (await same(`/api/series/errors/${id}?app=shop&${HOURLY}`)).body;
    expect(hourly.events).toEqual(dense(24, EXPECTED.hourly.shopA));
    expect(hourly.users).toEqual(dense(24, EXPECTED.hourly.shopAUsers));
    expect(hourly.releases).toEqual([
      { release: '1.0.0', ts: T0 + HOUR + 5 * 60_000, kind: 'first-seen' },
      { release: '1.1.0', ts: T0 + 3 * HOUR, kind: 'first-seen' },
    ]);
    const daily = (await same(`/api/series/errors/${id}?app=shop&${DAILY}`)).body;
    expect(daily.bucket).toBe('day');
    expect(daily.events).toEqual(dense(7, EXPECTED.daily.shopA));
    expect(daily.releases.map((r: any) => r.release)).toEqual(['1.0.0', '1.1.0', '1.2.0']);
    // Filters of the lists apply: one release only.
    const release = (await same(`/api/series/errors/${id}?app=shop&${HOURLY}&release=1.1.0`)).body;
    expect(release.events).toEqual(dense(24, { 3: 2 }));
    expect((await same(`/api/series/errors/0123456789abcdef0123456789abcdef?${HOURLY}`)).status).toBe(404);
  });

  it('features: uses and users per bucket, first uses, adoption by account', async () => {
    const hourly = (await same(`/api/series/features?${HOURLY}`)).body;
    expect(hourly.features.map((f: any) => [f.app, f.name, f.accounts, f.firstUse])).toEqual([
      ['shop', 'export', 1, T0 + HOUR],
      ['shop', 'dark', 1, T0 - DAY],
    ]);
    expect(hourly.features[0].uses).toEqual(dense(24, EXPECTED.hourly.exportUses));
    expect(hourly.features[0].users).toEqual(dense(24, { 1: 1, 3: 1 }));
    expect(hourly.features[1].uses).toEqual(dense(24, EXPECTED.hourly.darkUses));
    // dark was first used the day before: only export is new in the range.
    expect(hourly.firstUses).toEqual(dense(24, EXPECTED.hourly.firstUses));
    expect(hourly.activeAccounts).toEqual({ admin: 0, shop: 2 });
    const daily = (await same(`/api/series/features?${DAILY}`)).body;
    expect(daily.features[0].uses).toEqual(dense(7, EXPECTED.daily.exportUses));
    expect(daily.features[0].accounts).toBe(2);
  });

  it('asserts by name and blocked events by reason', async () => {
    const asserts = (await same(`/api/series/asserts?${HOURLY}`)).body;
    expect(asserts.series).toEqual([
      { app: 'shop', name: 'cart-ok', counts: dense(24, EXPECTED.hourly.assert) },
    ]);
    const blocked = (await same(`/api/series/blocked?${HOURLY}`)).body;
    expect(blocked.series).toEqual([
      { app: 'shop', name: 'too-large', counts: dense(24, EXPECTED.hourly.blocked) },
    ]);
    const daily = (await same(`/api/series/blocked?${DAILY}`)).body;
    expect(daily.series[0].counts).toEqual(dense(7, EXPECTED.daily.blocked));
  });

  it('a range without events: every bucket zero, no series', async () => {
    const before = `from=${T0 - 3 * DAY}&to=${T0 - 2 * DAY}`;
    const sparks = (await same(`/api/series/errors?${before}`)).body;
    // The list of that range is empty, and so are its sparklines; the axis is still there.
    expect(sparks).toMatchObject({ bucket: 'hour', groups: [] });
    expect(sparks.buckets).toHaveLength(24);
    const id = await groupId('shop', 'TypeError');
    const group = (await same(`/api/series/errors/${id}?app=shop&${before}`)).body;
    expect(group).toMatchObject({ events: dense(24, {}), users: dense(24, {}), releases: [] });
    const features = (await same(`/api/series/features?${before}`)).body;
    expect(features).toMatchObject({ features: [], firstUses: dense(24, {}), activeAccounts: {} });
    expect((await same(`/api/series/blocked?${before}`)).body.series).toEqual([]);
  });

  it('bad ranges are refused with a JSON error naming the field', async () => {
    const bad = await same(`/api/series/features?from=${T0 + DAY}&to=${T0}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'TELLTALE_ERR_INVALID_QUERY', field: 'to' });
    expect((await same('/api/series/asserts?range=5y')).status).toBe(400);
  });
});
