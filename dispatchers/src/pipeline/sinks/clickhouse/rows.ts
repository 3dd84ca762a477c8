import { EVENT_COLUMNS as SCHEMA_EVENT_COLUMNS } from '@telltale/schema';
import type { EnrichedEvent } from '../../enrich/enrich.js';
import type { ServerLogRow } from '../types.js';
import { createSegmentCache, sameBatchFields, sameClientFields } from '../batch-segments.js';

/** YYYY-MM-DD (UTC) of an epoch-ms time: the day partition. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

const MS_PER_DAY = 86_400_000;

// DateTime is UInt32 seconds (1970..2106): a client clock outside keeps its exact value in ts_ms only.
const seconds = (ms: number): number => Math.min(4_294_967_295, Math.max(0, Math.floor(ms / 1000)));
const flag = (v: boolean | null): number | null => (v === null ? null : v ? 1 : 0);

/** An enriched event as a JSONEachRow row of `events` (schema.ts). */
export function eventRow(e: EnrichedEvent): Record<string, unknown> {
  return {
    app: e.app,
    id: e.id,
    kind: e.kind,
    ts: seconds(e.ts),
    ts_ms: e.ts,
    received_at: seconds(e.receivedAt),
    received_ms: e.receivedAt,
    day: utcDay(e.receivedAt),
    batch_id: e.batchId,
    release: e.release,
    environment: e.environment,
    session: e.session,
    user_id: e.userId,
    account_id: e.accountId,
    url: e.url,
    trace: e.trace,
    online: flag(e.online),
    fingerprint: e.fingerprint,
    name: e.name,
    error_type: e.errorType,
    message: e.message,
    stack: e.stack,
    level: e.level,
    count: e.count,
    soft: flag(e.soft),
    attrs: e.attrs,
    breadcrumbs: e.breadcrumbs,
    browser: e.browser,
    browser_version: e.browserVersion,
    os: e.os,
    os_version: e.osVersion,
    device: e.device,
    load_ms: e.loadMs,
    adblock: flag(e.adblock),
  };
}

/** A server log line as a JSONEachRow row of `server_logs`. */
export function serverLogRow(l: ServerLogRow): Record<string, unknown> {
  return {
    app: l.app,
    id: l.id,
    ts: seconds(l.ts),
    ts_ms: l.ts,
    received_at: seconds(l.receivedAt),
    received_ms: l.receivedAt,
    day: utcDay(l.receivedAt),
    service: l.service,
    level: l.level,
    message: l.message,
    trace: l.trace,
    span: l.span,
    session: l.session,
    user_id: l.userId,
    account_id: l.accountId,
    release: l.release,
    environment: l.environment,
    attrs: l.attrs,
  };
}

// TabSeparated escapes (ClickHouse's text formats): a backslash, tab or line break inside a value.
const TSV_SPECIAL = /[\\\t\n\r]/g;
const TSV_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function escapeTsv(value: string): string {
  TSV_SPECIAL.lastIndex = 0;
  return TSV_SPECIAL.test(value) ? value.replace(TSV_SPECIAL, (c) => TSV_ESCAPES[c]!) : value;
}

function tsvValue(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'string') return escapeTsv(value);
  return String(value);
}

/**
 * Rows as one TabSeparated body with its column list: compact (no key per value, no quotes) and
 * understood by ClickHouse 18.16, which has no JSONCompactEachRow. The columns are the row objects'
 * keys (eventRow, serverLogRow), so the two formats never disagree.
 */
export function tabSeparated(rows: readonly Record<string, unknown>[]): { columns: string[]; body: string } {
  const first = rows[0];
  if (first === undefined) return { columns: [], body: '' };
  const columns = Object.keys(first);
  let body = '';
  for (const row of rows) {
    let line = tsvValue(row[columns[0]!]);
    for (let i = 1; i < columns.length; i += 1) line += `\t${tsvValue(row[columns[i]!])}`;
    body += `${line}\n`;
  }
  return { columns, body };
}

/**
 * eventRow's keys, in its order: the columns of eventsTabSeparated (a test holds the two together).
 * The schema's list with ClickHouse's millisecond columns after their DateTime twins.
 */
export const EVENT_COLUMNS: readonly string[] = SCHEMA_EVENT_COLUMNS.flatMap((column) =>
  column === 'ts' ? ['ts', 'ts_ms'] : column === 'received_at' ? ['received_at', 'received_ms'] : [column],
);

/** Lines per chunk of a body: each chunk becomes one Buffer early, so no 10 MB string is ever built. */
const LINES_PER_CHUNK = 512;
/** Shorter strings are checked for escapes each time; longer ones (stacks, messages) once per call. */
const MEMO_ESCAPES_FROM = 24;

/**
 * One event → its TabSeparated line (EVENT_COLUMNS order, ending in a line break). Each writer
 * memoises escapes and day strings across the events it renders: make one per body or record.
 */
function createEventLineWriter(): (e: EnrichedEvent) => string {
  const escaped = new Map<string, string>();
  const days = new Map<number, string>();
  const t = (value: string | null): string => {
    if (value === null) return '\\N';
    if (value.length < MEMO_ESCAPES_FROM) return escapeTsv(value);
    let out = escaped.get(value);
    if (out === undefined) escaped.set(value, (out = escapeTsv(value)));
    return out;
  };
  const b = (v: boolean | null): string => (v === null ? '\\N' : v ? '1' : '0');
  const day = (ms: number): string => {
    const n = Math.floor(ms / MS_PER_DAY);
    let out = days.get(n);
    if (out === undefined) days.set(n, (out = utcDay(ms)));
    return out;
  };
  // The batch's columns (received_at … account_id, browser … adblock) are the same for every event of
  // a record: rendered once, and again only when an event's values differ from the last one's.
  const batchColumns = createSegmentCache(
    sameBatchFields,
    (e) =>
      `${seconds(e.receivedAt)}\t${e.receivedAt}\t${day(e.receivedAt)}\t${t(e.batchId)}\t${t(e.release)}\t` +
      `${t(e.environment)}\t${t(e.session)}\t${t(e.userId)}\t${t(e.accountId)}`,
  );
  const clientColumns = createSegmentCache(
    sameClientFields,
    (e) =>
      `${t(e.browser)}\t${t(e.browserVersion)}\t${t(e.os)}\t${t(e.osVersion)}\t${t(e.device)}\t` +
      `${e.loadMs === null ? '\\N' : e.loadMs}\t${b(e.adblock)}`,
  );
  return (e) =>
    `${t(e.app)}\t${t(e.id)}\t${t(e.kind)}\t${seconds(e.ts)}\t${e.ts}\t${batchColumns(e)}\t` +
    `${t(e.url)}\t${t(e.trace)}\t${b(e.online)}\t${t(e.fingerprint)}\t` +
    `${t(e.name)}\t${t(e.errorType)}\t${t(e.message)}\t${t(e.stack)}\t${t(e.level)}\t${e.count}\t` +
    `${b(e.soft)}\t${t(e.attrs)}\t${t(e.breadcrumbs)}\t${clientColumns(e)}\n`;
}

/**
 * Events as TabSeparated, the same bytes as `tabSeparated(events.map(eventRow))` without the row
 * objects (they were a third of the ClickHouse sink's CPU, and most of its garbage): one line per
 * event in EVENT_COLUMNS order, in chunks of LINES_PER_CHUNK lines.
 */
export function eventsTabSeparated(events: readonly EnrichedEvent[]): {
  columns: string[];
  chunks: Buffer[];
} {
  const line = createEventLineWriter();
  const chunks: Buffer[] = [];
  let chunk = '';
  let lines = 0;
  for (const e of events) {
    chunk += line(e);
    lines += 1;
    if (lines === LINES_PER_CHUNK) {
      chunks.push(Buffer.from(chunk));
      chunk = '';
      lines = 0;
    }
  }
  if (chunk !== '') chunks.push(Buffer.from(chunk));
  return { columns: [...EVENT_COLUMNS], chunks };
}

/**
 * One spool record's events as TabSeparated lines (the 'clickhouse-tsv' wire format, columns
 * EVENT_COLUMNS): what a decode worker renders so the ClickHouse sink sends bytes as they are.
 */
export function eventsTsvLines(events: readonly EnrichedEvent[]): string {
  const line = createEventLineWriter();
  let out = '';
  for (const e of events) out += line(e);
  return out;
}
