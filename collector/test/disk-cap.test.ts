import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { FULL_RETRY_AFTER_SECONDS } from '../src/index.js';
import { makeBatch, startHarness, WEB_KEY, WEB_SECRET, type Harness } from './helpers.js';

const CAP = 64 * 1024; // the smallest cap the config takes; segments are an eighth of it

describe('spool disk cap', () => {
  let h: Harness;
  afterEach(() => h.close());

  const send = (batch = makeBatch()) =>
    h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: gzipSync(JSON.stringify(batch)),
      headers: { 'x-telltale-key': WEB_KEY, 'content-type': 'text/plain' },
    });
  /** A batch of about 10 KB once stored. */
  const bulky = () =>
    makeBatch({
      events: Array.from({ length: 10 }, (_, i) => ({
        id: `e${i}-${Math.random()}`,
        ts: Date.now(),
        kind: 'log' as const,
        level: 'info' as const,
        message: `line ${i} ${'x'.repeat(900)}`,
      })),
    });

  it('refuses new batches with 503 + Retry-After when full, keeps every acknowledged one, and takes data again once drained', async () => {
    h = await startHarness({ storage: { spoolMaxBytes: CAP } });
    const accepted: string[] = [];
    let refused: Awaited<ReturnType<typeof send>> | undefined;
    for (let i = 0; i < 50 && refused === undefined; i++) {
      const batch = bulky();
      const res = await send(batch);
      if (res.statusCode === 202) accepted.push(batch.batchId);
      else refused = res;
    }
    expect(accepted.length).toBeGreaterThan(3);
    expect(refused?.statusCode).toBe(503);
    expect(refused?.headers['retry-after']).toBe(String(FULL_RETRY_AFTER_SECONDS));
    expect(refused?.json().error.code).toBe('TELLTALE_ERR_SPOOL_FULL');
    expect(h.spool.stats().bytes).toBeLessThanOrEqual(CAP);

    // Not ready while full: a load balancer sends elsewhere.
    const ready = await h.app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json().reasons.join()).toMatch(/client spool: at its disk cap/);
    // Server logs have their own spool: still taken.
    const logs = await h.app.inject({
      method: 'POST',
      url: '/v1/logs',
      payload: JSON.stringify([{ ts: Date.now(), level: 'info', message: 'still here', service: 'api' }]),
      headers: { authorization: `Bearer ${WEB_SECRET}`, 'content-type': 'application/json' },
    });
    expect(logs.statusCode).toBe(202);

    // Nothing acknowledged was dropped to make room.
    expect((await h.envelopes()).map((e) => e.batch.batchId)).toEqual(accepted);

    // Consumers pass the sealed segments; they are deleted and the spool takes data again.
    await h.spool.removeSegmentsBefore(Number.MAX_SAFE_INTEGER);
    const after = await send(makeBatch());
    expect(after.statusCode).toBe(202);
    expect((await h.app.inject('/readyz')).statusCode).toBe(200);
    const metrics = (await h.app.inject('/metrics')).body;
    expect(metrics).toMatch(/telltale_spool_refused_full_total\{spool="client"\} [1-9]/);
    expect(metrics).toContain(`telltale_spool_max_bytes{spool="client"} ${CAP}`);
  });
});
