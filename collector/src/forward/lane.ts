import { openCheckpoint, openSpoolReader, type SpoolRecord, type SpoolWriter } from '@telltale/spool';
import kafkajs, { type Producer } from 'kafkajs';
import type { ForwardDeadLetter } from './dead-letter.js';
import { FORWARD_REQUEST_TIMEOUT_MS } from './kafka-client.js';

/** Most spool records in one produce request. */
export const FORWARD_BATCH_RECORDS = 500;
/**
 * A produce request stops growing before this many record bytes (uncompressed), so the record
 * batch of any one partition stays below a broker's default `message.max.bytes` (1,048,588) even
 * if gzip gains nothing. A single record may be bigger on its own: it goes alone, gzipped, and if
 * the broker still refuses it, it is dead-lettered (see startLane).
 */
export const FORWARD_BATCH_BYTES = 900 * 1024;
/** Broker answers that refuse these records for good: retrying the same request can never succeed. */
const RECORD_REFUSALS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD']);
/** How often an idle lane looks for records when no append notification arrived, ms. */
export const FORWARD_POLL_MS = 250;
/** Backoff after a failed produce or read: fast at first, then every 10 s while Kafka stays down. */
export const FORWARD_BACKOFF = Object.freeze({ baseMs: 200, multiplier: 2, capMs: 10_000, jitter: 0.5 });
/** Records counted per read when measuring the backlog at start. */
const COUNT_PAGE = 1_000;

export interface LaneStats {
  topic: string;
  /** Records produced (acks = all) and committed since start. */
  forwarded: number;
  /** Records in the spool not yet in Kafka. */
  lagRecords: number;
  /** Segment files still held; a segment is removed once every record in it is in Kafka. */
  lagSegments: number;
  /** Failed produce or read attempts since start. */
  failures: number;
  /** Records the broker refused even alone (too large), dead-lettered and skipped since start. */
  deadLettered: number;
  lastError: string | undefined;
  /** The last produce attempt failed (Kafka down, frozen or refusing); false once one succeeds again. */
  failing: boolean;
}

export interface Lane {
  stats(): LaneStats;
  /** Lets the in-flight produce finish (or fail), commits, stops. */
  stop(): Promise<void>;
}

export interface LaneOptions {
  spool: SpoolWriter;
  topic: string;
  checkpointFile: string;
  producer: Producer;
  /** Connects the shared producer (once; again after a failure). */
  connect: () => Promise<void>;
  keyOf: (payload: Buffer) => string | undefined;
  /** Where a record the broker refuses on its own goes (durably) before the checkpoint moves past it. */
  deadLetter: ForwardDeadLetter;
}

/** The broker's refusal of these very records (kafkajs wraps it: NonRetriableError, aggregates), not of the request. */
export function refusalOf(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 4) return undefined;
  const e = error as { type?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
  if (typeof e.type === 'string' && RECORD_REFUSALS.has(e.type)) return e.type;
  const nested = [e.cause, e.originalError, ...(Array.isArray(e.errors) ? (e.errors as unknown[]) : [])];
  for (const inner of nested) {
    const found = inner === error ? undefined : refusalOf(inner, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function delay(attempt: number): number {
  const { baseMs, multiplier, capMs, jitter } = FORWARD_BACKOFF;
  const raw = Math.min(capMs, baseMs * multiplier ** Math.max(0, attempt - 1));
  return Math.round(raw * (1 - jitter) + raw * jitter * Math.random());
}

/**
 * One spool → one topic, at least once: read after the checkpoint, produce with acks = all, only then
 * commit and remove the segments below. A produce that fails keeps its records and is tried again
 * after a backoff, for as long as it takes: the spool is the buffer (its disk cap turns requests
 * away with 503 once it is full). A crash between produce and commit sends those records again;
 * the stores dedupe on event id.
 */
export async function startLane(options: LaneOptions): Promise<Lane> {
  const { spool, topic, producer } = options;
  const reader = openSpoolReader({ dir: spool.dir });
  const checkpoint = await openCheckpoint(options.checkpointFile);
  const stats = {
    forwarded: 0,
    deadLettered: 0,
    failures: 0,
    lastError: undefined as string | undefined,
    failing: false,
  };

  // Backlog at start, so the lag is exact from the first scrape: records after the checkpoint.
  let backlog = 0;
  for (let at = checkpoint.position; ;) {
    const page = await reader.read(at, COUNT_PAGE);
    const last = page[page.length - 1];
    if (last === undefined) break;
    backlog += page.length;
    at = last.next;
  }
  const appendedAtStart = spool.stats().records;

  let stopping = false;
  let wake: (() => void) | undefined;
  let notified = false;
  const sleep = (ms: number): Promise<void> =>
    stopping
      ? Promise.resolve()
      : new Promise((resolve) => {
          const timer = setTimeout(done, ms);
          function done(): void {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          }
          wake = done;
        });
  const unsubscribe = spool.onAppend(() => {
    notified = true;
    wake?.();
  });

  /** Up to the batch limits from the checkpoint, with their keys. */
  interface Batch {
    records: SpoolRecord[];
    keys: (string | undefined)[];
  }
  async function nextBatch(): Promise<Batch> {
    const read = await reader.read(checkpoint.position, FORWARD_BATCH_RECORDS);
    const records: SpoolRecord[] = [];
    let bytes = 0;
    for (const record of read) {
      // Below the cap in total, so below it for every partition too.
      if (records.length > 0 && bytes + record.payload.length > FORWARD_BATCH_BYTES) break;
      records.push(record);
      bytes += record.payload.length;
    }
    return { records, keys: records.map((r) => options.keyOf(r.payload)) };
  }

  async function run(): Promise<void> {
    // Chunks still to send, in spool order (the first goes next). A request the broker refuses for
    // its records is split in halves here; the checkpoint moves after each chunk, so order holds.
    let chunks: Batch[] = [];
    let attempt = 0;
    const fail = async (error: unknown): Promise<void> => {
      stats.failures += 1;
      stats.lastError = describe(error);
      attempt += 1;
      await sleep(delay(attempt));
    };
    while (!stopping) {
      if (chunks.length === 0) {
        notified = false;
        let batch: Batch;
        try {
          batch = await nextBatch();
        } catch (error) {
          await fail(error);
          continue;
        }
        if (batch.records.length === 0) {
          if (!notified) await sleep(FORWARD_POLL_MS);
          continue;
        }
        chunks = [batch];
      }
      const { records, keys } = chunks[0]!;
      let deadLettered = false;
      try {
        await options.connect();
        await producer.send({
          topic,
          acks: -1,
          timeout: FORWARD_REQUEST_TIMEOUT_MS,
          // Batches are JSON: gzip keeps a large accepted batch (it came gzipped) far below the broker's limit.
          compression: kafkajs.CompressionTypes.GZIP,
          // The spool record's bytes unchanged: dispatchers decode exactly what a local consumer would.
          messages: records.map((record, i) => ({ key: keys[i] ?? null, value: record.payload })),
        });
      } catch (error) {
        const refused = refusalOf(error);
        if (refused === undefined) {
          // Kafka down, slow or not ready: the same records again after a backoff, for as long as it takes.
          stats.failing = true;
          await fail(error);
          continue;
        }
        stats.failures += 1;
        stats.lastError = describe(error);
        if (records.length > 1) {
          // Which record is refused is not told: halve until the refused one goes alone; the rest is sent.
          const half = Math.ceil(records.length / 2);
          chunks.splice(
            0,
            1,
            { records: records.slice(0, half), keys: keys.slice(0, half) },
            { records: records.slice(half), keys: keys.slice(half) },
          );
          continue;
        }
        try {
          await options.deadLetter(records[0]!, 'kafka_refused', `${refused}: ${describe(error)}`);
        } catch (writeError) {
          await fail(new Error(`dead letter write failed: ${describe(writeError)}`));
          continue;
        }
        deadLettered = true;
      }
      stats.failing = false;
      attempt = 0;
      chunks.shift();
      const done = (sign: 1 | -1): void => {
        if (deadLettered) stats.deadLettered += sign;
        else stats.forwarded += sign * records.length;
      };
      done(1);
      try {
        await checkpoint.commit(records[records.length - 1]!.next);
        // Whole segments below the checkpoint are in Kafka (or dead-lettered) now: the spool may let them go.
        await spool.removeSegmentsBefore(checkpoint.position.segment);
      } catch (error) {
        // Not committed: read again from the checkpoint and send these records twice (deduped downstream).
        done(-1);
        chunks = [];
        await fail(new Error(`checkpoint commit failed: ${describe(error)}`));
      }
    }
  }

  const loop = run();
  return {
    stats: () => {
      const lagRecords = Math.max(
        0,
        backlog + (spool.stats().records - appendedAtStart) - stats.forwarded - stats.deadLettered,
      );
      return {
        topic,
        forwarded: stats.forwarded,
        deadLettered: stats.deadLettered,
        lagRecords,
        // Segments below the checkpoint are gone, so what is left holds the lag (the active one stays even when drained).
        lagSegments: lagRecords === 0 ? 0 : spool.stats().segments,
        failures: stats.failures,
        lastError: stats.lastError,
        failing: stats.failing,
      };
    },
    async stop() {
      stopping = true;
      unsubscribe();
      wake?.();
      await loop;
    },
  };
}
