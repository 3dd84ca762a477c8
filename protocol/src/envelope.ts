import type { Batch } from './schema.js';

/**
 * What the collector appends to the client spool for each accepted batch, and what dispatchers
 * read back. The batch is stored exactly as validated; enrichment happens downstream.
 */
export interface SpoolEnvelope {
  /** Envelope format version. */
  v: 1;
  /** The app whose ingest key authenticated the batch. */
  app: string;
  /** Collector clock at acceptance, epoch ms. */
  receivedAt: number;
  /** The request's User-Agent header, parsed later by the dispatcher. */
  userAgent?: string;
  batch: Batch;
}
