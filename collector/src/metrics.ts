import type { ErrorCode } from '@telltale/protocol';
import type { LatencyHistogram, SpoolWriterStats } from '@telltale/spool';

/** The ingest routes, as metric labels. */
export type IngestRoute = 'batch' | 'logs' | 'attachments' | 'sentry';

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
}

const bump = (record: Record<string, number>, key: string, by = 1): void => {
  record[key] = (record[key] ?? 0) + by;
};

/** In-memory counters; pass one to collectorRoutes to read them from outside (`snapshot()`). */
export function createCollectorMetrics(): CollectorMetrics {
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
  return {
    stored(events) {
      counts.batchesStored += 1;
      counts.eventsStored += events;
    },
    duplicate() {
      counts.batchesDuplicate += 1;
    },
    accepted(route, app, items) {
      bump(counts.acceptedByApp, `${route} ${app}`, items);
    },
    rejected(route, code, reason) {
      counts.rejected[code] = (counts.rejected[code] ?? 0) + 1;
      bump(counts.rejectedByReason, `${route} ${code} ${reason}`);
    },
    bytes(route, compressed, decompressed) {
      bump(counts.bytes, `${route} compressed`, compressed);
      bump(counts.bytes, `${route} decompressed`, decompressed);
    },
    timestampsFixed(reason, count) {
      bump(counts.timestampsFixed, reason, count);
    },
    connectionRefused() {
      counts.connectionsRefused += 1;
    },
    clientError(reason) {
      bump(counts.clientErrors, reason);
    },
    sentryItems(app, type, count) {
      bump(counts.sentryItems, `${app} ${type}`, count);
    },
    snapshot: () => structuredClone(counts),
  };
}

/** What /metrics shows besides the counters. */
export interface CollectorGauges {
  /** Each spool by name (`client`, `server`). */
  spools: Record<string, SpoolWriterStats>;
  idempotencyEntries: number;
  attachments?: { bytes: number; files: number; maxBytes: number };
  openConnections?: number;
}

type Sample = [labels: Record<string, string>, value: number];

const renderLabels = (labels: Record<string, string>): string => {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
};

/** Prometheus text exposition (format 0.0.4) of the collector's counters, its spools and store. */
export function renderPrometheus(metrics: CollectorMetricsSnapshot, gauges: CollectorGauges): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: Sample[]): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${renderLabels(labels)} ${value}`);
  };
  const histogram = (
    name: string,
    help: string,
    series: Array<[Record<string, string>, LatencyHistogram]>,
  ) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    for (const [labels, h] of series) {
      h.bounds.forEach((bound, i) =>
        lines.push(`${name}_bucket${renderLabels({ ...labels, le: String(bound) })} ${h.counts[i] ?? 0}`),
      );
      lines.push(`${name}_bucket${renderLabels({ ...labels, le: '+Inf' })} ${h.count}`);
      lines.push(
        `${name}_sum${renderLabels(labels)} ${h.sum}`,
        `${name}_count${renderLabels(labels)} ${h.count}`,
      );
    }
  };
  const split = (record: Record<string, number>, names: string[]): Sample[] =>
    Object.entries(record).map(([key, value]) => {
      const parts = key.split(' ');
      return [Object.fromEntries(names.map((n, i) => [n, parts[i] ?? ''])), value];
    });

  metric('telltale_collector_batches_total', 'counter', 'Batches answered 202, by outcome.', [
    [{ outcome: 'stored' }, metrics.batchesStored],
    [{ outcome: 'duplicate' }, metrics.batchesDuplicate],
  ]);
  metric('telltale_collector_events_stored_total', 'counter', 'Events in batches stored in the spool.', [
    [{}, metrics.eventsStored],
  ]);
  metric(
    'telltale_collector_accepted_total',
    'counter',
    'Items accepted (events, server log lines, attachments), by route and app.',
    split(metrics.acceptedByApp, ['route', 'app']),
  );
  metric(
    'telltale_collector_rejected_total',
    'counter',
    'Requests refused, by route, error code and reason.',
    split(metrics.rejectedByReason, ['route', 'code', 'reason']),
  );
  metric(
    'telltale_collector_received_bytes_total',
    'counter',
    'Request body bytes of accepted requests, as sent (compressed) and inflated (decompressed).',
    split(metrics.bytes, ['route', 'encoding']),
  );
  metric(
    'telltale_collector_timestamps_fixed_total',
    'counter',
    'Event and log times set to the receive time or shifted for clock drift, by reason.',
    split(metrics.timestampsFixed, ['reason']),
  );
  metric(
    'telltale_collector_connections_refused_total',
    'counter',
    'Connections closed at accept: too many open from one address.',
    [[{}, metrics.connectionsRefused]],
  );
  metric(
    'telltale_collector_client_errors_total',
    'counter',
    'Requests refused by the HTTP layer (slow or malformed clients), by reason.',
    split(metrics.clientErrors, ['reason']),
  );
  metric(
    'telltale_collector_sentry_items_total',
    'counter',
    'Items of Sentry envelopes received, by app and item type (only event and log items are stored).',
    split(metrics.sentryItems, ['app', 'type']),
  );
  if (gauges.openConnections !== undefined)
    metric('telltale_collector_open_connections', 'gauge', 'Open client connections.', [
      [{}, gauges.openConnections],
    ]);
  metric('telltale_collector_idempotency_entries', 'gauge', 'Batch ids remembered for duplicate detection.', [
    [{}, gauges.idempotencyEntries],
  ]);

  const spools = Object.entries(gauges.spools);
  const perSpool = (pick: (s: SpoolWriterStats) => number): Sample[] =>
    spools.map(([spool, stats]) => [{ spool }, pick(stats)]);
  metric(
    'telltale_spool_segments',
    'gauge',
    'Segment files in the spool (its depth).',
    perSpool((s) => s.segments),
  );
  metric(
    'telltale_spool_bytes',
    'gauge',
    'Bytes in the spool, not yet deleted by consumers.',
    perSpool((s) => s.bytes),
  );
  metric(
    'telltale_spool_max_bytes',
    'gauge',
    'Disk cap of the spool; appends past it are refused with 503.',
    perSpool((s) => s.maxTotalBytes ?? 0),
  );
  metric(
    'telltale_spool_writable',
    'gauge',
    '1 when the last spool write succeeded.',
    perSpool((s) => (s.writable ? 1 : 0)),
  );
  metric(
    'telltale_spool_records_total',
    'counter',
    'Records appended since start.',
    perSpool((s) => s.records),
  );
  metric(
    'telltale_spool_fsyncs_total',
    'counter',
    'fdatasync calls since start (group commit).',
    perSpool((s) => s.fsyncs),
  );
  metric(
    'telltale_spool_refused_full_total',
    'counter',
    'Appends refused at the disk cap since start.',
    perSpool((s) => s.refusedFull),
  );
  histogram(
    'telltale_spool_fsync_seconds',
    'fdatasync latency of spool append groups.',
    spools.map(([spool, stats]) => [{ spool }, stats.fsyncLatency]),
  );
  if (gauges.attachments) {
    metric('telltale_attachments_bytes', 'gauge', 'Bytes in the attachment store.', [
      [{}, gauges.attachments.bytes],
    ]);
    metric('telltale_attachments_files', 'gauge', 'Attachments in the store.', [
      [{}, gauges.attachments.files],
    ]);
    metric('telltale_attachments_max_bytes', 'gauge', 'Disk cap of the attachment store.', [
      [{}, gauges.attachments.maxBytes],
    ]);
  }
  return `${lines.join('\n')}\n`;
}
