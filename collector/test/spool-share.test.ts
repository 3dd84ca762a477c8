import { afterEach, describe, expect, it } from 'vitest';
import type { Batch } from '@telltale/protocol';
import { createCollectorMetrics } from '../src/index.js';
import { API_KEY, makeBatch, startHarness, WEB_KEY, type Harness } from './helpers.js';

/** About 10 KB stored: with a 64 KiB cap (8 KiB segments) each batch gets a segment of its own. */
const bulky = (): Batch =>
  makeBatch({
    events: [
      { id: `e-${Math.random()}`, ts: Date.now(), kind: 'log', level: 'info', message: 'x'.repeat(8000) },
    ],
  });

describe("per-app share of the spool's disk cap", () => {
  let h: Harness;
  afterEach(() => h.close());

  const send = (batch: Batch, key = WEB_KEY) =>
    h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: JSON.stringify(batch),
      headers: { 'x-telltale-key': key, 'content-type': 'text/plain' },
    });

  it('stops a noisy app at its share so the others keep sending, counts the bytes per app across a restart, and frees them when segments go', async () => {
    const metrics = createCollectorMetrics();
    const cap = 64 * 1024;
    h = await startHarness({ storage: { spoolMaxBytes: cap }, quotas: { spoolShare: 0.5 } }, undefined, {
      metrics,
    });
    let accepted = 0;
    let refused;
    for (let i = 0; i < 10; i++) {
      const res = await send(bulky());
      if (res.statusCode !== 202) {
        refused = res;
        break;
      }
      accepted += 1;
    }
    // 3 × ~10 KB fit in half of 64 KiB, the 4th would not.
    expect(accepted).toBe(3);
    expect(refused?.statusCode).toBe(429);
    expect(Number(refused?.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused?.json().error).toMatchObject({
      code: 'TELLTALE_ERR_QUOTA_EXCEEDED',
      field: 'spoolShare',
      limit: cap / 2,
    });
    expect(metrics.snapshot().rejectedByReason).toEqual({
      'batch TELLTALE_ERR_QUOTA_EXCEEDED spool_share': 1,
    });

    // The spool is far from full: the other app is still accepted.
    for (let i = 0; i < 3; i++) expect((await send(bulky(), API_KEY)).statusCode).toBe(202);
    expect(h.spool.isFull()).toBe(false);

    // After a restart the tally is rebuilt from the records' envelopes.
    await h.restart();
    expect((await send(bulky())).statusCode).toBe(429);

    // Consumers passed everything: the sealed segments go and web has room again.
    expect(await h.spool.removeSegmentsBefore(Number.MAX_SAFE_INTEGER)).toBeGreaterThan(0);
    expect((await send(bulky())).statusCode).toBe(202);
  });

  it('does not apply while the collector serves a single app', async () => {
    h = await startHarness({
      apps: [{ id: 'web', name: 'Web', ingestKeys: [WEB_KEY] }],
      storage: { spoolMaxBytes: 64 * 1024 },
      quotas: { spoolShare: 0.5 },
    });
    for (let i = 0; i < 5; i++) expect((await send(bulky())).statusCode).toBe(202);
  });
});
