import path from 'node:path';
import cors from '@fastify/cors';
import type { FastifyError, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { listSegments, openSpoolReader, type SpoolPosition, type SpoolWriter } from '@telltale/spool';
import { createKeyRegistry, type KeyRegistry } from './apps.js';
import type { AttachmentStore } from './attachment-store.js';
import { registerAttachmentsRoute } from './attachments-route.js';
import {
  buildBatchIndex,
  createBatchIndex,
  createIdempotentStore,
  IDEMPOTENCY_WINDOW_MS,
  type BatchIndexEntry,
  type BatchIndexOptions,
} from './batch-index.js';
import { loadBatchJournal, openBatchJournal, type BatchJournal } from './batch-journal.js';
import { registerBatchRoute, type IngestRouteDeps } from './batch-route.js';
import type { CollectorConfig } from './config.js';
import { browserCors, createRefuse, type RequestAuth } from './guard.js';
import { hardenHttpServer, openConnections } from './http-hardening.js';
import { createIngestPool, type IngestPoolOptions } from './ingest-pool.js';
import { registerLogsRoute } from './logs-route.js';
import { createCollectorMetrics, type CollectorMetrics, type IngestRoute } from './metrics.js';
import { registerOpsRoutes } from './ops-routes.js';
import { registerOtlpLogsRoute } from './otlp/logs-route.js';
import { createQuotaLedger, utcDay, type QuotaLedger } from './quotas.js';
import { createRateLimiter } from './rate-limit.js';
import { registerSentryRoutes } from './sentry/route.js';
import { sourcemapRoutes } from './sourcemaps.js';
import { openSpoolShares } from './spool-shares.js';

export { STORAGE_RETRY_AFTER_SECONDS, FULL_RETRY_AFTER_SECONDS } from './guard.js';
export { MAX_USER_AGENT_LENGTH } from './batch-route.js';

/** The journal of stored batch ids, next to the spool it describes (the spool reader ignores it). */
export const BATCH_JOURNAL_FILE = 'batch-ids.jsonl';

export interface CollectorRoutesOptions {
  config: CollectorConfig;
  /** The client spool; accepted batches are appended and fsync'd here before the 202. */
  spool: SpoolWriter;
  /** The server-log spool (`<data>/spool/server`); without it `POST /v1/logs` is not served. */
  serverLogSpool?: SpoolWriter;
  /** The attachment store (`<data>/attachments`); without it `POST /v1/attachments` is not served. */
  attachments?: AttachmentStore;
  /** Apps and keys, replaceable while running (a reloaded config file); default: config.apps. */
  keys?: KeyRegistry;
  /** Counters to read from outside (`metrics.snapshot()`); one is created when omitted. */
  metrics?: CollectorMetrics;
  /** Per-app quota counters (in memory); one is created from config.quotas when omitted. */
  quotas?: QuotaLedger;
  /** Serve `GET /metrics` (Prometheus text). Default true. */
  metricsRoute?: boolean;
  /** The decode pool of large bodies (threads, inline size, queue, worker heap); see ingest-pool.ts. */
  decode?: IngestPoolOptions;
  /** Set header, request and keep-alive timeouts and connection caps on the HTTP server. Default true. */
  hardenServer?: boolean;
  /**
   * Idempotency window and bounds (defaults 24 h, 1,000,000 batch ids, 64 Mi key characters) and the journal that keeps
   * them across restarts after their spool segments are deleted (default `<spool dir>/batch-ids.jsonl`;
   * false: none, the index is rebuilt from the spool alone).
   */
  idempotency?: BatchIndexOptions & {
    journalFile?: string | false;
    journalFlushMs?: number;
    /** Largest journal file in bytes (default JOURNAL_MAX_BYTES, 128 MiB); the oldest lines go first. */
    journalMaxBytes?: number;
  };
}

const passBuffer = (
  _request: FastifyRequest,
  body: Buffer,
  done: (error: null, body: Buffer) => void,
): void => done(null, body);

const routeOf = (url: string | undefined): IngestRoute | 'other' =>
  url === '/v1/batch'
    ? 'batch'
    : url === '/v1/logs'
      ? 'logs'
      : url === '/v1/attachments'
        ? 'attachments'
        : 'other';

/**
 * The ingest routes as an encapsulated plugin: `build()` registers it on its own instance, the
 * one-process server on the shared one. Its body parsers and error handler stay inside it.
 */
export const collectorRoutes: FastifyPluginAsync<CollectorRoutesOptions> = async (app, options) => {
  const { config, spool } = options;
  const metrics = options.metrics ?? createCollectorMetrics();
  const refuse = createRefuse(metrics);
  const keys = options.keys ?? createKeyRegistry(config.apps);
  if (options.hardenServer !== false) hardenHttpServer(app.server, config, metrics);

  const { journal, storeOnce, indexSize } = await openIdempotency(app.log, spool, options.idempotency ?? {});
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  // Answers finished during shutdown close their connection: a keep-alive client cannot hold it open.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (draining) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onClose', async () => {
    await journal?.close();
  });

  // Every body arrives as raw bytes: fastify's text/plain parser would decode gzip bytes as UTF-8.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['text/plain', 'application/json', 'application/octet-stream'],
    { parseAs: 'buffer' },
    passBuffer,
  );
  app.addContentTypeParser('*', { parseAs: 'buffer' }, passBuffer);

  // fastify's own refusals come out in our JSON shape too.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const route = routeOf(request.routeOptions.url);
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return refuse(reply, route, 'TELLTALE_ERR_BODY_TOO_LARGE', 'body_too_large', {
        // A smaller limit than the route's (a Sentry tunnel) travels on the error.
        limit:
          (error as { limit?: number }).limit ??
          request.routeOptions.bodyLimit ??
          config.limits.maxCompressedBytes,
      });
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return refuse(reply, route, 'TELLTALE_ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported_media_type');
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return refuse(reply, route, 'TELLTALE_ERR_INVALID_JSON', 'unreadable_body', {
        message: `request body could not be read (${error.code ?? error.statusCode})`,
      });
    }
    // A bug, not a storage failure: 503 would have SDKs retry it forever.
    request.log.error({ err: error }, 'collector: unexpected error');
    return refuse(reply, route, 'TELLTALE_ERR_INTERNAL', 'unexpected');
  });

  const quotas = options.quotas ?? createQuotaLedger(config.quotas);
  const today = utcDay(Date.now());
  // After a restart, today's stored bytes are what the spools still hold from today.
  const seedToday = (app: string, receivedAt: number, bytes: number): void => {
    if (utcDay(receivedAt) === today) quotas.seedDay(app, { bytes });
  };
  const share = config.quotas.spoolShare;
  const shares = await openSpoolShares(spool, share, seedToday);
  const serverShares = options.serverLogSpool
    ? await openSpoolShares(options.serverLogSpool, share, seedToday)
    : undefined;
  if (options.attachments)
    for (const [app, usage] of options.attachments.usageToday())
      quotas.seedDay(app, { attachments: usage.files, attachmentBytes: usage.bytes });
  app.addHook('onClose', async () => {
    shares.close();
    serverShares?.close();
  });

  const pool = createIngestPool(options.decode);
  app.addHook('onClose', async () => {
    await pool.close();
  });
  const deps: IngestRouteDeps = {
    config,
    pool,
    metrics,
    guard: {
      keys,
      perIp: createRateLimiter(config.rateLimits.perIp),
      perKey: createRateLimiter(config.rateLimits.perKey),
      refuse,
      auth: new WeakMap<FastifyRequest, RequestAuth>(),
    },
    quotas,
  };
  // Telltale's browser-facing routes, in their own scope with the CORS plugin (guard.ts browserCors).
  await app.register(async (browser) => {
    await browser.register(cors, browserCors(deps.guard.keys));
    registerBatchRoute(browser, { ...deps, spool, shares, storeOnce });
    if (options.attachments) registerAttachmentsRoute(browser, { ...deps, store: options.attachments });
  });
  // Sentry SDKs may put the key in the envelope, so these set their CORS headers once it is read.
  registerSentryRoutes(app, { ...deps, spool, shares, storeOnce }); // POST /api/<project id>/envelope/ and /store/
  if (options.serverLogSpool && serverShares)
    registerLogsRoute(app, { ...deps, spool: options.serverLogSpool, shares: serverShares });
  if (options.serverLogSpool && serverShares)
    registerOtlpLogsRoute(app, { ...deps, spool: options.serverLogSpool, shares: serverShares });
  // POST /v1/releases/:release/sourcemaps (secret key), behind the same guard, limits and counters
  await app.register(sourcemapRoutes, { config, spool, keys, guard: deps.guard, metrics });

  registerOpsRoutes(app, {
    spools: { client: spool, ...(options.serverLogSpool ? { server: options.serverLogSpool } : {}) },
    ...(options.attachments ? { attachments: options.attachments } : {}),
    metrics,
    idempotencyEntries: indexSize,
    openConnections: () => openConnections(app.server),
    draining: () => draining,
    metricsRoute: options.metricsRoute !== false,
  });
};

/**
 * The batch-id index at start-up: the journal first (ids whose segments may be gone), then the
 * spool from the last position the journal knows (ids stored after its last flush), so a batch
 * retried across a restart within the window is answered `duplicate: true`.
 */
async function openIdempotency(
  log: { info: (o: object, m: string) => void; error: (o: object, m: string) => void },
  spool: SpoolWriter,
  options: NonNullable<CollectorRoutesOptions['idempotency']>,
) {
  const now = options.now ?? Date.now;
  const index = createBatchIndex(options);
  const journalFile =
    options.journalFile === false
      ? undefined
      : (options.journalFile ?? path.join(spool.dir, BATCH_JOURNAL_FILE));
  const loaded = journalFile ? await loadBatchJournal(journalFile, index) : undefined;
  const from: SpoolPosition = loaded?.lastPosition
    ? { segment: loaded.lastPosition.segment, offset: 0 }
    : await firstRecentSegment(spool.dir, now() - (options.windowMs ?? IDEMPOTENCY_WINDOW_MS));
  const found: BatchIndexEntry[] = [];
  const { scanned, unreadable } = await buildBatchIndex(openSpoolReader({ dir: spool.dir }), {
    ...options,
    index,
    from,
    onFound: (entry) => found.push(entry),
  });
  let journal: BatchJournal | undefined;
  if (journalFile) {
    journal = await openBatchJournal(journalFile, index, {
      lines: loaded?.lines ?? 0,
      ...(options.journalFlushMs !== undefined ? { flushMs: options.journalFlushMs } : {}),
      ...(options.journalMaxBytes !== undefined ? { maxBytes: options.journalMaxBytes } : {}),
      onError: (error) => log.error({ err: error }, 'collector: batch-id journal write failed'),
    });
    for (const entry of found) journal.append(entry);
    await journal.flush();
  }
  log.info(
    { journal: loaded?.lines ?? 0, scanned, remembered: index.size, unreadable },
    'collector: idempotency index rebuilt from the journal and the spool',
  );
  const storeOnce = createIdempotentStore(index, journal ? (entry) => journal.append(entry) : undefined);
  return { journal, storeOnce, indexSize: () => index.size };
}

/** Where the start-up scan begins without a journal: segments last written before the window hold only expired ids. */
async function firstRecentSegment(dir: string, cutoff: number): Promise<SpoolPosition> {
  const segments = await listSegments(dir);
  const recent = segments.find((s) => s.modifiedAt >= cutoff) ?? segments.at(-1);
  return { segment: recent?.segment ?? 0, offset: 0 };
}
