import type { EnrichedEvent } from '../../enrich/enrich.js';
import { createSegmentCache, sameBatchFields, sameClientFields } from '../batch-segments.js';

/**
 * The 'duckdb-csv' wire format: one CSV line per event, rendered in the decode workers, that DuckDB's
 * own CSV reader loads on its threads (node-api runs queries off the JavaScript thread) instead of
 * one Appender call per value on the main thread — which in `npm start` is the collector's HTTP
 * event loop. Every string is quoted (a quote doubled), so an empty string is `""` and NULL is an
 * empty field; times travel as epoch milliseconds and become TIMESTAMP / DATE in the SELECT.
 */

/** The file's columns, in line order, with the type DuckDB reads each as. */
export const CSV_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['app', 'VARCHAR'],
  ['id', 'VARCHAR'],
  ['kind', 'VARCHAR'],
  ['ts_ms', 'BIGINT'],
  ['received_ms', 'BIGINT'],
  ['batch_id', 'VARCHAR'],
  ['release', 'VARCHAR'],
  ['environment', 'VARCHAR'],
  ['session', 'VARCHAR'],
  ['user_id', 'VARCHAR'],
  ['account_id', 'VARCHAR'],
  ['url', 'VARCHAR'],
  ['trace', 'VARCHAR'],
  ['online', 'BOOLEAN'],
  ['fingerprint', 'VARCHAR'],
  ['name', 'VARCHAR'],
  ['error_type', 'VARCHAR'],
  ['message', 'VARCHAR'],
  ['stack', 'VARCHAR'],
  ['level', 'VARCHAR'],
  ['count', 'INTEGER'],
  ['soft', 'BOOLEAN'],
  ['attrs', 'VARCHAR'],
  ['breadcrumbs', 'VARCHAR'],
  ['browser', 'VARCHAR'],
  ['browser_version', 'VARCHAR'],
  ['os', 'VARCHAR'],
  ['os_version', 'VARCHAR'],
  ['device', 'VARCHAR'],
  ['load_ms', 'DOUBLE'],
  ['adblock', 'BOOLEAN'],
];

const q = (v: string | null): string =>
  v === null ? '' : v.includes('"') ? `"${v.replaceAll('"', '""')}"` : `"${v}"`;
const b = (v: boolean | null): string => (v === null ? '' : v ? 'true' : 'false');

/** One spool record's events as CSV lines (CSV_COLUMNS order). Pure: it runs in the decode workers. */
export function eventsDuckDbCsv(events: readonly EnrichedEvent[]): string {
  // The batch's runs of columns (received_ms … account_id, browser … adblock), once per record.
  const batchColumns = createSegmentCache(
    sameBatchFields,
    (e) =>
      `${e.receivedAt},${q(e.batchId)},${q(e.release)},${q(e.environment)},${q(e.session)},` +
      `${q(e.userId)},${q(e.accountId)}`,
  );
  const clientColumns = createSegmentCache(
    sameClientFields,
    (e) =>
      `${q(e.browser)},${q(e.browserVersion)},${q(e.os)},${q(e.osVersion)},${q(e.device)},` +
      `${e.loadMs === null ? '' : e.loadMs},${b(e.adblock)}`,
  );
  let out = '';
  for (const e of events)
    out +=
      `${q(e.app)},${q(e.id)},${q(e.kind)},${e.ts},${batchColumns(e)},${q(e.url)},${q(e.trace)},` +
      `${b(e.online)},${q(e.fingerprint)},${q(e.name)},${q(e.errorType)},${q(e.message)},${q(e.stack)},` +
      `${q(e.level)},${e.count},${b(e.soft)},${q(e.attrs)},${q(e.breadcrumbs)},${clientColumns(e)}\n`;
  return out;
}
