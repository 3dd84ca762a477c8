/**
 * What DuckDB's dedupe on (app, id) costs the CSV load, and what the alternatives would cost: the
 * same decode-worker CSV lines loaded in hand-overs of 250 spool records (100 events each) into a
 * fresh database per variant, timed by wall clock and by this process's CPU (DuckDB's threads
 * included: that CPU is what `npm start`'s collector competes with).
 *
 *   npx tsx benchmarks/tools/duckdb-dedupe.ts    # EVENTS=200000 PRE=0 VARIANTS=key,key-or-ignore,key-1-thread,no-key,window
 *
 * - key: today's table, PRIMARY KEY (app, id), loaded by the sink's own insertEventsCsv (a plain
 *   INSERT, and only when it meets a stored key, a rollback and INSERT OR IGNORE).
 * - key-or-ignore: the same table, INSERT OR IGNORE every time (duckdb/csv.ts until stop 26).
 * - key-1-thread: key-or-ignore with `SET threads = 1` (an instance-wide setting: the dashboards' queries too).
 * - no-key: no constraint, plain INSERT: the floor, and it stores replays twice.
 * - window: no constraint; INSERT … WHERE NOT EXISTS a stored (app, id) received in the load's own
 *   receive-time range (DuckDB's zonemaps skip older row groups). It drops a replayed spool record
 *   (same receive time) but stores again an id that comes back in a later request, which the key does not.
 *
 * PRE=<n> first loads n other events, so the key's index and the window's scan are not of an empty table.
 * After the timed load the last hand-over is loaded again (a replay); `stored` says whether it was skipped.
 * One JSON line per variant.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { enrichEnvelope } from '@telltale/dispatchers';
import { DUCKDB_DDL, EVENT_COLUMNS } from '@telltale/schema';
import { clientBatch } from '../../dispatchers/test/corpus.js';
import { eventsDuckDbCsv } from '../../dispatchers/src/pipeline/sinks/duckdb/csv-lines.js';
import {
  CSV_SELECT_LIST,
  insertEventsCsv,
  readCsv,
} from '../../dispatchers/src/pipeline/sinks/duckdb/csv.js';

const EVENTS = Number(process.env.EVENTS ?? 200_000);
const PRE = Number(process.env.PRE ?? 0);
const PER_RECORD = 100;
const HANDOVER = 250;
const now = Date.now();

/** Record n of the corpus is received at `now - 60 s + n ms`, so a hand-over's receive times are a known range. */
const receivedAt = (record: number): number => now - 60_000 + record;
function csvRecords(first: number, count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) =>
    Buffer.from(eventsDuckDbCsv(enrichEnvelope(clientBatch(first + i, PER_RECORD, receivedAt(first + i))))),
  );
}

const INTO = `INTO events (${EVENT_COLUMNS.join(', ')})`;

const KEYED = DUCKDB_DDL[0]!;
const UNKEYED = KEYED.replace(/,\s*PRIMARY KEY \(app, id\)/, '');
if (UNKEYED === KEYED)
  throw new Error('the events DDL no longer ends in PRIMARY KEY (app, id): update this tool');

interface Variant {
  setup: string[];
  /**
   * The load of one file whose events were received between `from` and `to` (epoch ms), in one
   * transaction; none: the sink's own insertEventsCsv (which writes its file itself).
   */
  insert?: (file: string, from: number, to: number) => string;
}
const VARIANTS: Record<string, Variant> = {
  key: { setup: [KEYED] },
  'key-or-ignore': {
    setup: [KEYED],
    insert: (f) => `INSERT OR IGNORE ${INTO} SELECT ${CSV_SELECT_LIST} FROM ${readCsv(f)}`,
  },
  'key-1-thread': {
    setup: [KEYED, 'SET threads = 1'],
    insert: (f) => `INSERT OR IGNORE ${INTO} SELECT ${CSV_SELECT_LIST} FROM ${readCsv(f)}`,
  },
  'no-key': {
    setup: [UNKEYED],
    insert: (f) => `INSERT ${INTO} SELECT ${CSV_SELECT_LIST} FROM ${readCsv(f)}`,
  },
  window: {
    setup: [UNKEYED],
    insert: (f, from, to) =>
      `INSERT ${INTO} SELECT ${CSV_SELECT_LIST} FROM ${readCsv(f)} AS r WHERE NOT EXISTS (
        SELECT 1 FROM events AS e WHERE e.received_at BETWEEN epoch_ms(${from}) AND epoch_ms(${to})
          AND e.app = r.app AND e.id = r.id)`,
  },
};

async function loadAll(
  connection: DuckDBConnection,
  variant: Variant,
  dir: string,
  chunks: Buffer[],
  firstRecord: number,
): Promise<void> {
  const file = path.join(dir, 'load.csv');
  for (let i = 0; i < chunks.length; i += HANDOVER) {
    const handOver = chunks.slice(i, i + HANDOVER);
    if (variant.insert === undefined) {
      await insertEventsCsv(connection, handOver, dir);
      continue;
    }
    await writeFile(file, Buffer.concat(handOver));
    const from = receivedAt(firstRecord + i);
    const to = receivedAt(firstRecord + i + handOver.length - 1);
    await connection.run('BEGIN TRANSACTION');
    await connection.run(variant.insert(file, from, to));
    await connection.run('COMMIT');
  }
}

const names = (process.env.VARIANTS ?? Object.keys(VARIANTS).join(',')).split(',');
const dir = await mkdtemp(path.join(os.tmpdir(), 'duckdb-dedupe-'));
try {
  // Other events first, received later than the timed ones (record numbers from 1,000,000 on).
  const before = csvRecords(1_000_000, Math.ceil(PRE / PER_RECORD));
  const timed = csvRecords(0, Math.ceil(EVENTS / PER_RECORD));
  for (const [n, name] of names.entries()) {
    const variant = VARIANTS[name];
    if (variant === undefined) throw new Error(`no variant ${name}: ${Object.keys(VARIANTS).join(', ')}`);
    const instance = await DuckDBInstance.create(path.join(dir, `${n}-${name}.duckdb`));
    const connection = await instance.connect();
    for (const statement of variant.setup) await connection.run(statement);
    await connection.run(`SET checkpoint_threshold = '256MB'`);
    await loadAll(connection, variant, dir, before, 1_000_000);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await loadAll(connection, variant, dir, timed, 0);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const replayFrom = Math.max(0, timed.length - HANDOVER);
    await loadAll(connection, variant, dir, timed.slice(replayFrom), replayFrom);
    const stored = (
      await connection.runAndReadAll('SELECT count(*) AS n FROM events')
    ).getRowObjectsJson()[0]!.n;
    connection.closeSync();
    instance.closeSync();
    const events = timed.length * PER_RECORD;
    console.log(
      JSON.stringify({
        variant: name,
        events,
        stored_before: before.length * PER_RECORD,
        wall_us_per_event: Number(((wallMs * 1000) / events).toFixed(2)),
        cpu_us_per_event: Number(((cpu.user + cpu.system) / events).toFixed(2)),
        stored: Number(stored),
        replay_skipped: Number(stored) === (before.length + timed.length) * PER_RECORD,
      }),
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
