import type { DuckDBConnection, DuckDBInstance, DuckDBValue, JS } from '@duckdb/node-api';
import { EVENT_KINDS, type Attributes } from '@telltale/protocol';
import {
  LIST_LIMITS,
  type AssertFailure,
  type BlockedSummary,
  type DashboardStore,
  type ErrorGroup,
  type ErrorGroupDetail,
  type ErrorGroupsQuery,
  type EventCounts,
  type EventDetail,
  type EventSummary,
  type FeatureUsage,
  type ListEventsQuery,
  type ListQuery,
  type PageQuery,
} from '../store.js';
import type { EventFilter } from '../filter.js';
import { duckdbFilterSql } from './filter-sql.js';
import { duckDbSeries } from './duckdb-series.js';
import { duckDbSearch } from './duckdb-search.js';
import { serverLogs, timeline } from './duckdb-timeline.js';
import { clampLimit, keysetSql, type KeysetColumn } from './keyset.js';
import { errorGroupOf, eventDetailOf, eventSummaryOf, isKind, num, parseJson, str } from './rows.js';

/**
 * Every SQL statement the dashboards run against the DuckDB `events` table (schema: @telltale/schema),
 * the twin of stores/clickhouse-lists.ts. All values are bound as parameters.
 */

type Row = Record<string, JS>;

/** Anonymous sessions count as one user each; the prefixes keep a user id from matching a session id. */
export const USERS = `COUNT(DISTINCT COALESCE('u:' || user_id, 's:' || session))`;

/** The dispatcher always sets a fingerprint; the fallback keeps an unenriched error visible and linkable. */
export const FINGERPRINT = `COALESCE(fingerprint, md5(COALESCE(error_type, '') || ':' || COALESCE(message, '')))`;

const SUMMARY_COLUMNS = `app, id, kind, ts, received_at, release, environment, session, user_id, name,
  error_type, message, level, ${FINGERPRINT} AS fingerprint, url, browser, os, count`;

const DETAIL_COLUMNS = `${SUMMARY_COLUMNS}, strftime(day, '%Y-%m-%d') AS day, batch_id, account_id, trace,
  online, stack, soft, attrs, breadcrumbs, browser_version, os_version, device, load_ms, adblock`;

/** ` AND …` for the filter's conditions, their values appended to `values` as numbered parameters. */
export function filterClause(filter: ListQuery['filter'], values: DuckDBValue[]): string {
  const bind = (value: DuckDBValue): string => {
    values.push(value);
    return `$${values.length}`;
  };
  return duckdbFilterSql(filter ?? {}, bind)
    .map((condition) => ` AND ${condition}`)
    .join('');
}

/** The event columns as this store's SELECTs name them (stores/rows.ts reads them). */
const NAMES = { ts: 'ts', receivedAt: 'received_at', fingerprint: 'fingerprint', day: 'day' } as const;

/** "Most recent": the latest event time, a tie broken by the larger id (the ClickHouse store does the same). */
const LATEST = '(ts, id)';

const GROUP_SELECT = `SELECT ${FINGERPRINT} AS fp, app,
    arg_max(error_type, ${LATEST}) AS type, arg_max(message, ${LATEST}) AS last_message,
    SUM(count) AS total, COUNT(*) AS events, ${USERS} AS users,
    min(ts) AS first_seen, max(ts) AS last_seen,
    list_sort(list(DISTINCT release)) AS releases, arg_max(release, ${LATEST}) AS last_release
  FROM events WHERE kind = 'error'`;

/**
 * Keyset pagination over `inner` (a SELECT, stores/keyset.ts): rows after `before` (or ahead of
 * `after`) in the order of `columns`, one page of them, in list order. duckdb-timeline.ts pages with it too.
 */
export async function page(
  db: DuckDBConnection,
  inner: string,
  params: DuckDBValue[],
  columns: readonly KeysetColumn[],
  query: PageQuery,
): Promise<Row[]> {
  const values: DuckDBValue[] = [...params];
  const bind = (value: string | number | boolean): string => {
    values.push(value);
    return `$${values.length}`;
  };
  const { where, order, backwards } = keysetSql(columns, query, bind);
  const rows = await all(
    db,
    `SELECT * FROM (${inner}) AS listed ${where} ORDER BY ${order} LIMIT ${bind(clampLimit(query.limit))}`,
    values,
  );
  return backwards ? rows.reverse() : rows;
}

const GROUP_ORDER: KeysetColumn[] = [
  { expr: 'epoch_ms(last_seen)', desc: true },
  { expr: 'fp', desc: false },
  { expr: 'app', desc: false },
];

export async function errorGroups(db: DuckDBConnection, query: ErrorGroupsQuery = {}): Promise<ErrorGroup[]> {
  const values: DuckDBValue[] = [query.app ?? null];
  const filter = filterClause(query.filter, values);
  const rows = await page(
    db,
    `${GROUP_SELECT} AND ($1::VARCHAR IS NULL OR app = $1)${filter} GROUP BY fp, app`,
    values,
    GROUP_ORDER,
    query,
  );
  return rows.map(errorGroupOf);
}

export async function errorGroup(
  db: DuckDBConnection,
  fingerprint: string,
  app?: string,
  filter?: EventFilter,
): Promise<ErrorGroupDetail | undefined> {
  const values: DuckDBValue[] = [fingerprint, app ?? null];
  const [row] = await all(
    db,
    `${GROUP_SELECT} AND ${FINGERPRINT} = $1 AND ($2::VARCHAR IS NULL OR app = $2)${filterClause(filter, values)}
     GROUP BY fp, app ORDER BY last_seen DESC, fp, app LIMIT 1`,
    values,
  );
  if (row === undefined) return undefined;
  const group = errorGroupOf(row);
  const sampleValues: DuckDBValue[] = [group.app, fingerprint, LIST_LIMITS.sampleEvents];
  const samples = await all(
    db,
    `SELECT ${DETAIL_COLUMNS} FROM events
     WHERE kind = 'error' AND app = $1 AND ${FINGERPRINT} = $2${filterClause(filter, sampleValues)}
     ORDER BY ts DESC, received_at DESC, id LIMIT $3`,
    sampleValues,
  );
  return { group, samples: samples.map((r) => eventDetailOf(r, NAMES)) };
}

export async function featureUsage(db: DuckDBConnection, query: ListQuery = {}): Promise<FeatureUsage[]> {
  const values: DuckDBValue[] = [];
  const rows = await page(
    db,
    `SELECT app, name, SUM(count) AS uses, ${USERS} AS users, min(ts) AS first_use, max(ts) AS last_use
     FROM events WHERE kind = 'feature'${filterClause(query.filter, values)} GROUP BY app, name`,
    values,
    [
      { expr: 'epoch_ms(last_use)', desc: true },
      { expr: 'name', desc: false },
      { expr: 'app', desc: false },
    ],
    query,
  );
  return rows.map((r) => ({
    app: str(r.app),
    name: str(r.name),
    uses: num(r.uses),
    users: num(r.users),
    firstUse: num(r.first_use),
    lastUse: num(r.last_use),
  }));
}

export async function assertFailures(db: DuckDBConnection, query: ListQuery = {}): Promise<AssertFailure[]> {
  const values: DuckDBValue[] = [];
  const rows = await page(
    db,
    `SELECT app, name, COALESCE(soft, false) AS soft, SUM(count) AS count, ${USERS} AS users,
       min(ts) AS first_seen, max(ts) AS last_seen, arg_max(attrs, ${LATEST}) AS last_attrs
     FROM events WHERE kind = 'assert'${filterClause(query.filter, values)}
     GROUP BY app, name, COALESCE(soft, false)`,
    values,
    [
      { expr: 'epoch_ms(last_seen)', desc: true },
      { expr: 'name', desc: false },
      { expr: 'app', desc: false },
      { expr: 'soft', desc: false },
    ],
    query,
  );
  return rows.map((r) => ({
    app: str(r.app),
    name: str(r.name),
    soft: r.soft === true,
    count: num(r.count),
    users: num(r.users),
    firstSeen: num(r.first_seen),
    lastSeen: num(r.last_seen),
    lastVars: parseJson<Attributes>(r.last_attrs),
  }));
}

export async function blockedEvents(db: DuckDBConnection, query: ListQuery = {}): Promise<BlockedSummary[]> {
  const values: DuckDBValue[] = [];
  const rows = await page(
    db,
    `SELECT app, name AS reason, SUM(count) AS count, ${USERS} AS users,
       min(ts) AS first_seen, max(ts) AS last_seen, arg_max(attrs, ${LATEST}) AS last_attrs
     FROM events WHERE kind = 'blocked'${filterClause(query.filter, values)} GROUP BY app, name`,
    values,
    [
      { expr: 'epoch_ms(last_seen)', desc: true },
      { expr: 'reason', desc: false },
      { expr: 'app', desc: false },
    ],
    query,
  );
  return rows.map((r) => ({
    app: str(r.app),
    reason: str(r.reason),
    count: num(r.count),
    users: num(r.users),
    firstSeen: num(r.first_seen),
    lastSeen: num(r.last_seen),
    lastProps: parseJson<Attributes>(r.last_attrs),
  }));
}

export async function listEvents(db: DuckDBConnection, query: ListEventsQuery = {}): Promise<EventSummary[]> {
  const values: DuckDBValue[] = [query.kind ?? null, query.session ?? null];
  const filter = filterClause(query.filter, values);
  const rows = await page(
    db,
    `SELECT ${SUMMARY_COLUMNS} FROM events
     WHERE ($1::VARCHAR IS NULL OR kind = $1) AND ($2::VARCHAR IS NULL OR session = $2)${filter}`,
    values,
    [
      { expr: 'epoch_ms(received_at)', desc: true },
      { expr: 'epoch_ms(ts)', desc: true },
      { expr: 'id', desc: false },
      { expr: 'app', desc: false },
    ],
    query,
  );
  return rows.map((r) => eventSummaryOf(r, NAMES));
}

export async function eventById(
  db: DuckDBConnection,
  app: string,
  id: string,
): Promise<EventDetail | undefined> {
  const [row] = await all(db, `SELECT ${DETAIL_COLUMNS} FROM events WHERE app = $1 AND id = $2`, [app, id]);
  return row === undefined ? undefined : eventDetailOf(row, NAMES);
}

export async function eventCounts(db: DuckDBConnection): Promise<EventCounts> {
  const rows = await all(db, `SELECT kind, COUNT(*) AS n FROM events GROUP BY kind`);
  const counts = Object.fromEntries(EVENT_KINDS.map((kind) => [kind, 0])) as EventCounts;
  for (const r of rows) if (isKind(r.kind)) counts[r.kind] = num(r.n);
  return counts;
}

export interface DuckDbStoreOptions {
  /** Called after each statement with its SQL, bound values and milliseconds (benchmarks/query.ts replays them). */
  onQuery?: (sql: string, params: readonly DuckDBValue[], ms: number) => void;
}

/** Opens the store's own connection on a shared instance (the duckdb sink writes through another). */
export async function createDuckDbStore(
  instance: DuckDBInstance,
  options: DuckDbStoreOptions = {},
): Promise<DashboardStore> {
  const connection = await instance.connect();
  const db = options.onQuery === undefined ? connection : observed(connection, options.onQuery);
  // A connection runs one statement at a time; queueing here keeps waiters off libuv's small thread pool (fsyncs use it).
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(run: () => Promise<T>): Promise<T> => {
    const result = tail.then(run, run);
    tail = result.catch(() => undefined);
    return result;
  };
  return {
    errorGroups: (query) => serial(() => errorGroups(db, query)),
    errorGroup: (fingerprint, app, filter) => serial(() => errorGroup(db, fingerprint, app, filter)),
    featureUsage: (query) => serial(() => featureUsage(db, query)),
    assertFailures: (query) => serial(() => assertFailures(db, query)),
    blockedEvents: (query) => serial(() => blockedEvents(db, query)),
    listEvents: (query) => serial(() => listEvents(db, query)),
    eventById: (app, id) => serial(() => eventById(db, app, id)),
    eventCounts: () => serial(() => eventCounts(db)),
    timeline: (query) => serial(() => timeline(db, query)),
    serverLogs: (query) => serial(() => serverLogs(db, query)),
    ...duckDbSearch(db, serial),
    ...duckDbSeries(db, serial),
    close: () => serial(async () => db.closeSync()),
  };
}

/** The connection with every runAndReadAll (all SQL of this store and duckdb-timeline.ts) reported to `onQuery`. */
function observed(connection: DuckDBConnection, onQuery: NonNullable<DuckDbStoreOptions['onQuery']>) {
  const runAndReadAll: DuckDBConnection['runAndReadAll'] = async (sql, values, ...rest) => {
    const started = performance.now();
    const reader = await connection.runAndReadAll(sql, values, ...rest);
    onQuery(sql, Array.isArray(values) ? [...values] : [], performance.now() - started);
    return reader;
  };
  return new Proxy(connection, {
    get: (target, key) => (key === 'runAndReadAll' ? runAndReadAll : Reflect.get(target, key, target)),
  });
}

async function all(db: DuckDBConnection, sql: string, params: DuckDBValue[] = []): Promise<Row[]> {
  const reader = await db.runAndReadAll(sql, params);
  return reader.getRowObjectsJS();
}
