import type { DuckDBValue } from '@duckdb/node-api';
import type { EventFilter } from '../filter.js';

/**
 * The WHERE conditions of an EventFilter over the `events` table (@telltale/schema), one list per
 * store, ANDed by the caller; both give the same rows. Values only ever travel through `bind`
 * (a placeholder comes back), so the SQL text depends on which fields are set, never on their values.
 *
 * Time is the event's own `ts`, half-open [from, to). On ClickHouse the exact milliseconds are
 * `ts_ms`; the DateTime `ts` (seconds, clamped to 1970..2106, in the sort key) gets a looser bound
 * too, so the primary index can skip granules. Path: `url` equals the path or starts with it
 * followed by `/` (see EventFilter.path).
 */

/** `url` values under `path`: the path itself, or anything below it. */
function pathPrefix(path: string): string {
  return path.endsWith('/') ? path : `${path}/`;
}

/** The exact-value columns, the same name on both stores. */
const EQUAL_COLUMNS = ['app', 'release', 'environment', 'browser', 'os'] as const;

export function duckdbFilterSql(filter: EventFilter, bind: (value: DuckDBValue) => string): string[] {
  const where: string[] = [];
  if (filter.from !== undefined) where.push(`ts >= epoch_ms(CAST(${bind(filter.from)} AS BIGINT))`);
  if (filter.to !== undefined) where.push(`ts < epoch_ms(CAST(${bind(filter.to)} AS BIGINT))`);
  for (const column of EQUAL_COLUMNS) {
    const value = filter[column];
    if (value !== undefined) where.push(`${column} = ${bind(value)}`);
  }
  if (filter.path !== undefined)
    where.push(`(url = ${bind(filter.path)} OR starts_with(url, ${bind(pathPrefix(filter.path))}))`);
  return where;
}

/** DateTime seconds as the ClickHouse sink writes them (rows.ts): floor, clamped to UInt32. */
const seconds = (ms: number): number => Math.min(4_294_967_295, Math.max(0, Math.floor(ms / 1000)));

export function clickhouseFilterSql(
  filter: EventFilter,
  bind: (value: string | number, type: 'String' | 'Int64') => string,
): string[] {
  const where: string[] = [];
  // The clamped seconds never decrease as ts_ms grows, so these bounds keep every matching row.
  if (filter.from !== undefined)
    where.push(
      `ts >= toDateTime(${bind(seconds(filter.from), 'Int64')})`,
      `ts_ms >= ${bind(filter.from, 'Int64')}`,
    );
  if (filter.to !== undefined)
    where.push(
      `ts <= toDateTime(${bind(seconds(filter.to), 'Int64')})`,
      `ts_ms < ${bind(filter.to, 'Int64')}`,
    );
  for (const column of EQUAL_COLUMNS) {
    const value = filter[column];
    if (value !== undefined) where.push(`${column} = ${bind(value, 'String')}`);
  }
  if (filter.path !== undefined) {
    const prefix = pathPrefix(filter.path);
    // substring/length count bytes, as a UTF-8 prefix test must; 18.16 has no startsWith.
    where.push(
      `(ifNull(url, '') = ${bind(filter.path, 'String')} OR substring(ifNull(url, ''), 1, ${bind(
        Buffer.byteLength(prefix, 'utf8'),
        'Int64',
      )}) = ${bind(prefix, 'String')})`,
    );
  }
  return where;
}

/**
 * The filter over `server_logs`: time, app, release and environment. Server lines carry no browser,
 * OS or URL, so those fields do not narrow them.
 */
export function duckdbLogFilterSql(filter: EventFilter, bind: (value: DuckDBValue) => string): string[] {
  return duckdbFilterSql(logPart(filter), bind);
}

export function clickhouseLogFilterSql(
  filter: EventFilter,
  bind: (value: string | number, type: 'String' | 'Int64') => string,
): string[] {
  return clickhouseFilterSql(logPart(filter), bind);
}

function logPart(filter: EventFilter): EventFilter {
  const { browser: _browser, os: _os, path: _path, ...rest } = filter;
  return rest;
}
