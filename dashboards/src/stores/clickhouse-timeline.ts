import {
  MAX_SEARCH_LENGTH,
  type ServerLogLine,
  type ServerLogsQuery,
  type TimelineItem,
  type TimelineQuery,
} from '../store.js';
import { keysetPage, Params, type ClickHouseRunner } from './clickhouse-query.js';
import { clickhouseLogFilterSql } from './filter-sql.js';
import { serverLogLineOf, timelineItemOf } from './rows.js';
import type { Tables } from './clickhouse-lists.js';

/**
 * The timeline and the server-log list over ClickHouse's `events` and `server_logs` tables, the
 * twin of stores/duckdb-timeline.ts: the same items, the same order, the same pages. Rows are read
 * with FINAL, so a re-sent event or log line shows once.
 */

/** A client event's time on the collector's clock: never later than when the collector received it. */
const CLIENT_TS = 'least(ts_ms, received_ms)';
const NONE = 'CAST(NULL AS Nullable(String))';

export async function timeline(
  run: ClickHouseRunner,
  t: Tables,
  query: TimelineQuery,
): Promise<TimelineItem[]> {
  const params = new Params();
  const shared: string[] = [];
  const eq = (column: string, value: string | undefined) => {
    if (value !== undefined) shared.push(`${column} = ${params.bind(value, 'String')}`);
  };
  eq('app', query.app);
  eq('trace', query.trace);
  eq('session', query.session);
  eq('user_id', query.user);
  const range = (column: string): string[] => [
    ...(query.from === undefined ? [] : [`${column} >= ${params.bind(query.from, 'Int64')}`]),
    ...(query.to === undefined ? [] : [`${column} <= ${params.bind(query.to, 'Int64')}`]),
  ];
  // `request` is a server span id: client events have none, so it selects server lines only.
  const client = [...shared, ...(query.request === undefined ? [] : ['0']), ...range(CLIENT_TS)];
  const server = [
    ...shared,
    ...(query.request === undefined ? [] : [`span = ${params.bind(query.request, 'String')}`]),
    ...range('ts_ms'),
  ];
  const where = (clauses: string[]) => (clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`);
  // Types line up column by column: UNION ALL on 18.16 does not widen String to Nullable(String).
  const inner = `SELECT 'client' AS source, app, id, ${CLIENT_TS} AS item_ts, kind, level,
      ifNull(message, name) AS item_message, ifNull(error_type, name) AS item_name, ${NONE} AS service,
      url AS page, toNullable(release) AS item_release, trace, ${NONE} AS span,
      toNullable(session) AS item_session, user_id, ${NONE} AS request,
      if(kind = 'error', fingerprint, ${NONE}) AS item_fingerprint
    FROM ${t.events} FINAL ${where(client)}
    UNION ALL
    SELECT 'server' AS source, app, id, ts_ms AS item_ts, 'log' AS kind, toNullable(level) AS level,
      toNullable(message) AS item_message, ${NONE} AS item_name, toNullable(service) AS service,
      ${NONE} AS page, release AS item_release, trace, span, session AS item_session, user_id,
      span AS request, ${NONE} AS item_fingerprint
    FROM ${t.serverLogs} FINAL ${where(server)}`;
  const rows = await keysetPage(
    run,
    inner,
    params,
    [
      { expr: 'item_ts', desc: false, type: 'Int64' },
      { expr: 'source', desc: false, type: 'String' },
      { expr: 'app', desc: false, type: 'String' },
      { expr: 'id', desc: false, type: 'String' },
    ],
    query,
  );
  return rows.map(timelineItemOf);
}

export async function serverLogs(
  run: ClickHouseRunner,
  t: Tables,
  query: ServerLogsQuery = {},
): Promise<ServerLogLine[]> {
  const params = new Params();
  const where: string[] = [];
  const eq = (column: string, value: string | undefined) => {
    if (value !== undefined) where.push(`${column} = ${params.bind(value, 'String')}`);
  };
  eq('app', query.app);
  eq('service', query.service);
  eq('level', query.level);
  if (query.text !== undefined && query.text !== '') {
    // A plain substring test, linear in the message; the needle is capped like DuckDB's.
    const needle = params.bind(query.text.slice(0, MAX_SEARCH_LENGTH), 'String');
    where.push(`position(lowerUTF8(message), lowerUTF8(${needle})) > 0`);
  }
  eq('trace', query.trace);
  eq('span', query.request);
  eq('session', query.session);
  if (query.from !== undefined) where.push(`ts_ms >= ${params.bind(query.from, 'Int64')}`);
  if (query.to !== undefined) where.push(`ts_ms <= ${params.bind(query.to, 'Int64')}`);
  where.push(...clickhouseLogFilterSql(query.filter ?? {}, (value, type) => params.bind(value, type)));
  const rows = await keysetPage(
    run,
    `SELECT app, id, ts_ms AS item_ts, received_ms, service, level, message, trace, span, session,
       user_id, release, environment, attrs
     FROM ${t.serverLogs} FINAL ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}`,
    params,
    [
      { expr: 'item_ts', desc: true, type: 'Int64' },
      { expr: 'app', desc: false, type: 'String' },
      { expr: 'id', desc: false, type: 'String' },
    ],
    query,
  );
  return rows.map(serverLogLineOf);
}
