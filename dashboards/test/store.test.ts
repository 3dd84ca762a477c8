import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, FP_TYPEERROR, FP_XSS, insertRows, MIN, T0, type Harness } from './fixtures.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

describe('DuckDB dashboard store', () => {
  it('groups errors by fingerprint with summed counts, distinct users and releases', async () => {
    const groups = await h.store.errorGroups();
    expect(groups.map((g) => g.fingerprint)).toEqual([FP_TYPEERROR, FP_XSS]); // most recently seen first
    const g = groups[0]!;
    expect(g).toMatchObject({
      app: 'shop',
      type: 'TypeError',
      count: 7, // 4 + 2 + 1: repeats the SDK only counted
      events: 3,
      users: 3, // u-1, u-2, and the anonymous session s-anon
      firstSeen: T0,
      lastSeen: T0 + 10 * MIN,
      releases: ['1.3.9', '1.4.0'],
      lastRelease: '1.4.0',
    });
  });

  it('filters groups by app and honours the limit', async () => {
    expect(await h.store.errorGroups({ app: 'admin' })).toEqual([]);
    expect(await h.store.errorGroups({ limit: 1 })).toHaveLength(1);
  });

  it('returns one group with its samples, newest first, with stack, platform and breadcrumbs', async () => {
    const detail = await h.store.errorGroup(FP_TYPEERROR);
    expect(detail?.group.count).toBe(7);
    expect(detail?.samples.map((s) => s.id)).toEqual(['e3', 'e2', 'e1']);
    const oldest = detail!.samples[2]!;
    expect(oldest.stack).toContain('at cartTotal (cart.js:12:9)');
    expect(oldest.browser).toBe('Chrome');
    expect(oldest.os).toBe('macOS');
    expect(oldest.release).toBe('1.3.9');
    expect(oldest.breadcrumbs).toEqual([
      { ts: T0 - 2000, level: 'info', category: 'ui.click', message: 'button#pay' },
    ]);
    expect(await h.store.errorGroup('f'.repeat(32))).toBeUndefined();
    expect(await h.store.errorGroup(FP_TYPEERROR, 'admin')).toBeUndefined();
  });

  it('keeps at most 20 samples per group', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => ({
      id: `many-${i}`,
      kind: 'error' as const,
      app: 'bulk',
      ts: T0 + i * 1000,
      fingerprint: 'c'.repeat(32),
      errorType: 'RangeError',
      message: 'Invalid array length',
    }));
    await insertRows(h.db, rows);
    const detail = await h.store.errorGroup('c'.repeat(32));
    expect(detail?.group.events).toBe(25);
    expect(detail?.samples).toHaveLength(20);
    expect(detail?.samples[0]?.id).toBe('many-24');
    await h.db.run(`DELETE FROM events WHERE app = 'bulk'`);
  });

  it('groups an error the dispatcher did not fingerprint under a stable fallback id', async () => {
    await insertRows(h.db, [
      { id: 'nofp', kind: 'error', app: 'legacy', ts: T0, errorType: 'Error', message: 'boom' },
    ]);
    const [group] = await h.store.errorGroups({ app: 'legacy' });
    expect(group?.fingerprint).toMatch(/^[0-9a-f]{32}$/);
    expect((await h.store.errorGroup(group!.fingerprint))?.samples[0]?.id).toBe('nofp');
    await h.db.run(`DELETE FROM events WHERE app = 'legacy'`);
  });

  it('reports feature usage with first use and distinct users', async () => {
    const features = await h.store.featureUsage();
    const csv = features.find((f) => f.name === 'export-csv');
    expect(csv).toEqual({
      app: 'shop',
      name: 'export-csv',
      uses: 3,
      users: 2,
      firstUse: T0 + MIN,
      lastUse: T0 + 4 * MIN,
    });
    expect(features.find((f) => f.name === 'dark-mode')?.users).toBe(1); // anonymous session counts once
    expect(features[0]?.name).toBe('invite-user'); // most recently used first
  });

  it('reports assert failures split by soft / hard with the last diagnostics', async () => {
    const asserts = await h.store.assertFailures();
    expect(asserts).toHaveLength(2);
    expect(asserts.find((a) => a.name === 'workspaces-under-100')).toMatchObject({
      soft: true,
      count: 1,
      lastVars: { workspaces: 131 },
    });
    expect(asserts.find((a) => a.name === 'cart-total-matches')).toMatchObject({
      soft: false,
      users: 1,
      firstSeen: T0 + 8 * MIN,
    });
  });

  it('reports blocked events by reason with the latest props', async () => {
    expect(await h.store.blockedEvents()).toEqual([
      {
        app: 'shop',
        reason: 'file-too-large',
        count: 2,
        users: 1,
        firstSeen: T0 + 9 * MIN,
        lastSeen: T0 + 11 * MIN,
        lastProps: { sizeMb: 77 },
      },
    ]);
  });

  it('lists recent events, filtered by kind and session, and clamps the limit', async () => {
    const all = await h.store.listEvents();
    expect(all).toHaveLength(13);
    expect(all[0]?.id).toBe('x1'); // received last
    expect((await h.store.listEvents({ kind: 'blocked' })).map((e) => e.id)).toEqual(['b2', 'b1']);
    expect((await h.store.listEvents({ session: 's-2' })).map((e) => e.id).sort()).toEqual(['a2', 'e2']);
    expect(await h.store.listEvents({ limit: 2 })).toHaveLength(2);
    expect(await h.store.listEvents({ limit: 0 })).toHaveLength(1);
    const feature = all.find((e) => e.id === 'f1');
    expect(feature?.fingerprint).toBeNull(); // only errors carry one
  });

  it('reads one event with every field, attrs parsed', async () => {
    const event = await h.store.eventById('shop', 'a2');
    expect(event).toMatchObject({
      app: 'shop',
      id: 'a2',
      kind: 'assert',
      name: 'cart-total-matches',
      soft: false,
      user: 'u-2',
      session: 's-2',
      release: '1.4.0',
      environment: 'production',
      ts: T0 + 8 * MIN,
      receivedAt: T0 + 8 * MIN + 500,
      attrs: { lines: 3, checksum: 'c0ffee' },
      batchId: 'batch-a2',
      day: '2026-11-20',
      browserVersion: '131.0',
    });
    expect(await h.store.eventById('admin', 'a2')).toBeUndefined();
  });

  it('counts events per kind with zeros for absent kinds', async () => {
    expect(await h.store.eventCounts()).toEqual({ error: 4, assert: 2, feature: 5, blocked: 2, log: 0 });
  });

  it('serves concurrent queries on its single connection', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? h.store.eventCounts() : h.store.errorGroups())),
    );
    expect(results).toHaveLength(20);
    expect(results[1]).toEqual({ error: 4, assert: 2, feature: 5, blocked: 2, log: 0 });
  });
});
