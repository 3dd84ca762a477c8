// The core's delivery with a fake platform (timers faked): retries, Retry-After, the durable queue, persisted state.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEBOUNCE_MS, MAX_AGE_MS, MAX_ITEMS, STATE_KEY, createClient } from '../src/core/client.js';
import { MAX_ATTEMPTS } from '../src/core/retry.js';
import type { QueueItem } from '../src/core/types.js';
import { OPTIONS, answer, fakePlatform, memoryKv } from './fake-platform.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const HEX32 = /^[0-9a-f]{32}$/;

describe('upload: retries keep the batch id, failures are counted', () => {
  it('retries a 5xx with the same batch id and events, then forgets the delivered batch', async () => {
    const { platform, sent, state } = fakePlatform();
    let failures = 2;
    state.answer = () => answer(failures-- > 0 ? 500 : 202);
    const c = createClient(OPTIONS, platform);
    c.track('export-csv');
    c.track('import-csv');
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(sent).toHaveLength(3);
    expect(new Set(sent.map((s) => s.batch.batchId)).size).toBe(1);
    expect(new Set(sent.map((s) => s.batch.events.map((e) => e.id).join()))).toHaveProperty('size', 1);
    await c.flush();
    expect(sent).toHaveLength(3);
  });

  it('gives up on a batch the collector keeps failing (counted as dropped)', async () => {
    const { platform, sent, state } = fakePlatform();
    state.answer = () => answer(500);
    const c = createClient(OPTIONS, platform);
    c.track('a');
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(sent).toHaveLength(MAX_ATTEMPTS);
    state.answer = () => answer(202);
    c.track('b');
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    expect(sent.at(-1)!.batch).toMatchObject({ dropped: 1 });
  });

  it('waits for Retry-After on 429 before sending again, also after a reload', async () => {
    const kv = memoryKv();
    const { platform, sent, state } = fakePlatform(kv);
    state.answer = () => answer(429, { 'retry-after': '30' });
    const c = createClient(OPTIONS, platform);
    c.track('a');
    await c.flush();
    state.answer = () => answer(202);
    c.track('b');
    await c.flush(); // still inside the Retry-After window: nothing goes out
    await c.flush(true); // a page hide respects it too

    // the next page (same storage) keeps quiet as well
    const reload = fakePlatform(kv);
    const d = createClient(OPTIONS, reload.platform);
    d.track('on-the-next-page');
    await d.flush();

    await vi.advanceTimersByTimeAsync(29_000);
    expect(sent).toHaveLength(1);
    expect(reload.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent[1]!.batch.batchId).toBe(sent[0]!.batch.batchId);
    expect(reload.sent).toHaveLength(1);
  });

  it('drops a batch refused with 400 and reports the drop in the next batch', async () => {
    const { platform, sent, state } = fakePlatform();
    state.answer = () => answer(400);
    const c = createClient(OPTIONS, platform);
    c.track('a');
    c.track('b');
    await c.flush();
    state.answer = () => answer(202);
    c.track('c');
    await c.flush();
    expect(sent).toHaveLength(2);
    expect(sent[1]!.batch).toMatchObject({ dropped: 2 });
    expect(sent[1]!.batch.events.map((e) => e.kind == 'feature' && e.name)).toEqual(['c']);
    c.track('d');
    await c.flush();
    expect(sent[2]!.batch.dropped).toBeUndefined(); // reported once, then reset
  });

  it('never gives up while the network is down, and resumes at once when it is back', async () => {
    const { platform, sent, state } = fakePlatform();
    state.online = false;
    state.answer = () => answer(0);
    const c = createClient(OPTIONS, platform);
    c.track('a');
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(sent.length).toBeGreaterThan(MAX_ATTEMPTS);
    state.online = true;
    state.answer = () => answer(202);
    const before = sent.length;
    c.resume();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(before + 1);
    expect(sent.at(-1)!.batch.dropped).toBeUndefined();
    await c.flush();
    expect(sent).toHaveLength(before + 1);
  });

  it('keeps events after an unconfirmed page-hide send and resends them under the same batch id', async () => {
    const { platform, sent, state } = fakePlatform();
    state.answer = () => answer(0);
    const c = createClient(OPTIONS, platform);
    c.track('a');
    await c.flush(true);
    expect(sent[0]!.keepalive).toBe(true);
    state.answer = () => answer(202);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ keepalive: false, batch: { batchId: sent[0]!.batch.batchId } });
  });

  it('on page hide, sends again with keepalive a batch whose normal request is still in flight', async () => {
    const { platform, sent, state } = fakePlatform();
    state.answer = () => new Promise(() => {}); // a request the unloading page will never see answered
    const c = createClient(OPTIONS, platform);
    c.track('a');
    void c.flush();
    c.track('b');
    void c.flush(true);
    void c.flush(true); // visibilitychange and pagehide both fire: the next batch, not a third copy
    expect(sent.map((s) => [s.keepalive, s.batch.events.length])).toEqual([
      [false, 1],
      [true, 1],
      [true, 1],
    ]);
    expect(sent[1]!.batch.batchId).toBe(sent[0]!.batch.batchId);
    expect(sent[2]!.batch.batchId).not.toBe(sent[0]!.batch.batchId);
  });
});

describe('the durable queue', () => {
  const left = (name: string, ts: number, b?: string): QueueItem => ({
    e: { id: `${ts.toString(16).padStart(12, '0')}${'0'.repeat(20)}`, ts, kind: 'feature', name },
    n: 60,
    ...(b ? { b } : {}),
  });

  it('writes every change to its store, and removes items only once a 2xx confirmed them', async () => {
    const { platform, stored, state } = fakePlatform();
    state.answer = () => answer(503);
    const c = createClient(OPTIONS, platform);
    c.track('kept');
    await vi.advanceTimersByTimeAsync(0);
    expect(stored.items.map((it) => it.e)).toEqual([expect.objectContaining({ name: 'kept' })]);
    await c.flush();
    expect(stored.items).toHaveLength(1);
    expect(stored.items[0]!.b).toMatch(HEX32); // sealed: the batch id is stored with it
    state.answer = () => answer(202);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(stored.items).toHaveLength(0);
  });

  it('writes only what changed: one record per new event, however long the queue', async () => {
    const { platform, stored, state } = fakePlatform();
    state.answer = () => answer(0); // the network is down: the queue grows
    const c = createClient(OPTIONS, platform);
    for (let i = 0; i < 40; i++) c.track(`f${i}`);
    await c.flush(); // seals all 40: one write each
    const before = stored.writes;
    c.track('one-more');
    expect(stored.writes - before).toBe(1);
    expect(stored.items).toHaveLength(41);
  });

  it('sends what an earlier page left first, under the batch id it had', async () => {
    const { platform, sent, state } = fakePlatform();
    const now = Date.now();
    state.left = [left('from-last-visit', now - 1000, 'b'.repeat(32)), left('unsealed', now - 500)];
    const c = createClient(OPTIONS, platform);
    c.track('now');
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS + 100);
    expect(sent[0]!.batch).toMatchObject({
      batchId: 'b'.repeat(32),
      events: [expect.objectContaining({ name: 'from-last-visit' })],
    });
    expect(sent.flatMap((s) => s.batch.events.map((e) => e.kind == 'feature' && e.name))).toEqual([
      'from-last-visit',
      'unsealed',
      'now',
    ]);
  });

  it('drops the oldest beyond its caps in items and age, and reports how many', async () => {
    const { platform, sent, state } = fakePlatform();
    const now = Date.now();
    state.left = [
      left('too-old', now - MAX_AGE_MS - 1),
      ...Array.from({ length: MAX_ITEMS + 9 }, (_, i) => left(`limit-${i}`, now - 1000 + i)),
    ];
    const c = createClient(OPTIONS, platform);
    c.track('now');
    await vi.advanceTimersByTimeAsync(60_000);
    const names = sent.flatMap((s) => s.batch.events.map((e) => (e.kind == 'feature' ? e.name : '')));
    expect(names).toHaveLength(MAX_ITEMS);
    expect(names).not.toContain('too-old');
    expect(names).not.toContain('limit-9');
    expect(names).toContain('limit-10');
    expect(names).toContain('now');
    expect(sent.reduce((n, s) => n + (s.batch.dropped ?? 0), 0)).toBe(11);
  });
});

describe('persisted state (session, Retry-After, rate limit)', () => {
  it('ignores a tampered value, and works in memory when storage throws', async () => {
    const kv = memoryKv();
    kv.data.set(STATE_KEY, 'x"><script> not-a-session 1 2 3');
    const { platform, sent } = fakePlatform(kv);
    const c = createClient(OPTIONS, platform);
    c.track('a');
    await c.flush();
    expect(sent[0]!.batch.session).toMatch(HEX32);
    expect(kv.data.get(STATE_KEY)).toMatch(/^[0-9a-f]{32} \d+ \d+ \d+$/);

    const blocked = fakePlatform();
    blocked.platform.kv = () => {
      throw new Error('SecurityError');
    };
    const d = createClient(OPTIONS, blocked.platform);
    d.track('b');
    await d.flush();
    d.track('c');
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    expect(blocked.sent.map((s) => s.batch.session)).toEqual([
      expect.stringMatching(HEX32),
      blocked.sent[0]!.batch.session,
    ]);
  });
});
