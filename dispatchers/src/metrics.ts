import { Counter, Gauge, Registry } from 'prom-client';
import type { DispatcherStats } from './dispatcher.js';
import {
  consumersBySpool,
  decodeQueue,
  LAG_COUNT_LIMIT,
  measureConsumerLags,
  type ConsumerLag,
  type SpoolDirs,
} from './pipeline-health.js';
import type { BreakerState } from './pipeline/index.js';

/**
 * The dispatchers' figures for /metrics (prom-client, computed from `stats()` at scrape time) and for
 * the dashboards' /health page (`createPipelineMonitor`): one computation, two displays.
 */

// What other packages use of the pipeline's health (the package index re-exports this module).
export {
  createPipelineMonitor,
  measureLag,
  HEALTH_SAMPLE_MS,
  CONSUMER_QUIET_MS,
  LAG_COUNT_LIMIT,
  type PipelineMonitor,
  type PipelineFigures,
  type ConsumerFigures,
  type SinkFigures,
  type ConsumerLag,
  type SpoolDirs,
} from './pipeline-health.js';

export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = Object.freeze({
  closed: 0,
  open: 1,
  'half-open': 2,
});

export interface DispatcherMetricsOptions {
  /** Spool folders, for the lag gauges (records, bytes, seconds behind). */
  spools?: SpoolDirs;
  now?: () => number;
}

type Labels<T extends string> = Partial<Record<T, string | number>>;

/**
 * Registers the dispatchers' metrics on `registry` (a new one when omitted) and returns it. Every
 * value is read from `stats()` when scraped, so the figures are never out of step with the pipeline.
 */
export function createDispatcherMetrics(
  stats: () => DispatcherStats,
  registry: Registry = new Registry(),
  options: DispatcherMetricsOptions = {},
): Registry {
  const registers = [registry];
  // One stats() call per scrape, shared by every metric's collect.
  let cached: { at: number; value: DispatcherStats } | undefined;
  const current = (): DispatcherStats => {
    const t = Date.now();
    if (cached === undefined || t - cached.at > 250) cached = { at: t, value: stats() };
    return cached.value;
  };
  const gauge = <T extends string>(
    name: string,
    help: string,
    labelNames: readonly T[],
    fill: (set: (labels: Labels<T>, value: number) => void, s: DispatcherStats) => void | Promise<void>,
  ): void => {
    new Gauge<T>({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset();
        await fill((labels, value) => this.set(labels, value), current());
      },
    });
  };
  // Counters read from stats() are totals since start: reset, then set to the total, at each scrape.
  const counter = <T extends string>(
    name: string,
    help: string,
    labelNames: readonly T[],
    fill: (set: (labels: Labels<T>, value: number) => void, s: DispatcherStats) => void,
  ): void => {
    new Counter<T>({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        fill((labels, value) => this.inc(labels, value), current());
      },
    });
  };

  const consumerLabels = ['consumer', 'spool'] as const;
  counter(
    'telltale_dispatcher_consumer_records_total',
    'Records handled and committed since start.',
    consumerLabels,
    (set, s) => {
      for (const { spool, report } of consumersBySpool(s))
        set({ consumer: report.name, spool }, report.records);
    },
  );
  counter(
    'telltale_dispatcher_consumer_retries_total',
    'Handler answers other than done (each costs a backoff), since start.',
    consumerLabels,
    (set, s) => {
      for (const { spool, report } of consumersBySpool(s))
        set({ consumer: report.name, spool }, report.retries);
    },
  );
  counter(
    'telltale_dispatcher_consumer_source_errors_total',
    'Failed spool reads or checkpoint commits since start.',
    consumerLabels,
    (set, s) => {
      for (const { spool, report } of consumersBySpool(s))
        set({ consumer: report.name, spool }, report.sourceErrors);
    },
  );
  gauge(
    'telltale_dispatcher_consumer_running',
    '1 while the consumer loop runs.',
    consumerLabels,
    (set, s) => {
      for (const { spool, report } of consumersBySpool(s))
        set({ consumer: report.name, spool }, report.running ? 1 : 0);
    },
  );
  counter(
    'telltale_dispatcher_sink_items_total',
    'Client events and server log lines the sink accepted since start, by kind.',
    ['consumer', 'spool', 'kind'],
    (set, s) => {
      for (const { spool, report } of consumersBySpool(s)) {
        if (report.events !== undefined) set({ consumer: report.name, spool, kind: 'event' }, report.events);
        if (report.logs !== undefined) set({ consumer: report.name, spool, kind: 'log' }, report.logs);
      }
    },
  );
  counter(
    'telltale_dispatcher_dead_letters_total',
    'Records parked in dead-letter/<consumer>/ since start, by reason.',
    ['consumer', 'spool', 'reason'],
    (set, s) => {
      for (const { spool, report } of consumersBySpool(s))
        for (const [reason, n] of Object.entries(report.deadLettered))
          set({ consumer: report.name, spool, reason }, n);
    },
  );

  // Kafka mode: one series per consumer group this process is a member of.
  const kafkaMembers = (s: DispatcherStats) =>
    (s.kafka?.consumers ?? []).flatMap((c) => (c.source ? [{ group: c.groupId, source: c.source }] : []));
  counter(
    'telltale_kafka_consumer_restarts_total',
    'Kafka consumers replaced after a crash kafkajs does not restart (a non-retriable error), since start.',
    ['group'],
    (set, s) => {
      for (const { group, source } of kafkaMembers(s)) set({ group }, source.restarts);
    },
  );
  gauge(
    'telltale_kafka_consumer_connected',
    '1 while the member is in its consumer group (0 after a crash, until it joined again).',
    ['group'],
    (set, s) => {
      for (const { group, source } of kafkaMembers(s)) set({ group }, source.connected ? 1 : 0);
    },
  );
  gauge(
    'telltale_kafka_consumer_lag_records',
    "Records in the member's partitions after the group's committed offsets (high watermark of the last fetch).",
    ['group'],
    (set, s) => {
      for (const { group, source } of kafkaMembers(s)) set({ group }, source.lag);
    },
  );

  if (options.spools !== undefined) {
    const spools = options.spools;
    const now = options.now ?? Date.now;
    // The three lag gauges share one measurement per scrape.
    let lags: { at: number; value: Promise<Map<string, ConsumerLag>> } | undefined;
    const lagOf = (s: DispatcherStats): Promise<Map<string, ConsumerLag>> => {
      const t = Date.now();
      if (lags === undefined || t - lags.at > 250)
        lags = { at: t, value: measureConsumerLags(s, spools, now) };
      return lags.value;
    };
    const lagGauge = (name: string, help: string, pick: (lag: ConsumerLag) => number): void =>
      gauge(name, help, consumerLabels, async (set, s) => {
        const measured = await lagOf(s);
        for (const { spool, report } of consumersBySpool(s)) {
          const lag = measured.get(report.name);
          if (lag !== undefined) set({ consumer: report.name, spool }, pick(lag));
        }
      });
    lagGauge(
      'telltale_dispatcher_consumer_lag_records',
      `Records in the spool after the consumer's position (counted up to ${LAG_COUNT_LIMIT}, estimated beyond).`,
      (lag) => lag.records,
    );
    lagGauge(
      'telltale_dispatcher_consumer_lag_bytes',
      "Spool bytes after the consumer's position.",
      (lag) => lag.bytes,
    );
    lagGauge(
      'telltale_dispatcher_consumer_lag_seconds',
      'Age of the oldest record the consumer has not handled yet; 0 when caught up.',
      (lag) => lag.seconds,
    );
  }

  gauge(
    'telltale_dispatcher_breaker_state',
    'Circuit breaker per sink: 0 closed, 1 open, 2 half-open (the state label says the same).',
    ['sink', 'state'],
    (set, s) => {
      for (const sink of s.sinks)
        set({ sink: sink.name, state: sink.breaker.state }, BREAKER_STATE_VALUE[sink.breaker.state]);
    },
  );
  gauge('telltale_dispatcher_breaker_failures', 'Failed exports in a row, per sink.', ['sink'], (set, s) => {
    for (const sink of s.sinks) set({ sink: sink.name }, sink.breaker.failures);
  });
  counter(
    'telltale_dispatcher_breaker_opened_total',
    'Times the breaker opened since start.',
    ['sink'],
    (set, s) => {
      for (const sink of s.sinks) set({ sink: sink.name }, sink.breaker.opened);
    },
  );
  counter(
    'telltale_dispatcher_breaker_short_circuited_total',
    'Exports answered "retry later" without calling the sink, since start.',
    ['sink'],
    (set, s) => {
      for (const sink of s.sinks) set({ sink: sink.name }, sink.breaker.shortCircuited);
    },
  );

  gauge(
    'telltale_dispatcher_alerts_pending',
    'Alerts decided but not yet confirmed sent (the send backlog).',
    [],
    (set, s) => set({}, s.alerts.pending),
  );
  counter(
    'telltale_dispatcher_alerts_sent_total',
    'Alert emails sent (or written to the outbox) since start.',
    [],
    (set, s) => set({}, s.alerts.sent),
  );
  counter(
    'telltale_dispatcher_alerts_send_failures_total',
    'Failed alert send attempts since start.',
    [],
    (set, s) => set({}, s.alerts.failures),
  );
  counter(
    'telltale_dispatcher_alerts_held_total',
    'Alerts muted by a rule or deferred to a digest since start, by reason.',
    ['reason'],
    (set, s) => {
      set({ reason: 'muted' }, s.alerts.muted);
      set({ reason: 'deferred' }, s.alerts.deferred);
    },
  );

  gauge(
    'telltale_dispatcher_decode_pool_threads',
    'Decode worker threads (0: decoding on the main thread).',
    [],
    (set, s) => set({}, s.decodePool.threads),
  );
  gauge(
    'telltale_dispatcher_decode_pool_queue',
    'Decode tasks waiting for a worker thread (absent until the pool reports it).',
    [],
    (set, s) => {
      const queued = decodeQueue(s);
      if (queued !== null) set({}, queued);
    },
  );
  counter(
    'telltale_dispatcher_decode_pool_records_total',
    'Records decoded by a worker thread since start.',
    [],
    (set, s) => set({}, s.decodePool.records),
  );
  counter(
    'telltale_dispatcher_decode_pool_inline_fallbacks_total',
    'Chunks decoded on the main thread after a worker failed them, since start.',
    [],
    (set, s) => set({}, s.decodePool.inlineFallbacks),
  );
  return registry;
}
