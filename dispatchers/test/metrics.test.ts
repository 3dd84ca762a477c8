import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BREAKER_STATE_VALUE,
  createDispatcherMetrics,
  createPipelineMonitor,
  resolveDispatcherConfig,
  startDispatchers,
  type Dispatchers,
  type ExportResult,
  type Sink,
} from '@telltale/dispatchers';
import { parsePrometheus, samplesOf, valueOf } from '../../test-support/prometheus.js';
import { envelope, errorEvent, payload, tempDir, waitFor } from './helpers.js';

/** A sink that is down (retryable, like a stopped ClickHouse) until `up` is set. */
function switchableSink(): Sink & { up: boolean; stored: string[] } {
  const sink = {
    name: 'flaky',
    up: false,
    stored: [] as string[],
    async export(events: Array<{ id: string }>): Promise<ExportResult> {
      if (!sink.up) return { status: 'retryable', reason: 'connection refused' };
      sink.stored.push(...events.map((e) => e.id));
      return { status: 'ok' };
    },
    async close() {},
  };
  return sink;
}

describe('dispatcher metrics and the pipeline monitor', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let duckdb: DuckDBInstance;
  let writer: SpoolWriter;
  let dispatchers: Dispatchers | undefined;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    duckdb = await DuckDBInstance.create(':memory:');
    writer = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client') });
  });
  afterEach(async () => {
    await dispatchers?.close();
    await writer.close();
    duckdb.closeSync();
    await cleanup();
  });

  it('shows lag, the open breaker, dead letters and recovery, read back from the Prometheus text', async () => {
    const sink = switchableSink();
    const d = await startDispatchers(resolveDispatcherConfig({ dataDir: dir, pollMs: 50 }, {}), {
      duckdb,
      spoolDir: writer.dir,
      notify: (listener) => writer.onAppend(listener),
      sinks: [sink],
    });
    dispatchers = d;
    let clock = Date.now();
    const monitor = createPipelineMonitor(() => d.stats(), {
      spools: { client: writer.dir },
      sampleMs: 50,
      now: () => clock,
    });
    const registry = createDispatcherMetrics(() => d.stats(), new Registry(), {
      spools: { client: writer.dir },
    });
    const scrape = async () => parsePrometheus(await registry.metrics());

    const receivedAt = Date.now() - 5_000;
    await writer.append(payload({ ...envelope('b-1', [errorEvent('e-1')]), receivedAt }));
    await writer.append(Buffer.from('{"v":1,"app":"shop", not json'));
    await writer.append(payload(envelope('b-2', [errorEvent('e-2'), errorEvent('e-3')])));
    await waitFor(
      'duckdb caught up',
      () => d.stats().consumers.find((c) => c.name === 'duckdb')?.records === 3,
    );
    await waitFor(
      'the flaky breaker opened',
      () => d.stats().sinks.find((s) => s.name === 'flaky')?.breaker.opened === 1,
    );

    let prom = await scrape();
    const flakyState = samplesOf(prom, 'telltale_dispatcher_breaker_state', { sink: 'flaky' });
    expect(flakyState).toHaveLength(1);
    expect(['open', 'half-open']).toContain(flakyState[0]!.labels.state);
    expect(flakyState[0]!.value).toBe(BREAKER_STATE_VALUE[flakyState[0]!.labels.state as 'open']);
    expect(valueOf(prom, 'telltale_dispatcher_breaker_state', { sink: 'duckdb', state: 'closed' })).toBe(0);
    expect(valueOf(prom, 'telltale_dispatcher_breaker_opened_total', { sink: 'flaky' })).toBe(1);
    expect(valueOf(prom, 'telltale_dispatcher_breaker_failures', { sink: 'flaky' })).toBeGreaterThanOrEqual(
      5,
    );

    // The flaky sink has handled nothing: all three records, every byte, and the oldest is ~5 s old.
    const flaky = { consumer: 'flaky', spool: 'client' };
    expect(valueOf(prom, 'telltale_dispatcher_consumer_lag_records', flaky)).toBe(3);
    expect(valueOf(prom, 'telltale_dispatcher_consumer_lag_bytes', flaky)).toBe(writer.stats().bytes);
    expect(valueOf(prom, 'telltale_dispatcher_consumer_lag_seconds', flaky)).toBeGreaterThanOrEqual(5);
    expect(valueOf(prom, 'telltale_dispatcher_consumer_records_total', flaky)).toBe(0);
    expect(valueOf(prom, 'telltale_dispatcher_consumer_retries_total', flaky)).toBeGreaterThanOrEqual(5);
    const duck = { consumer: 'duckdb', spool: 'client' };
    expect(valueOf(prom, 'telltale_dispatcher_consumer_lag_records', duck)).toBe(0);
    expect(valueOf(prom, 'telltale_dispatcher_consumer_lag_seconds', duck)).toBe(0);
    expect(valueOf(prom, 'telltale_dispatcher_consumer_records_total', duck)).toBe(3);
    expect(valueOf(prom, 'telltale_dispatcher_sink_items_total', { ...duck, kind: 'event' })).toBe(3);
    // The poison record is parked once per consumer that read it, by reason.
    const dead = samplesOf(prom, 'telltale_dispatcher_dead_letters_total', duck);
    expect(dead.map((s) => s.value)).toEqual([1]);
    expect(dead[0]!.labels.reason).toBe('invalid_json');
    expect(valueOf(prom, 'telltale_dispatcher_alerts_pending')).toBeGreaterThanOrEqual(0);
    expect(valueOf(prom, 'telltale_dispatcher_decode_pool_threads')).toBe(d.stats().decodePool.threads);

    // The monitor says since when the sink has been failing, and how far behind its consumer is.
    await waitFor('a sample saw it failing', async () => {
      clock += 10;
      return (await monitor.figures()).sinks.find((s) => s.name === 'flaky')?.failingSince !== null;
    });
    let figures = await monitor.figures();
    const failing = figures.sinks.find((s) => s.name === 'flaky')!;
    expect(failing.breaker).not.toBe('closed');
    expect(failing.failingSince).toBeLessThanOrEqual(clock);
    expect(figures.consumers.find((c) => c.name === 'flaky')).toMatchObject({
      lag: { records: 3, recordsExact: true },
      lastError: expect.stringMatching(/^flaky: (connection refused|circuit open)/),
    });
    expect(figures.sinks.find((s) => s.name === 'duckdb')?.failingSince).toBeNull();
    expect(JSON.parse(JSON.stringify(figures))).toEqual(figures); // plain JSON, as /api/health sends it

    sink.up = true;
    await waitFor('the flaky sink caught up', () => sink.stored.length === 3, 90_000);
    await waitFor(
      'its checkpoint moved',
      () => d.stats().consumers.find((c) => c.name === 'flaky')?.records === 3,
    );
    prom = await scrape();
    expect(valueOf(prom, 'telltale_dispatcher_breaker_state', { sink: 'flaky', state: 'closed' })).toBe(0);
    expect(samplesOf(prom, 'telltale_dispatcher_breaker_state', { sink: 'flaky' })).toHaveLength(1);
    expect(valueOf(prom, 'telltale_dispatcher_consumer_lag_records', flaky)).toBe(0);
    clock += 10;
    figures = await monitor.figures();
    expect(figures.sinks.find((s) => s.name === 'flaky')?.failingSince).toBeNull();
    monitor.close();
  }, 120_000);
});
