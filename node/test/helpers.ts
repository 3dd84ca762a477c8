import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { build } from 'esbuild';
import { waitFor as sharedWaitFor } from '../../test-support/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const src = (pkg: string): string => path.join(ROOT, pkg, 'src', 'index.ts');

export { tempDir } from '../../test-support/wait.js';

/** test-support's waitFor with this package's longer default (child processes and a pino worker start slowly). */
export const waitFor = <T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> => sharedWaitFor(what, check, timeoutMs, 100);

/** Which API the numbered app logs through: `pino(opts, telltaleDestination(…))` or `pino.transport(…)`. */
export type LoggerApi = 'destination' | 'transport';

/**
 * The package's current source as ES modules a worker thread can load: a worker cannot load
 * TypeScript through tsx on Node 20, and dist/ may be stale, so esbuild bundles src/ (and the
 * protocol and spool sources it imports) the way the tests' aliases see them. Returns the
 * `TT_TARGET` (the pino transport) and `TT_DESTINATION` (telltaleDestination, with its
 * `ship-worker.js` beside it, where it looks for it) of the numbered app.
 */
export async function bundleTransport(
  outDir: string,
): Promise<{ TT_TARGET: string; TT_DESTINATION: string }> {
  const bundle = (entry: string, outfile: string) =>
    build({
      entryPoints: [path.join(ROOT, 'node', 'src', entry)],
      outfile: path.join(outDir, outfile),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'error',
      alias: { '@telltale/protocol': src('protocol'), '@telltale/spool': src('spool') },
      // pino-abstract-transport is CommonJS: give its require() calls a real require.
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
    });
  await Promise.all([
    bundle('pino.ts', 'telltale-pino.mjs'),
    bundle('destination.ts', 'telltale-destination.mjs'),
    bundle('ship-worker.ts', 'ship-worker.js'),
    writeFile(path.join(outDir, 'package.json'), '{"type":"module"}\n'),
  ]);
  return {
    TT_TARGET: path.join(outDir, 'telltale-pino.mjs'),
    TT_DESTINATION: path.join(outDir, 'telltale-destination.mjs'),
  };
}

export interface AppProcess {
  child: ChildProcess;
  /** Logging calls that returned so far (the app's last `wrote` report). */
  wrote(): number;
  done(): boolean;
  /** The transport's last stats event. */
  stats(): Record<string, unknown> | undefined;
  /** Every `lastError` the transport reported so far (`429`, `ECONNRESET`…). */
  errorsSeen(): Set<string>;
  /** The last 4000 characters the app wrote to stderr. */
  stderr(): string;
  exited: Promise<void>;
}

/** Starts test/fixtures/numbered-app.ts: a real pino logger with Telltale (TT_API), writing `{ n }` lines. */
export function startApp(env: Record<string, string>): AppProcess {
  const fixture = fileURLToPath(new URL('./fixtures/numbered-app.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let wrote = 0;
  let done = false;
  let stats: Record<string, unknown> | undefined;
  const errorsSeen = new Set<string>();
  let rest = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('wrote ')) wrote = Number(line.slice(6));
      else if (line === 'done') done = true;
      else if (line.startsWith('stats ')) {
        stats = JSON.parse(line.slice(6)) as Record<string, unknown>;
        if (typeof stats.lastError === 'string') errorsSeen.add(stats.lastError);
      }
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  // 'close': after the exit and the last stdout bytes, so `wrote()` then counts every call that returned.
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal === null) process.stderr.write(`numbered-app exited ${code}: ${stderr}\n`);
  });
  return {
    child,
    wrote: () => wrote,
    done: () => done,
    stats: () => stats,
    errorsSeen: () => errorsSeen,
    stderr: () => stderr,
    exited,
  };
}

export async function kill9(app: AppProcess): Promise<void> {
  app.child.kill('SIGKILL');
  await app.exited;
}

/** Rows of the server's DuckDB file, through a read-only instance of our own. */
export async function duckRows(dataDir: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(path.join(dataDir, 'telltale.duckdb'), {
    access_mode: 'READ_ONLY',
  });
  try {
    const connection = await instance.connect();
    try {
      return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** The `n` of every stored line of the numbered app, one entry per row (duplicates would show). */
export async function storedNumbers(dataDir: string, service = 'numbered'): Promise<number[]> {
  const rows = await duckRows(dataDir, `SELECT attrs FROM server_logs WHERE service = '${service}'`);
  return rows.map((row) => (JSON.parse(String(row.attrs)) as { n: number }).n).sort((a, b) => a - b);
}

/**
 * A TCP door in front of the collector: while closed, every connection is reset at once (the
 * collector is down, as the app sees it); once opened, connections go through to `target`.
 */
export async function startDoor(): Promise<{
  url: string;
  open(target: URL): void;
  shut(): void;
  close(): Promise<void>;
}> {
  let target: URL | undefined;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (target === undefined) return void socket.resetAndDestroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    socket.pipe(upstream).pipe(socket);
    const end = (): void => {
      socket.destroy();
      upstream.destroy();
    };
    socket.once('error', end);
    upstream.once('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    open(url) {
      target = url;
    },
    shut() {
      target = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
