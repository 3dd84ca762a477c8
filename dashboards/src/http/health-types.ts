import type { SpoolWriterStats } from '@telltale/spool';

/**
 * What the /health page and GET /api/health show. The dispatchers' createPipelineMonitor().figures()
 * has this shape (consumers, sinks, alerts, decodePool); the process that runs the collector adds its
 * spools and refusals, and the data dir's dead letters. Plain JSON throughout.
 */
export interface PipelineHealth {
  /** When the figures were taken, epoch ms. */
  at: number;
  consumers: ConsumerHealth[];
  sinks: SinkHealth[];
  alerts: { pending: number; sent: number; failures: number; lastError: string | null };
  decodePool: { threads: number; records: number; inlineFallbacks: number; queued: number | null };
  /** The collector's spools by name (`client`, `server`), when this process runs the collector. */
  spools?: Record<string, SpoolWriterStats>;
  /** Requests the collector refused since start, by `route code reason` (its rejectedByReason). */
  rejected?: Record<string, number>;
  /** What waits in the data dir's dead-letter folders (across restarts), per consumer. */
  deadLetters?: DeadLetterHealth[];
}

export interface ConsumerLagHealth {
  records: number;
  /** False when `records` is estimated from the mean record size (a deep backlog). */
  recordsExact: boolean;
  bytes: number;
  /** Age of the oldest record not handled yet. */
  seconds: number;
}

export interface ConsumerHealth {
  name: string;
  /** The spool it reads: client, server, blob. */
  spool: string;
  running: boolean;
  records: number;
  retries: number;
  sourceErrors: number;
  lastError: string | null;
  /** Records dead-lettered since start, by reason. */
  deadLettered: Record<string, number>;
  lag: ConsumerLagHealth | null;
  /** Since when it has been retrying without progress, epoch ms; null when healthy. */
  failingSince: number | null;
}

export interface SinkHealth {
  name: string;
  breaker: 'closed' | 'open' | 'half-open';
  /** Failed exports in a row. */
  failures: number;
  opened: number;
  shortCircuited: number;
  /** Since when its exports (or its consumers) have been failing, epoch ms; null when healthy. */
  failingSince: number | null;
}

export interface DeadLetterHealth {
  consumer: string;
  entries: number;
  /** Entries a replay can ship (the consumer has a sink and the payload was kept). */
  replayable: number;
  codes: Record<string, number>;
  oldest: string | null;
  newest: string | null;
}

/** What a dead-letter replay did (the dispatchers' replayDeadLetters). */
export interface DeadLetterReplayResult {
  replayed: number;
  left: number;
  lines: string[];
}

/** A sink or consumer failing for longer than this puts a red banner on every page. */
export const HEALTH_BANNER_AFTER_MS = 3 * 60_000;

export interface FailingPart {
  kind: 'sink' | 'consumer';
  name: string;
  since: number;
  detail: string;
}

/** Sinks and consumers (those not already named by a failing sink) failing for at least `afterMs`. */
export function failingParts(
  health: PipelineHealth,
  afterMs: number = HEALTH_BANNER_AFTER_MS,
): FailingPart[] {
  const long = (since: number | null): since is number => since !== null && health.at - since >= afterMs;
  const sinks = health.sinks.filter((s) => long(s.failingSince));
  const covered = (consumer: string): boolean =>
    sinks.some((s) => consumer === s.name || consumer.startsWith(`${s.name}.`));
  return [
    ...sinks.map((s): FailingPart => ({
      kind: 'sink',
      name: s.name,
      since: s.failingSince!,
      detail:
        s.breaker === 'closed'
          ? `${s.failures} failed exports in a row`
          : `breaker ${s.breaker} after ${s.failures} failed exports in a row`,
    })),
    ...health.consumers
      .filter((c) => long(c.failingSince) && !covered(c.name))
      .map((c): FailingPart => ({
        kind: 'consumer',
        name: c.name,
        since: c.failingSince!,
        detail: c.lastError ?? `${c.retries} retries`,
      })),
  ];
}
