import { EVENT_KINDS, type Attributes } from '@telltale/protocol';
import { TABLES } from '@telltale/schema';
import {
  LIST_LIMITS,
  type AssertFailure,
  type BlockedSummary,
  type ErrorGroup,
  type ErrorGroupDetail,
  type ErrorGroupsQuery,
  type EventCounts,
  type EventDetail,
  type EventSummary,
  type FeatureUsage,
  type ListEventsQuery,
  type ListQuery,
} from '../store.js';
import type { EventFilter } from '../filter.js';
import { clickhouseFilterSql } from './filter-sql.js';
import { keysetPage, Params, type ClickHouseRunner, type SortColumn } from './clickhouse-query.js';
import { errorGroupOf, eventDetailOf, eventSummaryOf, isKind, num, parseJson, str } from './rows.js';

/**
 * Every SQL statement the dashboards run against the ClickHouse `events` table (schema:
 * @telltale/schema), the twin of stores/duckdb.ts: same groups, same order, same answers.
 *
 * Event-id dedupe: the table is a ReplacingMergeTree, so a replayed or re-sent event is stored twice
 * until a merge drops the copy. Every read goes through FINAL (the copies collapse at query time),
 * so `count()` counts events and `sum(count)` adds each event's repeat counter once — as DuckDB's
 * primary key does.
 */

/** Where the store reads: `<database>.<table>`, the database a checked identifier. */
export interface Tables {
  events: string;
  serverLogs: string;
}

export const tablesOf = (database: string): Tables => ({
  events: `${database}.${TABLES.events}`,
  serverLogs: `${database}.${TABLES.serverLogs}`,
});

/** Anonymous sessions count as one user each; the prefixes keep a user id from matching a session id. */
export const USERS = `uniqExact(if(isNull(user_id), concat('s:', session), concat('u:', assumeNotNull(user_id))))`;

/** The same fallback as DuckDB's md5(type:message), lower-case hex. */
export const FINGERPRINT = `ifNull(fingerprint, lower(hex(MD5(concat(ifNull(error_type, ''), ':', ifNull(message, ''))))))`;

/** "Most recent": the latest event time, a tie broken by the larger id (DuckDB's arg_max by (ts, id)). */
const LATEST = 'tuple(ts_ms, id)';

// Aliases never reuse a column's name: ClickHouse would read `f(x) AS x` as a cyclic alias.
const SUMMARY_COLUMNS = `app, id, kind, ts_ms, received_ms, release, environment, session, user_id, name,
  error_type, message, level, ${FINGERPRINT} AS fp, url, browser, os, count`;

/** The event columns as this store's SELECTs name them (stores/rows.ts reads them). */
const NAMES = { ts: 'ts_ms', receivedAt: 'received_ms', fingerprint: 'fp', day: 'day_text' } as const;

const DETAIL_COLUMNS = `${SUMMARY_COLUMNS}, toString(day) AS day_text, batch_id, account_id, trace,
  online, stack, soft, attrs, breadcrumbs, browser_version, os_version, device, load_ms, adblock`;

const groupSelect = (t: Tables) => `SELECT ${FINGERPRINT} AS fp, app,
    argMax(error_type, ${LATEST}) AS type, argMax(message, ${LATEST}) AS last_message,
    sum(count) AS total, count() AS events, ${USERS} AS users,
    min(ts_ms) AS first_seen, max(ts_ms) AS last_seen,
    arraySort(groupUniqArray(release)) AS releases, argMax(release, ${LATEST}) AS last_release
  FROM ${t.events} FINAL WHERE kind = 'error'`;

/** ` AND …` for the filter's conditions, their values bound on `params`. */
export function filterClause(filter: ListQuery['filter'], params: Params): string {
  return clickhouseFilterSql(filter ?? {}, (value, type) => params.bind(value, type))
    .map((condition) => ` AND ${condition}`)
    .join('');
}

const GROUP_ORDER: SortColumn[] = [
  { expr: 'last_seen', desc: true, type: 'Int64' },
  { expr: 'fp', desc: false, type: 'String' },
  { expr: 'app', desc: false, type: 'String' },
];

export async function errorGroups(
  run: ClickHouseRunner,
  t: Tables,
  query: ErrorGroupsQuery = {},
): Promise<ErrorGroup[]> {
  const params = new Params();
  const app = query.app === undefined ? '' : ` AND app = ${params.bind(query.app, 'String')}`;
  const filter = filterClause(query.filter, params);
  const rows = await keysetPage(
    run,
    `${groupSelect(t)}${app}${filter} GROUP BY fp, app`,
    params,
    GROUP_ORDER,
    query,
  );
  return rows.map(errorGroupOf);
}

export async function errorGroup(
  run: ClickHouseRunner,
  t: Tables,
  fingerprint: string,
  app?: string,
  filter?: EventFilter,
): Promise<ErrorGroupDetail | undefined> {
  const params = new Params();
  const appClause = app === undefined ? '' : ` AND app = ${params.bind(app, 'String')}`;
  const [row] = await run.rows(
    params.query(
      `${groupSelect(t)} AND ${FINGERPRINT} = ${params.bind(fingerprint, 'String')}${appClause}${filterClause(filter, params)}
       GROUP BY fp, app ORDER BY last_seen DESC, fp, app LIMIT 1`,
    ),
  );
  if (row === undefined) return undefined;
  const group = errorGroupOf(row);
  const sample = new Params();
  const samples = await run.rows(
    sample.query(
      `SELECT ${DETAIL_COLUMNS} FROM ${t.events} FINAL
       WHERE kind = 'error' AND app = ${sample.bind(group.app, 'String')}
         AND ${FINGERPRINT} = ${sample.bind(fingerprint, 'String')}${filterClause(filter, sample)}
       ORDER BY ts_ms DESC, received_ms DESC, id LIMIT ${LIST_LIMITS.sampleEvents}`,
    ),
  );
  return { group, samples: samples.map((r) => eventDetailOf(r, NAMES)) };
}

export async function featureUsage(
  run: ClickHouseRunner,
  t: Tables,
  query: ListQuery = {},
): Promise<FeatureUsage[]> {
  const params = new Params();
  const rows = await keysetPage(
    run,
    `SELECT app, name, sum(count) AS uses, ${USERS} AS users, min(ts_ms) AS first_use, max(ts_ms) AS last_use
     FROM ${t.events} FINAL WHERE kind = 'feature'${filterClause(query.filter, params)} GROUP BY app, name`,
    params,
    [
      { expr: 'last_use', desc: true, type: 'Int64' },
      { expr: 'name', desc: false, type: 'String' },
      { expr: 'app', desc: false, type: 'String' },
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

export async function assertFailures(
  run: ClickHouseRunner,
  t: Tables,
  query: ListQuery = {},
): Promise<AssertFailure[]> {
  const params = new Params();
  const rows = await keysetPage(
    run,
    `SELECT app, name, ifNull(soft, 0) AS is_soft, sum(count) AS total, ${USERS} AS users,
       min(ts_ms) AS first_seen, max(ts_ms) AS last_seen, argMax(attrs, ${LATEST}) AS last_attrs
     FROM ${t.events} FINAL WHERE kind = 'assert'${filterClause(query.filter, params)}
     GROUP BY app, name, is_soft`,
    params,
    [
      { expr: 'last_seen', desc: true, type: 'Int64' },
      { expr: 'name', desc: false, type: 'String' },
      { expr: 'app', desc: false, type: 'String' },
      { expr: 'is_soft', desc: false, type: 'UInt8' },
    ],
    query,
  );
  return rows.map((r) => ({
    app: str(r.app),
    name: str(r.name),
    soft: num(r.is_soft) !== 0,
    count: num(r.total),
    users: num(r.users),
    firstSeen: num(r.first_seen),
    lastSeen: num(r.last_seen),
    lastVars: parseJson<Attributes>(r.last_attrs),
  }));
}

export async function blockedEvents(
  run: ClickHouseRunner,
  t: Tables,
  query: ListQuery = {},
): Promise<BlockedSummary[]> {
  const params = new Params();
  const rows = await keysetPage(
    run,
    `SELECT app, name AS reason, sum(count) AS total, ${USERS} AS users,
       min(ts_ms) AS first_seen, max(ts_ms) AS last_seen, argMax(attrs, ${LATEST}) AS last_attrs
     FROM ${t.events} FINAL WHERE kind = 'blocked'${filterClause(query.filter, params)} GROUP BY app, reason`,
    params,
    [
      { expr: 'last_seen', desc: true, type: 'Int64' },
      { expr: 'reason', desc: false, type: 'String' },
      { expr: 'app', desc: false, type: 'String' },
    ],
    query,
  );
  return rows.map((r) => ({
    app: str(r.app),
    reason: str(r.reason),
    count: num(r.total),
    users: num(r.users),
    firstSeen: num(r.first_seen),
    lastSeen: num(r.last_seen),
    lastProps: parseJson<Attributes>(r.last_attrs),
  }));
}

export async function listEvents(
  run: ClickHouseRunner,
  t: Tables,
  query: ListEventsQuery = {},
): Promise<EventSummary[]> {
  const params = new Params();
  const where: string[] = [];
  if (query.kind !== undefined) where.push(`kind = ${params.bind(query.kind, 'String')}`);
  if (query.session !== undefined) where.push(`session = ${params.bind(query.session, 'String')}`);
  where.push(...clickhouseFilterSql(query.filter ?? {}, (value, type) => params.bind(value, type)));
  const rows = await keysetPage(
    run,
    `SELECT ${SUMMARY_COLUMNS} FROM ${t.events} FINAL ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}`,
    params,
    [
      { expr: 'received_ms', desc: true, type: 'Int64' },
      { expr: 'ts_ms', desc: true, type: 'Int64' },
      { expr: 'id', desc: false, type: 'String' },
      { expr: 'app', desc: false, type: 'String' },
    ],
    query,
  );
  return rows.map((r) => eventSummaryOf(r, NAMES));
}

export async function eventById(
  run: ClickHouseRunner,
  t: Tables,
  app: string,
  id: string,
): Promise<EventDetail | undefined> {
  const params = new Params();
  // Copies that differ in their sort key survive FINAL: the first received is the one DuckDB kept.
  const [row] = await run.rows(
    params.query(
      `SELECT ${DETAIL_COLUMNS} FROM ${t.events} FINAL
       WHERE app = ${params.bind(app, 'String')} AND id = ${params.bind(id, 'String')}
       ORDER BY received_ms LIMIT 1`,
    ),
  );
  return row === undefined ? undefined : eventDetailOf(row, NAMES);
}

export async function eventCounts(run: ClickHouseRunner, t: Tables): Promise<EventCounts> {
  const rows = await run.rows(
    new Params().query(`SELECT kind, count() AS n FROM ${t.events} FINAL GROUP BY kind`),
  );
  const counts = Object.fromEntries(EVENT_KINDS.map((kind) => [kind, 0])) as EventCounts;
  for (const r of rows) if (isKind(r.kind)) counts[r.kind] = num(r.n);
  return counts;
}
