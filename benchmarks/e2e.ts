/**
 * `npm run bench:e2e` — `npm start`'s process (the built `telltale start`: collector, dispatchers,
 * dashboards, embedded DuckDB) in a child process on 127.0.0.1, rate limits and quotas off, under a
 * bounded autocannon load of gzipped client batches. Measured: events/s from the first POST to the
 * last event visible on `/api/stats`, against the same process's collector alone (a fresh data dir,
 * dispatchers paused with TELLTALE_DISPATCH_PAUSED=1) acknowledging the same load in the same run;
 * the process's idle RSS after start and its peak RSS (/proc/<pid>/status VmHWM). Three rounds of
 * the two, alternating (BENCH_ROUNDS): the ratio is of the two medians, the RSS figures the highest.
 *
 * Stdout, last line: {"bench":"e2e","events_per_s":…,"collector_events_per_s":…,"ratio":…,"peak_rss_mb":…,"idle_rss_mb":…}
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { clientBatch } from '../dispatchers/test/corpus.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const BATCH = 100; // events per client batch, as the SDK sends them at most
const CONNECTIONS = 16;
const KEY = 'tt_bench_e2e_0123456789abcdef';
const TOKEN = 'bench-e2e-api-token-0123456789abcdefghij';
const IDLE_SETTLE_MS = 3_000;
/** Rounds of (collector alone, end to end); the medians count. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const VISIBLE_TIMEOUT_MS = 600_000;
/** BENCH_DEBUG=1: the load's CPU (collector alone), and rows visible and CPU at each poll (end to end), to stderr. */
const DEBUG = process.env.BENCH_DEBUG === '1';
const CLI = fileURLToPath(new URL('../cli/bin/telltale.js', import.meta.url));

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** VmRSS (now) and VmHWM (peak) of a process, MB. */
function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** User + system CPU of a process, all its threads, ms (Linux clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Server {
  child: ChildProcess;
  url: string;
  dataDir: string;
}

async function startServer(paused: boolean): Promise<Server> {
  const dataDir = await mkdtemp(
    path.join(os.tmpdir(), `telltale-bench-e2e-${paused ? 'collector' : 'full'}-`),
  );
  // BENCH_CPU_PROF_DIR=<dir>: a .cpuprofile per thread of the measured process (benchmarks/tools/cpuprofile-top.ts).
  const profile = process.env.BENCH_CPU_PROF_DIR;
  const flags = profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`];
  const child = spawn(process.execPath, [...flags, CLI, 'start'], {
    cwd: dataDir,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      PATH: process.env.PATH,
      TELLTALE_HOST: '127.0.0.1',
      // Port 0: the process binds a free port itself and announces it (no close-then-bind race).
      TELLTALE_PORT: '0',
      TELLTALE_DATA_DIR: dataDir,
      TELLTALE_DEMO_KEY: KEY,
      TELLTALE_API_TOKEN: TOKEN,
      TELLTALE_LOG_LEVEL: 'error',
      TELLTALE_RATE_LIMIT_PER_IP: '0',
      TELLTALE_RATE_LIMIT_PER_KEY: '0',
      TELLTALE_QUOTA_EVENTS_PER_MINUTE: '0',
      TELLTALE_QUOTA_BYTES_PER_DAY: '0',
      TELLTALE_QUOTA_BYTES_PER_ADDRESS_PER_HOUR: '0',
      TELLTALE_QUOTA_BYTES_PER_SESSION_PER_DAY: '0',
      TELLTALE_DISPATCH_PAUSED: paused ? '1' : '0',
      ...(process.env.TELLTALE_DISPATCH_THREADS === undefined
        ? {}
        : { TELLTALE_DISPATCH_THREADS: process.env.TELLTALE_DISPATCH_THREADS }),
    },
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`telltale start exited with ${code}`))),
  );
  exited.catch(() => undefined);
  // `telltale start` prints "Telltale is running on http://127.0.0.1:<port>" once it listens.
  let out = '';
  let url: string | undefined;
  const onData = (chunk: Buffer): void => {
    out += chunk.toString();
    url = /Telltale is running on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    if (url === undefined) return;
    child.stdout!.off('data', onData);
    child.stdout!.resume(); // keep the pipe drained: the rest of its output is not read
  };
  child.stdout!.on('data', onData);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const up =
      url !== undefined &&
      (await Promise.race([
        fetch(`${url}/healthz`).then(
          (r) => r.ok,
          () => false,
        ),
        exited,
      ]));
    if (up) return { child, url: url!, dataDir };
    if (child.exitCode !== null) await exited;
    if (Date.now() > deadline)
      throw new Error(`telltale start did not announce its address and answer /healthz within 60 s`);
    await sleep(100);
  }
}

async function stopServer(server: Server): Promise<void> {
  const exit = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await Promise.race([exit, sleep(30_000)]);
  server.child.kill('SIGKILL');
  await rm(server.dataDir, { recursive: true, force: true });
}

/** Every batch gzipped once up front: unique batch ids and event ids, so nothing is deduplicated away. */
function makeBodies(run: number): Buffer[] {
  const now = Date.now();
  return Array.from({ length: Math.ceil(EVENTS / BATCH) }, (_, n) => {
    const { batch } = clientBatch(run * 1_000_000 + n, BATCH, now - 60_000 + n);
    return gzipSync(JSON.stringify({ ...batch, sentAt: now }), { level: 1 });
  });
}

/** Sends every body once (bounded: `amount`); resolves with the seconds it took and the 2xx count. */
async function load(url: string, bodies: Buffer[]): Promise<{ seconds: number; ok: number }> {
  let next = 0;
  const start = performance.now();
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    amount: bodies.length,
    // autocannon notices it is done on its sample tick (1 s by default): the run's time came out as
    // whole seconds (1.02 or 2.02 s for the same load), so the collector's rate jumped 2× between runs.
    sampleInt: 10,
    requests: [
      {
        method: 'POST',
        path: `/v1/batch?key=${KEY}`,
        headers: {
          'content-type': 'text/plain;charset=UTF-8',
          'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36',
        },
        setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }),
      },
    ],
  });
  const failed = result.non2xx + result.errors + result.timeouts;
  if (failed > 0) throw new Error(`${failed} of ${bodies.length} batches were not answered 2xx`);
  return { seconds: (performance.now() - start) / 1000, ok: result['2xx'] };
}

async function visibleEvents(url: string): Promise<number> {
  const response = await fetch(`${url}/api/stats`, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (!response.ok) throw new Error(`/api/stats answered ${response.status}`);
  const { events } = (await response.json()) as { events: Record<string, number> };
  return Object.values(events).reduce((sum, n) => sum + n, 0);
}

/** The collector alone: the process with its dispatchers paused acknowledges the load; events/s and peak RSS. */
async function collectorAlone(round: number, total: number): Promise<{ rate: number; peakMb: number }> {
  const collector = await startServer(true);
  try {
    const bodies = makeBodies(round * 2 - 1);
    const cpu0 = DEBUG ? cpuMsOf(collector.child.pid!) : 0;
    const { seconds } = await load(collector.url, bodies);
    if (DEBUG) log(`  collector alone: process CPU ${cpuMsOf(collector.child.pid!) - cpu0} ms for the load`);
    const { peakMb } = memoryOf(collector.child.pid!);
    log(
      `round ${round}/${ROUNDS}: collector alone (dispatchers paused): ${total} events acked in ${seconds.toFixed(2)} s = ${Math.round(total / seconds)} events/s, peak RSS ${Math.round(peakMb)} MB`,
    );
    return { rate: total / seconds, peakMb };
  } finally {
    await stopServer(collector);
  }
}

/** The whole process: POST → spool → dispatchers (decode, enrich, DuckDB, alerts) → /api/stats. */
async function endToEnd(
  round: number,
  total: number,
): Promise<{ rate: number; peakMb: number; idleMb: number }> {
  const full = await startServer(false);
  try {
    const bodies = makeBodies(round * 2);
    await sleep(IDLE_SETTLE_MS);
    const idleMb = memoryOf(full.child.pid!).rssMb;
    const start = performance.now();
    const sent = load(full.url, bodies);
    let acked: number | undefined;
    void sent.then((r) => (acked = r.seconds));
    let visible = 0;
    while (visible < total) {
      await sleep(100);
      visible = await visibleEvents(full.url);
      if (DEBUG)
        log(
          `  +${((performance.now() - start) / 1000).toFixed(2)} s: ${visible} visible, acked ${acked === undefined ? 'no' : 'yes'}, process CPU ${cpuMsOf(full.child.pid!)} ms`,
        );
      if (performance.now() - start > VISIBLE_TIMEOUT_MS)
        throw new Error(`only ${visible} of ${total} events visible after 10 min`);
    }
    const seconds = (performance.now() - start) / 1000;
    await sent;
    const { peakMb } = memoryOf(full.child.pid!);
    log(
      `round ${round}/${ROUNDS}: end to end: ${total} events visible in ${seconds.toFixed(2)} s = ${Math.round(total / seconds)} events/s (acked in ${acked?.toFixed(2)} s), idle RSS ${Math.round(idleMb)} MB, peak RSS ${Math.round(peakMb)} MB`,
    );
    return { rate: total / seconds, peakMb, idleMb };
  } finally {
    await stopServer(full);
  }
}

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const total = Math.ceil(EVENTS / BATCH) * BATCH;
  log(`load: ${total} events in ${total / BATCH} gzipped batches of ${BATCH}, ${CONNECTIONS} connections`);
  // Collector alone and end to end, ROUNDS times each, alternating: this machine's speed drifts 2×
  // over tens of seconds, and a single ~1 s collector run made the ratio swing 0.34–0.77 run to run.
  const collector: { rate: number; peakMb: number }[] = [];
  const full: { rate: number; peakMb: number; idleMb: number }[] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    collector.push(await collectorAlone(round, total));
    full.push(await endToEnd(round, total));
  }
  const rate = median(full.map((r) => r.rate));
  const collectorRate = median(collector.map((r) => r.rate));
  // Memory targets are ceilings: the highest of every run counts, not a median.
  const peak = Math.max(...collector.map((r) => r.peakMb), ...full.map((r) => r.peakMb));
  const idle = Math.max(...full.map((r) => r.idleMb));
  const ratio = rate / collectorRate;
  log(
    `medians of ${ROUNDS}: end to end ${Math.round(rate)} events/s, collector alone ${Math.round(collectorRate)} events/s: ratio ${ratio.toFixed(3)} (target ≥ 0.5); highest peak RSS ${Math.round(peak)} MB (≤ 512), idle ${Math.round(idle)} MB (≤ 200)`,
  );
  process.stdout.write(
    `${JSON.stringify({
      bench: 'e2e',
      events_per_s: Math.round(rate),
      collector_events_per_s: Math.round(collectorRate),
      ratio: Number(ratio.toFixed(3)),
      peak_rss_mb: Math.round(peak),
      idle_rss_mb: Math.round(idle),
    })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:e2e failed: ${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
