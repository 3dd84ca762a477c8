/**
 * npm run bench:dispatch — a fixed corpus from the local spool into ClickHouse through the real
 * dispatchers (decode, enrich, batch, insert), against `clickhouse-client … FORMAT JSONEachRow` of the
 * same rows as the baseline, on one ClickHouse server started here: three runs of each, alternating,
 * the median of each in the ratio (BENCH_RUNS). Then a steady load, measuring the lag from the
 * spool's ack (fsync) to the row being visible in ClickHouse.
 * Each drain is timed from the moment the dispatchers are up to the last row visible: like the
 * baselines' schema (and DuckDB instance), the start-up (decode workers loading their modules) is
 * off the clock, and logged on its own.
 *
 * Then the default sink: the same corpus from a spool into DuckDB through the dispatchers, against
 * DuckDB's Appender inserting the same enriched rows into the same schema (measured after the
 * dispatchers, so the rows it needs in memory are not on the heap while they run).
 *
 * Stdout, one line each: {"bench":"dispatch","rows_per_s":…,"baseline_rows_per_s":…,"ratio":…,"lag_p95_ms":…}
 * then {"bench":"dispatch-duckdb","rows_per_s":…,"baseline_rows_per_s":…,"ratio":…}
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { SpoolEnvelope } from '@telltale/protocol';
import { openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import {
  clickHouseEventRow,
  duckDbFile,
  enrichEnvelope,
  ensureDuckDbSchema,
  migrateClickHouse,
  createClickHouseClient,
  resolveDispatcherConfig,
  startDispatchers,
  type Dispatchers,
} from '@telltale/dispatchers';
import { appendRow } from '../dispatchers/src/pipeline/sinks/duckdb/sink.js';
import { clientBatch } from '../dispatchers/test/corpus.js';
import { CLICKHOUSE_CLIENT, startClickHouse, type ClickHouseServer } from '../dispatchers/test/services.js';
import { watchCpu } from './tools/thread-cpu.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const BATCH = 100; // events per client batch, as the SDK sends them at most
const LAG_SECONDS = 15;
/** ClickHouse: runs of the baseline and of the drain, alternating; the median of each counts. */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
// A steady load below what one 2-core machine drains (see README): lag, not backlog, is measured.
const LAG_EVENTS_PER_S = Number(process.env.BENCH_LAG_EVENTS_PER_S ?? 2_000);

// Seconds since the process started on every line: the phases of a --cpu-prof run (cpuprofile-top's FROM_S/TO_S).
const log = (line: string): void =>
  void process.stderr.write(`[${(performance.now() / 1000).toFixed(1)} s] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// BENCH_PART=clickhouse or duckdb runs only that half (the other's line is not printed).
const PART = process.env.BENCH_PART ?? 'all';
if (!['all', 'clickhouse', 'duckdb'].includes(PART))
  throw new Error(`BENCH_PART=${PART}: all, clickhouse or duckdb`);
// TELLTALE_DISPATCH_THREADS=0 measures the inline path (decoding on the main thread) against the pool.
const THREADS_ENV = { TELLTALE_DISPATCH_THREADS: process.env.TELLTALE_DISPATCH_THREADS };

/** The default sink: spool → dispatchers → DuckDB, against the Appender writing the same rows. */
async function benchDuckDb(dir: string): Promise<void> {
  const total = BATCHES * BATCH;
  // Telltale first, with no corpus in memory: spool → dispatchers → DuckDB.
  const dataDir = path.join(dir, 'duckdb');
  const spool = await openSpoolWriter({ dir: path.join(dataDir, 'spool', 'client') });
  await fillSpool(spool);
  const duckdb = await DuckDBInstance.create(duckDbFile(dataDir));
  const reader = await duckdb.connect();
  const config = resolveDispatcherConfig(
    { dataDir, sinks: ['duckdb'], retention: { duckdb: 0 } },
    THREADS_ENV,
  );
  let rate: number;
  // The drain's clock starts once the dispatchers are up (schema ensured, decode workers loaded): a
  // start-up a dispatcher pays once per process, like the baseline's schema and instance, off its clock.
  const startup = performance.now();
  const dispatchers = await startDispatchers(config, {
    duckdb,
    spoolDir: spool.dir,
    notify: (listener) => spool.onAppend(listener),
  });
  const start = performance.now();
  log(`dispatchers started in ${Math.round(start - startup)} ms (before the drain's clock)`);
  try {
    const count = async (): Promise<number> =>
      Number((await reader.runAndReadAll('SELECT count(*) AS n FROM events')).getRowObjectsJson()[0]?.n);
    while ((await count().catch(() => 0)) < total) {
      await sleep(100);
      if (performance.now() - start > 600_000) throw new Error(`DuckDB: not all ${total} rows after 10 min`);
    }
    const seconds = (performance.now() - start) / 1000;
    rate = total / seconds;
    log(
      `telltale: spool → dispatchers → DuckDB ${total} rows in ${seconds.toFixed(2)} s = ${Math.round(rate)} rows/s`,
    );
  } finally {
    await dispatchers.close();
    await spool.close();
    reader.closeSync();
    duckdb.closeSync();
  }

  // Baseline: the Appender writing the same enriched rows (built before its clock starts) into the same schema.
  const rows = Array.from({ length: BATCHES }, (_, n) => enrichEnvelope(corpusBatch(n))).flat();
  const baselineDb = await DuckDBInstance.create(path.join(dir, 'baseline.duckdb'));
  const baseline = await baselineDb.connect();
  await ensureDuckDbSchema(baseline);
  const baselineStart = performance.now();
  const appender = await baseline.createAppender('events');
  for (const row of rows) appendRow(appender, row);
  appender.flushSync();
  appender.closeSync();
  const baselineSeconds = (performance.now() - baselineStart) / 1000;
  const stored = (await baseline.runAndReadAll('SELECT count(*) AS n FROM events')).getRowObjectsJson();
  if (Number(stored[0]?.n) !== total) throw new Error('DuckDB baseline lost rows');
  baseline.closeSync();
  baselineDb.closeSync();
  const baselineRate = total / baselineSeconds;
  log(
    `baseline: DuckDB Appender ${total} rows in ${baselineSeconds.toFixed(2)} s = ${Math.round(baselineRate)} rows/s`,
  );
  process.stdout.write(
    `${JSON.stringify({
      bench: 'dispatch-duckdb',
      rows_per_s: Math.round(rate),
      baseline_rows_per_s: Math.round(baselineRate),
      ratio: Number((rate / baselineRate).toFixed(3)),
    })}\n`,
  );
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

type ClickHouseClient = ReturnType<typeof createClickHouseClient>;

/** One clickhouse-client run of the baseline: the rows file into a fresh database; rows/s. */
async function clientInsert(
  clickhouse: ClickHouseServer,
  client: ClickHouseClient,
  rowsFile: string,
  run: number,
): Promise<number> {
  const database = `baseline${run}`;
  await migrateClickHouse(client, database);
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      'sh',
      [
        '-c',
        `${CLICKHOUSE_CLIENT} --host 127.0.0.1 --port ${clickhouse.tcpPort} --query "INSERT INTO ${database}.events FORMAT JSONEachRow" < "${rowsFile}"`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`clickhouse-client failed: ${stderr}`)),
    );
  });
  const seconds = (performance.now() - start) / 1000;
  if (Number((await clickhouse.query(`SELECT count() FROM ${database}.events`)).trim()) !== BATCHES * BATCH)
    throw new Error('baseline lost rows');
  log(
    `baseline ${run}/${RUNS}: clickhouse-client JSONEachRow ${BATCHES * BATCH} rows in ${seconds.toFixed(2)} s = ${Math.round((BATCHES * BATCH) / seconds)} rows/s`,
  );
  return (BATCHES * BATCH) / seconds;
}

interface Drain {
  rate: number;
  dispatchers: Dispatchers;
  spool: SpoolWriter;
  database: string;
}

/**
 * One Telltale drain: the corpus in a fresh spool (as after a backlog), then the dispatchers drain
 * it into a fresh database. Timed as the baseline is: the schema exists before the clock starts, and
 * the clock starts once the dispatchers are up (decode workers loaded, ~0.3 s a process pays once).
 * Returns the running dispatchers (the last drain's carry on into the steady load).
 */
async function drainIntoClickHouse(
  clickhouse: ClickHouseServer,
  client: ClickHouseClient,
  dir: string,
  run: number,
): Promise<Drain> {
  const total = BATCHES * BATCH;
  const database = `bench${run}`;
  const dataDir = path.join(dir, `drain${run}`);
  const spool = await openSpoolWriter({ dir: path.join(dataDir, 'spool', 'client') });
  await fillSpool(spool);
  const config = resolveDispatcherConfig(
    {
      dataDir,
      sinks: ['clickhouse'],
      clickhouse: { url: clickhouse.url, database },
      retention: { clickhouse: 0 },
    },
    THREADS_ENV,
  );
  await migrateClickHouse(client, database);
  // BENCH_DEBUG=1: the rows visible every 100 ms, and where the drain's CPU went (threads of this process, ClickHouse).
  const debug = process.env.BENCH_DEBUG !== undefined;
  const startup = performance.now();
  const dispatchers = await startDispatchers(config, {
    spoolDir: spool.dir,
    notify: (listener) => spool.onAppend(listener),
  });
  const start = performance.now();
  log(
    `drain ${run}/${RUNS}: dispatchers started in ${Math.round(start - startup)} ms (before the drain's clock)`,
  );
  const drainCpu = debug ? watchCpu('ClickHouse server', () => clickhouse.pid()) : undefined;
  const count = async (sql: string): Promise<number> => Number((await clickhouse.query(sql)).trim());
  try {
    let stored = 0;
    while (stored < total) {
      await sleep(100);
      stored = await count(`SELECT count() FROM ${database}.events`);
      if (debug) log(`${stored} rows after ${Math.round(performance.now() - start)} ms`);
      if (performance.now() - start > 600_000)
        throw new Error(`only ${stored} of ${total} rows after 10 min`);
    }
    const seconds = (performance.now() - start) / 1000;
    if (drainCpu !== undefined) {
      log(`CPU during the drain: ${drainCpu()}`);
      log(JSON.stringify(dispatchers.stats(), null, 1));
    }
    log(
      `drain ${run}/${RUNS}: spool → dispatchers → ClickHouse ${total} rows in ${seconds.toFixed(2)} s = ${Math.round(total / seconds)} rows/s`,
    );
    if ((await count(`SELECT uniqExact(id) FROM ${database}.events`)) !== total)
      throw new Error('rows lost or duplicated');
    return { rate: total / seconds, dispatchers, spool, database };
  } catch (error) {
    await dispatchers.close();
    await spool.close();
    throw error;
  }
}

/**
 * ClickHouse: clickhouse-client inserting the enriched rows, and spool → dispatchers → ClickHouse,
 * RUNS times each, one after the other (this machine's speed drifts over tens of seconds: both medians
 * are taken over the same stretch of time); then the lag under a steady load.
 */
async function benchClickHouse(dir: string): Promise<void> {
  if (!existsSync(CLICKHOUSE_CLIENT))
    throw new Error(`${CLICKHOUSE_CLIENT} is missing: apt-get install -y clickhouse-client`);
  const clickhouse = await startClickHouse();
  const client = createClickHouseClient({ url: clickhouse.url, database: 'bench' });
  const total = BATCHES * BATCH;
  try {
    // Baseline: the very rows the sink would write, as a JSONEachRow file, through clickhouse-client.
    const rowsFile = path.join(dir, 'rows.jsonl');
    const rowsOut = await open(rowsFile, 'w');
    for (let n = 0; n < BATCHES; n += 1) {
      const lines = enrichEnvelope(corpusBatch(n)).map((e) => `${JSON.stringify(clickHouseEventRow(e))}\n`);
      await rowsOut.write(lines.join(''));
    }
    await rowsOut.close();
    const baselineRates: number[] = [];
    const rates: number[] = [];
    let last: Drain | undefined;
    for (let run = 1; run <= RUNS; run += 1) {
      // The previous drain's dispatchers stop first: its alerts consumer may still be catching up,
      // and must not take CPU from the baseline run.
      if (last !== undefined) {
        await last.dispatchers.close();
        await last.spool.close();
      }
      baselineRates.push(await clientInsert(clickhouse, client, rowsFile, run));
      last = await drainIntoClickHouse(clickhouse, client, dir, run);
      rates.push(last.rate);
    }
    const baselineRate = percentile(baselineRates, 50);
    const rate = percentile(rates, 50);
    const { dispatchers, spool, database } = last!;
    try {
      log(`telltale: spool → dispatchers → ClickHouse, median of ${RUNS} drains: ${Math.round(rate)} rows/s`);
      // The alerts consumer reads the same spool: let it catch up, so the steady load starts from quiet.
      while (!dispatchers.stats().consumers.every((c) => c.records === BATCHES)) await sleep(100);
      const lagP95 = await steadyLag(clickhouse, spool, database);
      process.stdout.write(
        `${JSON.stringify({
          bench: 'dispatch',
          rows_per_s: Math.round(rate),
          baseline_rows_per_s: Math.round(baselineRate),
          ratio: Number((rate / baselineRate).toFixed(3)),
          lag_p95_ms: lagP95,
          events: total,
        })}\n`,
      );
    } finally {
      await dispatchers.close();
      await spool.close();
    }
  } finally {
    await client.close();
    await clickhouse.destroy();
  }
}

/** Steady load: batches acked by the spool at a fixed rate; the p95 of ack → row visible, ms. */
async function steadyLag(
  clickhouse: ClickHouseServer,
  spool: SpoolWriter,
  database: string,
): Promise<number> {
  const acked = new Map<string, number>();
  const visible = new Map<string, number>();
  const lagBatches = (LAG_SECONDS * LAG_EVENTS_PER_S) / BATCH;
  const interval = (1000 * BATCH) / LAG_EVENTS_PER_S;
  log(`steady load: ${LAG_EVENTS_PER_S} events/s for ${LAG_SECONDS} s`);
  let polling = true;
  const poller = (async () => {
    while (polling || visible.size < acked.size) {
      const ids = (
        await clickhouse.query(`SELECT DISTINCT batch_id FROM ${database}.events WHERE batch_id LIKE 'lag-%'`)
      )
        .split('\n')
        .filter((id) => id !== '');
      const at = performance.now();
      for (const id of ids) if (!visible.has(id)) visible.set(id, at);
      await sleep(50);
    }
  })();
  const loadStart = performance.now();
  for (let n = 0; n < lagBatches; n += 1) {
    const due = loadStart + n * interval;
    if (due > performance.now()) await sleep(due - performance.now());
    const batch = clientBatch(1_000_000 + n, BATCH, Date.now());
    batch.batch.batchId = `lag-${n}`;
    void spool
      .append(Buffer.from(JSON.stringify(batch)))
      .then(() => acked.set(`lag-${n}`, performance.now()));
  }
  await sleep(200);
  polling = false;
  await Promise.race([poller, sleep(60_000)]);
  const lags = [...acked].map(([id, at]) => (visible.get(id) ?? Number.POSITIVE_INFINITY) - at);
  const lagP95 = Math.round(percentile(lags, 95));
  log(
    `lag ack → visible: p50 ${Math.round(percentile(lags, 50))} ms, p95 ${lagP95} ms, max ${Math.round(Math.max(...lags))} ms`,
  );
  return lagP95;
}

/**
 * The corpus, batch by batch: batch `n` of BATCH events, the same in both halves. Never held whole
 * while the dispatchers run: 200k events as objects are ~500 MB of heap, and freeing that in the
 * middle of a drain made V8's helper threads sweep it on the cores the dispatchers were measured on.
 */
const BATCHES = Math.ceil(EVENTS / BATCH);
const CORPUS_NOW = Date.now();
const corpusBatch = (n: number): SpoolEnvelope => clientBatch(n, BATCH, CORPUS_NOW - 60_000 + n);

/** Every corpus batch appended to the spool (as after a backlog), 50 at a time. */
async function fillSpool(spool: SpoolWriter): Promise<void> {
  for (let i = 0; i < BATCHES; i += 50) {
    const group = Array.from({ length: Math.min(50, BATCHES - i) }, (_, k) => corpusBatch(i + k));
    await Promise.all(group.map((b) => spool.append(Buffer.from(JSON.stringify(b)))));
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-bench-dispatch-'));
  try {
    log(`corpus: ${BATCHES * BATCH} events in ${BATCHES} batches of ${BATCH}`);
    if (PART !== 'duckdb') await benchClickHouse(dir);
    if (PART !== 'clickhouse') await benchDuckDb(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
