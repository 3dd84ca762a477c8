/**
 * `npm run bench:collector`: realistic gzipped batches of 100 events through the full collector
 * (every check on: key, origin, rate limits, size limits, gunzip, shape and schema validation,
 * clock checks, idempotency with its journal, spool append + group-commit fsync, metrics), and in
 * the same run a baseline: a bare fastify route that only gunzips, parses and appends the inflated
 * body to the same spool writer. Each server runs in its own child process; autocannon drives it
 * from this one, on 127.0.0.1. Progress goes to stderr; the last stdout line is the JSON result.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { build, openCollectorStores, resolveCollectorConfig } from '@telltale/collector';
import { openSpoolWriter } from '@telltale/spool';

const KEY = 'tt_bench_0123456789abcdef';
const EVENTS_PER_BATCH = 100;
const CONNECTIONS = 32;
const WARMUP_S = 3;
const ROUNDS = 5;
const ROUND_S = 5;
const POOL = 64;
const gunzip = promisify(gunzipCallback);
// TELLTALE_BENCH_UNKNOWN_FIELDS=1: every event carries a field v1 does not know (a newer SDK), which
// takes the validator's slower path that drops unknown fields.
const UNKNOWN_FIELDS = process.env.TELLTALE_BENCH_UNKNOWN_FIELDS === '1';

type Mode = 'full' | 'baseline';

// ---------------------------------------------------------------------------------------------
// Child: one server, reporting its port and, on request, its peak RSS.

async function serve(mode: Mode): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `telltale-bench-${mode}-`));
  let peakRss = 0;
  const sample = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  let close: () => Promise<void>;
  let port: number;
  if (mode === 'full') {
    const config = resolveCollectorConfig(
      {
        apps: [
          { id: 'bench', name: 'Bench', ingestKeys: [KEY], allowedOrigins: ['https://app.example.com'] },
        ],
        // On and evaluated for every request, set above the offered load so they never refuse.
        rateLimits: { perIp: { perSecond: 1_000_000 }, perKey: { perSecond: 1_000_000 } },
        quotas: {
          eventsPerMinute: 1_000_000_000,
          bytesPerDay: 2 ** 50,
          // The public-key client budgets too: all the load comes from one loopback address.
          bytesPerAddressPerHour: 2 ** 50,
          bytesPerSessionPerDay: 2 ** 50,
        },
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
    port = (app.server.address() as { port: number }).port;
    close = async () => {
      await app.close();
      await stores.close();
    };
  } else {
    const spool = await openSpoolWriter({ dir: path.join(dataDir, 'spool', 'client') });
    const app = Fastify({ bodyLimit: 1024 * 1024 });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    app.post('/v1/batch', async (request, reply) => {
      const inflated = await gunzip(request.body as Buffer, { maxOutputLength: 10 * 1024 * 1024 });
      const batch = JSON.parse(inflated.toString('utf8')) as { events: unknown[] };
      await spool.append(inflated);
      return reply.code(202).send({ accepted: batch.events.length, duplicate: false });
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
    close = async () => {
      await app.close();
      await spool.close();
    };
  }
  process.send!({ port });
  process.on('message', (message: { cmd: string }) => {
    if (message.cmd === 'stop') {
      clearInterval(sample);
      void close()
        .then(() => rm(dataDir, { recursive: true, force: true }))
        .then(() => process.send!({ peakRssMb: peakRss / 1024 / 1024 }, () => process.exit(0)));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Parent: realistic batches, the load, the result line.

const STACK = [
  'TypeError: Cannot read properties of undefined (reading "total")',
  '    at computeCart (https://app.example.com/assets/app.3f9a2c1b.js:1:48213)',
  '    at renderCheckout (https://app.example.com/assets/app.3f9a2c1b.js:1:51877)',
  '    at HTMLButtonElement.onClick (https://app.example.com/assets/app.3f9a2c1b.js:1:60122)',
  '    at invokeGuardedCallback (https://app.example.com/assets/vendor.9b1e7d.js:2:11234)',
].join('\n');

/** A batch like the SDK sends: mostly features and logs, some errors with stacks and breadcrumbs, asserts, blocks. */
function realisticEvents(seed: number): unknown[] {
  const now = Date.now();
  return Array.from({ length: EVENTS_PER_BATCH }, (_, i) => {
    const common = {
      id: `e-${seed}-${i}-${Math.random().toString(36).slice(2, 10)}`,
      ts: now - (EVENTS_PER_BATCH - i) * 50,
      url: '/checkout',
      online: true,
      ...(UNKNOWN_FIELDS ? { viewport: '1280x720' } : {}),
    };
    switch (i % 10) {
      case 0:
        return {
          ...common,
          kind: 'error',
          type: 'TypeError',
          message: 'Cannot read properties of undefined (reading "total")',
          stack: STACK,
          mechanism: 'onerror',
          breadcrumbs: Array.from({ length: 8 }, (_, b) => ({
            ts: now - b * 1000,
            level: 'info',
            category: 'ui.click',
            message: `button#step-${b}`,
          })),
        };
      case 1:
        return {
          ...common,
          kind: 'assert',
          name: 'cart-total-matches',
          soft: true,
          vars: { items: 3 + i, cents: 12_999, currency: 'EUR' },
        };
      case 2:
        return { ...common, kind: 'blocked', reason: 'file-too-large', props: { sizeMb: 30, limitMb: 25 } };
      case 3:
      case 4:
      case 5:
        return {
          ...common,
          kind: 'log',
          level: 'info',
          message: `checkout step ${i} rendered in ${20 + i} ms`,
        };
      default:
        return {
          ...common,
          kind: 'feature',
          name: ['export-csv', 'share-link', 'filter-by-date', 'bulk-edit'][i % 4],
          props: { rows: 40 + i },
        };
    }
  });
}

/**
 * Bodies with a fresh batch id each (a duplicate would be answered from the index, unfairly fast):
 * a tiny gzip member with the id, then a precomputed member with the rest, which gunzip reads as
 * one stream. The pool is remade for each run so event times stay current.
 */
function bodyMaker(): { next: () => Buffer; bytes: number } {
  const tails = Array.from({ length: POOL }, (_, seed) => {
    const rest = JSON.stringify({
      v: 1,
      sentAt: Date.now(),
      release: '1.4.2',
      environment: 'production',
      session: `s-${seed}`,
      user: `u-${seed}`,
      sdk: 'telltale-browser/0.1.0',
      events: realisticEvents(seed),
    });
    return gzipSync(rest.slice(1)); // without the opening brace: the head member opens the object
  });
  let counter = 0;
  const next = (): Buffer => {
    counter += 1;
    const head = gzipSync(`{"batchId":"bench-${process.pid}-${counter}",`, { level: 1 });
    return Buffer.concat([head, tails[counter % POOL]!]);
  };
  return { next, bytes: next().length };
}

async function startChild(mode: Mode): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['serve', mode], {
    // BENCH_CPU_PROF_DIR=<dir>: a .cpuprofile per thread of each server (benchmarks/tools/cpuprofile-top.ts).
    execArgv: [
      '--import',
      'tsx',
      ...(process.env.BENCH_CPU_PROF_DIR
        ? ['--cpu-prof', `--cpu-prof-dir=${path.join(process.env.BENCH_CPU_PROF_DIR, mode)}`]
        : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  return { child, port };
}

async function stopChild(child: ChildProcess): Promise<number> {
  const reply = new Promise<number>((resolve) =>
    child.once('message', (m: { peakRssMb: number }) => resolve(m.peakRssMb)),
  );
  child.send({ cmd: 'stop' });
  return reply;
}

async function load(port: number, seconds: number) {
  const bodies = bodyMaker();
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: `/v1/batch?key=${KEY}`,
        headers: {
          'content-type': 'text/plain;charset=UTF-8',
          origin: 'https://app.example.com',
          'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36',
        },
        setupRequest: (request) => ({ ...request, body: bodies.next() }),
      },
    ],
  });
  return { result, bodyBytes: bodies.bytes };
}

async function round(mode: Mode, port: number) {
  const { result, bodyBytes } = await load(port, ROUND_S);
  const ok = result['2xx'];
  const failed = result.non2xx + result.errors + result.timeouts;
  const eventsPerS = (ok * EVENTS_PER_BATCH) / result.duration;
  process.stderr.write(
    `  ${mode.padEnd(8)} ${ok} batches 2xx, ${failed} not; ${Math.round(eventsPerS)} events/s; ` +
      `p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms; body ~${bodyBytes} B gzip\n`,
  );
  if (failed > 0) throw new Error(`${mode}: ${failed} requests were not answered 2xx`);
  return { eventsPerS, p99: result.latency.p99 };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

async function main(): Promise<void> {
  if (process.argv[2] === 'serve') return serve(process.argv[3] as Mode);
  const servers = { baseline: await startChild('baseline'), full: await startChild('full') };
  try {
    for (const mode of ['baseline', 'full'] as const) {
      process.stderr.write(`${mode}: warming up ${WARMUP_S} s…\n`);
      await load(servers[mode].port, WARMUP_S);
    }
    // Interleaved rounds: a burst of noise from elsewhere on the machine hits both sides alike.
    const runs: Record<Mode, Array<{ eventsPerS: number; p99: number }>> = { baseline: [], full: [] };
    for (let r = 1; r <= ROUNDS; r++) {
      process.stderr.write(`round ${r}/${ROUNDS} (${ROUND_S} s each, ${CONNECTIONS} connections)\n`);
      for (const mode of ['baseline', 'full'] as const)
        runs[mode].push(await round(mode, servers[mode].port));
    }
    const full = median(runs.full.map((x) => x.eventsPerS));
    const baseline = median(runs.baseline.map((x) => x.eventsPerS));
    const p99 = median(runs.full.map((x) => x.p99));
    await stopChild(servers.baseline.child);
    const rssMb = await stopChild(servers.full.child);
    const ratio = full / baseline;
    process.stderr.write(
      `medians: full ${Math.round(full)}, baseline ${Math.round(baseline)} events/s; ratio ${ratio.toFixed(2)} (target ≥ 0.5)\n`,
    );
    process.stdout.write(
      JSON.stringify({
        bench: 'collector',
        events_per_s: Math.round(full),
        baseline_events_per_s: Math.round(baseline),
        ratio: Number(ratio.toFixed(2)),
        p99_ms: p99,
        rss_mb: Math.round(rssMb),
      }) + '\n',
    );
  } catch (error) {
    servers.baseline.child.kill('SIGKILL');
    servers.full.child.kill('SIGKILL');
    throw error;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:collector failed: ${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
