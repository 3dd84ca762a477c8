import type { FastifyInstance } from 'fastify';
import type { SpoolWriter } from '@telltale/spool';
import { appendWithinQuotas, refuseDecode, refuseStoreFailure, type IngestRouteDeps } from './batch-route.js';
import { inflateBody } from './decode.js';
import { createGuard } from './guard.js';
import type { LogsDecoded } from './ingest-decode.js';
import type { SpoolShares } from './spool-shares.js';

export const LOGS_URL = '/v1/logs';

/**
 * POST /v1/logs (secret key): a JSON array or NDJSON of server log lines, gzip or not, appended as
 * one ServerLogEnvelope to the server-log spool and fsync'd before the 202.
 */
export function registerLogsRoute(
  app: FastifyInstance,
  deps: IngestRouteDeps & { spool: SpoolWriter; shares: SpoolShares },
): void {
  const { config, metrics, spool } = deps;
  const refuse = deps.guard.refuse;
  app.route({
    method: 'POST',
    url: LOGS_URL,
    bodyLimit: config.limits.maxCompressedBytes,
    onRequest: createGuard(deps.guard, {
      route: 'logs',
      kinds: ['secret'],
      checkOrigin: false,
      isFull: () => spool.isFull(),
    }),
    handler: async (request, reply) => {
      const auth = deps.guard.auth.get(request);
      if (auth === undefined) return refuse(reply, 'logs', 'TELLTALE_ERR_UNAUTHORIZED', 'missing_key'); // unreachable
      const body = Buffer.isBuffer(request.body) ? request.body : undefined;
      if (body === undefined || body.length === 0)
        return refuse(reply, 'logs', 'TELLTALE_ERR_INVALID_JSON', 'empty_body', { message: 'body is empty' });
      const inflated = await inflateBody(body, auth.encoding, config.limits.maxDecompressedBytes);
      if (!inflated.ok) return refuse(reply, 'logs', inflated.code, inflated.reason, inflated);
      // Budget (lines and values), split, parse and schema: inline when small, in a decode worker when large.
      const decoded = await deps.pool.decode({
        kind: 'logs',
        raw: inflated.value,
        app: auth.app.id,
        receivedAt: Date.now(),
        maxValues: config.limits.maxBodyValues,
        maxLines: config.limits.maxBodyLines,
      });
      if (!decoded.ok) return refuseDecode(deps, reply, 'logs', decoded);
      const { ids, fixes, payload } = decoded as LogsDecoded;
      try {
        // The same app's quotas as its client events; fsync before ack, as for client batches.
        await appendWithinQuotas(
          deps,
          auth.app,
          ids.length,
          Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
        );
      } catch (error) {
        return refuseStoreFailure(deps, request, reply, 'logs', error);
      }
      for (const [fix, count] of Object.entries(fixes)) metrics.timestampsFixed(fix, count);
      metrics.bytes('logs', body.length, inflated.value.length);
      metrics.accepted('logs', auth.app.id, ids.length);
      return reply.code(202).send({ accepted: ids.length, ids });
    },
  });
}
