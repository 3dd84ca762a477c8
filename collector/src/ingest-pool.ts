import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { workerFile } from '@telltale/spool';
import type { DecodeFailure } from './decode.js';
import { decodeIngest, type IngestDecoded, type IngestTask } from './ingest-decode.js';

/**
 * Bodies up to this many inflated bytes are decoded on the event loop: below it a decode costs
 * about a millisecond or less (the budget caps a 64 KiB body at 64 Ki values), less than a trip
 * to a worker. Larger ones go to the pool.
 */
export const INLINE_MAX_BYTES = 64 * 1024;
/** Heap of one decode worker: a 10 MiB body within the values budget parses in well under this. */
export const WORKER_MAX_OLD_GENERATION_MB = 256;
/**
 * Decodes waiting for a worker, per thread, before the collector answers 503 (busy). Several SDKs
 * flushing full batches together must not be refused: each queued body is at most the inflated
 * limit (10 MiB by default), so 16 hold at most 160 MiB per thread.
 */
export const QUEUE_PER_THREAD = 16;
/** Seconds a client is asked to wait after a busy answer. */
export const BUSY_RETRY_AFTER_SECONDS = 2;

export interface IngestPoolOptions {
  /** Worker threads (default: one less than the cores, 1 to 4); 0 decodes everything inline. */
  threads?: number;
  /** Inflated bytes decoded inline (default INLINE_MAX_BYTES). */
  inlineMaxBytes?: number;
  /** Decodes queued beyond the running ones (default QUEUE_PER_THREAD per thread). */
  maxQueue?: number;
  /** Per-worker heap limit in MiB (default WORKER_MAX_OLD_GENERATION_MB). */
  maxOldGenerationSizeMb?: number;
}

export type PoolResult =
  | IngestDecoded
  | DecodeFailure
  /** Every worker busy and the queue full: answer 503 with Retry-After, never queue more. */
  | { ok: false; busy: true };

export interface IngestPool {
  decode(task: IngestTask): Promise<PoolResult>;
  /** Decodes sent to a worker, refused as busy, and worker failures (a heap limit reached). */
  stats(): { offloaded: number; busy: number; failed: number; threads: number };
  close(): Promise<void>;
}

const defaultThreads = (): number => Math.max(1, Math.min(4, availableParallelism() - 1));

const isQueueFull = (error: unknown): boolean =>
  error instanceof Error && /queue is at limit/i.test(error.message);

/**
 * Decodes ingest bodies: small ones inline, large ones in a bounded piscina pool whose threads
 * start on the first large body and stop when idle. A worker that reaches its heap limit fails
 * only its own body (413); a full queue is a busy answer, not a longer queue.
 */
export function createIngestPool(options: IngestPoolOptions = {}): IngestPool {
  const threads = options.threads ?? defaultThreads();
  const inlineMaxBytes = options.inlineMaxBytes ?? INLINE_MAX_BYTES;
  const counts = { offloaded: 0, busy: 0, failed: 0 };
  const piscina =
    threads === 0
      ? undefined
      : new Piscina<IngestTask, IngestDecoded | DecodeFailure>({
          ...workerFile(import.meta.url, 'ingest-worker', 2),
          minThreads: 0,
          maxThreads: threads,
          maxQueue: options.maxQueue ?? threads * QUEUE_PER_THREAD,
          idleTimeout: 30_000,
          resourceLimits: {
            maxOldGenerationSizeMb: options.maxOldGenerationSizeMb ?? WORKER_MAX_OLD_GENERATION_MB,
          },
        });
  return {
    async decode(task) {
      if (piscina === undefined || task.raw.length <= inlineMaxBytes) return decodeIngest(task);
      counts.offloaded += 1;
      try {
        return await piscina.run(task);
      } catch (error) {
        if (isQueueFull(error)) {
          counts.busy += 1;
          return { ok: false, busy: true };
        }
        counts.failed += 1;
        if ((error as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY')
          return {
            ok: false,
            code: 'TELLTALE_ERR_BODY_TOO_COMPLEX',
            reason: 'decode_out_of_memory',
            message: 'decoding the body needed more memory than the collector gives one request',
          };
        throw error;
      }
    },
    stats: () => ({ ...counts, threads }),
    close: async () => {
      await piscina?.close();
    },
  };
}
