import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SpoolEnvelope } from '@telltale/protocol';
import type { SpoolWriter } from '@telltale/spool';
import type { IdempotentStore } from './batch-index.js';
import type { CollectorConfig } from './config.js';
import { decodeText, parseJson } from './decode.js';
import { corsHeaders, createGuard, type GuardDeps } from './guard.js';
import type { CollectorMetrics } from './metrics.js';
import { normalizeBatchTimes } from './timestamps.js';
import { checkBatch } from './validation.js';

/** Longest User-Agent kept in the envelope. */
export const MAX_USER_AGENT_LENGTH = 512;
export const BATCH_URL = '/v1/batch';

export interface IngestRouteDeps {
  config: CollectorConfig;
  metrics: CollectorMetrics;
  guard: GuardDeps;
}

/** What a storage failure means for the client: full (503 + long Retry-After) or failed (503 + short). */
export function isFullError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SPOOL_FULL' || code === 'ATTACHMENTS_FULL';
}

export function corsOnSend(deps: IngestRouteDeps) {
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    reply.headers(corsHeaders(request, deps.guard.auth.get(request)));
    return payload;
  };
}

/** A browser that adds a header (X-Telltale-Key, Content-Encoding) asks first; the POST itself enforces origins. */
export function registerPreflight(app: FastifyInstance, url: string): void {
  app.options(url, async (_request, reply) =>
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
}

/** The envelope's JSON with the batch's own bytes in place of re-serializing it (the same JSON value). */
function envelopeAround(envelope: SpoolEnvelope, batchJson: Buffer): Buffer {
  const { batch: _batch, ...head } = envelope;
  const open = JSON.stringify(head);
  return Buffer.concat([Buffer.from(`${open.slice(0, -1)},"batch":`), batchJson, Buffer.from('}')]);
}

/** POST /v1/batch: guard → gunzip within limits → shape and schema → clock → dedupe → spool + fsync → 202. */
export function registerBatchRoute(
  app: FastifyInstance,
  deps: IngestRouteDeps & { spool: SpoolWriter; storeOnce: IdempotentStore },
): void {
  const { config, metrics, spool, storeOnce } = deps;
  const refuse = deps.guard.refuse;
  app.route({
    method: 'POST',
    url: BATCH_URL,
    bodyLimit: config.limits.maxCompressedBytes,
    onSend: corsOnSend(deps),
    onRequest: createGuard(deps.guard, {
      route: 'batch',
      kinds: ['ingest'],
      checkOrigin: true,
      isFull: () => spool.isFull(),
    }),
    handler: async (request, reply) => {
      const auth = deps.guard.auth.get(request);
      if (auth === undefined) return refuse(reply, 'batch', 'TELLTALE_ERR_UNAUTHORIZED', 'missing_key'); // unreachable: the guard set it
      const body = Buffer.isBuffer(request.body) ? request.body : undefined;
      const text = await decodeText(body, auth.encoding, config.limits.maxDecompressedBytes);
      if (!text.ok) return refuse(reply, 'batch', text.code, text.reason, text);
      const parsed = parseJson(text.value, undefined, { shape: false });
      if (!parsed.ok) return refuse(reply, 'batch', parsed.code, parsed.reason, parsed);
      const checked = checkBatch(parsed.value);
      if (!checked.ok)
        return refuse(reply, 'batch', checked.code, checked.reason, {
          field: checked.field,
          message: checked.message,
        });
      const { batch } = checked;
      const userAgent = request.headers['user-agent']?.slice(0, MAX_USER_AGENT_LENGTH);
      const appId = auth.app.id;

      try {
        const outcome = await storeOnce(appId, batch.batchId, batch.events.length, async () => {
          const receivedAt = Date.now();
          const { fixed, changed } = normalizeBatchTimes(batch, receivedAt);
          for (const [reason, count] of Object.entries(fixed)) metrics.timestampsFixed(reason, count);
          const envelope: SpoolEnvelope = {
            v: 1,
            app: appId,
            receivedAt,
            ...(userAgent ? { userAgent } : {}),
            batch,
          };
          // An exact v1 batch left as it came is stored as the very bytes that were validated.
          const payload =
            checked.exact && !changed
              ? envelopeAround(envelope, text.raw)
              : Buffer.from(JSON.stringify(envelope));
          // fsync before ack: a 2xx promises the batch is on disk.
          const position = await spool.append(payload);
          return { receivedAt, position };
        });
        metrics.bytes('batch', body?.length ?? 0, text.bytes);
        if (outcome.duplicate) metrics.duplicate();
        else {
          metrics.stored(outcome.accepted);
          metrics.accepted('batch', appId, outcome.accepted);
        }
        return reply.code(202).send({ accepted: outcome.accepted, duplicate: outcome.duplicate });
      } catch (error) {
        if (isFullError(error))
          return refuse(reply, 'batch', 'TELLTALE_ERR_SPOOL_FULL', 'disk_cap', {
            message: 'the collector is at its disk cap; keep the batch and retry later',
          });
        const { code, message } = error as NodeJS.ErrnoException;
        request.log.error({ err: { code, message } }, 'collector: spool append failed, answering 503');
        return refuse(reply, 'batch', 'TELLTALE_ERR_STORAGE', 'storage');
      }
    },
  });
  registerPreflight(app, BATCH_URL);
}
