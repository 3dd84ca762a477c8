import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SpoolWriter } from '@telltale/spool';
import {
  appendWithinQuotas,
  refuseDecode,
  refuseStoreFailure,
  type IngestRouteDeps,
} from '../batch-route.js';
import { inflateBody } from '../decode.js';
import { createGuard } from '../guard.js';
import type { OtlpDecoded } from '../ingest-decode.js';
import type { SpoolShares } from '../spool-shares.js';
import type { OtlpFormat } from './decode-request.js';
import { encodeLogsResponse, encodeStatus } from './logs-proto.js';

export const OTLP_LOGS_URL = '/otlp/v1/logs';

type Format = OtlpFormat;
const CONTENT_TYPES: Record<Format, string> = {
  json: 'application/json',
  protobuf: 'application/x-protobuf',
};

/** OTLP/HTTP's two encodings; anything else is answered 415. */
export function otlpFormat(contentType: string | undefined): Format | undefined {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type === 'application/json') return 'json';
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  return undefined;
}

/** The google.rpc.Code an HTTP refusal stands for, for the Status body OTLP clients read. */
const rpcCode = (status: number): number =>
  status === 401
    ? 16
    : status === 403
      ? 7
      : status === 429 || status === 413
        ? 8
        : status === 503
          ? 14
          : status >= 500
            ? 13
            : 3;

/**
 * POST /otlp/v1/logs (secret key), OTLP/HTTP: JSON or protobuf ExportLogsServiceRequest, gzip or
 * not. Records become server log lines in the server-log spool, under the same guard, quotas and
 * fsync as POST /v1/logs; the answer is an ExportLogsServiceResponse in the request's encoding.
 */
export function registerOtlpLogsRoute(
  app: FastifyInstance,
  deps: IngestRouteDeps & { spool: SpoolWriter; shares: SpoolShares },
): void {
  const { config, metrics, spool } = deps;
  const refuse = deps.guard.refuse;
  const formats = new WeakMap<FastifyRequest, Format>();
  app.route({
    method: 'POST',
    url: OTLP_LOGS_URL,
    bodyLimit: config.limits.maxCompressedBytes,
    onRequest: [
      async (request) => {
        const format = otlpFormat(request.headers['content-type']);
        if (format !== undefined) formats.set(request, format);
      },
      createGuard(deps.guard, {
        route: 'logs',
        kinds: ['secret'],
        checkOrigin: false,
        isFull: () => spool.isFull(),
      }),
    ],
    // Refusals carry the OTLP Status beside our error object: protobuf clients get a protobuf Status.
    onSend: async (request, reply, payload) => {
      if (reply.statusCode < 400 || typeof payload !== 'string') return payload;
      let body: { error?: { code?: string; message?: string } };
      try {
        body = JSON.parse(payload) as typeof body;
      } catch {
        return payload;
      }
      const code = rpcCode(reply.statusCode);
      const message = `${body.error?.code ?? 'error'}: ${body.error?.message ?? ''}`;
      if (formats.get(request) === 'protobuf') {
        reply.header('content-type', CONTENT_TYPES.protobuf);
        return encodeStatus(code, message);
      }
      return JSON.stringify({ code, message, ...body });
    },
    handler: async (request, reply) => {
      const auth = deps.guard.auth.get(request);
      if (auth === undefined) return refuse(reply, 'logs', 'TELLTALE_ERR_UNAUTHORIZED', 'missing_key'); // unreachable
      const format = formats.get(request);
      if (format === undefined)
        return refuse(reply, 'logs', 'TELLTALE_ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported_media_type', {
          message: 'send Content-Type application/json or application/x-protobuf (OTLP/HTTP)',
        });
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      if (body.length === 0)
        return refuse(reply, 'logs', 'TELLTALE_ERR_INVALID_LOGS', 'empty_body', { message: 'body is empty' });
      const inflated = await inflateBody(body, auth.encoding, config.limits.maxDecompressedBytes);
      if (!inflated.ok) return refuse(reply, 'logs', inflated.code, inflated.reason, inflated);
      const raw = inflated.value;
      // Budget, decode and mapping: inline for a small body, in a decode worker for a large one.
      const decoded = await deps.pool.decode({
        kind: 'otlp',
        raw,
        format,
        app: auth.app.id,
        receivedAt: Date.now(),
        maxValues: config.limits.maxBodyValues,
      });
      if (!decoded.ok) return refuseDecode(deps, reply, 'logs', decoded);
      const { lines, rejected, errorMessage, fixes, payload } = decoded as OtlpDecoded;
      if (rejected > 0) metrics.rejected('logs', 'TELLTALE_ERR_INVALID_LOGS', 'otlp_record');
      if (payload !== undefined) {
        try {
          // The same app's quotas as /v1/logs; fsync before the 200, which promises the lines are on disk.
          await appendWithinQuotas(
            deps,
            auth.app,
            lines,
            Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
          );
        } catch (error) {
          return refuseStoreFailure(deps, request, reply, 'logs', error);
        }
        for (const [fix, count] of Object.entries(fixes)) metrics.timestampsFixed(fix, count);
        metrics.accepted('logs', auth.app.id, lines);
      }
      metrics.bytes('logs', body.length, raw.length);
      reply.code(200).header('content-type', CONTENT_TYPES[format]);
      if (format === 'protobuf') return reply.send(encodeLogsResponse(rejected, errorMessage));
      return reply.send(
        rejected > 0 ? { partialSuccess: { rejectedLogRecords: rejected, errorMessage } } : {},
      );
    },
  });
}
