import { DuckDBInstance } from '@duckdb/node-api';
import Fastify, { type FastifyInstance } from 'fastify';
import { FSYNC_BUCKETS_SECONDS } from '@telltale/spool';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureDuckDbSchema } from '@telltale/dispatchers';
import {
  createDuckDbStore,
  dashboardsPlugin,
  HEALTH_BANNER_AFTER_MS,
  type PipelineHealth,
} from '../src/index.js';
import type { DashboardStore } from '../src/store.js';

const NOW = Date.UTC(2026, 11, 2, 6, 0, 0);

/** Figures as the dispatchers' monitor reports them: a healthy duckdb, an alerts consumer, one more sink. */
function figures(change: (h: PipelineHealth) => void = () => {}): PipelineHealth {
  const consumer = (name: string) => ({
    name,
    spool: 'client',
    running: true,
    records: 10,
    retries: 0,
    sourceErrors: 0,
    lastError: null,
    deadLettered: {},
    lag: { records: 0, recordsExact: true, bytes: 0, seconds: 0 },
    failingSince: null,
  });
  const sink = (name: string) => ({
    name,
    breaker: 'closed' as const,
    failures: 0,
    opened: 0,
    shortCircuited: 0,
    failingSince: null,
  });
  const health: PipelineHealth = {
    at: NOW,
    consumers: [
      consumer('duckdb'),
      consumer('clickhouse'),
      consumer('clickhouse.server'),
      consumer('alerts'),
    ],
    sinks: [sink('duckdb'), sink('clickhouse')],
    alerts: { pending: 3, sent: 7, failures: 1, lastError: 'smtp: 421 try later' },
    decodePool: { threads: 2, records: 100, inlineFallbacks: 0, queued: null },
  };
  change(health);
  return health;
}

describe('the red banner and the health figures', () => {
  let app: FastifyInstance;
  let store: DashboardStore;
  let instance: DuckDBInstance;
  afterEach(async () => {
    await app.close();
    await store.close();
    instance.closeSync();
  });

  async function start(health: () => PipelineHealth): Promise<FastifyInstance> {
    instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    await ensureDuckDbSchema(db);
    db.closeSync();
    store = await createDuckDbStore(instance);
    app = Fastify();
    await app.register(dashboardsPlugin, { store, listAlerts: async () => [], health });
    return app;
  }
  const banner = async (url: string): Promise<string | undefined> =>
    /<div class="banner-failing" role="alert">(.*?)<\/div>/s.exec((await app.inject(url)).body)?.[1];

  it('names a sink failing for longer than HEALTH_BANNER_AFTER_MS once (not its consumers again), on every page', async () => {
    let health = figures();
    await start(() => health);
    for (const url of ['/', '/features', '/events', '/alerts', '/health'])
      expect(await banner(url)).toBeUndefined();

    // Failing, but for less than the threshold: no banner yet.
    health = figures((h) => {
      h.sinks[1] = {
        ...h.sinks[1]!,
        breaker: 'open',
        failures: 9,
        failingSince: NOW - HEALTH_BANNER_AFTER_MS + 1,
      };
    });
    expect(await banner('/')).toBeUndefined();

    health = figures((h) => {
      h.sinks[1] = { ...h.sinks[1]!, breaker: 'open', failures: 9, failingSince: NOW - 5 * 60_000 };
      h.consumers[1]!.failingSince = NOW - 5 * 60_000;
      h.consumers[2]!.failingSince = NOW - 4 * 60_000;
    });
    for (const url of ['/', '/features', '/asserts', '/blocked', '/events', '/logs', '/alerts', '/health']) {
      const text = await banner(url);
      expect(text, url).toContain(
        'Sink <b>clickhouse</b> failing for 5 min: breaker open after 9 failed exports in a row.',
      );
      expect(text).not.toContain('Consumer');
    }
    const page = await app.inject('/');
    expect(page.body).not.toMatch(
      /<script(?! src="\/assets\/(?:live\.js" defer(?:="")?|theme\.js")><\/script>)|<style|\sstyle=|\son[a-z]+=/i,
    );
  });

  it('names a failing consumer that has no sink (the alerter), and escapes its error', async () => {
    await start(() =>
      figures((h) => {
        h.consumers[3] = { ...h.consumers[3]!, failingSince: NOW - 10 * 60_000, lastError: '<img src=x>' };
      }),
    );
    const text = await banner('/events');
    expect(text).toContain('Consumer <b>alerts</b> failing for 10 min: &lt;img src=x&gt;.');
    expect(text).toContain('<a href="/health">Pipeline health</a>');
  });

  it('shows spools with disk-cap use and fsync quantiles, refusals by reason, and the alert backlog', async () => {
    // 100 fsyncs: 60 within 1 ms, 99 within 10 ms, one slower than the last bucket.
    const counts = FSYNC_BUCKETS_SECONDS.map((bound) => (bound < 0.001 ? 0 : bound < 0.01 ? 60 : 99));
    await start(() =>
      figures((h) => {
        h.spools = {
          client: {
            segments: 3,
            bytes: 512 * 1024 * 1024,
            records: 100,
            fsyncs: 100,
            truncatedBytes: 0,
            maxTotalBytes: 1024 ** 3,
            refusedFull: 0,
            writable: true,
            fsyncLatency: { bounds: FSYNC_BUCKETS_SECONDS, counts, sum: 5, count: 100 },
          },
        };
        h.rejected = { 'batch TELLTALE_ERR_SPOOL_FULL disk_cap': 4 };
      }),
    );
    const body = (await app.inject('/health')).body;
    expect(body).toMatch(
      /<tr data-spool="client"><td><code>client<\/code><\/td><td class="num">3<\/td><td class="num">512 MiB<\/td><td class="num">1.0 GiB<\/td><td class="num">50.0 %<\/td>/,
    );
    expect(body).toMatch(/<td class="num">≤ 1 ms<\/td><td class="num">≤ 10 ms<\/td><\/tr>/);
    expect(body).toMatch(
      /<td><code>TELLTALE_ERR_SPOOL_FULL<\/code><\/td><td>disk_cap<\/td><td class="num">4<\/td>/,
    );
    expect(body).toContain('<dd data-figure="alerts-pending">3</dd>');
    expect(body).toContain('smtp: 421 try later');
    // No replay function given: no replay buttons, and the route is not there.
    expect(body).not.toContain('/replay');
    expect((await app.inject({ method: 'POST', url: '/health/dead-letters/duckdb/replay' })).statusCode).toBe(
      404,
    );
  });
});
