/**
 * The stored tables, by name and column, the same on every store: one wide `events` table for
 * client events and one `server_logs` table. The sinks write these columns; the dashboards read
 * them. A column added here must be added to the DDL of each store (duckdb.ts, clickhouse.ts) —
 * the schema tests compare the lists with the DDL.
 */
export const TABLES = Object.freeze({ events: 'events', serverLogs: 'server_logs' });

/** Columns of `events` in write order (the DuckDB sink's Appender follows it). */
export const EVENT_COLUMNS = [
  'app',
  'id',
  'kind',
  'ts',
  'received_at',
  'day',
  'batch_id',
  'release',
  'environment',
  'session',
  'user_id',
  'account_id',
  'url',
  'trace',
  'online',
  'fingerprint',
  'name',
  'error_type',
  'message',
  'stack',
  'level',
  'count',
  'soft',
  'attrs',
  'breadcrumbs',
  'browser',
  'browser_version',
  'os',
  'os_version',
  'device',
  'load_ms',
  'adblock',
] as const;

/** Columns of `server_logs` in write order. */
export const SERVER_LOG_COLUMNS = [
  'app',
  'id',
  'ts',
  'received_at',
  'day',
  'service',
  'level',
  'message',
  'trace',
  'span',
  'session',
  'user_id',
  'account_id',
  'release',
  'environment',
  'attrs',
] as const;

/**
 * ClickHouse keeps each time twice: a DateTime (seconds, in the sort key, the type 18.16 has) and
 * the exact epoch milliseconds beside it (18.16 has no DateTime64).
 */
export const CLICKHOUSE_MS_COLUMNS = ['ts_ms', 'received_ms'] as const;

export type EventColumn = (typeof EVENT_COLUMNS)[number];
export type ServerLogColumn = (typeof SERVER_LOG_COLUMNS)[number];

/**
 * One `events` row as the ClickHouse sink writes it (JSONEachRow / TabSeparated): DateTime as epoch
 * seconds, Date as `YYYY-MM-DD`, booleans as 0 / 1, attributes and breadcrumbs as JSON text.
 */
export interface ClickHouseEventRow {
  app: string;
  id: string;
  kind: string;
  ts: number;
  ts_ms: number;
  received_at: number;
  received_ms: number;
  day: string;
  batch_id: string;
  release: string;
  environment: string;
  session: string;
  user_id: string | null;
  account_id: string | null;
  url: string | null;
  trace: string | null;
  online: 0 | 1 | null;
  fingerprint: string | null;
  name: string | null;
  error_type: string | null;
  message: string | null;
  stack: string | null;
  level: string | null;
  count: number;
  soft: 0 | 1 | null;
  attrs: string | null;
  breadcrumbs: string | null;
  browser: string | null;
  browser_version: string | null;
  os: string | null;
  os_version: string | null;
  device: string | null;
  load_ms: number | null;
  adblock: 0 | 1 | null;
}

/** One `server_logs` row as the ClickHouse sink writes it. */
export interface ClickHouseServerLogRow {
  app: string;
  id: string;
  ts: number;
  ts_ms: number;
  received_at: number;
  received_ms: number;
  day: string;
  service: string;
  level: string;
  message: string;
  trace: string | null;
  span: string | null;
  session: string | null;
  user_id: string | null;
  account_id: string | null;
  release: string | null;
  environment: string | null;
  attrs: string | null;
}

/** `day`, the retention partition: the UTC date of the collector's receive time, `YYYY-MM-DD`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

// Compile-time: the row types name exactly the columns above (a column missing on either side fails tsc).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type MsColumn = (typeof CLICKHOUSE_MS_COLUMNS)[number];
const eventRowMatches: Same<keyof ClickHouseEventRow, EventColumn | MsColumn> = true;
const serverLogRowMatches: Same<keyof ClickHouseServerLogRow, ServerLogColumn | MsColumn> = true;
void eventRowMatches;
void serverLogRowMatches;
