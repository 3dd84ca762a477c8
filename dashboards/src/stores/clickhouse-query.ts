import type { PageQuery } from '../store.js';
import { clampLimit, keysetSql, type KeysetColumn } from './keyset.js';

/**
 * How the ClickHouse store talks SQL: every value travels as a typed `{name:Type}` parameter, never
 * in the SQL text. The text of a query depends only on which filters are set, never on their values.
 */

/** The parameter types the store's queries use. */
export type ParamType = 'String' | 'Int64' | 'UInt8';
export type ParamValue = string | number;
export type Row = Record<string, unknown>;

export interface BoundQuery {
  sql: string;
  params: Record<string, ParamValue>;
}

/** Runs one SELECT and returns its rows (JSONEachRow); the store is written against this alone. */
export interface ClickHouseRunner {
  rows(query: BoundQuery): Promise<Row[]>;
  close(): Promise<void>;
}

/** Collects the parameters of one query: `bind` returns the placeholder to put in the SQL. */
export class Params {
  readonly values: Record<string, ParamValue> = {};
  private count = 0;

  bind(value: string | number | boolean, type: ParamType): string {
    const name = `p${this.count}`;
    this.count += 1;
    this.values[name] = encode(value, type);
    return `{${name}:${type}}`;
  }

  query(sql: string): BoundQuery {
    return { sql, params: this.values };
  }
}

/** Numbers here are epoch milliseconds and flags: clamped to what a safe integer can say. */
function encode(value: string | number | boolean, type: ParamType): ParamValue {
  if (type === 'String') return String(value);
  if (type === 'UInt8') return value === true || value === 1 || value === '1' ? 1 : 0;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) return n > 0 ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
  return Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Math.trunc(n)));
}

const PLACEHOLDER = /\{(p\d{1,4}):(String|Int64|UInt8)\}/g;
const STRING_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\0': '\\0',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/**
 * For servers without query parameters (ClickHouse before 19.x, e.g. Debian's 18.16): each
 * placeholder becomes a literal of its declared type — an integer printed from a number and cast,
 * or a quoted string with every quote and backslash escaped. The one place values meet SQL text.
 */
export function inlineParams({ sql, params }: BoundQuery): string {
  return sql.replace(PLACEHOLDER, (_match, name: string, type: ParamType) => {
    const value = params[name];
    if (value === undefined) throw new Error(`ClickHouse query parameter ${name} is not bound`);
    // The cast keeps the declared type, as a bound parameter would (a bare -5 would be an Int8).
    if (type !== 'String') return `to${type}(${encode(value, type)})`;
    return `'${String(value).replace(/[\\'\0\n\r\t]/g, (c) => STRING_ESCAPES[c]!)}'`;
  });
}

/** A column of a list's order as the outer query names it, its direction and its cursor type. */
export interface SortColumn extends KeysetColumn {
  type: ParamType;
}

/**
 * Keyset pagination over `inner` (a SELECT using `params`): rows after `before` (or ahead of
 * `after`) in the order of `columns`, one page of them, in list order (stores/keyset.ts, as the DuckDB store).
 */
export async function keysetPage(
  run: ClickHouseRunner,
  inner: string,
  params: Params,
  columns: readonly SortColumn[],
  query: PageQuery,
): Promise<Row[]> {
  const { where, order, backwards } = keysetSql(columns, query, (value, column) =>
    params.bind(value, column.type),
  );
  // The limit is a number we clamped, not text from the request.
  const rows = await run.rows(
    params.query(`SELECT * FROM (${inner}) ${where} ORDER BY ${order} LIMIT ${clampLimit(query.limit)}`),
  );
  return backwards ? rows.reverse() : rows;
}

// ClickHouse answers 64-bit integers as JSON strings and booleans as UInt8: rows.ts reads both stores' values.
export { num, optBool, optStr, parseJson, str } from './rows.js';
