import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import {
  MAX_SEARCH_LENGTH,
  type ServerLogLine,
  type ServerLogsQuery,
  type TimelineItem,
  type TimelineQuery,
} from '../store.js';
import { duckdbLogFilterSql } from './filter-sql.js';
import { serverLogLineOf, timelineItemOf } from './rows.js';
// Used inside functions only: duckdb.ts imports this module, so `page` is read at call time.
import { page } from './duckdb.js';

/**
 * The SQL of the timeline and the server-log list over DuckDB's `events` and `server_logs` tables
 * (@telltale/schema); the ClickHouse twin is stores/clickhouse-timeline.ts and answers the same.
 * Values are bound as parameters.
 */

/** A client event's time on the collector's clock: never later than when the collector received it. */
const CLIENT_TS = 'least(epoch_ms(ts), epoch_ms(received_at))';

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
  const rows = await page(
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
  const rows = await page(
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
