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

/**
 * A text format a sink can store as it is ("wire format"): the decode workers write each record's
 * events in it beside the rows (sinks/encoders.ts), so the main thread hands bytes to the store
 * instead of building rows and rendering them again.
 */
export type WireFormat = 'clickhouse-tsv' | 'duckdb-csv' | 'alert-keys';

/** Client events already rendered in a sink's WireFormat, with what a wrapper needs to decide on them. */
export interface EncodedEvents {
  /** One Buffer per spool record: that record's events as whole lines. */
  chunks: readonly Buffer[];
  /** Events in all the chunks. */
  rows: number;
  /**
   * `app` NUL `release` of every record holding an error that source maps could regroup (kind error,
   * with a stack and a fingerprint): regrouping looks up only these, and falls back to `events()`.
   */
  regroupable: ReadonlySet<string>;
  /**
   * The same events as rows, built on each call (decoded again in the pool's workers when they built
   * none): for a wrapper that must change them (regrouping) or look closer (the alerter). `records`:
   * only the events of these records (indexes into `chunks`).
   */
  events(records?: readonly number[]): Promise<EnrichedEvent[]>;
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
  /** The format whose bytes `exportEncoded` stores as they are; the decode workers write it beside the rows. */
  readonly encoding?: WireFormat;
  /**
   * Stores client events already rendered in `encoding`: the same contract as `export` (idempotent,
   * dedupe on (app, id), all or nothing). The handler calls it instead of `export` when every record
   * of a hand-over came with those bytes (a pool decode); otherwise `export` gets the rows.
   */
  exportEncoded?(batch: EncodedEvents, raw?: readonly RawBatch[]): Promise<ExportResult>;
  /** Server logs (`<data>/spool/server`); a sink without it gets no server-log consumer. Idempotent on (app, id). */
  exportServerLogs?(logs: ServerLogRow[], raw?: readonly RawBatch[]): Promise<ExportResult>;
  /**
   * Retention: drops whole days received before `day` (YYYY-MM-DD, UTC) and names what went, e.g.
   * partitions or prefixes. Never scans rows one by one.
   */
  dropDaysBefore?(day: string): Promise<string[]>;
  close(): Promise<void>;
}
