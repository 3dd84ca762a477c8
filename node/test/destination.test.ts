import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shipWorkerUrl, telltaleDestination } from '../src/destination.js';
import { tempDir, waitFor } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/turn-app.ts', import.meta.url));

/** Every complete line in a buffer dir's journal, parsed. */
async function journalLines(bufferDir: string): Promise<Array<Record<string, unknown>>> {
  const dir = path.join(bufferDir, 'journal');
  const lines: Array<Record<string, unknown>> = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.ndjson')).sort()) {
    const text = await readFile(path.join(dir, name), 'utf8');
    for (const line of text.split('\n').slice(0, -1)) lines.push(JSON.parse(line) as Record<string, unknown>);
  }
  return lines;
}

/** A collector stand-in on 127.0.0.1: takes gzipped NDJSON on /v1/logs with the key, answers 202. */
async function startReceiver(key: string) {
  const lines: Array<Record<string, unknown>> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url !== '/v1/logs' || req.headers['x-telltale-key'] !== key) {
        res.writeHead(401).end();
        return;
      }
      const text = gunzipSync(Buffer.concat(chunks)).toString('utf8');
      for (const line of text.split('\n')) if (line !== '') lines.push(JSON.parse(line));
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    lines,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

describe('telltaleDestination', () => {
  let work: { dir: string; remove(): Promise<void> };
  beforeEach(async () => {
    work = await tempDir('node-destination');
  });
  afterEach(async () => {
    await work.remove();
  });

  it('finds its shipping worker when it runs from its TypeScript source, and ships through it', async () => {
    // Under vitest this module is node/src/destination.ts: the worker comes from the package's dist/.
    expect(fileURLToPath(shipWorkerUrl())).toBe(path.join(ROOT, 'node', 'dist', 'ship-worker.js'));
    expect(() => shipWorkerUrl('file:///nowhere/at/all/destination.js')).toThrow(
      /TELLTALE_ERR_INVALID_CONFIG: telltaleDestination: its shipping worker \(ship-worker\.js\) is missing .*build @telltale\/node/,
    );
    const key = 'tt_secret_destination_test_0123456789';
    const receiver = await startReceiver(key);
    const destination = telltaleDestination({
      endpoint: receiver.url,
      key,
      dir: path.join(work.dir, 'buffer'),
      service: 'api',
    });
    try {
      const logger = pino(destination);
      for (let n = 0; n < 250; n++) logger.info({ n }, `order ${n} for alice@example.com`);
      const shipped = await waitFor('every line at the receiver', () =>
        receiver.lines.length >= 250 ? receiver.lines : undefined,
      );
      expect(shipped.map((line) => (line.attrs as { n: number }).n)).toEqual(
        Array.from({ length: 250 }, (_, n) => n),
      );
      expect(new Set(shipped.map((line) => line.id)).size).toBe(250);
      expect(shipped.every((line) => line.service === 'api')).toBe(true);
      expect(JSON.stringify(shipped)).not.toContain('alice@example.com'); // scrubbed before it left
      await waitFor('the stats', () => destination.stats().shipped === 250 || undefined);
    } finally {
      await destination.close();
      await receiver.close();
    }
  });

  it('puts the lines of a synchronous run in the journal at logger.flush() and when the code yields', async () => {
    const bufferDir = path.join(work.dir, 'buffer');
    const destination = telltaleDestination({
      endpoint: 'http://127.0.0.1:9',
      key: 'tt_secret_x',
      dir: bufferDir,
    });
    try {
      const logger = pino(destination);
      logger.info('first');
      logger.info('second');
      logger.flush();
      // Read with blocking calls, before this code yields.
      const journal = path.join(bufferDir, 'journal');
      const [file] = readdirSync(journal);
      const now = readFileSync(path.join(journal, file!), 'utf8').trim().split('\n');
      expect(now.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['first', 'second']);
      logger.info('third');
      await Promise.resolve(); // the code yields
      expect((await journalLines(bufferDir)).map((line) => line.msg)).toEqual(['first', 'second', 'third']);
      expect(destination.stats().written).toBe(3);
    } finally {
      await destination.close();
    }
  });

  it('logger.flush(cb) reports lines the disk refused, and counts them', async () => {
    const bufferDir = path.join(work.dir, 'refused');
    const destination = telltaleDestination({
      endpoint: 'http://127.0.0.1:9',
      key: 'tt_secret_x',
      dir: bufferDir,
      maxBufferBytes: 1024 * 1024, // journal files of 64 KiB
    });
    try {
      const logger = pino(destination);
      const flushed = () =>
        new Promise<Error | undefined>((resolve) => logger.flush((error) => resolve(error)));
      // One line past a journal file's size: the next line needs a new file.
      logger.info('x'.repeat(70 * 1024));
      expect(await flushed()).toBeUndefined();
      // The journal folder is gone (a volume unmounted, a clean-up job): the new file cannot be made.
      await rm(path.join(bufferDir, 'journal'), { recursive: true, force: true });
      logger.info('lost');
      const error = await flushed();
      expect(error?.message).toMatch(/refused log lines/);
      expect(destination.stats().droppedFull).toBe(1);
    } finally {
      await destination.close();
    }
  });

  it.each(['exit', 'throw'])(
    'keeps every line logged right before process.exit() or an uncaught exception (%s)',
    async (mode) => {
      const bufferDir = path.join(work.dir, mode);
      const app = run({ TT_MODE: mode, TT_DIR: bufferDir, TT_COUNT: '5000' });
      const code = await app.exited;
      expect(code, app.stderr()).toBe(mode === 'exit' ? 0 : 1);
      const lines = await journalLines(bufferDir);
      expect(lines.map((line) => line.n)).toEqual(Array.from({ length: 5000 }, (_, n) => n));
    },
    60_000,
  );

  it.each(['fastify', 'express'])(
    '%s: a response leaves only after the lines its handler logged are in the journal',
    async (mode) => {
      const bufferDir = path.join(work.dir, mode);
      const release = path.join(work.dir, `${mode}.release`);
      const app = run({ TT_MODE: mode, TT_DIR: bufferDir, TT_RELEASE: release });
      try {
        const port = await waitFor('the app to listen', () => /port (\d+)/.exec(app.stdout())?.[1]);
        const response = await fetch(`http://127.0.0.1:${port}/checkout`);
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ ok: true });
        // The app is still inside the handler's turn (it never yields until released): the handler's
        // lines are on disk already, where a kill -9 now cannot take them.
        const lines = (await journalLines(bufferDir)).filter((line) =>
          String(line.msg).startsWith('charging'),
        );
        expect(lines.map((line) => line.msg)).toEqual(['charging 0', 'charging 1', 'charging 2']);
        expect(new Set(lines.map((line) => line.trace)).size).toBe(1);
      } finally {
        app.child.kill('SIGKILL');
        await app.exited;
        await writeFile(release, '');
      }
    },
    60_000,
  );
});
