import type * as Wire from '@telltale/protocol';
import type { SpoolWriterStats } from '@telltale/spool';

/**
 * What the /health page and GET /api/health show: the dispatchers' figures (protocol's
 * PipelineFigures: consumers, sinks, alerts, decodePool); the process that runs the collector adds
 * its spools and refusals, and the data dir's dead letters. Plain JSON throughout.
 */
export interface PipelineHealth extends Wire.PipelineFigures {
  /** The collector's spools by name (`client`, `server`), when this process runs the collector. */
  spools?: Record<string, SpoolWriterStats>;
  /** Requests the collector refused since start, by `route code reason` (its rejectedByReason). */
  rejected?: Record<string, number>;
  /** What waits in the data dir's dead-letter folders (across restarts), per consumer. */
  deadLetters?: DeadLetterHealth[];
}

export type ConsumerLagHealth = Wire.ConsumerLag;
export type ConsumerHealth = Wire.ConsumerFigures;
export type SinkHealth = Wire.SinkFigures;
export type DeadLetterHealth = Wire.DeadLetterSummary;
/** What a dead-letter replay did (the dispatchers' replayDeadLetters). */
export type DeadLetterReplayResult = Wire.DeadLetterReplayReport;

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
