import { dateValue, timestampValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { DUCKDB_DAY_TABLES, SERVER_LOG_COLUMNS } from '@telltale/schema';
import type { ServerLogRow } from '../types.js';

/** Column order of the staging table and of appendLog: every column of `server_logs` (@telltale/schema). */
const COLUMNS = SERVER_LOG_COLUMNS;

const MS_PER_DAY = 86_400_000;

export async function createServerLogStaging(connection: DuckDBConnection): Promise<void> {
  await connection.run(
    `CREATE TEMP TABLE IF NOT EXISTS server_logs_staging AS SELECT ${COLUMNS.join(', ')} FROM server_logs LIMIT 0`,
  );
}

function appendLog(a: DuckDBAppender, log: ServerLogRow): void {
  const text = (v: string | null): void => (v === null ? a.appendNull() : a.appendVarchar(v));
  text(log.app);
  text(log.id);
  a.appendTimestamp(timestampValue(BigInt(log.ts) * 1000n));
  a.appendTimestamp(timestampValue(BigInt(log.receivedAt) * 1000n));
  a.appendDate(dateValue(Math.floor(log.receivedAt / MS_PER_DAY)));
  for (const v of [log.service, log.level, log.message, log.trace, log.span, log.session, log.userId])
    text(v);
  for (const v of [log.accountId, log.release, log.environment, log.attrs]) text(v);
  a.endRow();
}

/** Stores server log lines once per (app, id), in one transaction, like insertEvents. */
export async function insertServerLogs(
  connection: DuckDBConnection,
  logs: readonly ServerLogRow[],
): Promise<void> {
  const unique = new Map<string, ServerLogRow>();
  for (const log of logs) {
    const key = `${log.app}\u0000${log.id}`;
    if (!unique.has(key)) unique.set(key, log);
  }
  await connection.run('BEGIN TRANSACTION');
  try {
    const appender = await connection.createAppender('server_logs_staging', null, 'temp');
    try {
      for (const log of unique.values()) appendLog(appender, log);
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    await connection.run(
      `INSERT OR IGNORE INTO server_logs (${COLUMNS.join(', ')}) SELECT ${COLUMNS.join(', ')} FROM server_logs_staging`,
    );
    await connection.run('DELETE FROM server_logs_staging');
    await connection.run('COMMIT');
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => undefined);
    await connection.run('DELETE FROM server_logs_staging').catch(() => undefined);
    throw error;
  }
}

/** Retention: whole days go, by the `day` column both tables carry (DuckDB has no partitions to drop). */
export async function deleteDaysBefore(connection: DuckDBConnection, day: string): Promise<string[]> {
  const dropped = new Set<string>();
  for (const table of DUCKDB_DAY_TABLES) {
    const reader = await connection.runAndReadAll(
      `SELECT DISTINCT strftime(day, '%Y-%m-%d') AS d FROM ${table} WHERE day < $1::DATE ORDER BY d`,
      [day],
    );
    const days = reader.getRowObjectsJson().map((row) => String(row.d));
    if (days.length === 0) continue;
    await connection.run(`DELETE FROM ${table} WHERE day < $1::DATE`, [day]);
    for (const d of days) dropped.add(d);
  }
  return [...dropped].sort();
}
