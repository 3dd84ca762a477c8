import { alertSubjectsJson } from '../../intelligence/index.js';
import type { EnrichedEvent } from '../enrich/enrich.js';
import { eventsTsvLines } from './clickhouse/rows.js';
import { eventsDuckDbCsv } from './duckdb/csv-lines.js';
import type { WireFormat } from './types.js';

/**
 * Renders one spool record's events as whole lines of a sink's text format. Pure: it runs in the
 * decode workers, so an encoder's module imports no I/O (a worker's heap is bounded; see decode-pool).
 */
export type WireEncoder = (events: readonly EnrichedEvent[]) => string;

/** Every WireFormat's encoder; a sink that declares `encoding` gets its bytes from here. */
export const WIRE_ENCODERS: Readonly<Record<WireFormat, WireEncoder>> = Object.freeze({
  'clickhouse-tsv': eventsTsvLines,
  'duckdb-csv': eventsDuckDbCsv,
  // Not a store's format: the alerter's (alerts/known-subjects.ts, wired in dispatcher.ts).
  'alert-keys': alertSubjectsJson,
});
