import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { Batch } from '@telltale/protocol';
import { openSpoolReader } from '@telltale/spool';
import { APPS, makeBatch, readEnvelopes, tempDir, WEB_KEY } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVER = path.join(ROOT, 'collector', 'src', 'server.ts');
const ROUNDS = 6;
const SENDERS = 12;

interface Collector {
  child: ChildProcess;
  url: string;
  exited: Promise<unknown>;
}

/** The standalone collector as its own process (TypeScript sources through tsx, as in the repo). */
async function startProcess(dataDir: string): Promise<Collector> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.tests.json'),
      TELLTALE_APPS: JSON.stringify(APPS),
      TELLTALE_DATA_DIR: dataDir,
      TELLTALE_PORT: '0',
      TELLTALE_RATE_LIMIT_PER_IP: '0',
      TELLTALE_RATE_LIMIT_PER_KEY: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`collector did not start within 30 s:\n${output}`)),
      30_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /telltale collector listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`collector exited with ${code} before listening:\n${output}`)),
    );
  });
  return { child, url, exited };
}

describe('crash: kill -9 under load loses no acknowledged batch', () => {
  let current: Collector | undefined;
  let tmp: Awaited<ReturnType<typeof tempDir>> | undefined;
  afterEach(async () => {
    current?.child.kill('SIGKILL');
    await current?.exited;
    await tmp?.remove();
  });

  it(
    `keeps every 2xx batch intact across ${ROUNDS} kill -9 rounds, nothing corrupt, and knows them as duplicates after`,
    { timeout: 240_000 },
    async () => {
      tmp = await tempDir();
      const acknowledged = new Map<string, Batch>();
      let sent = 0;

      for (let round = 0; round < ROUNDS; round++) {
        current = await startProcess(tmp.dir);
        const target = current;
        let stop = false;
        const sender = async (): Promise<void> => {
          while (!stop) {
            const batch = makeBatch({ batchId: `r${round}-${sent++}` });
            try {
              const res = await fetch(`${target.url}/v1/batch`, {
                method: 'POST',
                headers: { 'x-telltale-key': WEB_KEY, 'content-type': 'text/plain' },
                body: gzipSync(JSON.stringify(batch)),
              });
              if (res.status === 202) acknowledged.set(batch.batchId, batch);
            } catch {
              return; // the process is gone: whatever was not answered was never promised
            }
          }
        };
        const senders = Array.from({ length: SENDERS }, sender);
        // Kill at a random moment of the load (a bounded window: 150-650 ms into the round).
        await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 500));
        target.child.kill('SIGKILL');
        await target.exited;
        stop = true;
        await Promise.all(senders);
        current = undefined;
      }
      expect(acknowledged.size).toBeGreaterThan(ROUNDS * 10);

      // Restart once more: recovery cuts any torn tail, and every acknowledged batch is there, byte for byte.
      current = await startProcess(tmp.dir);
      const spoolDir = path.join(tmp.dir, 'spool', 'client');
      const envelopes = await readEnvelopes(spoolDir);
      const stored = new Map(envelopes.map((e) => [e.batch.batchId, e.batch]));
      for (const [id, batch] of acknowledged)
        expect(stored.get(id), `acknowledged batch ${id}`).toEqual(batch);
      // Nothing corrupt: every record is a whole envelope, stored once, and the reader skipped nothing.
      expect(new Set(envelopes.map((e) => e.batch.batchId)).size).toBe(envelopes.length);
      const reader = openSpoolReader({ dir: spoolDir });
      let position = { segment: 0, offset: 0 };
      for (;;) {
        const records = await reader.read(position, 500);
        if (records.length === 0) break;
        position = records.at(-1)!.next;
      }
      expect(reader.stats()).toEqual({ corruptSkips: 0, bytesSkipped: 0 });

      // A client retrying acknowledged batches after the crash is told they are duplicates.
      const sample = [...acknowledged.values()].slice(-20);
      for (const batch of sample) {
        const res = await fetch(`${current.url}/v1/batch`, {
          method: 'POST',
          headers: { 'x-telltale-key': WEB_KEY },
          body: JSON.stringify(batch),
        });
        expect(await res.json()).toEqual({ accepted: batch.events.length, duplicate: true });
      }
    },
  );
});
