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
import { filterClause, FINGERPRINT, type Tables } from './clickhouse-lists.js';
import { num, Params, str, type ClickHouseRunner } from './clickhouse-query.js';

/**
 * The search box and the filter bar's choices over ClickHouse, the twin of stores/duckdb-search.ts:
 * the same answers. Text matches are position() on lowerUTF8 text: a plain substring, linear, the
 * same test the server-log search uses. Reads go through FINAL (a re-sent event counts once).
 */

const OPTION_COLUMNS: ReadonlyArray<[keyof FilterOptions, string]> = [
  ['app', 'app'],
  ['release', 'release'],
  ['environment', 'environment'],
  ['browser', 'browser'],
  ['os', 'os'],
  ['path', 'url'],
];

/**
 * Only the time range narrows the choices: every value stays offered however the others are set.
 * `logs` reads `server_logs`, whose lines have an app, release and environment only.
 */
export async function filterOptions(
  run: ClickHouseRunner,
  t: Tables,
  filter: EventFilter = {},
  source: OptionsSource = 'events',
): Promise<FilterOptions> {
  const time: EventFilter = {
    ...(filter.from === undefined ? {} : { from: filter.from }),
    ...(filter.to === undefined ? {} : { to: filter.to }),
  };
  const table = source === 'logs' ? t.serverLogs : t.events;
  const columns =
    source === 'logs'
      ? OPTION_COLUMNS.filter(([field]) => (LOG_FILTER_FIELDS as readonly string[]).includes(field))
      : OPTION_COLUMNS;
  const options: FilterOptions = { app: [], release: [], environment: [], browser: [], os: [], path: [] };
  const lists = await Promise.all(
    columns.map(async ([field, column]) => {
      const params = new Params();
      // assumeNotNull after the null test: one String type for the Nullable columns too.
      const rows = await run.rows(
        params.query(
          `SELECT assumeNotNull(${column}) AS value, count() AS n FROM ${table} FINAL
           WHERE isNotNull(${column}) AND ${column} != ''${filterClause(time, params)}
           GROUP BY value ORDER BY n DESC, value LIMIT ${SEARCH_LIMITS.options}`,
        ),
      );
      return [field, rows.map((r) => str(r.value))] as const;
    }),
  );
  for (const [field, values] of lists) options[field] = values;
  return options;
}

/** Each kind of id and where it is stored (`p`: the bound id); server lines carry traces and sessions too. */
const ID_SOURCES: ReadonlyArray<[IdKind, (t: Tables, p: string) => string]> = [
  ['event', (t, p) => `SELECT DISTINCT app, id AS value FROM ${t.events} FINAL WHERE id = ${p}`],
  [
    'trace',
    (t, p) => `SELECT DISTINCT app, assumeNotNull(trace) AS value FROM ${t.events} FINAL WHERE trace = ${p}`,
  ],
  [
    'trace',
    (t, p) =>
      `SELECT DISTINCT app, assumeNotNull(trace) AS value FROM ${t.serverLogs} FINAL WHERE trace = ${p}`,
  ],
  ['session', (t, p) => `SELECT DISTINCT app, session AS value FROM ${t.events} FINAL WHERE session = ${p}`],
  [
    'session',
    (t, p) =>
      `SELECT DISTINCT app, assumeNotNull(session) AS value FROM ${t.serverLogs} FINAL WHERE session = ${p}`,
  ],
  [
    'user',
    (t, p) =>
      `SELECT DISTINCT app, assumeNotNull(user_id) AS value FROM ${t.events} FINAL WHERE user_id = ${p}`,
  ],
  [
    'group',
    (t, p) =>
      `SELECT DISTINCT app, ${FINGERPRINT} AS value FROM ${t.events} FINAL WHERE kind = 'error' AND ${FINGERPRINT} = ${p}`,
  ],
];

export async function findIds(run: ClickHouseRunner, t: Tables, id: string): Promise<IdMatch[]> {
  if (id === '' || id.length > MAX_QUERY_LENGTH) return [];
  const found = await Promise.all(
    ID_SOURCES.map(async ([kind, sql]) => {
      const params = new Params();
      const rows = await run.rows(
        params.query(`${sql(t, params.bind(id, 'String'))} ORDER BY app LIMIT ${SEARCH_LIMITS.idMatches}`),
      );
      return rows.map((r): IdMatch => ({ kind, app: str(r.app), id: str(r.value) }));
    }),
  );
  // A trace or session in both tables of one app is one match.
  const seen = new Set<string>();
  const unique = found.flat().filter((m) => {
    const key = `${m.kind}\u0000${m.app}\u0000${m.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return orderIdMatches(unique);
}

const perKind = (limit: number | undefined): number =>
  Math.max(1, Math.min(SEARCH_LIMITS.perKind, Math.trunc(limit ?? SEARCH_LIMITS.perKind)));

const contains = (column: string, needle: string): string =>
  `position(lowerUTF8(ifNull(${column}, '')), lowerUTF8(${needle})) > 0`;

async function names(
  run: ClickHouseRunner,
  t: Tables,
  kind: 'feature' | 'assert' | 'blocked',
  query: SearchQuery,
): Promise<NameHit[]> {
  const params = new Params();
  const rows = await run.rows(
    params.query(
      `SELECT app, assumeNotNull(name) AS hit, count() AS events, max(ts_ms) AS last_seen FROM ${t.events} FINAL
       WHERE kind = ${params.bind(kind, 'String')} AND ${contains('name', params.bind(query.text, 'String'))}${filterClause(query.filter, params)}
       GROUP BY app, hit ORDER BY last_seen DESC, hit, app LIMIT ${perKind(query.limit)}`,
    ),
  );
  return rows.map((r) => ({
    app: str(r.app),
    name: str(r.hit),
    events: num(r.events),
    lastSeen: num(r.last_seen),
  }));
}

export async function search(run: ClickHouseRunner, t: Tables, query: SearchQuery): Promise<SearchResults> {
  if (query.text === '') return { errors: [], features: [], asserts: [], blocked: [] };
  const text = { ...query, text: query.text.slice(0, MAX_QUERY_LENGTH) };
  const params = new Params();
  const needle = params.bind(text.text, 'String');
  const errors = run.rows(
    params.query(
      `SELECT ${FINGERPRINT} AS fp, app, argMax(error_type, tuple(ts_ms, id)) AS type,
         argMax(message, tuple(ts_ms, id)) AS last_message, count() AS events, max(ts_ms) AS last_seen
       FROM ${t.events} FINAL
       WHERE kind = 'error' AND (${contains('error_type', needle)} OR ${contains('message', needle)})${filterClause(query.filter, params)}
       GROUP BY fp, app ORDER BY last_seen DESC, fp, app LIMIT ${perKind(query.limit)}`,
    ),
  );
  const [errorRows, features, asserts, blocked] = await Promise.all([
    errors,
    names(run, t, 'feature', text),
    names(run, t, 'assert', text),
    names(run, t, 'blocked', text),
  ]);
  return {
    errors: errorRows.map((r) => ({
      app: str(r.app),
      fingerprint: str(r.fp),
      type: str(r.type),
      message: str(r.last_message),
      events: num(r.events),
      lastSeen: num(r.last_seen),
    })),
    features,
    asserts,
    blocked,
  };
}

export function clickHouseSearch(run: ClickHouseRunner, t: Tables): SearchStore {
  return {
    filterOptions: (filter, source) => filterOptions(run, t, filter, source),
    findIds: (id) => findIds(run, t, id),
    search: (query) => search(run, t, query),
  };
}
