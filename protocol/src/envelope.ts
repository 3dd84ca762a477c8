import type { Batch, ServerLog } from './schema.js';

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

/** What the collector appends to the server-log spool for each accepted `POST /v1/logs`. */
export interface ServerLogEnvelope {
  v: 1;
  app: string;
  receivedAt: number;
  /** Every line has an `id` here: the collector fills in missing ones. */
  logs: Array<ServerLog & { id: string }>;
}
