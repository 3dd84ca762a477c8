import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, errorBody, type ErrorCode, type SpoolEnvelope } from '@telltale/protocol';
import { listSegments, openSpoolReader, type SpoolPosition, type SpoolWriter } from '@telltale/spool';
import {
  buildBatchIndex,
  createIdempotentStore,
  IDEMPOTENCY_WINDOW_MS,
  type BatchIndexOptions,
} from './batch-index.js';
import type { CollectorConfig } from './config.js';
import { decodeBody, parseContentEncoding } from './decode.js';
import { createCollectorMetrics, renderPrometheus, type CollectorMetrics } from './metrics.js';
import { checkBatch } from './validation.js';

export interface CollectorRoutesOptions {
  config: CollectorConfig;
  /** The client spool; accepted batches are appended and fsync'd here before the 202. */
  spool: SpoolWriter;
  /** Counters to read from outside (`metrics.snapshot()`); one is created when omitted. */
  metrics?: CollectorMetrics;
  /** Serve `GET /metrics` (Prometheus text). Default true. */
  metricsRoute?: boolean;
  /** Idempotency window and bound; defaults 24 h and 1,000,000 batch ids. */
  idempotency?: BatchIndexOptions;
}

/** Seconds a client should wait before retrying after the spool failed. */
export const STORAGE_RETRY_AFTER_SECONDS = 5;
/** Longest User-Agent kept in the envelope. */
export const MAX_USER_AGENT_LENGTH = 512;
const BATCH_URL = '/v1/batch';

const passBuffer = (
  _request: FastifyRequest,
  body: Buffer,
  done: (error: null, body: Buffer) => void,
): void => done(null, body);

/**
 * The ingest routes as an encapsulated plugin: `build()` registers it on its own instance, the
 * one-process server on the shared one. Its body parsers and error handler stay inside it.
 */
export const collectorRoutes: FastifyPluginAsync<CollectorRoutesOptions> = async (app, options) => {
  const { config, spool } = options;
  const { maxCompressedBytes } = config.limits;
  const metrics = options.metrics ?? createCollectorMetrics();
  const appByKey = new Map<string, string>();
  for (const entry of config.apps) for (const key of entry.ingestKeys) appByKey.set(key, entry.id);

  const idempotency = options.idempotency ?? {};
  const { index, scanned, unreadable } = await buildBatchIndex(openSpoolReader({ dir: spool.dir }), {
    ...idempotency,
    from: await firstRecentSegment(
      spool.dir,
      (idempotency.now ?? Date.now)() - (idempotency.windowMs ?? IDEMPOTENCY_WINDOW_MS),
    ),
  });
  app.log.info(
    { scanned, remembered: index.size, unreadable },
    'collector: idempotency index rebuilt from the spool',
  );
  const storeOnce = createIdempotentStore(index);
  const appOfRequest = new WeakMap<FastifyRequest, string>();

  const refuse = (
    reply: FastifyReply,
    code: ErrorCode,
    detail?: { message?: string; limit?: number; field?: string },
  ): FastifyReply => {
    metrics.rejected(code);
    if (code === 'TELLTALE_ERR_STORAGE') reply.header('retry-after', String(STORAGE_RETRY_AFTER_SECONDS));
    return reply.code(ERROR_CODES[code].status).send(errorBody(code, detail));
  };

  // Every body arrives as raw bytes: fastify's text/plain parser would decode gzip bytes as UTF-8.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['text/plain', 'application/json', 'application/octet-stream'],
    { parseAs: 'buffer', bodyLimit: maxCompressedBytes },
    passBuffer,
  );
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxCompressedBytes }, passBuffer);

  // fastify's own refusals come out in our JSON shape too.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return refuse(reply, 'TELLTALE_ERR_BODY_TOO_LARGE', { limit: maxCompressedBytes });
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return refuse(reply, 'TELLTALE_ERR_UNSUPPORTED_MEDIA_TYPE');
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return refuse(reply, 'TELLTALE_ERR_INVALID_JSON', {
        message: `request body could not be read (${error.code ?? error.statusCode})`,
      });
    }
    request.log.error({ err: error }, 'collector: unexpected error');
    return refuse(reply, 'TELLTALE_ERR_STORAGE');
  });

  const cors = async (_request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    // Ingest keys are public and write-only: any origin may read our answer (status, Retry-After).
    reply.header('access-control-allow-origin', '*');
    reply.header('access-control-expose-headers', 'Retry-After');
    return payload;
  };

  app.route({
    method: 'POST',
    url: BATCH_URL,
    bodyLimit: maxCompressedBytes,
    onSend: cors,
    // Auth and encoding are checked from headers alone, before any body byte is read.
    onRequest: async (request, reply) => {
      const header = request.headers['x-telltale-key'];
      const query = (request.query as Record<string, unknown> | undefined)?.key;
      const key =
        typeof header === 'string' && header !== ''
          ? header
          : typeof query === 'string' && query !== ''
            ? query
            : undefined;
      if (key === undefined)
        return refuse(reply, 'TELLTALE_ERR_UNAUTHORIZED', {
          message: 'missing ingest key: send the X-Telltale-Key header or ?key=',
        });
      const appId = appByKey.get(key);
      if (appId === undefined)
        return refuse(reply, 'TELLTALE_ERR_UNAUTHORIZED', { message: 'unknown ingest key' });
      if (parseContentEncoding(request.headers['content-encoding']) === undefined) {
        return refuse(reply, 'TELLTALE_ERR_UNSUPPORTED_ENCODING', {
          message: 'unsupported Content-Encoding: send gzip or no encoding',
        });
      }
      appOfRequest.set(request, appId);
    },
    handler: async (request, reply) => {
      const appId = appOfRequest.get(request);
      const encoding = parseContentEncoding(request.headers['content-encoding']);
      if (appId === undefined || encoding === undefined) return refuse(reply, 'TELLTALE_ERR_UNAUTHORIZED'); // unreachable: onRequest checked both

      const decoded = await decodeBody(
        Buffer.isBuffer(request.body) ? request.body : undefined,
        encoding,
        config.limits,
      );
      if (!decoded.ok) return refuse(reply, decoded.code, decoded);
      const checked = checkBatch(decoded.value);
      if (!checked.ok)
        return refuse(reply, 'TELLTALE_ERR_INVALID_BATCH', {
          field: checked.field,
          message: checked.message,
        });
      const { batch } = checked;
      const userAgent = request.headers['user-agent']?.slice(0, MAX_USER_AGENT_LENGTH);

      try {
        const outcome = await storeOnce(appId, batch.batchId, batch.events.length, async () => {
          const receivedAt = Date.now();
          const envelope: SpoolEnvelope = {
            v: 1,
            app: appId,
            receivedAt,
            ...(userAgent ? { userAgent } : {}),
            batch,
          };
          // fsync before ack: a 2xx promises the batch is on disk.
          await spool.append(Buffer.from(JSON.stringify(envelope), 'utf8'));
          return receivedAt;
        });
        if (outcome.duplicate) metrics.duplicate();
        else metrics.stored(outcome.accepted);
        return reply.code(202).send({ accepted: outcome.accepted, duplicate: outcome.duplicate });
      } catch (error) {
        const { code, message } = error as NodeJS.ErrnoException;
        request.log.error({ err: { code, message } }, 'collector: spool append failed, answering 503');
        return refuse(reply, 'TELLTALE_ERR_STORAGE');
      }
    },
  });

  // A browser that adds a header (X-Telltale-Key, Content-Encoding) asks first.
  app.options(BATCH_URL, async (_request, reply) =>
    reply
      .code(204)
      .headers({
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': 'Content-Type, Content-Encoding, X-Telltale-Key',
        'access-control-max-age': '86400',
      })
      .send(),
  );

  app.get('/healthz', async () => ({ status: 'ok' }));

  if (options.metricsRoute !== false) {
    app.get('/metrics', async (_request, reply) =>
      reply
        .type('text/plain; version=0.0.4')
        .send(renderPrometheus(metrics.snapshot(), spool.stats(), index.size)),
    );
  }
};

/** Where the start-up scan begins: segments last written before the window hold only expired ids. */
async function firstRecentSegment(dir: string, cutoff: number): Promise<SpoolPosition> {
  const segments = await listSegments(dir);
  const recent = segments.find((s) => s.modifiedAt >= cutoff) ?? segments.at(-1);
  return { segment: recent?.segment ?? 0, offset: 0 };
}
