import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_BREADCRUMBS, createBreadcrumbs } from '../src/core/breadcrumbs.js';
import { newId } from '../src/core/ids.js';
import { GONE, createQueue } from '../src/core/queue.js';
import type { QueueItem, TelltaleEvent } from '../src/core/types.js';

const feature = (name: string): TelltaleEvent => ({ id: newId(), ts: 1, kind: 'feature', name });

describe('ids', () => {
  it('are 32 hex digits that sort by time', () => {
    const a = newId(1_700_000_000_000);
    const b = newId(1_700_000_000_001);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, () => newId(5))).size).toBe(1000);
  });
});

describe('breadcrumbs', () => {
  it('keep the last 20, oldest first, scrubbed, as a copy', () => {
    const crumbs = createBreadcrumbs();
    expect(crumbs.list()).toBeUndefined();
    for (let i = 0; i < 25; i++) crumbs.add(`step ${i} for a@b.co`, 'info');
    const list = crumbs.list()!;
    expect(list).toHaveLength(MAX_BREADCRUMBS);
    expect(list[0]!.message).toBe('step 5 for [email]');
    crumbs.add('later', 'warn');
    expect(list).toHaveLength(MAX_BREADCRUMBS);
    expect(list.at(-1)!.message).toBe('step 24 for [email]');
  });
});

describe('queue', () => {
  it('drops the oldest beyond its item and byte caps, counting, and marks dropped items', () => {
    let dropped = 0;
    const q = createQueue((n) => (dropped += n), undefined, 3, 10_000);
    const first = q.push(feature('a'));
    for (const n of ['b', 'c', 'd']) q.push(feature(n));
    expect(q.items().map((it) => (it.e as { name: string }).name)).toEqual(['b', 'c', 'd']);
    expect(dropped).toBe(1);
    expect(first.b).toBe(GONE);

    const small = createQueue((n) => (dropped += n), undefined, 100, 250);
    for (let i = 0; i < 5; i++) small.push(feature(`f${i}`));
    expect(small.items().reduce((n, it) => n + it.n, 0)).toBeLessThanOrEqual(250);
    expect(dropped).toBeGreaterThan(1);
  });

  it('removes a delivered batch by its id', () => {
    const q = createQueue(() => {});
    const [a, b, c] = ['a', 'b', 'c'].map((n) => q.push(feature(n)));
    a!.b = b!.b = 'batch-1';
    q.remove('batch-1');
    expect(q.items()).toEqual([c]);
  });

  it('mirrors itself to a store and puts restored items first', async () => {
    const saved: QueueItem[][] = [];
    const restored: QueueItem = { e: feature('from-last-visit'), n: 50, b: 'old-batch' };
    const q = createQueue(() => {}, {
      load: () => Promise.resolve([restored]),
      save: (items) => void saved.push([...items]),
    });
    q.push(feature('now'));
    await Promise.resolve();
    await Promise.resolve();
    expect(q.items().map((it) => (it.e as { name: string }).name)).toEqual(['from-last-visit', 'now']);
    expect(saved.at(-1)).toHaveLength(2);
  });
});

describe('browser session', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  const storage = (data = new Map<string, string>()) => ({
    data,
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
  });

  it('keeps one session id and trace id until 30 idle minutes, then renews both', async () => {
    vi.stubGlobal('localStorage', storage());
    const { currentSession, SESSION_IDLE_MS } = await import('../src/platform/browser/session.js');
    const t0 = 1_700_000_000_000;
    const [id, trace] = currentSession(t0);
    expect(trace).toMatch(/^[0-9a-f]{32}$/);
    expect(currentSession(t0 + 20 * 60_000)).toEqual([id, trace]);
    expect(currentSession(t0 + 40 * 60_000)).toEqual([id, trace]); // activity at +20 min kept it alive
    const renewed = currentSession(t0 + 40 * 60_000 + SESSION_IDLE_MS + 1);
    expect(renewed[0]).not.toBe(id);
    expect(renewed[1]).not.toBe(trace);
  });

  it('shares the session through storage and ignores a tampered value', async () => {
    const shared = storage();
    vi.stubGlobal('localStorage', shared);
    const { currentSession } = await import('../src/platform/browser/session.js');
    const t0 = 1_700_000_000_000;
    const [id] = currentSession(t0);
    shared.data.set('telltale.session', `${id}-other-tab 0af7651916cd43dd8448eb211c80319c ${t0 + 1000}`);
    expect(currentSession(t0 + 60_000)[0]).toBe(`${id}-other-tab`);
    // Another script wrote garbage: ignored (the page keeps its session) and overwritten with a valid value.
    shared.data.set('telltale.session', 'x"><script> not-a-trace 1');
    expect(currentSession(t0 + 120_000)[0]).toBe(`${id}-other-tab`);
    expect(shared.data.get('telltale.session')).toMatch(/^\S+-other-tab [0-9a-f]{32} \d+$/);
  });

  it('works in memory when storage throws', async () => {
    vi.stubGlobal('localStorage', {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('SecurityError');
      },
    });
    const { currentSession } = await import('../src/platform/browser/session.js');
    const t0 = 1_700_000_000_000;
    const first = currentSession(t0);
    expect(currentSession(t0 + 60_000)).toEqual(first);
  });
});
