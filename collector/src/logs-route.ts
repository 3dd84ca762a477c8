import type { FastifyInstance } from 'fastify';
import type { ServerLogEnvelope } from '@telltale/protocol';
import type { SpoolWriter } from '@telltale/spool';
import { appendWithinQuotas, refuseStoreFailure, type IngestRouteDeps } from './batch-route.js';
import { checkLinesBudget } from './body-budget.js';
import { decodeText } from './decode.js';
import { createGuard } from './guard.js';
import { parseServerLogs } from './server-logs.js';
import type { SpoolShares } from './spool-shares.js';
import { normalizeLogTime } from './timestamps.js';

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
      const text = await decodeText(body, auth.encoding, config.limits.maxDecompressedBytes);
      if (!text.ok) return refuse(reply, 'logs', text.code, text.reason, text);
      // Lines and values counted before the split and the parses, which cost per line and per value.
      const over = checkLinesBudget(text.raw, config.limits.maxBodyValues, config.limits.maxBodyLines);
      if (over) return refuse(reply, 'logs', over.code, over.reason, over);
      const parsed = parseServerLogs(text.value);
      if (!parsed.ok) return refuse(reply, 'logs', parsed.code, parsed.reason, parsed);

      const receivedAt = Date.now();
      for (const line of parsed.lines) {
        const fix = normalizeLogTime(line, receivedAt);
        if (fix !== undefined) metrics.timestampsFixed(fix, 1);
      }
      const envelope: ServerLogEnvelope = { v: 1, app: auth.app.id, receivedAt, logs: parsed.lines };
      try {
        // The same app's quotas as its client events; fsync before ack, as for client batches.
        const payload = Buffer.from(JSON.stringify(envelope), 'utf8');
        await appendWithinQuotas(deps, auth.app, parsed.lines.length, payload);
      } catch (error) {
        return refuseStoreFailure(deps, request, reply, 'logs', error);
      }
      metrics.bytes('logs', body?.length ?? 0, text.bytes);
      metrics.accepted('logs', auth.app.id, parsed.lines.length);
      return reply.code(202).send({ accepted: parsed.lines.length, ids: parsed.lines.map((l) => l.id) });
    },
  });
}
