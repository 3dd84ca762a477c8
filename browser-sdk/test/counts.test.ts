// Exact usage counts: repeats of a feature, blocked or failed-assert call raise the count of the queued
// event instead of adding events; the count is stored with the event, so it survives a reload.
import { validateBatch, type FeatureEvent } from '@telltale/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEBOUNCE_MS, RATE_BURST, createClient } from '../src/core/client.js';
import { OPTIONS, answer, fakePlatform } from './fake-platform.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const total = (events: Array<{ kind: string; count?: number }>, kind: string) =>
  events.filter((e) => e.kind == kind).reduce((n, e) => n + (e.count ?? 1), 0);

describe('counts on feature, blocked and assert events', () => {
  it('1,000 uses of one feature are one event with count 1000, past the rate limit, in a valid batch', async () => {
    const { platform, sent } = fakePlatform();
    const c = createClient(OPTIONS, platform);
    for (let i = 0; i < 1000; i++) c.track('export-csv', { format: 'csv' });
    await c.flush();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.batch.events).toEqual([
      expect.objectContaining({ kind: 'feature', name: 'export-csv', props: { format: 'csv' }, count: 1000 }),
    ]);
    expect(sent[0]!.batch.dropped).toBeUndefined();
    expect(validateBatch(sent[0]!.batch)).toMatchObject({ ok: true });
  });

  it('tells uses apart by name and props; blocked and asserts (hard and soft) count the same way', async () => {
    const { platform, events } = fakePlatform();
    const c = createClient(OPTIONS, platform);
    for (let i = 0; i < 3; i++) {
      c.track('export', { format: 'csv' });
      c.track('export', { format: 'xlsx' });
      c.blocked('file-too-large', { limitMb: 25 });
      c.assert(false, 'cart-total', { items: 2 });
      c.softAssert(false, 'cart-total', { items: 2 });
      c.assert(true, 'cart-total', { items: 2 });
    }
    await c.flush();
    const sent = events();
    expect(sent).toHaveLength(5);
    expect(sent.every((e) => 'count' in e && e.count == 3)).toBe(true);
    expect(sent.filter((e) => e.kind == 'assert').map((e) => e.kind == 'assert' && e.soft)).toEqual([
      false,
      true,
    ]);
  });

  it('repeats after the event left go out as one new event, so the total stays exact', async () => {
    const { platform, sent, state } = fakePlatform();
    let release!: () => void;
    state.answer = () => new Promise((resolve) => (release = () => resolve(answer(202))));
    const c = createClient(OPTIONS, platform);
    for (let i = 0; i < 10; i++) c.track('save');
    const first = c.flush();
    // in flight: these must not be added to the batch already on the wire
    for (let i = 0; i < 7; i++) c.track('save');
    release();
    await first;
    state.answer = () => answer(202);
    for (let i = 0; i < 3; i++) c.track('save');
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    expect(sent.map((s) => (s.batch.events[0] as FeatureEvent).count)).toEqual([10, 10]);
    expect(
      total(
        sent.flatMap((s) => s.batch.events),
        'feature',
      ),
    ).toBe(20);
  });

  it('stores each raised count, so a reload sends the exact total under the same event', async () => {
    const first = fakePlatform();
    first.state.answer = () => answer(0);
    const c = createClient(OPTIONS, first.platform);
    for (let i = 0; i < 250; i++) c.track('export-csv');
    expect(first.stored.items).toHaveLength(1);
    expect(first.stored.items[0]!.e).toMatchObject({ name: 'export-csv', count: 250 });

    // the next page: the stored event goes first, new uses start a new event
    const next = fakePlatform(first.kv);
    next.state.left = first.stored.items;
    const d = createClient(OPTIONS, next.platform);
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 750; i++) d.track('export-csv');
    await d.flush();
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    expect(total(next.events(), 'feature')).toBe(1000);
    expect(next.events().length).toBeLessThanOrEqual(2);
  });

  it('distinct names are still held by the rate limit; repeats of a kept one are not', async () => {
    const { platform, events } = fakePlatform();
    const c = createClient(OPTIONS, platform);
    for (let i = 0; i < RATE_BURST + 20; i++) c.track(`feature-${i}`);
    for (let i = 0; i < 500; i++) c.track('feature-0');
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS + 100);
    const sent = events();
    expect(sent.length).toBeLessThan(RATE_BURST + 20);
    expect(sent.find((e) => e.kind == 'feature' && e.name == 'feature-0')).toMatchObject({ count: 501 });
  });
});
