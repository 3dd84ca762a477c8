/**
 * The pipeline's figures as GET /api/health answers them (plain JSON): written by the dispatchers'
 * pipeline monitor and dead-letter summary, read by the dashboards' /health page. Defined once here
 * because the dashboards never import the dispatchers.
 */

export interface ConsumerLag {
  /** Records after the consumer's position; counted up to a limit, estimated from their mean size beyond. */
  records: number;
  /** False when `records` is estimated (a deep backlog). */
  recordsExact: boolean;
  /** Segment bytes after the consumer's position. */
  bytes: number;
  /** Age of the oldest record not yet handled (its receivedAt), 0 when caught up. */
  seconds: number;
}

export interface ConsumerFigures {
  name: string;
  /** The spool it reads (a SpoolName: client, server, blob; plain text on the wire). */
  spool: string;
  running: boolean;
  records: number;
  retries: number;
  sourceErrors: number;
  lastError: string | null;
  /** Records dead-lettered since start, by reason. */
  deadLettered: Record<string, number>;
  /** Null when the spool's folder was not given or the consumer has not opened it yet. */
  lag: ConsumerLag | null;
  /** Epoch ms of the first sample that saw it retrying without progress; null when healthy. */
  failingSince: number | null;
}

export type BreakerPosition = 'closed' | 'open' | 'half-open';

export interface SinkFigures {
  name: string;
  breaker: BreakerPosition;
  /** Failed exports in a row. */
  failures: number;
  opened: number;
  shortCircuited: number;
  /** Earliest of: first sample with failed exports in a row, and its consumers' failingSince. */
  failingSince: number | null;
}

/** What the dispatchers' pipeline monitor reports. */
export interface PipelineFigures {
  /** When the figures were taken, epoch ms. */
  at: number;
  consumers: ConsumerFigures[];
  sinks: SinkFigures[];
  alerts: { pending: number; sent: number; failures: number; lastError: string | null };
  decodePool: { threads: number; records: number; inlineFallbacks: number; queued: number | null };
}

/** What waits in one consumer's dead-letter folder (on disk, so across restarts). */
export interface DeadLetterSummary {
  consumer: string;
  /** Entries waiting in dead-letter/<consumer>/ (replayed ones are not counted). */
  entries: number;
  /** Of those, entries a replay can ship (the consumer has a sink, the payload was kept). */
  replayable: number;
  /** Entries by error code. */
  codes: Record<string, number>;
  oldest: string | null;
  newest: string | null;
}

/** What a dead-letter replay did. */
export interface DeadLetterReplayReport {
  replayed: number;
  left: number;
  /** One line per entry (replayed, skipped, still failing), as the CLI prints them. */
  lines: string[];
}
