import {
  dateValue,
  timestampValue,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBInstance,
} from '@duckdb/node-api';
import { EVENT_COLUMNS } from '@telltale/schema';
import type { EnrichedEvent } from '../../enrich/enrich.js';
import type { EncodedEvents, ExportResult, RawBatch, Sink } from '../types.js';
import { insertEventsCsv, uniqueBatches } from './csv.js';
import { ensureDuckDbSchema } from './schema.js';
import { createServerLogStaging, deleteDaysBefore, insertServerLogs } from './server-logs.js';

/** Column order of the staging table and of appendRow: the schema's own list. */
const COLUMNS = EVENT_COLUMNS;

const MS_PER_DAY = 86_400_000;
/** Rows per Appender flush: one DuckDB vector, a few milliseconds of work. */
const FLUSH_ROWS = 2_048;

/** A per-connection scratch table: the Appender fills it fast, one INSERT … SELECT moves the rows, skipping known ids. */
export async function createStagingTable(connection: DuckDBConnection): Promise<void> {
  await connection.run(
    `CREATE TEMP TABLE IF NOT EXISTS events_staging AS SELECT ${COLUMNS.join(', ')} FROM events LIMIT 0`,
  );
}

function appendText(a: DuckDBAppender, v: string | null): void {
  if (v === null) a.appendNull();
  else a.appendVarchar(v);
}

function appendFlag(a: DuckDBAppender, v: boolean | null): void {
  if (v === null) a.appendNull();
  else a.appendBoolean(v);
}

// Column by column in COLUMNS order, with no array or closure per row (the Appender runs on the HTTP
// event loop). Exported for bench:dispatch's Appender baseline.
export function appendRow(a: DuckDBAppender, e: EnrichedEvent): void {
  appendText(a, e.app);
  appendText(a, e.id);
  appendText(a, e.kind);
  a.appendTimestamp(timestampValue(BigInt(e.ts) * 1000n));
  a.appendTimestamp(timestampValue(BigInt(e.receivedAt) * 1000n));
  a.appendDate(dateValue(Math.floor(e.receivedAt / MS_PER_DAY)));
  appendText(a, e.batchId);
  appendText(a, e.release);
  appendText(a, e.environment);
  appendText(a, e.session);
  appendText(a, e.userId);
  appendText(a, e.accountId);
  appendText(a, e.url);
  appendText(a, e.trace);
  appendFlag(a, e.online);
  appendText(a, e.fingerprint);
  appendText(a, e.name);
  appendText(a, e.errorType);
  appendText(a, e.message);
  appendText(a, e.stack);
  appendText(a, e.level);
  a.appendInteger(e.count);
  appendFlag(a, e.soft);
  appendText(a, e.attrs);
  appendText(a, e.breadcrumbs);
  appendText(a, e.browser);
  appendText(a, e.browserVersion);
  appendText(a, e.os);
  appendText(a, e.osVersion);
  appendText(a, e.device);
  if (e.loadMs === null) a.appendNull();
  else a.appendDouble(e.loadMs);
  appendFlag(a, e.adblock);
  a.endRow();
}

async function appendAll(connection: DuckDBConnection, table: string, events: Iterable<EnrichedEvent>) {
  const appender =
    table === 'events'
      ? await connection.createAppender('events')
      : await connection.createAppender(table, null, 'temp');
  try {
    let rows = 0;
    for (const event of events) {
      appendRow(appender, event);
      rows += 1;
      // flushSync runs on this thread (index and storage work included): slice it, and let the
      // collector answer requests in between, so a large export never holds the HTTP event loop.
      if (rows % FLUSH_ROWS === 0) {
        appender.flushSync();
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    appender.flushSync();
  } catch (error) {
    // Closing flushes again and fails on the aborted transaction: the first error is the one to tell.
    try {
      appender.closeSync();
    } catch {
      // already reported above
    }
    throw error;
  }
  appender.closeSync();
}

/**
 * Stores events; duplicates (by app and id), within the call or already stored, are skipped.
 * One transaction: either the whole export is stored or none of it, so a retry starts clean.
 * Fast path (`direct`: the table's columns are COLUMNS, in order): the Appender straight into
 * `events` (nearly all exports: new ids). When a key is
 * already stored the flush fails on the primary key; then the export is rolled back and goes
 * through the staging table and `INSERT OR IGNORE … SELECT`, which skips the known ids.
 */
export async function insertEvents(
  connection: DuckDBConnection,
  events: readonly EnrichedEvent[],
  options: { direct?: boolean } = {},
): Promise<void> {
  // Dedupe here too, so that within one export the first copy wins, deterministically.
  // Ids per app, not an `app + id` string per event: no key to build (and collect) for every row.
  const idsOf = new Map<string, Set<string>>();
  const unique: EnrichedEvent[] = [];
  for (const event of events) {
    let ids = idsOf.get(event.app);
    if (ids === undefined) idsOf.set(event.app, (ids = new Set()));
    if (ids.has(event.id)) continue;
    ids.add(event.id);
    unique.push(event);
  }
  if (options.direct === true) {
    await connection.run('BEGIN TRANSACTION');
    try {
      await appendAll(connection, 'events', unique);
      await connection.run('COMMIT');
      return;
    } catch {
      // A key already stored (or a row the store refuses): the staging path skips known keys and
      // names any other error the way classifyDuckDbError expects.
      await connection.run('ROLLBACK').catch(() => undefined);
    }
  }
  await connection.run('BEGIN TRANSACTION');
  try {
    await appendAll(connection, 'events_staging', unique);
    // OR IGNORE: a replayed or re-uploaded event (same app and id) is stored once.
    await connection.run(
      `INSERT OR IGNORE INTO events (${COLUMNS.join(', ')}) SELECT ${COLUMNS.join(', ')} FROM events_staging`,
    );
    await connection.run('DELETE FROM events_staging');
    await connection.run('COMMIT');
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => undefined);
    await connection.run('DELETE FROM events_staging').catch(() => undefined);
    throw error;
  }
}

/** Whether `events` has exactly COLUMNS in this order, so the Appender can fill it directly. */
async function appendableInPlace(connection: DuckDBConnection): Promise<boolean> {
  const rows = (
    await connection.runAndReadAll(
      `SELECT column_name FROM duckdb_columns() WHERE table_name = 'events' AND schema_name = 'main'
        AND database_name = current_database() ORDER BY column_index`,
    )
  ).getRowObjectsJson();
  return rows.length === COLUMNS.length && rows.every((r, i) => r.column_name === COLUMNS[i]);
}

/**
 * DuckDB checkpoints (rewrites the table's index and row groups into the database file) once the
 * WAL passes this; its 16 MB default is less than one hand-over of events, so every commit paid
 * a checkpoint. The WAL is still fsync'd on each commit.
 */
export const DUCKDB_CHECKPOINT_THRESHOLD = '256MB';

// Errors that will fail the same way on every retry: the data, not the store, is the problem.
const PERMANENT = /^(?:Conversion|Constraint|Binder|Parser|Invalid Input|Out of Range|Mismatch Type) Error/i;

export function classifyDuckDbError(error: unknown): ExportResult {
  const message = error instanceof Error ? error.message : String(error);
  if (PERMANENT.test(message)) return { status: 'rejected', reason: message };
  return { status: 'retryable', reason: message };
}

export interface DuckDbSinkOptions {
  /**
   * Where the decode workers' CSV lines are written for DuckDB to load (dataLayout's duckdbLoads).
   * Without it the sink takes rows only, through the Appender on this thread.
   */
  loadDir?: string;
}

/** The embedded default sink: writes `events` and `server_logs` through its own connection to the shared instance. */
export async function createDuckDbSink(
  instance: DuckDBInstance,
  options: DuckDbSinkOptions = {},
): Promise<Sink> {
  const connection = await instance.connect();
  await ensureDuckDbSchema(connection);
  await createStagingTable(connection);
  await createServerLogStaging(connection);
  await connection.run(`SET checkpoint_threshold = '${DUCKDB_CHECKPOINT_THRESHOLD}'`);
  const direct = await appendableInPlace(connection);
  const { loadDir } = options;
  let closed = false;
  // One connection runs one transaction at a time: the client, server-log and Blob consumers take turns.
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(run: () => Promise<T>): Promise<T> => {
    const result = tail.then(run, run);
    tail = result.catch(() => undefined);
    return result;
  };
  const store = (write: () => Promise<void>): Promise<ExportResult> =>
    serial(async () => {
      if (closed) return { status: 'retryable', reason: 'sink is closed' };
      try {
        await write();
        return { status: 'ok' };
      } catch (error) {
        return classifyDuckDbError(error);
      }
    });
  return {
    name: 'duckdb',
    export: (events) =>
      events.length === 0
        ? Promise.resolve({ status: 'ok' })
        : store(() => insertEvents(connection, events, { direct })),
    // The decode workers' CSV lines, loaded by DuckDB's reader on its own threads (duckdb/csv.ts).
    ...(loadDir === undefined
      ? {}
      : {
          encoding: 'duckdb-csv' as const,
          exportEncoded: (batch: EncodedEvents, raw?: readonly RawBatch[]) =>
            batch.rows === 0
              ? Promise.resolve<ExportResult>({ status: 'ok' })
              : store(() => insertEventsCsv(connection, uniqueBatches(batch.chunks, raw), loadDir)),
        }),
    exportServerLogs: (logs) =>
      logs.length === 0 ? Promise.resolve({ status: 'ok' }) : store(() => insertServerLogs(connection, logs)),
    dropDaysBefore: (day) => serial(() => deleteDaysBefore(connection, day)),
    close: () =>
      serial(async () => {
        closed = true;
        connection.closeSync();
      }),
  };
}
