import { Readable } from 'node:stream';
import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { LingerOptions } from '../../sources/types.js';
import type { ExportResult, Sink } from '../types.js';
import { EVENT_COLUMNS, eventsTabSeparated, serverLogRow, tabSeparated } from './rows.js';
import { CLICKHOUSE_TABLES, migrateClickHouse } from './schema.js';

export interface ClickHouseSinkOptions {
  /** HTTP interface, e.g. http://127.0.0.1:8123 (credentials may be in the URL). */
  url: string;
  database: string;
  username?: string | undefined;
  password?: string | undefined;
  /** Per-request timeout, ms (default 30 s): a hung server becomes a retry, not a stuck consumer. */
  requestTimeoutMs?: number;
}

/**
 * ClickHouse advice: 10k–100k rows per insert, about one insert per second per table. 250 client
 * batches are ≤ 25k rows: big enough for ClickHouse, small enough that the next hand-over decodes
 * while this one is inserted (2,000 left the pipeline mostly filling and draining). Three inserts at
 * once: the server parses one while this process builds the next (one at a time, each thread
 * waited on the other, neither busy more than half the drain).
 */
export const CLICKHOUSE_BATCHING: Readonly<LingerOptions> = Object.freeze({
  maxRecords: 250,
  maxBytes: 16 * 1024 * 1024,
  maxWaitMs: 1_000,
  handOversInFlight: 3,
});
/** Rows per INSERT when one hand-over is larger than that. */
const MAX_ROWS_PER_INSERT = 100_000;

// Errors in the data itself, which fail the same way on every retry (ClickHouse error codes).
const PERMANENT_CODES = new Set([
  '6', // CANNOT_PARSE_TEXT
  '26', // CANNOT_PARSE_QUOTED_STRING
  '27', // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  '38', // CANNOT_PARSE_DATE
  '41', // CANNOT_PARSE_DATETIME
  '53', // TYPE_MISMATCH
  '69', // ARGUMENT_OUT_OF_BOUND
  '70', // CANNOT_CONVERT_TYPE
  '72', // CANNOT_PARSE_NUMBER
  '117', // INCORRECT_DATA
  '131', // TOO_LARGE_STRING_SIZE
  '321', // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  '349', // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
]);
// The schema is gone (table dropped by hand, new server): run the migrations again before the retry.
const SCHEMA_CODES = new Set(['60', '81']); // UNKNOWN_TABLE, UNKNOWN_DATABASE

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]!.slice(0, 500) : String(error);
}

export function classifyClickHouseError(error: unknown): ExportResult {
  if (error instanceof ClickHouseError && PERMANENT_CODES.has(error.code))
    return { status: 'rejected', reason: `ClickHouse ${error.code}: ${describe(error)}` };
  // Anything else (refused, reset, timeout, too many parts, memory) is the server's state, not the data's.
  return { status: 'retryable', reason: describe(error) };
}

export function createClickHouseClient(options: ClickHouseSinkOptions): ClickHouseClient {
  return createClient({
    url: options.url,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    request_timeout: options.requestTimeoutMs ?? 30_000,
    // Failures are answered as ExportResults and counted; the client's own console logging would only repeat them.
    log: { level: ClickHouseLogLevel.OFF },
    compression: { request: false, response: false },
  });
}

/** Ships events and server logs into ClickHouse, in bulk inserts; the schema is migrated on first use. */
export function createClickHouseSink(options: ClickHouseSinkOptions, name = 'clickhouse'): Sink {
  const client = createClickHouseClient(options);
  const db = options.database;
  let migrated: Promise<unknown> | undefined;
  let closed = false;

  const migrate = (): Promise<unknown> => {
    migrated ??= migrateClickHouse(client, db).catch((error: unknown) => {
      migrated = undefined; // ClickHouse was down at start: migrate on the next attempt
      throw error;
    });
    return migrated;
  };

  type Body = { columns: string[]; chunks: (string | Buffer)[] };

  /** One INSERT per `perInsert` items (rows, or encoded records); `body` renders a slice as TabSeparated. */
  async function insert<T>(
    table: string,
    rows: readonly T[],
    body: (slice: readonly T[]) => Body,
    perInsert = MAX_ROWS_PER_INSERT,
  ): Promise<ExportResult> {
    if (closed) return { status: 'retryable', reason: 'sink is closed' };
    if (rows.length === 0) return { status: 'ok' };
    try {
      await migrate();
      for (let i = 0; i < rows.length; i += perInsert) {
        const { columns, chunks } = body(rows.slice(i, i + perInsert));
        // TabSeparated, not JSONEachRow: no key per value, a third of the bytes to build and parse.
        await client.insert({
          table: `${db}.${table}`,
          values: Readable.from(chunks, { objectMode: false }),
          format: 'TabSeparated',
          columns: columns as [string, ...string[]],
        });
      }
      return { status: 'ok' };
    } catch (error) {
      if (error instanceof ClickHouseError && SCHEMA_CODES.has(error.code)) migrated = undefined;
      return classifyClickHouseError(error);
    }
  }

  return {
    name,
    batching: CLICKHOUSE_BATCHING,
    export: (events) => insert('events', events, eventsTabSeparated),
    // The decode workers' TabSeparated lines, sent as they are: no row, no string built here.
    encoding: 'clickhouse-tsv',
    exportEncoded: ({ chunks, rows }) => {
      // A hand-over above MAX_ROWS_PER_INSERT goes in several INSERTs of whole records, about even.
      const inserts = Math.ceil(rows / MAX_ROWS_PER_INSERT);
      const perInsert = Math.ceil(chunks.length / Math.max(1, inserts));
      return insert(
        'events',
        chunks,
        (slice) => ({ columns: [...EVENT_COLUMNS], chunks: [...slice] }),
        perInsert,
      );
    },
    exportServerLogs: (logs) =>
      insert('server_logs', logs, (slice) => {
        const { columns, body } = tabSeparated(slice.map(serverLogRow));
        return { columns, chunks: [body] };
      }),
    async dropDaysBefore(day) {
      await migrate();
      const cutoff = Number(day.replaceAll('-', ''));
      const result = await client.query({
        query: `SELECT DISTINCT table, partition FROM system.parts
          WHERE database = '${db}' AND table IN (${CLICKHOUSE_TABLES.map((t) => `'${t}'`).join(', ')}) AND active`,
        format: 'JSONEachRow',
      });
      const dropped: string[] = [];
      for (const { table, partition } of await result.json<{ table: string; partition: string }>()) {
        // Partitions are toYYYYMMDD(day): whole days go at once, no row is scanned.
        if (!/^\d{8}$/.test(partition) || Number(partition) >= cutoff) continue;
        await client.command({ query: `ALTER TABLE ${db}.${table} DROP PARTITION ${partition}` });
        dropped.push(`${table}/${partition}`);
      }
      return dropped.sort();
    },
    async close() {
      closed = true;
      await client.close();
    },
  };
}
