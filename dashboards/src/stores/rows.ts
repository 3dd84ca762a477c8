import { EVENT_KINDS, type Attributes, type Breadcrumb, type EventKind } from '@telltale/protocol';
import type { BucketRow } from '../series.js';
import type { ErrorGroup, EventDetail, EventSummary, ServerLogLine, TimelineItem } from '../store.js';

/**
 * Reading a result row into the store contract's shapes, once for both stores (stores/duckdb.ts,
 * stores/clickhouse-lists.ts): each keeps its SQL, this turns the values either driver returns
 * into the same JSON. The readers accept what both give: DuckDB's numbers, bigints, Dates and
 * booleans; ClickHouse's 64-bit integers as strings and booleans as UInt8.
 */

export type Row = Record<string, unknown>;

export function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value !== '') return Number(value);
  // TIMESTAMP columns hold UTC without a zone; DuckDB's JS converter reads them as UTC Dates.
  if (value instanceof Date) return value.getTime();
  return 0;
}

export const str = (value: unknown): string => (value === null || value === undefined ? '' : String(value));

export const optStr = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);

/** DuckDB BOOLEAN or ClickHouse Nullable(UInt8). */
export function optBool(value: unknown): boolean | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'boolean' ? value : num(value) !== 0;
}

/** attrs / breadcrumbs are JSON text written by the sink; a bad value must not break a page. */
export function parseJson<T>(value: unknown): T | null {
  if (typeof value !== 'string' || value === '') return null;
  try {
    return JSON.parse(value) as T;
  } catch {
    return null;
  }
}

export function isKind(value: unknown): value is EventKind {
  return typeof value === 'string' && (EVENT_KINDS as readonly string[]).includes(value);
}

/**
 * A group row: `fp`, `app`, `type`, `last_message`, `total`, `events`, `users`, `first_seen`,
 * `last_seen`, `releases` (an array), `last_release` (both stores' group SELECT).
 */
export function errorGroupOf(r: Row): ErrorGroup {
  return {
    fingerprint: str(r.fp),
    app: str(r.app),
    type: str(r.type),
    message: str(r.last_message),
    count: num(r.total),
    events: num(r.events),
    users: num(r.users),
    firstSeen: num(r.first_seen),
    lastSeen: num(r.last_seen),
    releases: Array.isArray(r.releases) ? r.releases.filter((v) => v !== null).map(String) : [],
    lastRelease: str(r.last_release),
  };
}

/**
 * Where a store's event row holds the columns it names its own way (ClickHouse cannot alias
 * `f(ts) AS ts`, so its names differ); every other column has the table's name.
 */
export interface EventColumnNames {
  ts: string;
  receivedAt: string;
  fingerprint: string;
  day: string;
}

export function eventSummaryOf(r: Row, names: EventColumnNames): EventSummary {
  return {
    app: str(r.app),
    id: str(r.id),
    kind: isKind(r.kind) ? r.kind : 'log',
    ts: num(r[names.ts]),
    receivedAt: num(r[names.receivedAt]),
    release: str(r.release),
    environment: str(r.environment),
    session: str(r.session),
    user: optStr(r.user_id),
    name: optStr(r.name),
    errorType: optStr(r.error_type),
    message: optStr(r.message),
    level: optStr(r.level),
    // Only errors have a fingerprint; the fallback expression would invent one for other kinds.
    fingerprint: r.kind === 'error' ? optStr(r[names.fingerprint]) : null,
    url: optStr(r.url),
    browser: optStr(r.browser),
    os: optStr(r.os),
    count: num(r.count),
  };
}

export function eventDetailOf(r: Row, names: EventColumnNames): EventDetail {
  return {
    ...eventSummaryOf(r, names),
    day: str(r[names.day]),
    batchId: str(r.batch_id),
    account: optStr(r.account_id),
    trace: optStr(r.trace),
    online: optBool(r.online),
    stack: optStr(r.stack),
    soft: optBool(r.soft),
    attrs: parseJson<Attributes>(r.attrs),
    breadcrumbs: parseJson<Breadcrumb[]>(r.breadcrumbs),
    browserVersion: optStr(r.browser_version),
    osVersion: optStr(r.os_version),
    device: optStr(r.device),
    loadMs: r.load_ms === null || r.load_ms === undefined ? null : num(r.load_ms),
    adblock: optBool(r.adblock),
  };
}

/**
 * A server-log row: `item_ts` and `received_ms` in epoch ms, every other column by the table's name
 * (both stores' serverLogs SELECT).
 */
export function serverLogLineOf(r: Row): ServerLogLine {
  return {
    app: str(r.app),
    id: str(r.id),
    ts: num(r.item_ts),
    receivedAt: num(r.received_ms),
    service: str(r.service),
    level: str(r.level),
    message: str(r.message),
    trace: optStr(r.trace),
    span: optStr(r.span),
    session: optStr(r.session),
    user: optStr(r.user_id),
    release: optStr(r.release),
    environment: optStr(r.environment),
    attrs: parseJson<Attributes>(r.attrs),
  };
}

/**
 * A timeline row of the UNION of client events and server lines (both stores' timeline SELECT):
 * `source`, `item_ts`, and the `item_`-named columns that differ between the two sides.
 */
export function timelineItemOf(r: Row): TimelineItem {
  return {
    source: r.source === 'server' ? 'server' : 'client',
    app: str(r.app),
    ts: num(r.item_ts),
    kind: str(r.kind),
    level: optStr(r.level),
    message: optStr(r.item_message),
    name: optStr(r.item_name),
    service: optStr(r.service),
    page: optStr(r.page),
    release: optStr(r.item_release) || null,
    ids: {
      trace: optStr(r.trace),
      span: optStr(r.span),
      session: optStr(r.item_session),
      user: optStr(r.user_id),
      request: optStr(r.request),
      event: str(r.id),
    },
    fingerprint: optStr(r.item_fingerprint),
  };
}

/** A per-bucket series row (series.ts BucketRow): `bucket`, `total`, `users`, the name in `name`. */
export const bucketRowOf = (r: Row, name: string): BucketRow => ({
  app: str(r.app),
  name: str(r[name]),
  bucket: num(r.bucket),
  total: num(r.total),
  users: num(r.users),
});
