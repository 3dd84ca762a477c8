import type { DuckDBConnection, DuckDBValue, JS } from '@duckdb/node-api';
import {
  LIST_LIMITS,
  MAX_SEARCH_LENGTH,
  type PageQuery,
  type ServerLogLine,
  type ServerLogsQuery,
  type SortKey,
  type TimelineItem,
  type TimelineQuery,
} from '../store.js';
import { duckdbLogFilterSql } from './filter-sql.js';
import { serverLogLineOf, timelineItemOf } from './rows.js';

/**
 * The SQL of the timeline and the server-log list over DuckDB's `events` and `server_logs` tables
 * (@telltale/schema); the ClickHouse twin is stores/clickhouse-timeline.ts and answers the same.
 * Values are bound as parameters.
 */

type Row = Record<string, JS>;

/** A client event's time on the collector's clock: never later than when the collector received it. */
const CLIENT_TS = 'least(epoch_ms(ts), epoch_ms(received_at))';

interface Column {
  expr: string;
  desc: boolean;
}

/** Keyset page over `inner` in `columns` order (see duckdb.ts `page`): after `before`, or ahead of `after`. */
async function keyset(
  db: DuckDBConnection,
  inner: string,
  values: DuckDBValue[],
  columns: readonly Column[],
  query: PageQuery,
): Promise<Row[]> {
  const cursor: SortKey | undefined = query.before ?? query.after;
  const backwards = query.before === undefined && query.after !== undefined;
  const bind = (value: DuckDBValue): string => {
    values.push(value);
    return `$${values.length}`;
  };
  let where = '';
  if (cursor !== undefined) {
    const alternatives = columns.map((column, i) => {
      const equal = columns.slice(0, i).map((c, j) => `${c.expr} = ${bind(cursor[j] ?? '')}`);
      return [
        ...equal,
        `${column.expr} ${column.desc !== backwards ? '<' : '>'} ${bind(cursor[i] ?? '')}`,
      ].join(' AND ');
    });
    where = `WHERE ${alternatives.map((a) => `(${a})`).join(' OR ')}`;
  }
  const order = columns.map((c) => `${c.expr} ${c.desc !== backwards ? 'DESC' : 'ASC'}`).join(', ');
  const limit = Math.min(
    LIST_LIMITS.maxLimit + 1,
    Math.max(1, Math.trunc(query.limit ?? LIST_LIMITS.defaultLimit)),
  );
  const reader = await db.runAndReadAll(
    `SELECT * FROM (${inner}) AS listed ${where} ORDER BY ${order} LIMIT ${bind(limit)}`,
    values,
  );
  const rows = reader.getRowObjectsJS();
  return backwards ? rows.reverse() : rows;
}

/** Filters as `?` placeholders, each numbered by its place in the list; a missing value binds NULL ("no filter"). */
function filters(fields: Array<[string, string | number | undefined]>) {
  const values: DuckDBValue[] = [];
  const clauses = fields.map(([clause, value]) => {
    values.push(value ?? null);
    return clause.replaceAll('?', `$${values.length}`);
  });
  return { values, where: clauses.join(' AND ') };
}

export async function timeline(db: DuckDBConnection, query: TimelineQuery): Promise<TimelineItem[]> {
  // $1 app, $2 trace, $3 session, $4 user, $5 request, $6 from, $7 to; NULL means "no filter".
  const { values } = filters([
    ['?', query.app],
    ['?', query.trace],
    ['?', query.session],
    ['?', query.user],
    ['?', query.request],
    ['?', query.from],
    ['?', query.to],
  ]);
  const shared = `($1::VARCHAR IS NULL OR app = $1) AND ($2::VARCHAR IS NULL OR trace = $2)
    AND ($3::VARCHAR IS NULL OR session = $3) AND ($4::VARCHAR IS NULL OR user_id = $4)`;
  const client = `${shared} AND $5::VARCHAR IS NULL
    AND ($6::BIGINT IS NULL OR ${CLIENT_TS} >= $6) AND ($7::BIGINT IS NULL OR ${CLIENT_TS} <= $7)`;
  const server = `${shared} AND ($5::VARCHAR IS NULL OR span = $5)
    AND ($6::BIGINT IS NULL OR epoch_ms(ts) >= $6) AND ($7::BIGINT IS NULL OR epoch_ms(ts) <= $7)`;
  const rows = await keyset(
    db,
    `SELECT 'client' AS source, app, id, ${CLIENT_TS} AS item_ts, kind, level,
       COALESCE(message, name) AS item_message, COALESCE(error_type, name) AS item_name, NULL AS service,
       url AS page, release AS item_release, trace, NULL AS span, session AS item_session, user_id,
       NULL AS request, CASE WHEN kind = 'error' THEN fingerprint END AS item_fingerprint
     FROM events WHERE ${client}
     UNION ALL
     SELECT 'server' AS source, app, id, epoch_ms(ts) AS item_ts, 'log' AS kind, level, message AS item_message,
       NULL AS item_name, service, NULL AS page, release AS item_release, trace, span,
       session AS item_session, user_id, span AS request, NULL AS item_fingerprint
     FROM server_logs WHERE ${server}`,
    values,
    [
      { expr: 'item_ts', desc: false },
      { expr: 'source', desc: false },
      { expr: 'app', desc: false },
      { expr: 'id', desc: false },
    ],
    query,
  );
  return rows.map(timelineItemOf);
}

export async function serverLogs(
  db: DuckDBConnection,
  query: ServerLogsQuery = {},
): Promise<ServerLogLine[]> {
  const needle =
    query.text === undefined || query.text === '' ? undefined : query.text.slice(0, MAX_SEARCH_LENGTH);
  const { values, where } = filters([
    ['(?::VARCHAR IS NULL OR app = ?)', query.app],
    ['(?::VARCHAR IS NULL OR service = ?)', query.service],
    ['(?::VARCHAR IS NULL OR level = ?)', query.level],
    // contains(): a plain substring test, linear, with no pattern characters to escape.
    ['(?::VARCHAR IS NULL OR contains(lower(message), lower(?)))', needle],
    ['(?::VARCHAR IS NULL OR trace = ?)', query.trace],
    ['(?::VARCHAR IS NULL OR span = ?)', query.request],
    ['(?::VARCHAR IS NULL OR session = ?)', query.session],
    ['(?::BIGINT IS NULL OR epoch_ms(ts) >= ?)', query.from],
    ['(?::BIGINT IS NULL OR epoch_ms(ts) <= ?)', query.to],
  ]);
  const bind = (value: DuckDBValue): string => {
    values.push(value);
    return `$${values.length}`;
  };
  const narrowed = duckdbLogFilterSql(query.filter ?? {}, bind)
    .map((condition) => ` AND ${condition}`)
    .join('');
  const rows = await keyset(
    db,
    `SELECT app, id, epoch_ms(ts) AS item_ts, epoch_ms(received_at) AS received_ms, service, level, message, trace,
       span, session, user_id, release, environment, attrs
     FROM server_logs WHERE ${where}${narrowed}`,
    values,
    [
      { expr: 'item_ts', desc: true },
      { expr: 'app', desc: false },
      { expr: 'id', desc: false },
    ],
    query,
  );
  return rows.map(serverLogLineOf);
}
