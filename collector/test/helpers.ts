import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Batch, ServerLogEnvelope, SpoolEnvelope } from '@telltale/protocol';
import type { SpoolWriter } from '@telltale/spool';
import { readEnvelopes } from '../../test-support/spool.js';
import { tempDir as sharedTempDir } from '../../test-support/wait.js';
import {
  build,
  openCollectorStores,
  resolveCollectorConfig,
  type CollectorMetrics,
  type CollectorOptions,
  type CollectorStores,
  type KeyRegistry,
  type QuotaLedger,
} from '../src/index.js';
import type { IngestPoolOptions } from '../src/ingest-pool.js';

export const WEB_KEY = 'tt_web_0123456789abcdef';
export const API_KEY = 'tt_api_0123456789abcdef';
export const WEB_SECRET = 'tt_secret_web_0123456789abcdef';
export const APPS = [
  { id: 'web', name: 'Web app', ingestKeys: [WEB_KEY], secretKeys: [WEB_SECRET] },
  { id: 'api', name: 'API', ingestKeys: [API_KEY] },
];

// The spool reader and temp dirs are test-support's (shared by every package); kept here by name.
export { readEnvelopes };
export const tempDir = (): Promise<{ dir: string; remove(): Promise<void> }> => sharedTempDir('collector');

let counter = 0;
/** A valid batch of two events, timed now (so the collector keeps its timestamps as they are). */
/** A logger stream for `build(config, { logger: { level, stream } })` that keeps every line written. */
export function logCapture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { lines, stream };
}

export function makeBatch(overrides: Partial<Batch> = {}): Batch {
  counter += 1;
  const now = Date.now();
  return {
    v: 1,
    batchId: `batch-${process.pid}-${counter}`,
    sentAt: now,
    release: '1.2.3',
    environment: 'production',
    session: 'session-1',
    events: [
      { id: `e-${counter}-1`, ts: now - 1000, kind: 'feature', name: 'export-csv' },
      {
        id: `e-${counter}-2`,
        ts: now - 999,
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
  stores: CollectorStores;
  spoolDir: string;
  dataDir: string;
  metrics: CollectorMetrics | undefined;
  /** Closes app and spool and builds both again on the same directory, like a process restart. */
  restart(): Promise<void>;
  envelopes(): Promise<SpoolEnvelope[]>;
  serverLogEnvelopes(): Promise<ServerLogEnvelope[]>;
  close(): Promise<void>;
}

/** Rate limits off unless a test asks: inject() sends everything from one address at full speed. */
const NO_RATE_LIMITS = { perKey: { perSecond: 0 }, perIp: { perSecond: 0 } };

/**
 * A collector on real stores (client and server-log spools, attachments) in a temp dir, built like
 * the standalone server; `wrap` lets a test put a faulty spool in front of the client spool.
 */
export async function startHarness(
  options: CollectorOptions = {},
  wrap: (spool: SpoolWriter) => SpoolWriter = (s) => s,
  extra: {
    metrics?: CollectorMetrics;
    journalFlushMs?: number;
    keys?: KeyRegistry;
    quotas?: QuotaLedger;
    /** The decode pool (e.g. `inlineMaxBytes: 0` sends every body to a worker). */
    decode?: IngestPoolOptions;
  } = {},
): Promise<Harness> {
  const tmp = await tempDir();
  const spoolDir = path.join(tmp.dir, 'spool', 'client');
  // The per-app spool share off unless a test asks: many tests fill a small spool from one app.
  const config = resolveCollectorConfig(
    { apps: APPS, rateLimits: NO_RATE_LIMITS, ...options, quotas: { spoolShare: 0, ...options.quotas } },
    {},
  );
  const open = async () => {
    const stores = await openCollectorStores(tmp.dir, config);
    const app = await build(config, {
      spool: wrap(stores.spool),
      serverLogSpool: stores.serverLogSpool,
      attachments: stores.attachments,
      ...(extra.metrics ? { metrics: extra.metrics } : {}),
      ...(extra.keys ? { keys: extra.keys } : {}),
      ...(extra.quotas ? { quotas: extra.quotas } : {}),
      ...(extra.decode ? { decode: extra.decode } : {}),
      ...(extra.journalFlushMs ? { idempotency: { journalFlushMs: extra.journalFlushMs } } : {}),
    });
    return { stores, app };
  };
  let current = await open();
  const harness: Harness = {
    get app() {
      return current.app;
    },
    get spool() {
      return current.stores.spool;
    },
    get stores() {
      return current.stores;
    },
    spoolDir,
    dataDir: tmp.dir,
    metrics: extra.metrics,
    async restart() {
      await current.app.close();
      await current.stores.close();
      current = await open();
    },
    envelopes: () => readEnvelopes(spoolDir),
    serverLogEnvelopes: () => readEnvelopes(path.join(tmp.dir, 'spool', 'server')),
    async close() {
      await current.app.close();
      await current.stores.close();
      await tmp.remove();
    },
  };
  return harness;
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
    isFull: (bytes) => real.isFull(bytes),
    onAppend: (listener) => real.onAppend(listener),
    removeSegmentsBefore: (segment) => real.removeSegmentsBefore(segment),
    onRemove: (listener) => real.onRemove!(listener),
    stats: () => real.stats(),
    close: () => real.close(),
  };
}
