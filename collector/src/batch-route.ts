import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SpoolPosition, SpoolWriter } from '@telltale/spool';
import type { CollectorApp } from './apps.js';
import type { IdempotentStore } from './batch-index.js';
import type { CollectorConfig } from './config.js';
import { inflateBody, type DecodeFailure } from './decode.js';
import { createGuard, refuseQuota, storing, StorageFailure, type GuardDeps } from './guard.js';
import type { CollectorMetrics, IngestRoute } from './metrics.js';
import type { PublicClient } from './public-budgets.js';
import { QuotaRefused, type QuotaLedger } from './quotas.js';
import type { SpoolShares } from './spool-shares.js';
import type { BatchDecoded } from './ingest-decode.js';
import { BUSY_RETRY_AFTER_SECONDS, type IngestPool } from './ingest-pool.js';

/** Longest User-Agent kept in the envelope. */
export const MAX_USER_AGENT_LENGTH = 512;
export const BATCH_URL = '/v1/batch';

export interface IngestRouteDeps {
  config: CollectorConfig;
  metrics: CollectorMetrics;
  guard: GuardDeps;
  quotas: QuotaLedger;
  /** Decodes bodies: inline when small, in worker threads when large (ingest-pool.ts). */
  pool: IngestPool;
}

/**
 * Appends one envelope within the app's quotas and spool share (and, for a request made with a
 * public ingest key, its `client`'s address and session budgets), all checked before the append
 * and given back when it fails; a refusal throws QuotaRefused, a failed write StorageFailure.
 */
export async function appendWithinQuotas(
  deps: IngestRouteDeps & { spool: SpoolWriter; shares: SpoolShares },
  app: CollectorApp,
  events: number,
  payload: Buffer,
  client?: PublicClient,
): Promise<SpoolPosition> {
  const share = deps.shares.admit(app.id, payload.length, deps.guard.keys.apps().length);
  if (!share.ok) throw new QuotaRefused(share.refusal);
  const quota = deps.quotas.admit(app, events, payload.length, client);
  if (!quota.ok) {
    share.admission.release();
    throw new QuotaRefused(quota.refusal);
  }
  try {
    // fsync before ack: a 2xx promises the data is on disk.
    const position = await storing(deps.spool.append(payload));
    share.admission.commit(position.segment);
    return position;
  } catch (error) {
    share.admission.release();
    quota.admission.release();
    throw error;
  }
}

/**
 * The answer to what a store step threw: 429 for a quota, 503 for a full or failing store; anything
 * else is rethrown for the error handler (500 TELLTALE_ERR_INTERNAL), so a bug is never retried forever.
 */
export function refuseStoreFailure(
  deps: IngestRouteDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  route: IngestRoute,
  error: unknown,
): FastifyReply {
  const refuse = deps.guard.refuse;
  if (error instanceof QuotaRefused) return refuseQuota(refuse, reply, route, error.refusal);
  if (!(error instanceof StorageFailure)) throw error;
  if (isFullError(error.failure))
    return refuse(reply, route, 'TELLTALE_ERR_SPOOL_FULL', 'disk_cap', {
      message: `the collector is at its disk cap; keep the ${route === 'batch' ? 'batch' : route === 'logs' ? 'lines' : 'attachment'} and retry later`,
    });
  const { code, message } = error.failure as NodeJS.ErrnoException;
  request.log.error(
    { err: { code, message } },
    `collector: ${route === 'attachments' ? 'attachment write' : route === 'logs' ? 'server-log spool append' : 'spool append'} failed, answering 503`,
  );
  return refuse(reply, route, 'TELLTALE_ERR_STORAGE', 'storage');
}

/**
 * Who sent a request made with a public ingest key, for its budgets (public-budgets.ts): the
 * trust-proxy-aware address the rate limiter uses and the session; none for a secret key.
 */
export function publicClient(
  request: FastifyRequest,
  kind: 'ingest' | 'secret',
  session?: string,
): PublicClient | undefined {
  if (kind !== 'ingest') return undefined;
  return { address: request.ip, ...(session !== undefined ? { session } : {}), log: request.log };
}

/** What a storage failure means for the client: full (503 + long Retry-After) or failed (503 + short). */
export function isFullError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SPOOL_FULL' || code === 'ATTACHMENTS_FULL';
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

/** The answer to a decode that failed: its refusal, or 503 with Retry-After when every worker is busy. */
export function refuseDecode(
  deps: IngestRouteDeps,
  reply: FastifyReply,
  route: IngestRoute,
  failure: DecodeFailure | { ok: false; busy: true },
): FastifyReply {
  if ('busy' in failure)
    return deps.guard.refuse(reply, route, 'TELLTALE_ERR_BUSY', 'decode_busy', {
      message: 'every decode worker is busy with large bodies; retry after the Retry-After delay',
      retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS,
    });
  return deps.guard.refuse(reply, route, failure.code, failure.reason, failure);
}

/** POST /v1/batch: guard → gunzip within limits → budget, shape and schema, clock (inline or in a worker) → dedupe → spool + fsync → 202. */
export function registerBatchRoute(
  app: FastifyInstance,
  deps: IngestRouteDeps & { spool: SpoolWriter; shares: SpoolShares; storeOnce: IdempotentStore },
): void {
  const { config, metrics, spool, storeOnce } = deps;
  const refuse = deps.guard.refuse;
  app.route({
    method: 'POST',
    url: BATCH_URL,
    bodyLimit: config.limits.maxCompressedBytes,
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
      if (body === undefined || body.length === 0)
        return refuse(reply, 'batch', 'TELLTALE_ERR_INVALID_JSON', 'empty_body', {
          message: 'body is empty',
        });
      // This route takes only the public ingest key (kinds above): its bodies get the public limit.
      const inflated = await inflateBody(body, auth.encoding, config.limits.maxPublicDecompressedBytes);
      if (!inflated.ok) return refuse(reply, 'batch', inflated.code, inflated.reason, inflated);
      const appId = auth.app.id;
      // The envelope's receivedAt and the answer's are the same instant.
      const receivedAt = Date.now();
      // Budget, parse, schema and clock: inline for a small body, in a decode worker for a large one.
      const decoded = await deps.pool.decode({
        kind: 'batch',
        raw: inflated.value,
        app: appId,
        receivedAt,
        maxValues: config.limits.maxBodyValues,
        userAgent: request.headers['user-agent']?.slice(0, MAX_USER_AGENT_LENGTH),
      });
      if (!decoded.ok) return refuseDecode(deps, reply, 'batch', decoded);
      const batch = decoded as BatchDecoded;

      try {
        const outcome = await storeOnce(appId, batch.batchId, batch.events, async () => {
          for (const [reason, count] of Object.entries(batch.fixes)) metrics.timestampsFixed(reason, count);
          const payload = Buffer.from(
            batch.payload.buffer,
            batch.payload.byteOffset,
            batch.payload.byteLength,
          );
          const client = publicClient(request, auth.kind, batch.session);
          const position = await appendWithinQuotas(deps, auth.app, batch.events, payload, client);
          return { receivedAt, position };
        });
        metrics.bytes('batch', body.length, inflated.value.length);
        if (outcome.duplicate) metrics.duplicate();
        else {
          metrics.stored(outcome.accepted);
          metrics.accepted('batch', appId, outcome.accepted);
        }
        return reply.code(202).send({ accepted: outcome.accepted, duplicate: outcome.duplicate });
      } catch (error) {
        return refuseStoreFailure(deps, request, reply, 'batch', error);
      }
    },
  });
  registerPreflight(app, BATCH_URL);
}
