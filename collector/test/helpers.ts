import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Batch, SpoolEnvelope } from '@telltale/protocol';
import { openSpoolReader, openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import { build, resolveCollectorConfig, type CollectorOptions } from '../src/index.js';

export const WEB_KEY = 'tt_web_0123456789abcdef';
export const API_KEY = 'tt_api_0123456789abcdef';
export const APPS = [
  { id: 'web', name: 'Web app', ingestKeys: [WEB_KEY] },
  { id: 'api', name: 'API', ingestKeys: [API_KEY] },
];

export async function tempDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-collector-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

let counter = 0;
export function makeBatch(overrides: Partial<Batch> = {}): Batch {
  counter += 1;
  return {
    v: 1,
    batchId: `batch-${process.pid}-${counter}`,
    sentAt: 1_700_000_000_000,
    release: '1.2.3',
    environment: 'production',
    session: 'session-1',
    events: [
      { id: `e-${counter}-1`, ts: 1_700_000_000_000, kind: 'feature', name: 'export-csv' },
      {
        id: `e-${counter}-2`,
        ts: 1_700_000_000_001,
        kind: 'error',
        type: 'TypeError',
        message: 'x is undefined',
      },
    ],
    ...overrides,
  };
}

export interface Harness {
  app: FastifyInstance;
  spool: SpoolWriter;
  spoolDir: string;
  /** Closes app and spool and builds both again on the same directory, like a process restart. */
  restart(): Promise<void>;
  envelopes(): Promise<SpoolEnvelope[]>;
  close(): Promise<void>;
}

/** A collector on a real spool in a temp dir; `wrap` lets a test put a faulty spool in front. */
export async function startHarness(
  options: CollectorOptions = {},
  wrap: (spool: SpoolWriter) => SpoolWriter = (s) => s,
): Promise<Harness> {
  const tmp = await tempDir();
  const spoolDir = path.join(tmp.dir, 'spool', 'client');
  const config = resolveCollectorConfig({ apps: APPS, ...options }, {});
  const open = async () => {
    const spool = await openSpoolWriter({ dir: spoolDir });
    return { spool, app: await build(config, { spool: wrap(spool) }) };
  };
  let current = await open();
  const harness: Harness = {
    get app() {
      return current.app;
    },
    get spool() {
      return current.spool;
    },
    spoolDir,
    async restart() {
      await current.app.close();
      await current.spool.close();
      current = await open();
    },
    envelopes: () => readEnvelopes(spoolDir),
    async close() {
      await current.app.close();
      await current.spool.close();
      await tmp.remove();
    },
  };
  return harness;
}

export async function readEnvelopes(dir: string): Promise<SpoolEnvelope[]> {
  const reader = openSpoolReader({ dir });
  const out: SpoolEnvelope[] = [];
  let position = { segment: 0, offset: 0 };
  for (;;) {
    const records = await reader.read(position, 100);
    if (records.length === 0) return out;
    for (const record of records) out.push(JSON.parse(record.payload.toString('utf8')) as SpoolEnvelope);
    position = records.at(-1)!.next;
  }
}

/** A spool whose first `failures` appends reject (after `delayMs`), like a full disk. */
export function failingSpool(real: SpoolWriter, failures: number, delayMs = 0): SpoolWriter {
  let left = failures;
  return {
    dir: real.dir,
    async append(payload) {
      if (left > 0) {
        left -= 1;
        await new Promise((r) => setTimeout(r, delayMs));
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      return real.append(payload);
    },
    onAppend: (listener) => real.onAppend(listener),
    removeSegmentsBefore: (segment) => real.removeSegmentsBefore(segment),
    stats: () => real.stats(),
    close: () => real.close(),
  };
}
