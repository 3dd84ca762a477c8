import Fastify, { type FastifyInstance, type FastifyServerFactory, type FastifyServerOptions } from 'fastify';
import { errorBody } from '@telltale/protocol';
import type { SpoolWriter } from '@telltale/spool';
import type { KeyRegistry } from './apps.js';
import type { AttachmentStore } from './attachment-store.js';
import type { CollectorConfig } from './config.js';
import { clientErrorHandler } from './http-hardening.js';
import type { CollectorMetrics } from './metrics.js';
import type { QuotaLedger } from './quotas.js';
import { collectorRoutes, type CollectorRoutesOptions } from './routes.js';

export { collectorRoutes, type CollectorRoutesOptions } from './routes.js';

/** `true`, `false`, or fastify's logger options object. */
export type CollectorLogger = boolean | Exclude<FastifyServerOptions['logger'], boolean | undefined>;

export interface CollectorDeps {
  spool: SpoolWriter;
  /** The server-log spool; without it `POST /v1/logs` is not served. */
  serverLogSpool?: SpoolWriter;
  /** The attachment store; without it `POST /v1/attachments` is not served. */
  attachments?: AttachmentStore;
  /** Apps and keys, replaceable while running; default: config.apps. */
  keys?: KeyRegistry;
  /** Journal file and window of remembered batch ids (see CollectorRoutesOptions.idempotency). */
  idempotency?: CollectorRoutesOptions['idempotency'];
  /** Fastify (pino) logger; default off. URLs are logged without their query (`?key=`). */
  logger?: CollectorLogger;
  metrics?: CollectorMetrics;
  /** Per-app quota counters; default: a new ledger on config.quotas. */
  quotas?: QuotaLedger;
  /** The decode pool of large bodies (see CollectorRoutesOptions.decode). */
  decode?: CollectorRoutesOptions['decode'];
  /** Fastify's HTTP server, made by a connection drain (connection-drain.ts) so shutdown need not wait on idle keep-alive clients. */
  serverFactory?: FastifyServerFactory;
}

// Ingest keys travel in query strings (beacons cannot set headers): keep them out of every log line.
const redactedRequest = (request: { method: string; url: string }) => ({
  method: request.method,
  url: request.url.split('?')[0],
});

function loggerOptions(logger: CollectorLogger | undefined): CollectorLogger {
  if (logger === undefined || logger === false) return false;
  const base = logger === true ? { level: 'info' } : logger;
  return { ...base, serializers: { ...base.serializers, req: redactedRequest } };
}

/** A standalone collector: a fastify instance with collectorRoutes, ready for inject() or listen(). */
export async function build(config: CollectorConfig, deps: CollectorDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.serverFactory ? { serverFactory: deps.serverFactory } : {}),
    logger: loggerOptions(deps.logger),
    trustProxy: config.trustProxy,
    bodyLimit: config.limits.maxCompressedBytes,
    clientErrorHandler,
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(errorBody('TELLTALE_ERR_NOT_FOUND')));
  await app.register(collectorRoutes, {
    config,
    spool: deps.spool,
    ...(deps.serverLogSpool ? { serverLogSpool: deps.serverLogSpool } : {}),
    ...(deps.attachments ? { attachments: deps.attachments } : {}),
    ...(deps.keys ? { keys: deps.keys } : {}),
    ...(deps.idempotency ? { idempotency: deps.idempotency } : {}),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.quotas ? { quotas: deps.quotas } : {}),
    ...(deps.decode ? { decode: deps.decode } : {}),
  });
  return app;
}
