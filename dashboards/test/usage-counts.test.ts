// The SDK aggregates repeats of a feature, blocked or assert call into one event with a `count`
// (protocol v1): the DuckDB dashboards add counts up, so totals stay exact with fewer events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, MIN, T0, type Harness, type Row } from './fixtures.js';

const ROWS: Row[] = [
  { id: 'f1', kind: 'feature', ts: T0, name: 'export-csv', count: 600, user: 'u-1' },
  { id: 'f2', kind: 'feature', ts: T0 + MIN, name: 'export-csv', count: 400, user: 'u-1' },
  { id: 'f3', kind: 'feature', ts: T0 + 2 * MIN, name: 'dark-mode', user: 'u-2' }, // an older SDK: no count
  { id: 'b1', kind: 'blocked', ts: T0, name: 'file-too-large', count: 7, user: 'u-1' },
  { id: 'b2', kind: 'blocked', ts: T0 + MIN, name: 'file-too-large', count: 3, user: 'u-2' },
  { id: 'a1', kind: 'assert', ts: T0, name: 'cart-total', soft: false, count: 12, user: 'u-1' },
  { id: 'a2', kind: 'assert', ts: T0, name: 'cart-total', soft: true, count: 5, user: 'u-1' },
];

let h: Harness;
beforeAll(async () => {
  h = await createHarness(ROWS);
});
afterAll(async () => {
  await h.close();
});

describe('counted events in the DuckDB dashboards', () => {
  it('feature uses, blocked and assert totals are the sum of counts (absent: 1), users distinct', async () => {
    const features = await h.store.featureUsage();
    expect(features.find((f) => f.name == 'export-csv')).toMatchObject({ uses: 1000, users: 1 });
    expect(features.find((f) => f.name == 'dark-mode')).toMatchObject({ uses: 1 });
    expect((await h.store.blockedEvents()).find((b) => b.reason == 'file-too-large')).toMatchObject({
      count: 10,
      users: 2,
    });
    const asserts = await h.store.assertFailures();
    expect(asserts.find((a) => a.name == 'cart-total' && !a.soft)?.count).toBe(12);
    expect(asserts.find((a) => a.name == 'cart-total' && a.soft)?.count).toBe(5);
  });

  it('the Features API answers the same totals', async () => {
    const r = await h.app.inject({ method: 'GET', url: '/api/features' });
    expect(r.statusCode).toBe(200);
    const { features } = r.json<{ features: Array<{ name: string; uses: number }> }>();
    expect(features.find((f) => f.name == 'export-csv')?.uses).toBe(1000);
  });
});
