import type { EnrichedEvent } from '../enrich/enrich.js';
import type { LingerOptions } from '../sources/types.js';

/**
 * What a sink answers for one export. Sinks never throw on the hot path: the consumer decides from
 * this whether to move on, retry the same events later, or dead-letter them.
 */
export type ExportResult =
  | { status: 'ok' }
  /** Transient (store down, busy, 429/5xx): the same events are exported again after a backoff. */
  | { status: 'retryable'; retryAfterMs?: number; reason: string }
  /** These events can never be stored (they do not fit the store): dead-letter them and move on. */
  | { status: 'rejected'; reason: string };

/**
 * One spool record as the collector wrote it (a client batch or a server-log envelope), for sinks
 * that keep raw batches (the Blob archive). `batchId` names it: the client's batch id, or an id
 * derived from the log ids for server logs.
 */
export interface RawBatch {
  app: string;
  receivedAt: number;
  batchId: string;
  kind: 'client' | 'server';
  /** The record's bytes (UTF-8 JSON of a SpoolEnvelope or ServerLogEnvelope). */
  payload: Buffer;
}

/** One server log line as stored: a flat row, scrubbed, with the ids that put it on a timeline. */
export interface ServerLogRow {
  app: string;
  id: string;
  /** Time the app's server wrote the line, epoch ms. */
  ts: number;
  /** Collector time, epoch ms; its UTC date is the retention partition. */
  receivedAt: number;
  service: string;
  level: string;
  message: string;
  trace: string | null;
  span: string | null;
  session: string | null;
  userId: string | null;
  accountId: string | null;
  release: string | null;
  environment: string | null;
  /** JSON text of the line's attributes. */
  attrs: string | null;
}

/**
 * A destination: DuckDB, ClickHouse, Log Analytics, Blob archive. A new sink is a folder beside them plus
 * its name in SINK_KINDS and its settings (settings.ts) and a case in createSink (registry.ts).
 */
export interface Sink {
  readonly name: string;
  /** Bulk stores want thousands of rows per call: the sink's consumers gather records up to these limits. */
  readonly batching?: LingerOptions;
  /**
   * Must be idempotent: after a crash the same events arrive again, and the store dedupes on (app, id).
   * `raw` carries the spool records the events came from (the dispatcher always passes it).
   */
  export(events: EnrichedEvent[], raw?: readonly RawBatch[]): Promise<ExportResult>;
  /** Server logs (`<data>/spool/server`); a sink without it gets no server-log consumer. Idempotent on (app, id). */
  exportServerLogs?(logs: ServerLogRow[], raw?: readonly RawBatch[]): Promise<ExportResult>;
  /**
   * Retention: drops whole days received before `day` (YYYY-MM-DD, UTC) and names what went, e.g.
   * partitions or prefixes. Never scans rows one by one.
   */
  dropDaysBefore?(day: string): Promise<string[]>;
  close(): Promise<void>;
}
