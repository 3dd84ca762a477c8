import { Counter, Gauge, Histogram, Registry, type MetricType } from 'prom-client';
import type { ErrorCode } from '@telltale/protocol';
import type { LatencyHistogram, SpoolWriterStats } from '@telltale/spool';

/** The ingest routes, as metric labels. */
export type IngestRoute = 'batch' | 'logs' | 'attachments' | 'sentry' | 'sourcemaps';

export interface CollectorMetricsSnapshot {
  /** Batches stored in the spool (202, duplicate: false). */
  batchesStored: number;
  /** Events in those batches. */
  eventsStored: number;
  /** Batches answered 202 duplicate: true and not stored again. */
  batchesDuplicate: number;
  /** Requests refused, by error code. */
  rejected: Partial<Record<ErrorCode, number>>;
  /** Requests refused, by `route code reason` (space-separated), the finer view. */
  rejectedByReason: Record<string, number>;
  /** Accepted items by `route app` (events, log lines, attachments). */
  acceptedByApp: Record<string, number>;
  /** Request body bytes by `route encoding` where encoding is `compressed` (as sent) or `decompressed`. */
  bytes: Record<string, number>;
  /** Event and log times the collector corrected, by reason (clock_drift, future, past). */
  timestampsFixed: Record<string, number>;
  /** Connections closed at accept because a client address had too many open. */
  connectionsRefused: number;
  /** Requests the HTTP layer refused before any route ran, by reason (`timeout`, `header_overflow`, `bad_request`). */
  clientErrors: Record<string, number>;
  /** Items of Sentry envelopes received, by `app type` (event, log, session, transaction, …). */
  sentryItems: Record<string, number>;
}

/** What /metrics shows besides the counters, read when scraped. */
export interface CollectorGauges {
  /** Each spool by name (`client`, `server`). */
  spools: Record<string, SpoolWriterStats>;
  idempotencyEntries: number;
  attachments?: { bytes: number; files: number; maxBytes: number };
  openConnections?: number;
}

export interface CollectorMetrics {
  stored(events: number): void;
  duplicate(): void;
  accepted(route: IngestRoute, app: string, items: number): void;
  rejected(route: IngestRoute | 'other', code: ErrorCode, reason: string): void;
  bytes(route: IngestRoute, compressed: number, decompressed: number): void;
  timestampsFixed(reason: string, count: number): void;
  connectionRefused(): void;
  clientError(reason: string): void;
  sentryItems(app: string, type: string, count: number): void;
  snapshot(): CollectorMetricsSnapshot;
  /**
   * The prom-client registry /metrics renders. Other parts of the process may register on it too
   * (the one-process server adds the dispatchers' metrics: `createDispatcherMetrics(stats, registry)`).
   */
  readonly registry: Registry;
  /** Where the scrape-time gauges (spools, idempotency, attachments, connections) come from; the last call wins. */
  readGauges(read: () => CollectorGauges): void;
}

const bump = (record: Record<string, number>, key: string, by = 1): void => {
  record[key] = (record[key] ?? 0) + by;
};

/** A histogram the spool already aggregated (cumulative bucket counts): shown as it is, never observed here. */
class SnapshotHistogram extends Histogram<'spool' | 'le'> {
  constructor(
    private readonly config: { name: string; help: string; registers: Registry[] },
    private readonly series: () => Array<[spool: string, histogram: LatencyHistogram]>,
  ) {
    super({ ...config, labelNames: ['spool'] });
    // The registry renders histograms through this (untyped) method rather than get().
    Object.assign(this, { getForPromString: () => this.get() });
  }

  override async get(): ReturnType<Histogram<'spool' | 'le'>['get']> {
    const { name, help } = this.config;
    const values: Awaited<ReturnType<Histogram<'spool' | 'le'>['get']>>['values'] = [];
    for (const [spool, h] of this.series()) {
      h.bounds.forEach((le, i) =>
        values.push({ metricName: `${name}_bucket`, labels: { spool, le }, value: h.counts[i] ?? 0 }),
      );
      values.push(
        { metricName: `${name}_bucket`, labels: { spool, le: '+Inf' }, value: h.count },
        { metricName: `${name}_sum`, labels: { spool }, value: h.sum },
        { metricName: `${name}_count`, labels: { spool }, value: h.count },
      );
    }
    // The text format reads the type as a string; the typings declare an enum nobody exports at runtime.
    return {
      name,
      help,
      type: 'histogram' as unknown as MetricType,
      aggregator: 'sum',
      collect: () => undefined,
      values,
    };
  }
}

/**
 * The collector's counters as prom-client metrics on `registry` (a new one when omitted). The
 * snapshot keeps the same counts as plain numbers for callers and tests; /metrics renders the registry.
 */
export function createCollectorMetrics(registry: Registry = new Registry()): CollectorMetrics {
  const counts: CollectorMetricsSnapshot = {
    batchesStored: 0,
    eventsStored: 0,
    batchesDuplicate: 0,
    rejected: {},
    rejectedByReason: {},
    acceptedByApp: {},
    bytes: {},
    timestampsFixed: {},
    connectionsRefused: 0,
    clientErrors: {},
    sentryItems: {},
  };
  const registers = [registry];
  const counter = <T extends string>(name: string, help: string, labelNames: readonly T[] = []) =>
    new Counter<T>({ name, help, labelNames, registers });

  const batches = counter('telltale_collector_batches_total', 'Batches answered 202, by outcome.', [
    'outcome',
  ]);
  // Both outcomes from the start: a rate over a series that appears later misses its first increase.
  batches.inc({ outcome: 'stored' }, 0);
  batches.inc({ outcome: 'duplicate' }, 0);
  const eventsStored = counter(
    'telltale_collector_events_stored_total',
    'Events in batches stored in the spool.',
  );
  const accepted = counter(
    'telltale_collector_accepted_total',
    'Items accepted (events, server log lines, attachments), by route and app.',
    ['route', 'app'],
  );
  const rejected = counter(
    'telltale_collector_rejected_total',
    'Requests refused, by route, error code and reason.',
    ['route', 'code', 'reason'],
  );
  const bytes = counter(
    'telltale_collector_received_bytes_total',
    'Request body bytes of accepted requests, as sent (compressed) and inflated (decompressed).',
    ['route', 'encoding'],
  );
  const timestamps = counter(
    'telltale_collector_timestamps_fixed_total',
    'Event and log times set to the receive time or shifted for clock drift, by reason.',
    ['reason'],
  );
  const refused = counter(
    'telltale_collector_connections_refused_total',
    'Connections closed at accept: too many open from one address.',
  );
  const clientErrors = counter(
    'telltale_collector_client_errors_total',
    'Requests refused by the HTTP layer (slow or malformed clients), by reason.',
    ['reason'],
  );
  const sentry = counter(
    'telltale_collector_sentry_items_total',
    'Items of Sentry envelopes received, by app and item type (only event and log items are stored).',
    ['app', 'type'],
  );

  let read: (() => CollectorGauges) | undefined;
  registerGauges(registry, () => read?.());

  return {
    stored(events) {
      counts.batchesStored += 1;
      counts.eventsStored += events;
      batches.inc({ outcome: 'stored' });
      eventsStored.inc(events);
    },
    duplicate() {
      counts.batchesDuplicate += 1;
      batches.inc({ outcome: 'duplicate' });
    },
    accepted(route, app, items) {
      bump(counts.acceptedByApp, `${route} ${app}`, items);
      accepted.inc({ route, app }, items);
    },
    rejected(route, code, reason) {
      counts.rejected[code] = (counts.rejected[code] ?? 0) + 1;
      bump(counts.rejectedByReason, `${route} ${code} ${reason}`);
      rejected.inc({ route, code, reason });
    },
    bytes(route, compressed, decompressed) {
      bump(counts.bytes, `${route} compressed`, compressed);
      bump(counts.bytes, `${route} decompressed`, decompressed);
      bytes.inc({ route, encoding: 'compressed' }, compressed);
      bytes.inc({ route, encoding: 'decompressed' }, decompressed);
    },
    timestampsFixed(reason, count) {
      bump(counts.timestampsFixed, reason, count);
      timestamps.inc({ reason }, count);
    },
    connectionRefused() {
      counts.connectionsRefused += 1;
      refused.inc();
    },
    clientError(reason) {
      bump(counts.clientErrors, reason);
      clientErrors.inc({ reason });
    },
    sentryItems(app, type, count) {
      bump(counts.sentryItems, `${app} ${type}`, count);
      sentry.inc({ app, type }, count);
    },
    snapshot: () => structuredClone(counts),
    registry,
    readGauges(source) {
      read = source;
    },
  };
}

type Fill = (set: (labels: Record<string, string>, value: number) => void, gauges: CollectorGauges) => void;

/** Gauges and spool totals read at scrape time; a metric whose figure is unknown shows no sample. */
function registerGauges(registry: Registry, read: () => CollectorGauges | undefined): void {
  const registers = [registry];
  // One read per scrape for all the metrics below (registry.metrics() collects them concurrently).
  let last: { at: number; value: CollectorGauges | undefined } | undefined;
  const current = (): CollectorGauges | undefined => {
    const now = Date.now();
    if (last === undefined || now - last.at > 100) last = { at: now, value: read() };
    return last.value;
  };
  const define = (
    kind: 'gauge' | 'counter',
    name: string,
    help: string,
    labelNames: string[],
    fill: Fill,
  ) => {
    const Kind = kind === 'gauge' ? Gauge : Counter;
    const metric = new Kind({ name, help, labelNames, registers });
    const get = metric.get.bind(metric);
    // Totals kept elsewhere (the spool writer): replaced at each scrape, never incremented here.
    metric.get = async () => {
      const base = await get();
      const values: typeof base.values = [];
      const gauges = current();
      if (gauges !== undefined) fill((labels, value) => values.push({ labels, value }), gauges);
      return { ...base, values };
    };
  };
  const perSpool =
    (pick: (s: SpoolWriterStats) => number | undefined): Fill =>
    (set, g) => {
      for (const [spool, stats] of Object.entries(g.spools)) {
        const value = pick(stats);
        if (value !== undefined) set({ spool }, value);
      }
    };

  define('gauge', 'telltale_collector_open_connections', 'Open client connections.', [], (set, g) => {
    if (g.openConnections !== undefined) set({}, g.openConnections);
  });
  define(
    'gauge',
    'telltale_collector_idempotency_entries',
    'Batch ids remembered for duplicate detection.',
    [],
    (set, g) => set({}, g.idempotencyEntries),
  );
  const spool = (
    kind: 'gauge' | 'counter',
    name: string,
    help: string,
    pick: (s: SpoolWriterStats) => number | undefined,
  ) => define(kind, name, help, ['spool'], perSpool(pick));
  spool('gauge', 'telltale_spool_segments', 'Segment files in the spool (its depth).', (s) => s.segments);
  spool('gauge', 'telltale_spool_bytes', 'Bytes in the spool, not yet deleted by consumers.', (s) => s.bytes);
  spool(
    'gauge',
    'telltale_spool_max_bytes',
    'Disk cap of the spool; appends past it are refused with 503.',
    (s) => s.maxTotalBytes ?? 0,
  );
  spool(
    'gauge',
    'telltale_spool_disk_cap_ratio',
    'Share of the disk cap in use (spool bytes / cap); no sample without a cap. Refusals start at 1.',
    (s) => (s.maxTotalBytes === null || s.maxTotalBytes <= 0 ? undefined : s.bytes / s.maxTotalBytes),
  );
  spool('gauge', 'telltale_spool_writable', '1 when the last spool write succeeded.', (s) =>
    s.writable ? 1 : 0,
  );
  spool('counter', 'telltale_spool_records_total', 'Records appended since start.', (s) => s.records);
  spool(
    'counter',
    'telltale_spool_fsyncs_total',
    'fdatasync calls since start (group commit).',
    (s) => s.fsyncs,
  );
  spool(
    'counter',
    'telltale_spool_refused_full_total',
    'Appends refused at the disk cap since start.',
    (s) => s.refusedFull,
  );
  spool(
    'gauge',
    'telltale_spool_truncated_bytes',
    'Bytes of torn tail cut from the newest segment when the spool was opened.',
    (s) => s.truncatedBytes,
  );
  new SnapshotHistogram(
    {
      name: 'telltale_spool_fsync_seconds',
      help: 'fdatasync latency of spool append groups.',
      registers,
    },
    () => Object.entries(current()?.spools ?? {}).map(([name, stats]) => [name, stats.fsyncLatency]),
  );
  const attachments = (
    name: string,
    help: string,
    pick: (a: NonNullable<CollectorGauges['attachments']>) => number,
  ) =>
    define('gauge', name, help, [], (set, g) => {
      if (g.attachments !== undefined) set({}, pick(g.attachments));
    });
  attachments('telltale_attachments_bytes', 'Bytes in the attachment store.', (a) => a.bytes);
  attachments('telltale_attachments_files', 'Attachments in the store.', (a) => a.files);
  attachments('telltale_attachments_max_bytes', 'Disk cap of the attachment store.', (a) => a.maxBytes);
}

/** Prometheus text exposition (format 0.0.4) of the registry, without the blank lines between metrics. */
export async function renderMetrics(registry: Registry): Promise<string> {
  // Metrics with no sample (an unknown figure) would print HELP/TYPE only; the blank lines carry nothing.
  return (await registry.metrics()).replace(/\n{2,}/g, '\n');
}
