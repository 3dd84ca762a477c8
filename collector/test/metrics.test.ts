import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePrometheus, samplesOf, valueOf } from '../../test-support/prometheus.js';
import { createCollectorMetrics } from '../src/index.js';
import { makeBatch, startHarness, WEB_KEY, WEB_SECRET, type Harness } from './helpers.js';

const CAP = 64 * 1024; // the smallest disk cap the config takes

describe('/metrics through prom-client, read back as a scraper reads it', () => {
  let h: Harness;
  afterEach(() => h.close());

  const sendBatch = (payload: Buffer | string, key = WEB_KEY) =>
    h.app.inject({ method: 'POST', url: '/v1/batch', payload, headers: { 'x-telltale-key': key } });
  const scrape = async () => {
    const res = await h.app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheus(res.body);
  };

  it('counts known traffic under the names and labels dashboards already use', async () => {
    const metrics = createCollectorMetrics();
    h = await startHarness({}, undefined, { metrics });
    const batch = makeBatch();
    const body = gzipSync(JSON.stringify(batch));
    expect((await sendBatch(body)).statusCode).toBe(202);
    expect((await sendBatch(body)).json()).toMatchObject({ duplicate: true });
    expect((await sendBatch('{')).statusCode).toBe(400);
    expect((await sendBatch(body, 'tt_nope_0123456789abcdef')).statusCode).toBe(401);
    const logs = await h.app.inject({
      method: 'POST',
      url: '/v1/logs',
      payload: JSON.stringify([
        { ts: Date.now(), level: 'warn', message: 'slow query', service: 'db' },
        { ts: Date.now(), level: 'info', message: 'ok', service: 'db' },
      ]),
      headers: { authorization: `Bearer ${WEB_SECRET}`, 'content-type': 'application/json' },
    });
    expect(logs.statusCode).toBe(202);

    const prom = await scrape();
    expect(valueOf(prom, 'telltale_collector_batches_total', { outcome: 'stored' })).toBe(1);
    expect(valueOf(prom, 'telltale_collector_batches_total', { outcome: 'duplicate' })).toBe(1);
    expect(valueOf(prom, 'telltale_collector_events_stored_total')).toBe(batch.events.length);
    expect(valueOf(prom, 'telltale_collector_accepted_total', { route: 'batch', app: 'web' })).toBe(2);
    expect(valueOf(prom, 'telltale_collector_accepted_total', { route: 'logs', app: 'web' })).toBe(2);
    expect(
      valueOf(prom, 'telltale_collector_rejected_total', {
        route: 'batch',
        code: 'TELLTALE_ERR_INVALID_JSON',
        reason: 'invalid_json',
      }),
    ).toBe(1);
    expect(
      valueOf(prom, 'telltale_collector_rejected_total', {
        route: 'batch',
        code: 'TELLTALE_ERR_UNAUTHORIZED',
        reason: 'unknown_key',
      }),
    ).toBe(1);
    // Body bytes of the two accepted batch requests (the stored one and its duplicate).
    expect(
      valueOf(prom, 'telltale_collector_received_bytes_total', { route: 'batch', encoding: 'compressed' }),
    ).toBe(2 * body.length);
    expect(valueOf(prom, 'telltale_collector_idempotency_entries')).toBe(1);

    // The spools: one record each (the duplicate was not stored again), depth and bytes, cap use.
    for (const spool of ['client', 'server']) {
      expect(valueOf(prom, 'telltale_spool_records_total', { spool })).toBe(1);
      expect(valueOf(prom, 'telltale_spool_segments', { spool })).toBe(1);
      const bytes = valueOf(prom, 'telltale_spool_bytes', { spool });
      expect(bytes).toBeGreaterThan(100);
      expect(valueOf(prom, 'telltale_spool_max_bytes', { spool })).toBe(1024 ** 3);
      expect(valueOf(prom, 'telltale_spool_disk_cap_ratio', { spool })).toBeCloseTo(bytes / 1024 ** 3, 12);
      expect(valueOf(prom, 'telltale_spool_writable', { spool })).toBe(1);
      // fsync latency: cumulative buckets ending at +Inf = count = the fsyncs made.
      const buckets = samplesOf(prom, 'telltale_spool_fsync_seconds_bucket', { spool });
      expect(buckets.at(-1)?.labels.le).toBe('+Inf');
      const counts = buckets.map((b) => b.value);
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      const count = valueOf(prom, 'telltale_spool_fsync_seconds_count', { spool });
      expect(buckets.at(-1)?.value).toBe(count);
      expect(count).toBe(valueOf(prom, 'telltale_spool_fsyncs_total', { spool }));
      expect(valueOf(prom, 'telltale_spool_fsync_seconds_sum', { spool })).toBeGreaterThan(0);
    }
    expect(prom.types.get('telltale_spool_fsync_seconds')).toBe('histogram');
    expect(prom.types.get('telltale_collector_rejected_total')).toBe('counter');
    expect(prom.types.get('telltale_spool_bytes')).toBe('gauge');
    // Counters are counters and say so by name, so rate() over them is right.
    for (const [name, type] of prom.types) if (type === 'counter') expect(name).toMatch(/_total$/);

    // The snapshot API the routes' callers read says the same.
    const snapshot = metrics.snapshot();
    expect(snapshot.batchesStored).toBe(1);
    expect(snapshot.rejectedByReason['batch TELLTALE_ERR_UNAUTHORIZED unknown_key']).toBe(1);
    // The registry is prom-client's: another part of the process can add its metrics to the same page.
    expect(metrics.registry.getSingleMetric('telltale_collector_accepted_total')).toBeDefined();
  });

  it('shows the disk cap filling up and the refusals it causes, by reason', async () => {
    h = await startHarness({ storage: { spoolMaxBytes: CAP } });
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
    let refused = 0;
    for (let i = 0; i < 50 && refused < 2; i++)
      if ((await sendBatch(gzipSync(JSON.stringify(bulky())))).statusCode === 503) refused += 1;
    expect(refused).toBe(2);

    const prom = await scrape();
    const ratio = valueOf(prom, 'telltale_spool_disk_cap_ratio', { spool: 'client' });
    expect(ratio).toBeGreaterThan(0.7);
    expect(ratio).toBeLessThanOrEqual(1);
    expect(ratio).toBeCloseTo(h.spool.stats().bytes / CAP, 12);
    // The spool refused one append; once full, the route turns batches away before appending.
    expect(valueOf(prom, 'telltale_spool_refused_full_total', { spool: 'client' })).toBe(1);
    const byReason = samplesOf(prom, 'telltale_collector_rejected_total', { route: 'batch' });
    expect(byReason.map((s) => [s.labels.code, s.labels.reason, s.value])).toEqual([
      ['TELLTALE_ERR_SPOOL_FULL', 'disk_cap', 2],
    ]);
  });
});
