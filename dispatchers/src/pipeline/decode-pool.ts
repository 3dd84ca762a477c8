import { Piscina } from 'piscina';
import { workerFile } from '@telltale/spool';
import type { DecodeTask, DecodeTaskResult, EncodedChunk } from './decode-worker.js';
import { readColumns } from './enrich/wire.js';
import type { EnrichedEvent } from './enrich/enrich.js';
import {
  decodeRecord,
  decodeRecordsInline,
  type DecodedRecord,
  type RecordDecodeResult,
  type SpoolContent,
} from './sinks/handler.js';
import type { WireFormat } from './sinks/types.js';

/** Most records per task, and most payload bytes: enough to amortise messaging, small enough to spread over threads. */
export const CHUNK_RECORDS = 128;
export const CHUNK_BYTES = 8 * 1024 * 1024;

export interface DecodePoolStats {
  /** Worker threads; 0 when records are decoded on the main thread. */
  threads: number;
  /** Chunks and records decoded by a worker. */
  tasks: number;
  records: number;
  /** Chunks decoded on the main thread after a worker failed them (crash, error): never lost, never dead-lettered for it. */
  inlineFallbacks: number;
  /** Threads that decoded something (never the main thread's id 0): proof the pool does the work. */
  workerThreadIds: number[];
  lastError: string | undefined;
}

/** Decodes spool payloads (decodeRecord) in worker threads, so a heavy batch never holds the HTTP event loop. */
export interface DecodePool {
  readonly threads: number;
  /** Results in payload order. Never rejects for a worker's failure: that chunk is decoded inline. */
  decode(payloads: readonly Buffer[], content: SpoolContent): Promise<RecordDecodeResult[]>;
  stats(): DecodePoolStats;
  /** Waits for the tasks in flight, then stops the threads; later calls decode inline. */
  close(): Promise<void>;
}

export interface DecodePoolOptions {
  /** Worker threads; 0 decodes on the main thread (debugging). */
  threads: number;
  /**
   * A module to run in the threads instead of decode-worker, taking the same tasks (tests: one that
   * wraps it and kills its thread on a chosen chunk).
   */
  workerModule?: string;
  /**
   * The process's sinks' wire formats (Sink.encoding): the workers render each client record's
   * events in these too, so those sinks get bytes and the main thread builds no rows for them.
   */
  formats?: readonly WireFormat[];
  /**
   * False when every consumer takes a wire format: the workers build no rows (columns), and a
   * consumer that still reads `events` (a fallback: a new alert subject, a release with source
   * maps) gets them decoded again from the payload on its own thread. Default true.
   */
  rows?: boolean;
}

/** A client record's rows decoded on this thread (the workers built none: DecodePoolOptions.rows). */
function decodeAgain(payload: Buffer, content: SpoolContent): EnrichedEvent[] {
  const result = decodeRecord(payload, content);
  // The worker decoded the same bytes with the same pure function: a different answer is a bug.
  if (!result.ok || result.value.kind !== 'client')
    throw new Error(`record decoded in a worker but not again: ${result.ok ? 'server logs' : result.reason}`);
  return result.value.events;
}

/** Record `index`'s slice of each format's bytes. */
function encodedAt(encoded: readonly EncodedChunk[], index: number): Partial<Record<WireFormat, Buffer>> {
  const out: Partial<Record<WireFormat, Buffer>> = {};
  for (const { format, bytes, ends } of encoded) {
    const from = index === 0 ? 0 : ends[index - 1]!;
    out[format] = Buffer.from(bytes.buffer, bytes.byteOffset + from, ends[index]! - from);
  }
  return out;
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Consecutive payloads cut into tasks by CHUNK_RECORDS and CHUNK_BYTES (at least one record each). */
export function chunkPayloads(payloads: readonly Buffer[]): Buffer[][] {
  const chunks: Buffer[][] = [];
  let current: Buffer[] = [];
  let bytes = 0;
  for (const payload of payloads) {
    if (current.length > 0 && (current.length >= CHUNK_RECORDS || bytes + payload.length > CHUNK_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(payload);
    bytes += payload.length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * One pool per process (startDispatchers). In flight at most two tasks per thread — one running, one
 * queued so a thread never waits on messaging; more wait here, and the consumers' one step each bounds that.
 */
export async function createDecodePool(options: DecodePoolOptions): Promise<DecodePool> {
  const stats: DecodePoolStats = {
    threads: options.threads,
    tasks: 0,
    records: 0,
    inlineFallbacks: 0,
    workerThreadIds: [],
    lastError: undefined,
  };
  if (options.threads === 0) {
    return {
      threads: 0,
      decode: decodeRecordsInline,
      stats: () => ({ ...stats, workerThreadIds: [] }),
      close: async () => undefined,
    };
  }

  const formats = [...new Set(options.formats ?? [])];
  const rows = options.rows !== false;
  const maxInFlight = options.threads * 2;
  const worker = workerFile(import.meta.url, 'decode-worker', 3);
  const piscina = new Piscina<DecodeTask, DecodeTaskResult>({
    ...worker,
    filename: options.workerModule ?? worker.filename,
    minThreads: options.threads,
    maxThreads: options.threads,
    maxQueue: maxInFlight,
    idleTimeout: Number.POSITIVE_INFINITY,
  });
  const threadIds = new Set<number>();
  const waiting: (() => void)[] = [];
  let inFlight = 0;
  let closed = false;
  const running = new Set<Promise<unknown>>();

  async function slot(): Promise<void> {
    if (inFlight < maxInFlight) {
      inFlight += 1;
      return;
    }
    // The finishing task hands its slot straight over, so inFlight stays put.
    await new Promise<void>((resolve) => waiting.push(resolve));
  }
  function release(): void {
    const next = waiting.shift();
    if (next === undefined) inFlight -= 1;
    else next();
  }

  /** What a task asks the workers for: the pool's own formats and rows, or just rows (loadEvents). */
  type Shape = { formats: readonly WireFormat[]; rows: boolean };
  const poolShape: Shape = { formats, rows };

  /** A client record's rows decoded again in a worker (the pool built none for it: `rows` false). */
  async function loadEvents(payload: Buffer, content: SpoolContent): Promise<EnrichedEvent[]> {
    const [result] = await runChunk([payload], content, { formats: [], rows: true });
    if (result?.ok && result.value.kind === 'client') return result.value.events;
    return decodeAgain(payload, content);
  }

  async function runChunk(
    payloads: Buffer[],
    content: SpoolContent,
    shape: Shape = poolShape,
  ): Promise<RecordDecodeResult[]> {
    await slot();
    try {
      // One copy into a buffer the worker then owns: the spool's buffers stay usable here (raw batches, dead letters).
      const bytes = new Uint8Array(payloads.reduce((sum, p) => sum + p.length, 0));
      const ends: number[] = [];
      let offset = 0;
      for (const payload of payloads) {
        bytes.set(payload, offset);
        offset += payload.length;
        ends.push(offset);
      }
      let answer: DecodeTaskResult;
      try {
        const task: DecodeTask = { content, bytes, ends, formats: shape.formats, rows: shape.rows };
        answer = await piscina.run(task, { transferList: [bytes.buffer] });
      } catch (error) {
        // A worker that died (or a task that threw) must not cost records: decode them here instead.
        stats.inlineFallbacks += 1;
        stats.lastError = `decode worker: ${describe(error)}`;
        return await decodeRecordsInline(payloads, content);
      }
      stats.tasks += 1;
      stats.records += payloads.length;
      threadIds.add(answer.threadId);
      return answer.results.map((result, index): RecordDecodeResult => {
        if (!result.ok) return result;
        const { value } = result;
        const raw = { ...value.raw, payload: payloads[index]! };
        if (value.kind === 'server') return { ok: true, value: { kind: 'server', logs: value.logs, raw } };
        const { columns } = answer;
        const { from, to, count, regroupable } = value;
        const payload = payloads[index]!;
        // The shared decode cache holds the compact columns, not rows: each read builds the rows
        // afresh (~1 µs an event), so they die young with the hand-over that used them instead of
        // piling up in the old generation while a slower consumer catches up (GC was 40% of the
        // main thread with rows cached).
        const decoded = {
          kind: 'client',
          raw,
          get events() {
            return shape.rows ? readColumns(columns, from, to) : decodeAgain(payload, content);
          },
          count,
          regroupable,
          ...(shape.formats.length === 0 ? {} : { encoded: encodedAt(answer.encoded, index) }),
          ...(shape.rows ? {} : { loadEvents: () => loadEvents(payload, content) }),
        } satisfies DecodedRecord;
        return { ok: true, value: decoded };
      });
    } finally {
      release();
    }
  }

  try {
    // Prove at start that the worker file loads, instead of falling back inline on every chunk later.
    await piscina.run({ content: 'client', bytes: new Uint8Array(0), ends: [] });
  } catch (error) {
    await piscina.destroy();
    throw new Error(
      `the decode worker did not start (${describe(error)}); TELLTALE_DISPATCH_THREADS=0 decodes on the main thread`,
    );
  }

  return {
    threads: options.threads,
    async decode(payloads, content) {
      if (closed) return decodeRecordsInline(payloads, content);
      const all = Promise.all(chunkPayloads(payloads).map((chunk) => runChunk(chunk, content)));
      running.add(all);
      try {
        return (await all).flat();
      } finally {
        running.delete(all);
      }
    },
    stats: () => ({ ...stats, workerThreadIds: [...threadIds] }),
    async close() {
      if (closed) return;
      closed = true;
      // Drain: every decode already asked for finishes in the workers, queued chunks included.
      await Promise.allSettled([...running]);
      await piscina.close();
    },
  };
}
