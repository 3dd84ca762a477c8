import { DEFAULT_SEGMENT_MAX_BYTES, openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import { openAttachmentStore, type AttachmentStore } from './attachment-store.js';
import type { CollectorConfig } from './config.js';
import { dataLayout } from '@telltale/protocol';

/** Where the collector keeps what it accepted, under the data directory. */
export const collectorPaths = (dataDir: string) => {
  const layout = dataLayout(dataDir);
  return {
    clientSpool: layout.spool('client'),
    serverLogSpool: layout.spool('server'),
    attachments: layout.attachments,
  };
};

export interface CollectorStores {
  spool: SpoolWriter;
  serverLogSpool: SpoolWriter;
  attachments: AttachmentStore;
  /** Closes both spools (each waits for its in-flight appends and their fsync) and the attachment store's timer. */
  close(): Promise<void>;
}

/**
 * Segments of at most an eighth of the cap: once consumers pass them, sealed segments go and the
 * active one is never more than a small part of the cap, so a drained spool always has room.
 */
export const segmentBytesFor = (cap: number): number =>
  Math.max(4096, Math.min(DEFAULT_SEGMENT_MAX_BYTES, Math.floor(cap / 8)));

/** Opens the client spool, the server-log spool and the attachment store, each with its disk cap. */
export async function openCollectorStores(
  dataDir: string,
  config: CollectorConfig,
): Promise<CollectorStores> {
  const paths = collectorPaths(dataDir);
  const cap = config.storage.spoolMaxBytes;
  const spoolOptions = { maxTotalBytes: cap, segmentMaxBytes: segmentBytesFor(cap) };
  const spool = await openSpoolWriter({ dir: paths.clientSpool, ...spoolOptions });
  let serverLogSpool: SpoolWriter | undefined;
  try {
    serverLogSpool = await openSpoolWriter({ dir: paths.serverLogSpool, ...spoolOptions });
    const attachments = await openAttachmentStore({
      dir: paths.attachments,
      maxTotalBytes: config.storage.attachmentsMaxBytes,
      retentionDays: config.retention.attachmentsDays,
    });
    const server = serverLogSpool;
    return {
      spool,
      serverLogSpool: server,
      attachments,
      close: async () => {
        await Promise.all([spool.close(), server.close(), attachments.close()]);
      },
    };
  } catch (error) {
    await spool.close();
    await serverLogSpool?.close();
    throw error;
  }
}
