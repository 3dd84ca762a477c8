/**
 * `npm run bench:logs`: server log lines from a real pino logger through the `@telltale/node/pino`
 * transport (scrub, local disk buffer with group-commit fsync, gzip, POST) into the collector's
 * server-log spool (fsync'd before its 202), and the app-side cost of one `logger.info` call with the
 * Telltale transport against pino writing to a file (`pino/file`, also a worker-thread transport),
 * measured in the same run. The collector runs in a child process, so its work is not the app's.
 * Progress goes to stderr; the last stdout line is the JSON result.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { build, openCollectorStores, resolveCollectorConfig } from '@telltale/collector';

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

function telltaleLogger(endpoint: string, dir: string) {
  const transport = pino.transport({
    target: '@telltale/node/pino',
    options: { endpoint, key: SECRET, dir, service: 'bench' },
  });
  let stats: Stats = { received: 0, shipped: 0 };
  transport.on('telltale-stats', (s: Stats) => (stats = s));
  return { logger: pino(transport), transport, stats: () => stats };
}

function fileLogger(file: string) {
  const transport = pino.transport({ target: 'pino/file', options: { destination: file, mkdir: true } });
  return { logger: pino(transport), transport };
}

const ready = (stream: NodeJS.EventEmitter) => new Promise((resolve) => stream.once('ready', resolve));
const flush = (stream: { flush(cb: (err?: Error) => void): void }) =>
  new Promise<void>((resolve, reject) => stream.flush((err) => (err ? reject(err) : resolve())));

async function waitUntil(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** ns per call of a tight loop of `logger.info`, the lines already handed to the worker afterwards. */
async function timeCalls(
  logger: pino.Logger,
  stream: Parameters<typeof flush>[0],
  from: number,
): Promise<number> {
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
    await ready(t.transport);
    const started = process.hrtime.bigint();
    for (let i = 0; i < THROUGHPUT_LINES; i += 1000) {
      for (let j = i; j < i + 1000; j++) t.logger.info(...line(j));
      await new Promise((resolve) => setImmediate(resolve)); // let the ring buffer drain, as a server would
    }
    await waitUntil('every line acknowledged by the collector', () => t.stats().shipped >= THROUGHPUT_LINES);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const linesPerS = THROUGHPUT_LINES / seconds;
    process.stderr.write(`throughput: ${THROUGHPUT_LINES} lines acknowledged in ${seconds.toFixed(2)} s\n`);
    t.transport.end();

    // 2. App-side cost per call, Telltale vs pino/file, alternating rounds; medians.
    const telltale = telltaleLogger(endpoint, path.join(work, 'buffer-calls'));
    const file = fileLogger(path.join(work, 'app.log'));
    await Promise.all([ready(telltale.transport), ready(file.transport)]);
    const ns = { telltale: [] as number[], file: [] as number[] };
    for (let round = 0; round < ROUNDS + 1; round++) {
      // Each round starts with the previous one shipped: the loop is timed against the same idle state.
      await waitUntil(
        'the previous round shipped',
        () => telltale.stats().shipped >= round * CALLS_PER_ROUND,
      );
      // Alternating which goes first, so neither always runs on a machine the other just warmed or loaded.
      const first = round % 2 === 0;
      const from = round * CALLS_PER_ROUND;
      const b0 = first ? 0 : await timeCalls(file.logger, file.transport, from);
      const a = await timeCalls(telltale.logger, telltale.transport, from);
      const b = first ? await timeCalls(file.logger, file.transport, from) : b0;
      if (round === 0) continue; // warm-up
      ns.telltale.push(a);
      ns.file.push(b);
      process.stderr.write(
        `round ${round}: telltale ${a.toFixed(0)} ns/call, pino/file ${b.toFixed(0)} ns/call\n`,
      );
    }
    const ratio = median(ns.telltale) / median(ns.file);
    process.stderr.write(
      `medians: telltale ${median(ns.telltale).toFixed(0)} ns, pino/file ${median(ns.file).toFixed(0)} ns per call; ratio ${ratio.toFixed(2)} (target ≤ 1.2)\n`,
    );
    await waitUntil(
      'the call rounds shipped',
      () => telltale.stats().shipped >= (ROUNDS + 1) * CALLS_PER_ROUND,
    );
    telltale.transport.end();
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
