/**
 * DuckDB: the Appender (insertEvents, direct) against the decode workers' CSV lines loaded by
 * DuckDB's reader (eventsDuckDbCsv + insertEventsCsv), for the same events in hand-overs of
 * RECORDS spool records (the DuckDB consumer's batchSize, 100 by default: it has no `batching`).
 *
 *   npx tsx benchmarks/tools/duckdb-load.ts            # EVENTS=200000 PER_RECORD=100 RECORDS=100,250
 *
 * Per path, one JSON line: wall time of the stores, main-thread busy time during them
 * (performance.eventLoopUtilization: what the collector's HTTP loop would lose in `npm start`), and
 * for CSV the rendering time, which runs in the decode workers, not on the main thread.
 * Each path writes into a fresh database file, so neither pays for the other's rows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';
import { enrichEnvelope, type EnrichedEvent } from '@telltale/dispatchers';
import { clientBatch } from '../../dispatchers/test/corpus.js';
import { insertEventsCsv } from '../../dispatchers/src/pipeline/sinks/duckdb/csv.js';
import { ensureDuckDbSchema } from '../../dispatchers/src/pipeline/sinks/duckdb/schema.js';
import {
  createStagingTable,
  DUCKDB_CHECKPOINT_THRESHOLD,
  insertEvents,
} from '../../dispatchers/src/pipeline/sinks/duckdb/sink.js';
import { eventsDuckDbCsv } from '../../dispatchers/src/pipeline/sinks/duckdb/csv-lines.js';

const EVENTS = Number(process.env.EVENTS ?? 200_000);
const PER_RECORD = Number(process.env.PER_RECORD ?? 100);
const HANDOVERS = (process.env.RECORDS ?? '100,250').split(',').map(Number);

const records: EnrichedEvent[][] = [];
const now = Date.now();
for (let n = 0; n * PER_RECORD < EVENTS; n++)
  records.push(enrichEnvelope(clientBatch(n, PER_RECORD, now - 60_000 + n)));

async function database(dir: string, name: string) {
  const instance = await DuckDBInstance.create(path.join(dir, `${name}.duckdb`));
  const connection = await instance.connect();
  await ensureDuckDbSchema(connection);
  await createStagingTable(connection);
  await connection.run(`SET checkpoint_threshold = '${DUCKDB_CHECKPOINT_THRESHOLD}'`);
  return { instance, connection };
}

async function measure(
  label: string,
  perHandover: number,
  dir: string,
  store: (
    connection: Awaited<ReturnType<typeof database>>['connection'],
    group: EnrichedEvent[][],
  ) => Promise<void>,
): Promise<void> {
  const { instance, connection } = await database(dir, `${label}-${perHandover}`);
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  for (let i = 0; i < records.length; i += perHandover)
    await store(connection, records.slice(i, i + perHandover));
  const wallMs = performance.now() - t0;
  const elu = performance.eventLoopUtilization(elu0);
  const stored = (await connection.runAndReadAll('SELECT count(*) AS n FROM events')).getRowObjectsJson()[0]!
    .n;
  connection.closeSync();
  instance.closeSync();
  console.log(
    JSON.stringify({
      path: label,
      records_per_handover: perHandover,
      events: records.length * PER_RECORD,
      stored: Number(stored),
      wall_ms: Math.round(wallMs),
      main_thread_busy_ms: Math.round(elu.active),
      events_per_s: Math.round((records.length * PER_RECORD) / (wallMs / 1000)),
      load: os.loadavg()[0]!.toFixed(2),
    }),
  );
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'duckdb-load-'));
try {
  // Rendering happens in the decode workers; timed here once, apart from the loads.
  const r0 = performance.now();
  const chunks = records.map((events) => Buffer.from(eventsDuckDbCsv(events)));
  const renderMs = performance.now() - r0;
  const bytes = chunks.reduce((n, c) => n + c.length, 0);
  console.log(
    JSON.stringify({ render: 'eventsDuckDbCsv', worker_ms: Math.round(renderMs), bytes, events: EVENTS }),
  );
  for (const perHandover of HANDOVERS) {
    await measure('appender', perHandover, dir, (connection, group) =>
      insertEvents(connection, group.flat(), { direct: true }),
    );
    await measure('csv', perHandover, dir, (connection, group) => {
      const first = records.indexOf(group[0]!);
      return insertEventsCsv(connection, chunks.slice(first, first + group.length), path.join(dir, 'loads'));
    });
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
