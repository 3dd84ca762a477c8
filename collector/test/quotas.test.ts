import { afterEach, describe, expect, it } from 'vitest';
import type { Batch } from '@telltale/protocol';
import {
  createCollectorMetrics,
  createQuotaLedger,
  DEFAULT_QUOTAS,
  resolveCollectorConfig,
} from '../src/index.js';
import { API_KEY, APPS, makeBatch, startHarness, WEB_KEY, WEB_SECRET, type Harness } from './helpers.js';

const MINUTE = 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const DAY = 24 * 60 * MINUTE;

/** About 1 KB stored per batch, one event. */
const bulky = (): Batch =>
  makeBatch({
    events: [
      { id: `e-${Math.random()}`, ts: Date.now(), kind: 'log', level: 'info', message: 'x'.repeat(700) },
    ],
  });

describe('per-app quotas', () => {
  let h: Harness;
  afterEach(() => h.close());

  const send = (batch: Batch, key = WEB_KEY) =>
    h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: JSON.stringify(batch),
      headers: { 'x-telltale-key': key, 'content-type': 'text/plain' },
    });

  it('refuses the batch that would cross events per minute with 429 + Retry-After naming the limit, while another app is still accepted', async () => {
    // The minute window is the clock's: start well inside one so the test never straddles two.
    if (Date.now() % MINUTE > MINUTE - 5000) await sleep(MINUTE - (Date.now() % MINUTE) + 50);
    const metrics = createCollectorMetrics();
    h = await startHarness({ quotas: { eventsPerMinute: 5 } }, undefined, { metrics });
    const first = makeBatch();
    expect((await send(first)).statusCode).toBe(202);
    expect((await send(makeBatch())).statusCode).toBe(202); // 4 of 5 events
    // A retry of a stored batch is still a duplicate, not a second count.
    expect((await send(first)).json()).toEqual({ accepted: 2, duplicate: true });

    const over = await send(makeBatch()); // 6 > 5: refused whole, nothing stored
    expect(over.statusCode).toBe(429);
    const retryAfter = Number(over.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(over.json()).toEqual({
      error: {
        code: 'TELLTALE_ERR_QUOTA_EXCEEDED',
        field: 'eventsPerMinute',
        limit: 5,
        message: expect.stringContaining('eventsPerMinute'),
      },
    });
    // One event still fits in this minute: the quota counts events, not requests.
    const one = makeBatch();
    one.events = one.events.slice(0, 1);
    expect((await send(one)).statusCode).toBe(202);

    // Another app is not held back by web's quota.
    for (let i = 0; i < 2; i++) expect((await send(makeBatch(), API_KEY)).statusCode).toBe(202);
    expect((await h.envelopes()).map((e) => e.app)).toEqual(['web', 'web', 'web', 'api', 'api']);
    expect(metrics.snapshot().rejectedByReason).toEqual({
      'batch TELLTALE_ERR_QUOTA_EXCEEDED quota_events_per_minute': 1,
    });
  });

  it("takes an app's own quota from the apps file, counts server logs against it, and rebuilds the day's bytes after a restart", async () => {
    const apps = [{ ...APPS[0]!, quotas: { bytesPerDay: 2500 } }, APPS[1]!];
    h = await startHarness({ apps });
    expect((await send(bulky())).statusCode).toBe(202);
    const logs = await h.app.inject({
      method: 'POST',
      url: '/v1/logs',
      payload: JSON.stringify([{ ts: Date.now(), level: 'info', service: 'api', message: 'y'.repeat(700) }]),
      headers: { authorization: `Bearer ${WEB_SECRET}`, 'content-type': 'application/json' },
    });
    expect(logs.statusCode).toBe(202);
    const over = await send(bulky()); // ~1 KB + ~1 KB of logs + ~1 KB > 2500
    expect(over.statusCode).toBe(429);
    expect(over.json().error).toMatchObject({ field: 'bytesPerDay', limit: 2500 });
    // Until the UTC day ends.
    expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(DAY / 1000);
    expect((await send(bulky(), API_KEY)).statusCode).toBe(202); // api has the default (2 GiB)

    await h.restart();
    // Today's bytes come back from the spools: still over after the restart.
    expect((await send(bulky())).statusCode).toBe(429);
    expect((await send(bulky(), API_KEY)).statusCode).toBe(202);
  });

  it('refuses server logs over the events-per-minute quota the same way', async () => {
    h = await startHarness({ apps: [{ ...APPS[0]!, quotas: { eventsPerMinute: 3 } }, APPS[1]!] });
    expect((await send(makeBatch())).statusCode).toBe(202); // 2 events
    const lines = [1, 2].map((i) => ({
      ts: Date.now(),
      level: 'info',
      service: 'api',
      message: `line ${i}`,
    }));
    const logs = await h.app.inject({
      method: 'POST',
      url: '/v1/logs',
      payload: JSON.stringify(lines),
      headers: { authorization: `Bearer ${WEB_SECRET}`, 'content-type': 'application/json' },
    });
    expect(logs.statusCode).toBe(429);
    expect(logs.json().error).toMatchObject({
      code: 'TELLTALE_ERR_QUOTA_EXCEEDED',
      field: 'eventsPerMinute',
    });
    expect(await h.serverLogEnvelopes()).toHaveLength(0);
  });
});

describe('quota ledger windows', () => {
  const app = resolveCollectorConfig({ apps: APPS }, {}).apps[0]!;

  it('frees the events of a minute at the next clock minute and the bytes of a day at UTC midnight', () => {
    let now = Date.UTC(2026, 0, 5, 23, 59, 45, 200);
    const ledger = createQuotaLedger(
      { ...DEFAULT_QUOTAS, eventsPerMinute: 10, bytesPerDay: 1000 },
      () => now,
    );
    expect(ledger.admit(app, 10, 100).ok).toBe(true);
    const events = ledger.admit(app, 1, 1);
    expect(events).toMatchObject({ ok: false, refusal: { quota: 'eventsPerMinute', retryAfterSeconds: 15 } });
    now += 15_000; // 00:00:00.200, a new minute and a new day
    expect(ledger.admit(app, 10, 900).ok).toBe(true);
    now += 30_000;
    const bytes = ledger.admit(app, 0, 101);
    expect(bytes).toMatchObject({ ok: false, refusal: { quota: 'bytesPerDay', limit: 1000 } });
    if (!bytes.ok) expect(bytes.refusal.retryAfterSeconds).toBe(Math.ceil((DAY - 30_200) / 1000));
  });

  it('gives reserved room back when the store fails, and 0 turns a quota off', () => {
    const ledger = createQuotaLedger({ ...DEFAULT_QUOTAS, eventsPerMinute: 5, bytesPerDay: 0 });
    const taken = ledger.admit(app, 5, 10 ** 12);
    expect(taken.ok).toBe(true);
    expect(ledger.admit(app, 1, 1).ok).toBe(false);
    if (taken.ok) taken.admission.release();
    expect(ledger.admit(app, 5, 10 ** 12).ok).toBe(true);
    const env = { TELLTALE_QUOTA_EVENTS_PER_MINUTE: '0', TELLTALE_QUOTA_BYTES_PER_DAY: '1048576' };
    expect(resolveCollectorConfig({ apps: APPS }, env).quotas).toMatchObject({
      eventsPerMinute: 0,
      bytesPerDay: 1048576,
    });
    expect(resolveCollectorConfig({ apps: APPS }, {}).quotas).toEqual(DEFAULT_QUOTAS);
  });

  it('refuses bad quota settings naming the field', () => {
    expect(() => resolveCollectorConfig({ apps: APPS }, { TELLTALE_QUOTA_BYTES_PER_DAY: '2GB' })).toThrow(
      /TELLTALE_QUOTA_BYTES_PER_DAY:/,
    );
    expect(() => resolveCollectorConfig({ apps: APPS }, { TELLTALE_SPOOL_APP_SHARE: '1.5' })).toThrow(
      /TELLTALE_SPOOL_APP_SHARE:/,
    );
    expect(() =>
      resolveCollectorConfig({ apps: [{ ...APPS[0]!, quotas: { eventsPerMinute: -1 } }] }, {}),
    ).toThrow(/apps\[0\]\.quotas\.eventsPerMinute:/);
    expect(() =>
      resolveCollectorConfig({ apps: [{ ...APPS[0]!, quotas: { eventsPerHour: 1 } as never }] }, {}),
    ).toThrow(/apps\[0\]\.quotas\.eventsPerHour:/);
  });
});
