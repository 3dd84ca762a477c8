import type { EnrichedEvent } from '../enrich/enrich.js';

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

/** A destination for enriched events: DuckDB now; ClickHouse, Log Analytics and Blob are new folders beside it. */
export interface Sink {
  readonly name: string;
  /** Must be idempotent: after a crash the same events arrive again, and the store dedupes on (app, id). */
  export(events: EnrichedEvent[]): Promise<ExportResult>;
  close(): Promise<void>;
}
