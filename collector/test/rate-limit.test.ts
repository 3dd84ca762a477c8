import { afterEach, describe, expect, it } from 'vitest';
import { createCollectorMetrics, createRateLimiter } from '../src/index.js';
import { API_KEY, makeBatch, startHarness, WEB_KEY, type Harness } from './helpers.js';

describe('rate limits (token buckets) → 429 with Retry-After', () => {
  let h: Harness;
  afterEach(() => h.close());

  const send = (key: string, ip = '10.0.0.1') =>
    h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: JSON.stringify(makeBatch()),
      headers: { 'x-telltale-key': key, 'content-type': 'text/plain' },
      remoteAddress: ip,
    });

  it('limits one client address; other addresses and the next second are unaffected', async () => {
    const metrics = createCollectorMetrics();
    h = await startHarness(
      { rateLimits: { perIp: { perSecond: 1, burst: 3 }, perKey: { perSecond: 0 } } },
      undefined,
      {
        metrics,
      },
    );
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await send(WEB_KEY, '10.0.0.1'));
    expect(answers.map((a) => a.statusCode)).toEqual([202, 202, 202, 429, 429]);
    const limited = answers[3]!;
    expect(limited.json().error.code).toBe('TELLTALE_ERR_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.headers['access-control-expose-headers']).toMatch(/Retry-After/);
    expect((await send(WEB_KEY, '10.0.0.2')).statusCode).toBe(202);
    expect(metrics.snapshot().rejectedByReason['batch TELLTALE_ERR_RATE_LIMITED rate_limited_ip']).toBe(2);
    expect(await h.envelopes()).toHaveLength(4);
  });

  it('limits one key, whatever the address, and leaves other apps alone', async () => {
    h = await startHarness({ rateLimits: { perKey: { perSecond: 1, burst: 2 }, perIp: { perSecond: 0 } } });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await send(WEB_KEY, `10.0.1.${i}`));
    expect(answers.map((a) => a.statusCode)).toEqual([202, 202, 429, 429]);
    expect(answers[2]!.json().error.message).toMatch(/this key/);
    expect((await send(API_KEY, '10.0.1.9')).statusCode).toBe(202);
  });
});

describe('token bucket', () => {
  it('refills at the rate, caps at the burst, and says when a token is back', () => {
    let now = 0;
    const limiter = createRateLimiter({ perSecond: 2, burst: 4 }, { now: () => now });
    for (let i = 0; i < 4; i++) expect(limiter.take('a').ok).toBe(true);
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    now += 500; // one token back
    expect(limiter.take('a').ok).toBe(true);
    expect(limiter.take('a').ok).toBe(false);
    now += 60_000; // long idle: back to the burst, not beyond
    for (let i = 0; i < 4; i++) expect(limiter.take('a').ok).toBe(true);
    expect(limiter.take('a').ok).toBe(false);
  });

  it('keeps bounded memory under a flood of distinct keys, and 0 per second means off', () => {
    const limiter = createRateLimiter({ perSecond: 1, burst: 1 }, { maxBuckets: 1000 });
    for (let i = 0; i < 50_000; i++) limiter.take(`ip-${i}`);
    expect(limiter.size).toBe(1000);
    const off = createRateLimiter({ perSecond: 0, burst: 0 });
    for (let i = 0; i < 100; i++) expect(off.take('x').ok).toBe(true);
    expect(off.size).toBe(0);
  });

  it('forgets the least recently used keys first: a sender that keeps sending stays limited through a flood', () => {
    const now = 1_000_000;
    const limiter = createRateLimiter({ perSecond: 1, burst: 2 }, { maxBuckets: 100, now: () => now });
    expect(limiter.take('busy').ok).toBe(true);
    expect(limiter.take('busy').ok).toBe(true);
    for (let i = 0; i < 1_000; i++) {
      limiter.take(`flood-${i}`);
      // Used every few new keys: never the least recent, so its empty bucket is never forgotten.
      if (i % 10 === 0) expect(limiter.take('busy').ok, `after ${i} new keys`).toBe(false);
    }
    expect(limiter.size).toBe(100);
    // A key last used long ago is gone: it starts again with a full bucket.
    expect(limiter.take('flood-0').ok).toBe(true);
  });
});
