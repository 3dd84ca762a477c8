import { gzipSync } from 'node:zlib';
import type { ContainerClient, StoragePipelineOptions } from '@azure/storage-blob';
import { scrubRawPayload } from '../../scrub-raw.js';
import type { ExportResult, RawBatch, Sink } from '../types.js';
import { classifyStorageError, containerFromConnectionString } from './container.js';
import { archiveBlobName, nameSegment } from './names.js';

export interface BlobArchiveSinkOptions {
  connectionString: string;
  container: string;
  pipelineOptions?: StoragePipelineOptions;
}

const PARALLEL_UPLOADS = 8;
const MS_PER_DAY = 86_400_000;

async function deletePrefix(container: ContainerClient, prefix: string): Promise<void> {
  for await (const blob of container.listBlobsFlat({ prefix })) await container.deleteBlob(blob.name);
}

async function childPrefixes(container: ContainerClient, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const item of container.listBlobsByHierarchy('/', { prefix }))
    if (item.kind === 'prefix') out.push(item.name);
  return out;
}

/**
 * Raw batches, gzipped, one blob each at `app/yyyy/mm/dd/hh/<batchId>.json.gz`: the record as the
 * collector accepted it (client batch or server-log envelope), scrubbed like the stores scrub it
 * (scrub-raw.ts), for audits and replays. Idempotent: the same batch always lands on the same name.
 * Whole days expire by prefix (`TELLTALE_BLOB_RETENTION_DAYS`, default 30).
 */
export function createBlobArchiveSink(options: BlobArchiveSinkOptions, name = 'blob-archive'): Sink {
  const container = containerFromConnectionString(
    options.connectionString,
    options.container,
    options.pipelineOptions,
  );
  let ready: Promise<unknown> | undefined;
  let closed = false;
  const ensureContainer = (): Promise<unknown> => {
    ready ??= container.createIfNotExists().catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };

  async function archive(raw: readonly RawBatch[] | undefined): Promise<ExportResult> {
    if (closed) return { status: 'retryable', reason: 'sink is closed' };
    if (raw === undefined) return { status: 'rejected', reason: 'the archive needs the raw batches' };
    try {
      await ensureContainer();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < raw.length) {
          const batch = raw[next++]!;
          // The archive outlives the spool: it keeps no more than the stores would.
          const body = gzipSync(scrubRawPayload(batch.payload).body);
          await container.getBlockBlobClient(archiveBlobName(batch)).uploadData(body, {
            blobHTTPHeaders: { blobContentType: 'application/json', blobContentEncoding: 'gzip' },
            metadata: { app: nameSegment(batch.app), kind: batch.kind, receivedat: String(batch.receivedAt) },
          });
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARALLEL_UPLOADS, raw.length) }, worker));
      return { status: 'ok' };
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) ready = undefined; // container deleted: create it again
      return classifyStorageError(error);
    }
  }

  return {
    name,
    batching: { maxRecords: 500, maxBytes: 8 * 1024 * 1024, maxWaitMs: 250 },
    export: (_events, raw) => archive(raw),
    exportServerLogs: (_logs, raw) => archive(raw),
    async dropDaysBefore(day) {
      await ensureContainer();
      const cutoff = Date.parse(`${day}T00:00:00Z`);
      const dropped: string[] = [];
      // Walk app/yyyy/mm/dd/ prefixes only; a whole day goes by prefix, wholly older years and months too.
      for (const app of await childPrefixes(container, '')) {
        for (const year of await childPrefixes(container, app)) {
          const y = Number(year.slice(app.length, -1));
          if (Date.UTC(y + 1, 0, 1) <= cutoff) {
            await deletePrefix(container, year);
            dropped.push(year);
            continue;
          }
          for (const month of await childPrefixes(container, year)) {
            const m = Number(month.slice(year.length, -1));
            if (Date.UTC(y, m, 1) <= cutoff) {
              await deletePrefix(container, month);
              dropped.push(month);
              continue;
            }
            for (const dayPrefix of await childPrefixes(container, month)) {
              const d = Number(dayPrefix.slice(month.length, -1));
              if (Date.UTC(y, m - 1, d) + MS_PER_DAY <= cutoff) {
                await deletePrefix(container, dayPrefix);
                dropped.push(dayPrefix);
              }
            }
          }
        }
      }
      return dropped;
    },
    async close() {
      closed = true;
    },
  };
}
