import { alertSubjectsJson } from '../../intelligence/index.js';
import type { EnrichedEvent } from '../enrich/enrich.js';
import { eventsTsvLines } from './clickhouse/rows.js';
import { eventsDuckDbCsv } from './duckdb/csv.js';
import type { WireFormat } from './types.js';

/** Renders one spool record's events as whole lines of a sink's text format. Pure: it runs in the decode workers. */
export type WireEncoder = (events: readonly EnrichedEvent[]) => string;

/** Every WireFormat's encoder; a sink that declares `encoding` gets its bytes from here. */
export const WIRE_ENCODERS: Readonly<Record<WireFormat, WireEncoder>> = Object.freeze({
  'clickhouse-tsv': eventsTsvLines,
  'duckdb-csv': eventsDuckDbCsv,
  // Not a store's format: the alerter's (alerts/alerter.ts processEncoded).
  'alert-keys': alertSubjectsJson,
});

/** `app` NUL `release` of the events source maps could regroup (see EncodedEvents.regroupable). */
export function regroupableKeys(events: readonly EnrichedEvent[]): string[] {
  const keys: string[] = [];
  for (const e of events) {
    if (e.kind !== 'error' || e.stack === null || e.fingerprint === null) continue;
    const key = `${e.app}\u0000${e.release}`;
    if (!keys.includes(key)) keys.push(key);
  }
  return keys;
}
