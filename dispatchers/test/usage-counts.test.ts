// Counted feature, blocked and assert events (protocol v1 `count`, issue 16): enrichment keeps the
// count, and the ClickHouse dashboards add counts up, once per event even before a replay is merged.
import type { SpoolEnvelope } from '@telltale/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createClickHouseClient,
  createClickHouseSink,
  dashboardQueries,
  enrichEnvelope,
} from '@telltale/dispatchers';
import { startClickHouse, type ClickHouseServer } from './services.js';

const NOW = Date.now();
const envelope = (): SpoolEnvelope => ({
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

describe('counted events', () => {
  it('enrichment keeps the count of feature, blocked and assert events (absent: 1)', () => {
    const rows = enrichEnvelope(envelope());
    expect(rows.map((r) => [r.id, r.count])).toEqual([
      ['f1', 600],
      ['f2', 400],
      ['f3', 1],
      ['b1', 9],
      ['a1', 12],
    ]);
  });

  describe('in ClickHouse (Debian’s 18.16 server)', () => {
    let clickhouse: ClickHouseServer;
    beforeAll(async () => {
      clickhouse = await startClickHouse();
    });
    afterAll(async () => {
      await clickhouse?.destroy();
    });

    it('feature uses, blocked and assert totals are sums of counts, a replayed batch counted once', async () => {
      const database = 'telltale_counts';
      const sink = createClickHouseSink({ url: clickhouse.url, database });
      try {
        const rows = enrichEnvelope(envelope());
        expect(await sink.export(rows)).toEqual({ status: 'ok' });
        expect(await sink.export(rows)).toEqual({ status: 'ok' }); // a replay: an unmerged second part
        const q = dashboardQueries(createClickHouseClient({ url: clickhouse.url, database }), database);
        const features = await q.featureUsage();
        expect(features.find((f) => f.name == 'export-csv')).toMatchObject({ count: 1000, users: 1 });
        expect(features.find((f) => f.name == 'dark-mode')).toMatchObject({ count: 1 });
        expect((await q.blockedEvents())[0]).toMatchObject({ name: 'file-too-large', count: 9 });
        expect((await q.assertFailures())[0]).toMatchObject({ name: 'cart-total', count: 12 });
      } finally {
        await sink.close();
      }
    }, 60_000);
  });
});
