import type { ContainerClient } from '@azure/storage-blob';
import type { SpoolWriter } from '@telltale/spool';
import type { DeadLetterWriter } from '../../dead-letter.js';
import { createSleeper } from '../../retry.js';
import { decodeBlob, MAX_BLOB_BYTES, type BlobInfo } from './decode.js';
import type { BlobLedger } from './ledger.js';

export interface BlobIngesterOptions {
  container: ContainerClient;
  /** Only blobs whose names start with this (default: all). */
  prefix?: string | undefined;
  /** The Blob intake spool (<data>/spool/blob): every sink reads it with its own checkpoint. */
  spool: SpoolWriter;
  ledger: BlobLedger;
  /** Poison blobs (not JSON, not a batch, too large) with their reason. */
  deadLetter: DeadLetterWriter;
  /** Listing interval, ms. */
  pollMs: number;
}

export interface BlobIngesterStats {
  /** Blobs appended to the intake spool since start. */
  blobs: number;
  /** Spool records (batches) they held. */
  records: number;
  deadLettered: number;
  /** Blobs known as done (the ledger). */
  known: number;
  listings: number;
  lastError: string | undefined;
}

export interface BlobIngester {
  /** One listing and everything new in it; resolves to the number of blobs handled. */
  pollOnce(): Promise<number>;
  stats(): BlobIngesterStats;
  stop(): Promise<void>;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/**
 * The Blob container source: lists the container, and copies each blob it has not seen into the
 * local intake spool (fsync), then records the blob in the ledger (fsync). A crash in between
 * copies that blob again at the next start; the batches dedupe downstream on (app, id).
 */
export function startBlobIngester(options: BlobIngesterOptions): BlobIngester {
  const sleeper = createSleeper();
  const stats: BlobIngesterStats = {
    blobs: 0,
    records: 0,
    deadLettered: 0,
    known: options.ledger.size(),
    listings: 0,
    lastError: undefined,
  };
  let stopping = false;
  let compacted = false;
  let running: Promise<number> | undefined;

  async function ingest(info: BlobInfo, size: number | undefined): Promise<void> {
    let outcome: { records: number; deadLettered?: string };
    const poison = async (code: string, reason: string, bytes: Buffer): Promise<void> => {
      await options.deadLetter.write({ blob: info.name }, bytes, code, reason);
      stats.deadLettered += 1;
      outcome = { records: 0, deadLettered: code };
    };
    if (size !== undefined && size > MAX_BLOB_BYTES) {
      await poison(
        'too_large',
        `blob is ${size} bytes, over the ${MAX_BLOB_BYTES}-byte limit`,
        Buffer.alloc(0),
      );
    } else {
      const bytes = await options.container.getBlobClient(info.name).downloadToBuffer();
      const decoded = decodeBlob(bytes, info);
      if (decoded.ok) {
        // Concurrent appends share one fsync (group commit).
        await Promise.all(decoded.payloads.map((payload) => options.spool.append(payload)));
        stats.records += decoded.payloads.length;
        stats.blobs += 1;
        outcome = { records: decoded.payloads.length };
      } else await poison(decoded.code, decoded.reason, bytes);
    }
    await options.ledger.add(info.name, outcome!);
  }

  async function poll(): Promise<number> {
    const present = new Set<string>();
    let handled = 0;
    const listing = options.container.listBlobsFlat({
      includeMetadata: true,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    });
    for await (const blob of listing) {
      if (stopping) break;
      present.add(blob.name);
      if (options.ledger.has(blob.name)) continue;
      await ingest(
        {
          name: blob.name,
          lastModified: blob.properties.lastModified.getTime(),
          metadata: blob.metadata ?? {},
        },
        blob.properties.contentLength,
      );
      handled += 1;
    }
    stats.listings += 1;
    if (!compacted && !stopping) {
      compacted = true;
      await options.ledger.compact(present);
    }
    stats.known = options.ledger.size();
    return handled;
  }

  const pollOnce = (): Promise<number> => {
    running ??= poll().finally(() => {
      running = undefined;
    });
    return running;
  };

  const loop = (async () => {
    while (!stopping) {
      try {
        await pollOnce();
        stats.lastError = undefined;
      } catch (error) {
        // Storage down or a full disk: the blob is not in the ledger yet, so the next listing retries it.
        stats.lastError = describe(error);
      }
      if (!stopping) await sleeper.sleep(options.pollMs);
    }
  })();

  return {
    pollOnce,
    stats: () => ({ ...stats }),
    async stop() {
      stopping = true;
      sleeper.wake();
      await loop;
      await running?.catch(() => undefined);
    },
  };
}
