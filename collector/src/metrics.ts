import type { ErrorCode } from '@telltale/protocol';
import type { SpoolWriterStats } from '@telltale/spool';

export interface CollectorMetricsSnapshot {
  /** Batches stored in the spool (202, duplicate: false). */
  batchesStored: number;
  /** Events in those batches. */
  eventsStored: number;
  /** Batches answered 202 duplicate: true and not stored again. */
  batchesDuplicate: number;
  /** Requests refused, by error code (the reason). */
  rejected: Partial<Record<ErrorCode, number>>;
}

export interface CollectorMetrics {
  stored(events: number): void;
  duplicate(): void;
  rejected(code: ErrorCode): void;
  snapshot(): CollectorMetricsSnapshot;
}

/** In-memory counters; pass one to collectorRoutes to read them from outside (`snapshot()`). */
export function createCollectorMetrics(): CollectorMetrics {
  const counts: CollectorMetricsSnapshot = {
    batchesStored: 0,
    eventsStored: 0,
    batchesDuplicate: 0,
    rejected: {},
  };
  return {
    stored(events) {
      counts.batchesStored += 1;
      counts.eventsStored += events;
    },
    duplicate() {
      counts.batchesDuplicate += 1;
    },
    rejected(code) {
      counts.rejected[code] = (counts.rejected[code] ?? 0) + 1;
    },
    snapshot: () => ({ ...counts, rejected: { ...counts.rejected } }),
  };
}

/** Prometheus text exposition (format 0.0.4) of the collector's counters and its spool. */
export function renderPrometheus(
  metrics: CollectorMetricsSnapshot,
  spool: SpoolWriterStats,
  idempotencyEntries: number,
): string {
  const lines: string[] = [];
  const metric = (
    name: string,
    type: 'counter' | 'gauge',
    help: string,
    samples: Array<[string, number]>,
  ): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  metric('telltale_collector_batches_total', 'counter', 'Batches answered 202, by outcome.', [
    ['{outcome="stored"}', metrics.batchesStored],
    ['{outcome="duplicate"}', metrics.batchesDuplicate],
  ]);
  metric('telltale_collector_events_stored_total', 'counter', 'Events in batches stored in the spool.', [
    ['', metrics.eventsStored],
  ]);
  metric(
    'telltale_collector_rejected_total',
    'counter',
    'Requests refused, by error code.',
    Object.entries(metrics.rejected).map(([code, count]) => [`{code="${code}"}`, count ?? 0]),
  );
  metric('telltale_collector_idempotency_entries', 'gauge', 'Batch ids remembered for duplicate detection.', [
    ['', idempotencyEntries],
  ]);
  metric('telltale_spool_segments', 'gauge', 'Segment files in the client spool.', [['', spool.segments]]);
  metric('telltale_spool_bytes', 'gauge', 'Bytes in the client spool.', [['', spool.bytes]]);
  metric('telltale_spool_records_total', 'counter', 'Records appended since start.', [['', spool.records]]);
  metric('telltale_spool_fsyncs_total', 'counter', 'fdatasync calls since start (group commit).', [
    ['', spool.fsyncs],
  ]);
  return `${lines.join('\n')}\n`;
}
