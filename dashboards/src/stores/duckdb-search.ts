import type { DuckDBConnection, DuckDBValue, JS } from '@duckdb/node-api';
import type { EventFilter } from '../filter.js';
import {
  LOG_FILTER_FIELDS,
  MAX_QUERY_LENGTH,
  orderIdMatches,
  SEARCH_LIMITS,
  type FilterOptions,
  type IdKind,
  type IdMatch,
  type NameHit,
  type OptionsSource,
  type SearchQuery,
  type SearchResults,
  type SearchStore,
} from '../search.js';
import { FINGERPRINT, filterClause } from './duckdb.js';

/**
 * The search box and the filter bar's choices over DuckDB's `events` and `server_logs`, the twin of
 * stores/clickhouse-search.ts. Text matches are contains() on lower-cased text: a plain substring,
 * linear, no pattern characters.
 */

type Row = Record<string, JS>;

async function all(db: DuckDBConnection, sql: string, params: DuckDBValue[] = []): Promise<Row[]> {
  return (await db.runAndReadAll(sql, params)).getRowObjectsJS();
}

const str = (value: JS | undefined): string => (value === null || value === undefined ? '' : String(value));
const num = (value: JS | undefined): number =>
  typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : 0;

/** Filter-bar fields and the column each reads. */
const OPTION_COLUMNS: ReadonlyArray<[keyof FilterOptions, string]> = [
  ['app', 'app'],
  ['release', 'release'],
  ['environment', 'environment'],
  ['browser', 'browser'],
  ['os', 'os'],
  ['path', 'url'],
];

const optionColumns = (source: OptionsSource) =>
  source === 'logs'
    ? OPTION_COLUMNS.filter(([field]) => (LOG_FILTER_FIELDS as readonly string[]).includes(field))
    : OPTION_COLUMNS;

/**
 * Only the time range narrows the choices: every value stays offered however the others are set.
 * `logs` reads `server_logs`, whose lines have an app, release and environment only.
 */
export async function filterOptions(
  db: DuckDBConnection,
  filter: EventFilter = {},
  source: OptionsSource = 'events',
): Promise<FilterOptions> {
  const options: FilterOptions = { app: [], release: [], environment: [], browser: [], os: [], path: [] };
  const time: EventFilter = {
    ...(filter.from === undefined ? {} : { from: filter.from }),
    ...(filter.to === undefined ? {} : { to: filter.to }),
  };
  const table = source === 'logs' ? 'server_logs' : 'events';
  for (const [field, column] of optionColumns(source)) {
    const values: DuckDBValue[] = [];
    const rows = await all(
      db,
      `SELECT ${column} AS value, COUNT(*) AS n FROM ${table}
       WHERE ${column} IS NOT NULL AND ${column} <> ''${filterClause(time, values)}
       GROUP BY ${column} ORDER BY n DESC, value LIMIT ${SEARCH_LIMITS.options}`,
      values,
    );
    options[field] = rows.map((r) => str(r.value));
  }
  return options;
}

/** Each kind of id and where it is stored; server lines carry traces and sessions too. (A function: duckdb.ts imports this module.) */
const idSources = (): ReadonlyArray<[IdKind, string]> => [
  ['event', `SELECT DISTINCT app, id AS value FROM events WHERE id = $1`],
  [
    'trace',
    `SELECT DISTINCT app, trace AS value FROM events WHERE trace = $1
     UNION SELECT DISTINCT app, trace AS value FROM server_logs WHERE trace = $1`,
  ],
  [
    'session',
    `SELECT DISTINCT app, session AS value FROM events WHERE session = $1
     UNION SELECT DISTINCT app, session AS value FROM server_logs WHERE session = $1`,
  ],
  ['user', `SELECT DISTINCT app, user_id AS value FROM events WHERE user_id = $1`],
  [
    'group',
    `SELECT DISTINCT app, ${FINGERPRINT} AS value FROM events WHERE kind = 'error' AND ${FINGERPRINT} = $1`,
  ],
];

export async function findIds(db: DuckDBConnection, id: string): Promise<IdMatch[]> {
  if (id === '' || id.length > MAX_QUERY_LENGTH) return [];
  const matches: IdMatch[] = [];
  for (const [kind, sql] of idSources()) {
    const rows = await all(db, `${sql} ORDER BY app LIMIT ${SEARCH_LIMITS.idMatches}`, [id]);
    for (const r of rows) matches.push({ kind, app: str(r.app), id: str(r.value) });
  }
  return orderIdMatches(matches);
}

const perKind = (limit: number | undefined): number =>
  Math.max(1, Math.min(SEARCH_LIMITS.perKind, Math.trunc(limit ?? SEARCH_LIMITS.perKind)));

/** Names of one kind (feature, assert, blocked) containing the text. */
async function names(
  db: DuckDBConnection,
  kind: 'feature' | 'assert' | 'blocked',
  query: SearchQuery,
): Promise<NameHit[]> {
  const values: DuckDBValue[] = [kind, query.text];
  const rows = await all(
    db,
    `SELECT app, name, COUNT(*) AS events, epoch_ms(max(ts)) AS last_seen FROM events
     WHERE kind = $1 AND contains(lower(COALESCE(name, '')), lower($2))${filterClause(query.filter, values)}
     GROUP BY app, name ORDER BY last_seen DESC, name, app LIMIT ${perKind(query.limit)}`,
    values,
  );
  return rows.map((r) => ({
    app: str(r.app),
    name: str(r.name),
    events: num(r.events),
    lastSeen: num(r.last_seen),
  }));
}

export async function search(db: DuckDBConnection, query: SearchQuery): Promise<SearchResults> {
  if (query.text === '') return { errors: [], features: [], asserts: [], blocked: [] };
  const values: DuckDBValue[] = [query.text.slice(0, MAX_QUERY_LENGTH)];
  const narrowed = filterClause(query.filter, values);
  const errors = await all(
    db,
    `SELECT ${FINGERPRINT} AS fp, app, arg_max(error_type, (ts, id)) AS type, arg_max(message, (ts, id)) AS message,
       COUNT(*) AS events, epoch_ms(max(ts)) AS last_seen
     FROM events
     WHERE kind = 'error'
       AND (contains(lower(COALESCE(error_type, '')), lower($1)) OR contains(lower(COALESCE(message, '')), lower($1)))${narrowed}
     GROUP BY fp, app ORDER BY last_seen DESC, fp, app LIMIT ${perKind(query.limit)}`,
    values,
  );
  const text = { ...query, text: query.text.slice(0, MAX_QUERY_LENGTH) };
  return {
    errors: errors.map((r) => ({
      app: str(r.app),
      fingerprint: str(r.fp),
      type: str(r.type),
      message: str(r.message),
      events: num(r.events),
      lastSeen: num(r.last_seen),
    })),
    features: await names(db, 'feature', text),
    asserts: await names(db, 'assert', text),
    blocked: await names(db, 'blocked', text),
  };
}

/** The SearchStore part of the DuckDB store, each call through the store's one-statement queue. */
export function duckDbSearch(
  db: DuckDBConnection,
  serial: <T>(run: () => Promise<T>) => Promise<T>,
): SearchStore {
  return {
    filterOptions: (filter, source) => serial(() => filterOptions(db, filter, source)),
    findIds: (id) => serial(() => findIds(db, id)),
    search: (query) => serial(() => search(db, query)),
  };
}
