import { listSegments, openSpoolReader, type SpoolPosition } from '@telltale/spool';
import type { ConsumerReport, DispatcherStats } from './dispatcher.js';
import type {
  ConsumerFigures,
  ConsumerLag,
  PipelineFigures,
  SinkFigures,
  SpoolName,
} from '@telltale/protocol';

/**
 * The pipeline's figures as people look at them: how far each consumer is behind its spool, and
 * since when a sink or consumer has been failing. /metrics (metrics.ts) and the dashboards' /health
 * page read the same figures.
 */

/** The spools the consumers read; a consumer's lag is measured only when its spool's folder is given. */
export type SpoolDirs = Partial<Record<SpoolName, string>>;

export type { ConsumerFigures, ConsumerLag, PipelineFigures, SinkFigures, SpoolName };

/** Records counted one by one per consumer and measurement: exact for "a few behind", cheap at any depth. */
export const LAG_COUNT_LIMIT = 1_000;

const HEAD_BYTES = 4_096;
const RECEIVED_AT = /"receivedAt":(\d{1,15})/;

/** How far `position` is behind the end of the spool in `dir` (see ConsumerLag). */
export async function measureLag(
  dir: string,
  position: SpoolPosition,
  now: () => number = Date.now,
): Promise<ConsumerLag> {
  const segments = await listSegments(dir);
  let bytes = 0;
  for (const s of segments) {
    if (position.segment !== 0 && s.segment < position.segment) continue;
    bytes += s.segment === position.segment ? Math.max(0, s.bytes - position.offset) : s.bytes;
  }
  if (bytes === 0) return { records: 0, recordsExact: true, bytes: 0, seconds: 0 };
  const records = await openSpoolReader({ dir }).read(position, LAG_COUNT_LIMIT);
  const first = records[0];
  let seconds = 0;
  if (first !== undefined) {
    // Envelopes start with v, app and receivedAt: the head is enough, a large batch is never parsed here.
    const at = RECEIVED_AT.exec(first.payload.subarray(0, HEAD_BYTES).toString('utf8'))?.[1];
    const receivedAt =
      at !== undefined ? Number(at) : segments.find((s) => s.segment >= first.position.segment)?.modifiedAt;
    if (receivedAt !== undefined) seconds = Math.max(0, (now() - receivedAt) / 1_000);
  }
  if (records.length < LAG_COUNT_LIMIT)
    return { records: records.length, recordsExact: true, bytes, seconds };
  const mean = records.reduce((sum, r) => sum + r.payload.length, 0) / records.length;
  return { records: Math.max(records.length, Math.round(bytes / mean)), recordsExact: false, bytes, seconds };
}

/** The consumers of stats() with the spool each reads. */
export function consumersBySpool(
  stats: DispatcherStats,
): Array<{ spool: SpoolName; report: ConsumerReport }> {
  return [
    ...stats.consumers.map((report) => ({ spool: 'client' as const, report })),
    ...stats.serverLogConsumers.map((report) => ({ spool: 'server' as const, report })),
    ...stats.blobConsumers.map((report) => ({ spool: 'blob' as const, report })),
  ];
}

/** Lag per consumer name; consumers whose spool folder is unknown, or not started yet, are left out. */
export async function measureConsumerLags(
  stats: DispatcherStats,
  spools: SpoolDirs,
  now: () => number = Date.now,
): Promise<Map<string, ConsumerLag>> {
  const out = new Map<string, ConsumerLag>();
  await Promise.all(
    consumersBySpool(stats).map(async ({ spool, report }) => {
      const dir = spools[spool];
      if (dir === undefined || report.position === undefined) return;
      try {
        out.set(report.name, await measureLag(dir, report.position, now));
      } catch {
        // A spool folder removed under us: no figure rather than a failed page or scrape.
      }
    }),
  );
  return out;
}

/** The decode pool's queue, once DecodePoolStats reports it (piscina's queueSize); null until then. */
export const decodeQueue = (stats: DispatcherStats): number | null =>
  (stats.decodePool as { queued?: number }).queued ?? null;

export interface PipelineMonitor {
  /** Samples stats() now and measures lag (cached for LAG_CACHE_MS: every dashboard page asks). */
  figures(): Promise<PipelineFigures>;
  /** Stops the sampling timer. */
  close(): void;
}

/** How often failures are sampled, so "failing since" is known even when no one is looking. */
export const HEALTH_SAMPLE_MS = 5_000;
/**
 * A consumer that retried without progress counts as failing until it commits records again, or
 * until it has not retried for this long (longer than the sink backoff's 30 s cap and the breaker's 60 s).
 */
export const CONSUMER_QUIET_MS = 120_000;
const LAG_CACHE_MS = 2_000;

interface Track {
  records: number;
  trouble: number;
  lastTroubleAt: number;
  failingSince: number | null;
}

export function createPipelineMonitor(
  stats: () => DispatcherStats,
  options: { spools?: SpoolDirs; sampleMs?: number; now?: () => number } = {},
): PipelineMonitor {
  const now = options.now ?? Date.now;
  const consumers = new Map<string, Track>();
  const sinks = new Map<string, number | null>();
  let lags: { at: number; value: Promise<Map<string, ConsumerLag>> } | undefined;

  const sample = (s: DispatcherStats): void => {
    const t = now();
    for (const { report } of consumersBySpool(s)) {
      const trouble = report.retries + report.sourceErrors;
      const prev = consumers.get(report.name);
      const track: Track = prev ?? { records: report.records, trouble, lastTroubleAt: 0, failingSince: null };
      if (prev !== undefined) {
        if (report.records > prev.records) track.failingSince = null;
        else if (trouble > prev.trouble) track.failingSince ??= t;
        if (trouble > prev.trouble) track.lastTroubleAt = t;
        else if (t - track.lastTroubleAt > CONSUMER_QUIET_MS) track.failingSince = null;
      }
      track.records = report.records;
      track.trouble = trouble;
      consumers.set(report.name, track);
    }
    for (const sink of s.sinks) {
      const since = sinks.get(sink.name) ?? null;
      sinks.set(sink.name, sink.breaker.failures > 0 ? (since ?? t) : null);
    }
  };
  const timer = setInterval(() => {
    try {
      sample(stats());
    } catch {
      // stats() after close: the next figures() call says so.
    }
  }, options.sampleMs ?? HEALTH_SAMPLE_MS);
  timer.unref();
  sample(stats());

  return {
    async figures() {
      const s = stats();
      sample(s);
      const t = now();
      if (options.spools !== undefined && (lags === undefined || t - lags.at > LAG_CACHE_MS))
        lags = { at: t, value: measureConsumerLags(s, options.spools, now) };
      const measured = (await lags?.value) ?? new Map<string, ConsumerLag>();
      const consumerFigures = consumersBySpool(s).map(({ spool, report }): ConsumerFigures => ({
        name: report.name,
        spool,
        running: report.running,
        records: report.records,
        retries: report.retries,
        sourceErrors: report.sourceErrors,
        lastError: report.lastError ?? null,
        deadLettered: { ...report.deadLettered },
        lag: measured.get(report.name) ?? null,
        failingSince: consumers.get(report.name)?.failingSince ?? null,
      }));
      // A sink's consumers are `<sink>`, `<sink>.server` and `<sink>.blob`.
      const ownFailures = (sink: string): number[] =>
        consumerFigures
          .filter((c) => c.name === sink || c.name.startsWith(`${sink}.`))
          .flatMap((c) => (c.failingSince === null ? [] : [c.failingSince]));
      return {
        at: t,
        consumers: consumerFigures,
        sinks: s.sinks.map((sink): SinkFigures => {
          const since = [sinks.get(sink.name) ?? null, ...ownFailures(sink.name)].filter(
            (v): v is number => v !== null,
          );
          return {
            name: sink.name,
            breaker: sink.breaker.state,
            failures: sink.breaker.failures,
            opened: sink.breaker.opened,
            shortCircuited: sink.breaker.shortCircuited,
            failingSince: since.length === 0 ? null : Math.min(...since),
          };
        }),
        alerts: {
          pending: s.alerts.pending,
          sent: s.alerts.sent,
          failures: s.alerts.failures,
          lastError: s.alerts.lastError ?? null,
        },
        decodePool: {
          threads: s.decodePool.threads,
          records: s.decodePool.records,
          inlineFallbacks: s.decodePool.inlineFallbacks,
          queued: decodeQueue(s),
        },
      };
    },
    close: () => clearInterval(timer),
  };
}
