/**
 * `npm run bench:logs`: server log lines from a real pino logger through `telltaleDestination` (one
 * synchronous append to the local journal on the app's thread; a worker scrubs, gzips and POSTs)
 * into the collector's server-log spool (fsync'd before its 202), and the app-side cost of one
 * `logger.info` call with it against pino writing to a file (`pino/file`, a worker-thread
 * transport), measured in the same run. Also on stderr, same rounds: the older `@telltale/node/pino`
 * transport, and pino's own synchronous file destination (`pino.destination({ sync: true })`).
 * The collector runs in a child process, so its work is not the app's.
 * Progress goes to stderr; the last stdout line is the JSON result.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { build, openCollectorStores, resolveCollectorConfig } from '@telltale/collector';
import { telltaleDestination } from '@telltale/node';

const SECRET = 'tt_secret_bench_0123456789abcdef';
const THROUGHPUT_LINES = 100_000;
const CALLS_PER_ROUND = 10_000;
const ROUNDS = 11;
const TIMEOUT_MS = 180_000;

// ---------------------------------------------------------------------------------------------
// Child: the collector, as `telltale start` runs it (every check on), reporting its port.

async function serve(): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'telltale-bench-logs-collector-'));
  const config = resolveCollectorConfig(
    {
      apps: [
        { id: 'bench', name: 'Bench', ingestKeys: ['tt_live_bench_0123456789abcdef'], secretKeys: [SECRET] },
      ],
      rateLimits: { perIp: { perSecond: 1_000_000 }, perKey: { perSecond: 1_000_000 } },
      quotas: { eventsPerMinute: 1_000_000_000, bytesPerDay: 2 ** 50 },
    },
    {},
  );
  const stores = await openCollectorStores(dataDir, config);
  const app = await build(config, {
    spool: stores.spool,
    serverLogSpool: stores.serverLogSpool,
    attachments: stores.attachments,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.send!({ port: (app.server.address() as { port: number }).port });
  process.on('message', () => {
    void app
      .close()
      .then(() => stores.close())
      .then(() => rm(dataDir, { recursive: true, force: true }))
      .then(() => process.exit(0));
  });
}

// ---------------------------------------------------------------------------------------------
// Parent: the app.

interface Stats {
  received: number;
  shipped: number;
}

const line = (i: number) =>
  [{ orderId: i, cart: 'c-' + (i % 1000), user: 'u-' + (i % 97), ms: i % 250 }, 'order placed'] as const;

type Flushable = { flush(cb: (err?: Error) => void): void };

function telltaleLogger(endpoint: string, dir: string) {
  const destination = telltaleDestination({ endpoint, key: SECRET, dir, service: 'bench' });
  let stats: Stats = { received: 0, shipped: 0 };
  destination.on('telltale-stats', (s: Stats) => (stats = s));
  return {
    logger: pino(destination),
    stream: destination as Flushable,
    stats: () => stats,
    close: () => destination.close(),
  };
}

function transportLogger(endpoint: string, dir: string) {
  const transport = pino.transport({
    target: '@telltale/node/pino',
    options: { endpoint, key: SECRET, dir, service: 'bench' },
  });
  let stats: Stats = { received: 0, shipped: 0 };
  transport.on('telltale-stats', (s: Stats) => (stats = s));
  return { logger: pino(transport), stream: transport as Flushable, transport, stats: () => stats };
}

function fileLogger(file: string) {
  const transport = pino.transport({ target: 'pino/file', options: { destination: file, mkdir: true } });
  return { logger: pino(transport), stream: transport as Flushable, transport };
}

function syncFileLogger(file: string) {
  const stream = pino.destination({ dest: file, sync: true });
  return { logger: pino(stream), stream: stream as Flushable };
}

const ready = (stream: NodeJS.EventEmitter) => new Promise((resolve) => stream.once('ready', resolve));
const flush = (stream: Flushable) =>
  new Promise<void>((resolve, reject) => stream.flush((err) => (err ? reject(err) : resolve())));

async function waitUntil(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** ns per call of a tight loop of `logger.info`, the lines already handed to the worker afterwards. */
async function timeCalls(logger: pino.Logger, stream: Flushable, from: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < CALLS_PER_ROUND; i++) logger.info(...line(from + i));
  const ns = Number(process.hrtime.bigint() - started) / CALLS_PER_ROUND;
  await flush(stream); // the ring buffer drained, so the next round starts from the same state
  return ns;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const here = fileURLToPath(import.meta.url);
  const child = fork(here, ['serve'], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const work = await mkdtemp(path.join(os.tmpdir(), 'telltale-bench-logs-app-'));
  try {
    const { port } = await new Promise<{ port: number }>((resolve) =>
      child.once('message', resolve as never),
    );
    const endpoint = `http://127.0.0.1:${port}`;

    // 1. Throughput: as fast as the app can hand lines over, until the collector acknowledged all.
    const t = telltaleLogger(endpoint, path.join(work, 'buffer-throughput'));
    const started = process.hrtime.bigint();
    for (let i = 0; i < THROUGHPUT_LINES; i += 1000) {
      for (let j = i; j < i + 1000; j++) t.logger.info(...line(j));
      await new Promise((resolve) => setImmediate(resolve)); // let the worker's messages in, as a server would
    }
    await waitUntil('every line acknowledged by the collector', () => t.stats().shipped >= THROUGHPUT_LINES);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const linesPerS = THROUGHPUT_LINES / seconds;
    process.stderr.write(`throughput: ${THROUGHPUT_LINES} lines acknowledged in ${seconds.toFixed(2)} s\n`);
    await t.close();

    // 2. App-side cost per call, each logger in turn (rotating which goes first), medians.
    const telltale = telltaleLogger(endpoint, path.join(work, 'buffer-calls'));
    const transport = transportLogger(endpoint, path.join(work, 'buffer-transport'));
    const file = fileLogger(path.join(work, 'app.log'));
    const syncFile = syncFileLogger(path.join(work, 'app-sync.log'));
    await Promise.all([ready(transport.transport), ready(file.transport)]);
    const loggers = { telltale, transport, file, syncFile };
    const names = Object.keys(loggers) as Array<keyof typeof loggers>;
    const ns = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<
      keyof typeof loggers,
      number[]
    >;
    for (let round = 0; round < ROUNDS + 1; round++) {
      // Each round starts with the previous one shipped: the loop is timed against the same idle state.
      await waitUntil(
        'the previous round shipped',
        () =>
          telltale.stats().shipped >= round * CALLS_PER_ROUND &&
          transport.stats().shipped >= round * CALLS_PER_ROUND,
      );
      const from = round * CALLS_PER_ROUND;
      // Rotating the order, so none always runs on a machine another just warmed or loaded.
      const order = names.map((_, i) => names[(i + round) % names.length]!);
      const times: Partial<Record<keyof typeof loggers, number>> = {};
      for (const name of order)
        times[name] = await timeCalls(loggers[name].logger, loggers[name].stream, from);
      if (round === 0) continue; // warm-up
      for (const name of names) ns[name].push(times[name]!);
      process.stderr.write(
        `round ${round}: ${names.map((name) => `${name} ${times[name]!.toFixed(0)}`).join(', ')} ns/call\n`,
      );
    }
    const ratio = median(ns.telltale) / median(ns.file);
    process.stderr.write(
      `medians (ns/call): ${names.map((name) => `${name} ${median(ns[name]).toFixed(0)}`).join(', ')}\n` +
        `telltaleDestination / pino/file ${ratio.toFixed(2)} (target ≤ 1.2); ` +
        `@telltale/node/pino / pino/file ${(median(ns.transport) / median(ns.file)).toFixed(2)}; ` +
        `telltaleDestination / pino.destination({ sync: true }) ${(median(ns.telltale) / median(ns.syncFile)).toFixed(2)}\n`,
    );
    await waitUntil(
      'the call rounds shipped',
      () =>
        telltale.stats().shipped >= (ROUNDS + 1) * CALLS_PER_ROUND &&
        transport.stats().shipped >= (ROUNDS + 1) * CALLS_PER_ROUND,
    );
    await telltale.close();
    transport.transport.end();
    file.transport.end();
    process.stdout.write(
      JSON.stringify({
        bench: 'logs',
        lines_per_s: Math.round(linesPerS),
        app_call_ratio: Number(ratio.toFixed(2)),
      }) + '\n',
    );
  } finally {
    child.send({ cmd: 'stop' });
    await new Promise((resolve) => child.once('exit', resolve));
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'serve') void serve();
else
  main().catch((error: unknown) => {
    process.stderr.write(`bench:logs failed: ${String((error as Error)?.stack ?? error)}\n`);
    process.exit(1);
  });
