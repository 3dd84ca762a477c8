import { validateBatch, type ErrorEvent } from '@telltale/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BATCH_EVENTS,
  DEBOUNCE_MS,
  MAX_PER_SESSION,
  createClient,
  describe as describeError,
} from '../src/core/client.js';
import { MAX_ITEMS } from '../src/core/queue.js';
import { MAX_ATTEMPTS } from '../src/core/retry.js';
import { OPTIONS, fakePlatform, sameError } from './fake-platform.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('batches on the wire', () => {
  it('sends a valid protocol v1 batch to /v1/batch with the key in the query string', async () => {
    const { platform, sent } = fakePlatform();
    const c = createClient({ ...OPTIONS, endpoint: 'https://collector.test/' }, platform);
    c.setUser({ id: 'u-42', account: 'acme-7' });
    c.log('info', 'opened cart');
    c.captureError(sameError());
    c.assert(false, 'cart-total-matches', { items: 3, checksum: 'ab12' });
    c.softAssert(false, 'workspace-count-under-100', { workspaces: 140 });
    c.assert(true, 'never-sent');
    c.track('export-csv', { rows: 42 });
    c.blocked('file-too-large', { sizeMb: 30, limitMb: 25 });
    await c.flush();

    expect(sent).toHaveLength(1);
    const { url, batch } = sent[0]!;
    expect(url).toBe('https://collector.test/v1/batch?key=app%20key');
    expect(validateBatch(batch)).toMatchObject({ ok: true });
    expect(batch).toMatchObject({
      v: 1,
      release: '1.2.3',
      environment: 'test',
      session: 'session-1',
      user: 'u-42',
      account: 'acme-7',
      loadMs: 420,
    });
    expect(batch.sdk).toMatch(/^telltale-browser\//);
    expect(batch.events.map((e) => e.kind)).toEqual(['error', 'assert', 'assert', 'feature', 'blocked']);
    const [error, hard, soft, feature, blocked] = batch.events;
    expect(error).toMatchObject({
      type: 'TypeError',
      message: 'boom',
      count: 1,
      mechanism: 'manual',
      url: '/checkout',
      online: true,
    });
    expect(error!.trace).toMatch(/^[0-9a-f]{32}$/);
    expect(error!.breadcrumbs).toEqual([{ ts: expect.any(Number), level: 'info', message: 'opened cart' }]);
    expect(hard).toMatchObject({
      name: 'cart-total-matches',
      soft: false,
      vars: { items: 3, checksum: 'ab12' },
    });
    expect(soft).toMatchObject({ name: 'workspace-count-under-100', soft: true, vars: { workspaces: 140 } });
    expect(feature).toMatchObject({ name: 'export-csv', props: { rows: 42 } });
    expect(feature!.breadcrumbs).toBeUndefined();
    expect(blocked).toMatchObject({ reason: 'file-too-large', props: { sizeMb: 30, limitMb: 25 } });
    expect(new Set(batch.events.map((e) => e.id)).size).toBe(5);
  });

  it('scrubs what it captures, also what beforeSend adds', async () => {
    const { platform, events } = fakePlatform();
    const c = createClient(
      {
        ...OPTIONS,
        beforeSend: (e) => ({
          ...e,
          message: `${'message' in e ? e.message : ''} (card 4111 1111 1111 1111)`,
        }),
      },
      platform,
    );
    c.log('warn', 'login as jane@example.com');
    c.captureError(new Error('no user jane@example.com at https://x.test/a?token=abc'));
    c.track('search', { query: 'a@b.co', password: 'hunter2', nested: { a: 1 } as never });
    await c.flush();
    const [error, feature] = events();
    expect((error as ErrorEvent).message).toBe('no user [email] at https://x.test/a (card [number])');
    expect(error!.breadcrumbs![0]!.message).toBe('login as [email]');
    expect(feature).toMatchObject({ props: { query: '[email]', password: '[filtered]' } });
  });

  it('never sends an invalid log level, empty name or non-Error message', async () => {
    const { platform, sent } = fakePlatform();
    const c = createClient(OPTIONS, platform);
    c.log('fatal' as never, 'x');
    c.track('');
    c.captureError({ code: 7, detail: 'secret text' });
    c.captureError('plain string');
    await c.flush();
    const batch = sent[0]!.batch;
    expect(validateBatch(batch)).toMatchObject({ ok: true });
    expect(batch.events[1]).toMatchObject({ type: 'NonError', message: 'Object with keys: code,detail' });
    expect(batch.events[2]).toMatchObject({ type: 'NonError', message: 'plain string' });
  });

  it('debounces: one request about a second after the first event, at once at 50 events', async () => {
    const { platform, sent } = fakePlatform();
    const c = createClient(OPTIONS, platform);
    c.track('a');
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS / 2);
    c.track('b');
    expect(sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS / 2);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.batch.events).toHaveLength(2);

    for (let i = 0; i < BATCH_EVENTS; i++) c.track(`f${i}`);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.batch.events).toHaveLength(BATCH_EVENTS);
  });
});

describe('errors: once per session, then a count', () => {
  it('turns 10,000 identical errors into one event with count 10000', async () => {
    const { platform, sent } = fakePlatform();
    const c = createClient(OPTIONS, platform);
    for (let i = 0; i < 10_000; i++) c.captureError(sameError());
    await c.flush();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.batch.events).toHaveLength(1);
    expect(sent[0]!.batch.events[0]).toMatchObject({ kind: 'error', count: 10_000 });
  });

  it('sends repeats after the first event left as one new event with the count', async () => {
    const { platform, sent } = fakePlatform();
    const c = createClient(OPTIONS, platform);
    c.captureError(sameError());
    await c.flush();
    for (let i = 0; i < 5; i++) c.captureError(sameError());
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    expect(sent).toHaveLength(2);
    const [first, again] = sent.map((s) => s.batch.events[0] as ErrorEvent);
    expect(again).toMatchObject({ type: 'TypeError', message: 'boom', count: 5 });
    expect(again!.id).not.toBe(first!.id);
    await c.flush();
    expect(sent).toHaveLength(2); // nothing new: no empty batch
  });

  it('counts repeats while the first batch is in flight into the next flush, not into the sent event', async () => {
    const { platform, sent, state } = fakePlatform();
    let release!: () => void;
    state.answer = () => new Promise((resolve) => (release = () => resolve({ status: 202 })));
    const c = createClient(OPTIONS, platform);
    c.captureError(sameError());
    const first = c.flush();
    c.captureError(sameError());
    c.captureError(sameError());
    release();
    await first;
    state.answer = () => ({ status: 202 });
    await c.flush();
    expect(sent.map((s) => (s.batch.events[0] as ErrorEvent).count)).toEqual([1, 2]);
  });

  it('tells errors apart by type, message and first stack frame', async () => {
    const { platform, events } = fakePlatform();
    const c = createClient(OPTIONS, platform);
    c.captureError(sameError('a'));
    c.captureError(sameError('b'));
    const moved = sameError('a');
    moved.stack = moved.stack!.replace('app.js:10:5', 'app.js:99:1');
    c.captureError(moved);
    await c.flush();
    expect(events()).toHaveLength(3);
  });

  it('starts counting again in a new session', async () => {
    const { platform, state, events } = fakePlatform();
    const c = createClient(OPTIONS, platform);
    c.captureError(sameError());
    state.sessionId = 'session-2';
    c.captureError(sameError());
    await c.flush();
    expect(events().map((e) => (e as ErrorEvent).count)).toEqual([1, 1]);
  });

  it('applies ignoreErrors and sampleRate', async () => {
    const { platform, events } = fakePlatform();
    const c = createClient(
      { ...OPTIONS, ignoreErrors: ['ResizeObserver loop', /^TypeError: ignored/] },
      platform,
    );
    c.captureError(new Error('ResizeObserver loop limit exceeded'));
    c.captureError(new TypeError('ignored thing'));
    c.captureError(new Error('kept'));
    await c.flush();
    expect(events().map((e) => (e as ErrorEvent).message)).toEqual(['kept']);

    const none = fakePlatform();
    const sampled = createClient({ ...OPTIONS, sampleRate: 0 }, none.platform);
    sampled.captureError(new Error('x'));
    await sampled.flush();
    expect(none.sent).toHaveLength(0);
  });

  it('caps distinct errors per session, whatever else the app tracks', async () => {
    const { platform, sent } = fakePlatform();
    const c = createClient(OPTIONS, platform);
    for (let i = 0; i < 150; i++) c.track(`feature-${i}`);
    for (let i = 0; i < 130; i++) c.captureError(new Error(`distinct ${i}`));
    await vi.advanceTimersByTimeAsync(60_000);
    const errors = sent.flatMap((s) => s.batch.events).filter((e) => e.kind == 'error');
    expect(errors).toHaveLength(MAX_PER_SESSION);
    expect(sent.reduce((n, s) => n + (s.batch.dropped ?? 0), 0)).toBe(30);
  });

  it('caps events per assert / feature name per session', async () => {
    const { platform, sent } = fakePlatform();
    const c = createClient(OPTIONS, platform);
    for (let i = 0; i < MAX_PER_SESSION + 20; i++) c.assert(false, 'in-a-loop');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent.flatMap((s) => s.batch.events)).toHaveLength(MAX_PER_SESSION);
    expect(sent.reduce((n, s) => n + (s.batch.dropped ?? 0), 0)).toBe(20);
  });

  it('describes non-Error values without their content', () => {
    expect(describeError(undefined)).toEqual(['NonError', 'undefined']);
    expect(describeError({ email: 'a@b.co' })).toEqual(['NonError', 'Object with keys: email']);
    expect(describeError(new RangeError('r'))[0]).toBe('RangeError');
  });
});

describe('re-entrancy and failures inside the SDK', () => {
  it('a throwing beforeSend drops the event (counted) and never loops', async () => {
    const { platform, sent } = fakePlatform();
    let calls = 0;
    const c = createClient(
      {
        ...OPTIONS,
        beforeSend: (e) => {
          calls++;
          if (e.kind == 'error') throw new Error('bug in beforeSend');
          return e;
        },
      },
      platform,
    );
    expect(() => c.captureError(new Error('app error'))).not.toThrow();
    c.track('after');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(2);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.batch.events.map((e) => e.kind)).toEqual(['feature']);
    expect(sent[0]!.batch.dropped).toBe(1);
  });

  it('a capture from inside beforeSend is ignored, not re-entered', async () => {
    const { platform, events } = fakePlatform();
    let calls = 0;
    const c = createClient(
      {
        ...OPTIONS,
        beforeSend: (e) => {
          calls++;
          c.captureError(new Error('from inside'));
          c.track('inside');
          return e;
        },
      },
      platform,
    );
    c.captureError(new Error('outside'));
    await c.flush();
    expect(calls).toBe(1);
    expect(events().map((e) => (e as ErrorEvent).message)).toEqual(['outside']);
  });

  it('a throwing transport is retried a bounded number of times, then the batch is dropped and counted', async () => {
    const { platform, state } = fakePlatform();
    let calls = 0;
    platform.send = () => {
      calls++;
      throw new Error('transport bug');
    };
    const c = createClient(OPTIONS, platform);
    c.captureError(new Error('app error'));
    await vi.advanceTimersByTimeAsync(24 * 60 * 60_000);
    expect(calls).toBe(MAX_ATTEMPTS);

    // The transport works again: only the drop count arrives, no event about the transport's own error.
    const fixed = fakePlatform();
    platform.send = fixed.platform.send;
    state.online = true;
    c.track('later');
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    expect(fixed.sent).toHaveLength(1);
    expect(fixed.sent[0]!.batch).toMatchObject({ dropped: 1 });
    expect(fixed.events().map((e) => e.kind)).toEqual(['feature']);
  });

  it('a throwing platform never throws into the app', () => {
    const { platform } = fakePlatform();
    platform.context = () => {
      throw new Error('no window');
    };
    const c = createClient(OPTIONS, platform);
    expect(() => {
      c.captureError(new Error('x'));
      c.assert(false, 'a');
      c.track('t');
    }).not.toThrow();
  });
});

describe('upload: retries keep the batch id, failures are counted', () => {
  it('retries a 5xx with the same batch id and events, then forgets the delivered batch', async () => {
    const { platform, sent, state } = fakePlatform();
    let failures = 2;
    state.answer = () => ({ status: failures-- > 0 ? 503 : 202 });
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

  it('waits for Retry-After on 429 before sending again', async () => {
    const { platform, sent, state } = fakePlatform();
    state.answer = () => ({ status: 429, retryAfter: '30' });
    const c = createClient(OPTIONS, platform);
    c.track('a');
    await c.flush();
    state.answer = () => ({ status: 202 });
    c.track('b');
    await c.flush(); // still inside the Retry-After window: nothing goes out
    await c.flush(true); // a page hide respects it too
    await vi.advanceTimersByTimeAsync(29_000);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent[1]!.batch.batchId).toBe(sent[0]!.batch.batchId);
  });

  it('drops a batch refused with 400 and reports the drop in the next batch', async () => {
    const { platform, sent, state } = fakePlatform();
    state.answer = () => ({ status: 400 });
    const c = createClient(OPTIONS, platform);
    c.track('a');
    c.track('b');
    await c.flush();
    state.answer = () => ({ status: 202 });
    c.track('c');
    await c.flush();
    expect(sent).toHaveLength(2);
    expect(sent[1]!.batch).toMatchObject({ dropped: 2 });
    expect(sent[1]!.batch.events.map((e) => e.kind == 'feature' && e.name)).toEqual(['c']);
    c.track('d');
    await c.flush();
    expect(sent[2]!.batch.dropped).toBeUndefined(); // reported once, then reset
  });

  it('does not spend attempts while offline, and resumes when the network is back', async () => {
    const { platform, sent, state } = fakePlatform();
    state.online = false;
    state.answer = () => ({ status: 0 });
    const c = createClient(OPTIONS, platform);
    c.track('a');
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(sent.length).toBeGreaterThan(MAX_ATTEMPTS);
    state.online = true;
    state.answer = () => ({ status: 202 });
    const before = sent.length;
    c.resume();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(before + 1);
    await c.flush();
    expect(sent).toHaveLength(before + 1);
  });

  it('keeps events after an unconfirmed page-hide send and resends them under the same batch id', async () => {
    const { platform, sent, state } = fakePlatform();
    state.answer = () => ({ status: 0 });
    const c = createClient(OPTIONS, platform);
    c.track('a');
    await c.flush(true);
    expect(sent[0]!.keepalive).toBe(true);
    state.answer = () => ({ status: 202 });
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
    void c.flush(true); // visibilitychange and pagehide both fire: no third copy
    expect(sent.map((s) => [s.keepalive, s.batch.events.length])).toEqual([
      [false, 1],
      [true, 1],
      [true, 1],
    ]);
    expect(sent[1]!.batch.batchId).toBe(sent[0]!.batch.batchId);
    expect(sent[2]!.batch.batchId).not.toBe(sent[0]!.batch.batchId);
  });
});

describe('queue caps', () => {
  it('drops the oldest events beyond the cap and reports how many', async () => {
    const { platform, sent, state } = fakePlatform();
    state.online = false;
    state.answer = () => ({ status: 0 });
    const c = createClient(OPTIONS, platform);
    for (let i = 0; i < MAX_ITEMS + 30; i++) c.softAssert(false, `limit-${i}`);
    state.online = true;
    state.answer = () => ({ status: 202 });
    c.resume();
    await vi.advanceTimersByTimeAsync(60_000);
    const names = sent.flatMap((s) => s.batch.events.map((e) => (e.kind == 'assert' ? e.name : '')));
    expect(new Set(names).size).toBe(MAX_ITEMS);
    expect(names).not.toContain('limit-0');
    expect(names).toContain(`limit-${MAX_ITEMS + 29}`);
    expect(sent.reduce((n, s) => n + (s.batch.dropped ?? 0), 0)).toBe(30);
  });
});
