import { afterEach, describe, expect, it } from 'vitest';
import {
  createCollectorMetrics,
  createKeyRegistry,
  createQuotaLedger,
  DEFAULT_QUOTAS,
  resolveCollectorConfig,
  type KeyRegistry,
  type QuotaLedger,
} from '../src/index.js';
import { APPS, failingSpool, makeBatch, startHarness, WEB_KEY, type Harness } from './helpers.js';

describe('an unexpected exception is a 500 with its own code, not a storage error', () => {
  let h: Harness;
  afterEach(() => h.close());

  const send = () =>
    h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: JSON.stringify(makeBatch()),
      headers: { 'x-telltale-key': WEB_KEY, 'content-type': 'text/plain' },
    });

  it('answers 500 TELLTALE_ERR_INTERNAL without Retry-After when a bug throws, and counts it by reason', async () => {
    const real = createKeyRegistry(resolveCollectorConfig({ apps: APPS }, {}).apps);
    let broken = true;
    // A key registry with a bug in it: the lookup throws.
    const keys: KeyRegistry = {
      ...real,
      lookup: (key) => {
        if (broken) throw new TypeError("Cannot read properties of undefined (reading 'kind')");
        return real.lookup(key);
      },
    };
    const metrics = createCollectorMetrics();
    h = await startHarness({}, undefined, { keys, metrics });
    const res = await send();
    expect(res.statusCode).toBe(500);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.json().error.code).toBe('TELLTALE_ERR_INTERNAL');
    // The message does not leak the exception's text.
    expect(res.json().error.message).not.toContain('Cannot read');
    expect(metrics.snapshot().rejectedByReason).toEqual({ 'batch TELLTALE_ERR_INTERNAL unexpected': 1 });
    broken = false;
    expect((await send()).statusCode).toBe(202);
  });

  it('answers 500, not 503, for a bug in the store step after the checks, and stores nothing', async () => {
    const real = createQuotaLedger(DEFAULT_QUOTAS);
    const quotas: QuotaLedger = {
      ...real,
      admit: () => {
        throw new RangeError('bug in the ledger');
      },
    };
    h = await startHarness({}, undefined, { quotas });
    const res = await send();
    expect(res.statusCode).toBe(500);
    expect(res.json().error.code).toBe('TELLTALE_ERR_INTERNAL');
    expect(await h.envelopes()).toHaveLength(0);
  });

  it('keeps 503 TELLTALE_ERR_STORAGE with Retry-After for a spool write that failed', async () => {
    h = await startHarness({}, (spool) => failingSpool(spool, 1));
    const res = await send();
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('TELLTALE_ERR_STORAGE');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect((await send()).statusCode).toBe(202);
  });
});
