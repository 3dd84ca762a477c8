// The core's capture with a fake platform (timers faked): what goes on the wire, errors, rate limit, re-entrancy.
import { validateBatch, type ErrorEvent } from '@telltale/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  DEBOUNCE_MS,
  RATE_BURST,
  RATE_MS,
  SESSION_IDLE_MS,
  createClient,
  describe as describeError,
} from '../src/core/client.js';
import { MAX_ATTEMPTS } from '../src/core/retry.js';
import { OPTIONS, answer, fakePlatform, memoryKv, sameError } from './fake-platform.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const HEX32 = /^[0-9a-f]{32}$/;

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
      user: 'u-42',
      account: 'acme-7',
      loadMs: 420,
      sdk: 'telltale-test/1',
    });
    expect(batch.session).toMatch(HEX32);
    expect(batch.events.map((e) => e.kind)).toEqual(['error', 'assert', 'assert', 'feature', 'blocked']);
    const [error, hard, soft, feature, blocked] = batch.events;
    expect(error).toMatchObject({
      type: 'TypeError',
      message: 'boom',
      count: 1,
      url: '/checkout',
      online: true,
    });
    expect(error).not.toHaveProperty('mechanism'); // a captureError call: none (onerror / onunhandledrejection otherwise)
    // the session id is a W3C trace id: the one every event and traceparent header carries
    expect(error!.trace).toBe(batch.session);
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
    for (const e of batch.events) expect(e.id).toMatch(HEX32);
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
    expect((error as ErrorEvent).message).toBe('no user [filtered] at https://x.test/a (card [filtered])');
    expect(error!.breadcrumbs![0]!.message).toBe('login as [filtered]');
    expect(feature).toMatchObject({ props: { query: '[filtered]', password: '[filtered]' } });
    expect(JSON.stringify(events())).not.toMatch(/jane|hunter2|4111|token=abc/);
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
    expect(batch.events[1]).toMatchObject({ type: 'NonError', message: 'code,detail' });
    expect(batch.events[2]).toMatchObject({ type: 'NonError', message: 'plain string' });
    expect(JSON.stringify(batch)).not.toContain('secret text');
  });

  it('debounces: one request about a second after the first event', async () => {
    const { platform, sent } = fakePlatform();
    const c = createClient(OPTIONS, platform);
    c.track('a');
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS / 2);
    c.track('b');
    expect(sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS / 2);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.batch.events).toHaveLength(2);
  });

  it('cuts batches at 60 KB, so any batch fits a keepalive request, and sends them one after another', async () => {
    const { platform, sent } = fakePlatform();
    const c = createClient(OPTIONS, platform);
    for (let i = 0; i < 50; i++) c.log('info', `${i} ${'x'.repeat(1000)}`.slice(0, 1000));
    for (let i = 0; i < 40; i++) c.assert(false, `with-crumbs-${i}`); // 20 breadcrumbs of 1 KB each
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sent.length).toBeGreaterThan(1);
    for (const s of sent) expect(JSON.stringify(s.batch).length).toBeLessThan(64 * 1024);
    expect(sent.flatMap((s) => s.batch.events)).toHaveLength(40);
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
    state.answer = () => new Promise((resolve) => (release = () => resolve(answer(202))));
    const c = createClient(OPTIONS, platform);
    c.captureError(sameError());
    const first = c.flush();
    c.captureError(sameError());
    c.captureError(sameError());
    release();
    await first;
    state.answer = () => answer(202);
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

  it('starts a new session after 30 idle minutes, and reports the error again there', async () => {
    const { platform, sent } = fakePlatform();
    const c = createClient(OPTIONS, platform);
    c.captureError(sameError());
    await c.flush();
    await vi.advanceTimersByTimeAsync(SESSION_IDLE_MS + 60_000);
    c.captureError(sameError());
    await c.flush();
    const [a, b] = sent.map((s) => s.batch);
    expect(b!.session).not.toBe(a!.session);
    expect(b!.events[0]).toMatchObject({ count: 1, trace: b!.session });
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

  it('describes non-Error values without their content', () => {
    expect(describeError(undefined as never)).toEqual(['NonError', 'undefined']);
    expect(describeError({ email: 'a@b.co' } as never)).toEqual(['NonError', 'email']);
    expect(describeError(new RangeError('r'))[0]).toBe('RangeError');
  });
});

describe('rate limit (a token bucket kept across reloads)', () => {
  it('lets a burst through, drops the rest (counted), and refills one event per second', async () => {
    const { platform, sent } = fakePlatform();
    const c = createClient(OPTIONS, platform);
    for (let i = 0; i < RATE_BURST + 40; i++) c.captureError(new Error(`distinct ${i}`));
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS + 100);
    expect(sent.flatMap((s) => s.batch.events)).toHaveLength(RATE_BURST + 1);
    expect(sent[0]!.batch.dropped).toBe(39);
    await vi.advanceTimersByTimeAsync(10 * RATE_MS);
    for (let i = 0; i < 20; i++) c.track(`later-${i}`);
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    const later = sent.flatMap((s) => s.batch.events).filter((e) => e.kind == 'feature');
    expect(later.length).toBeGreaterThanOrEqual(10);
    expect(later.length).toBeLessThan(20);
  });

  it('an error refused by the rate limit is reported when it happens again later', async () => {
    const { platform, events } = fakePlatform();
    const c = createClient(OPTIONS, platform);
    for (let i = 0; i < RATE_BURST + 1; i++) c.track(`t${i}`);
    c.captureError(sameError('late'));
    await vi.advanceTimersByTimeAsync(5 * RATE_MS);
    c.captureError(sameError('late'));
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    expect(events().filter((e) => e.kind == 'error')).toHaveLength(1);
  });

  it('is shared with the next page: a reload does not refill the bucket', async () => {
    const kv = memoryKv();
    const first = fakePlatform(kv);
    const a = createClient(OPTIONS, first.platform);
    for (let i = 0; i < RATE_BURST + 1; i++) a.track(`t${i}`);
    await a.flush();
    const reload = fakePlatform(kv);
    const b = createClient(OPTIONS, reload.platform);
    b.track('after-reload');
    await b.flush();
    expect(reload.sent).toHaveLength(0);
    // and the same session goes on
    await vi.advanceTimersByTimeAsync(2 * RATE_MS);
    b.track('a-bit-later');
    await b.flush();
    expect(reload.sent[0]!.batch.session).toBe(first.sent[0]!.batch.session);
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

  it('a throwing transport is retried with a capped backoff, never in a loop, and the event still arrives', async () => {
    const { platform } = fakePlatform();
    let calls = 0;
    platform.send = () => {
      calls++;
      throw new Error('transport bug');
    };
    const c = createClient(OPTIONS, platform);
    c.captureError(new Error('app error'));
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    // an hour: at most one attempt per capped backoff (5 min, jittered down to half), no more
    expect(calls).toBeGreaterThan(MAX_ATTEMPTS);
    expect(calls).toBeLessThan(40);

    // The transport works again: the event arrives, and nothing about the transport's own error.
    const fixed = fakePlatform();
    platform.send = fixed.platform.send;
    c.resume();
    await vi.advanceTimersByTimeAsync(0);
    expect(fixed.events().map((e) => e.kind == 'error' && e.message)).toEqual(['app error']);
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
