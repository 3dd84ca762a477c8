// Counted feature, blocked and assert events (protocol v1 `count`, issue 16): enrichment keeps the
// count. That the dashboards add the counts up, once per event even before a replay is merged, is
// tested with their stores (dashboards/test/store-clickhouse.test.ts).
import type { SpoolEnvelope } from '@telltale/protocol';
import { describe, expect, it } from 'vitest';
import { enrichEnvelope } from '@telltale/dispatchers';

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
});
