import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { LIMITS, ServerLogEnvelope } from '@telltale/protocol';
import type { SpoolWriter } from '@telltale/spool';
import { appendWithinQuotas, refuseStoreFailure, type IngestRouteDeps } from '../batch-route.js';
import { checkJsonBudget, tooComplex } from '../body-budget.js';
import { inflateBody, parseJson, type DecodeFailure } from '../decode.js';
import { createGuard } from '../guard.js';
import { checkJsonShape } from '../json-guard.js';
import type { SpoolShares } from '../spool-shares.js';
import { normalizeLogTime } from '../timestamps.js';
import { mapOtlpLogs } from './logs-map.js';
import {
  checkLogsProtoBudget,
  decodeLogsProto,
  encodeLogsResponse,
  encodeStatus,
  type OtlpLogsRequest,
} from './logs-proto.js';

export const OTLP_LOGS_URL = '/otlp/v1/logs';

/** OTLP JSON nests 10 levels before any AnyValue; 40 leaves room for values nested a few levels deep. */
export const OTLP_JSON_MAX_NESTING = 40;

type Format = 'json' | 'protobuf';
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

const invalid = (reason: string, message: string): DecodeFailure => ({
  ok: false,
  code: 'TELLTALE_ERR_INVALID_LOGS',
  reason,
  message,
});

function decodeRequest(
  raw: Buffer,
  format: Format,
  maxValues: number,
): { ok: true; value: OtlpLogsRequest } | DecodeFailure {
  if (format === 'protobuf') {
    // Walked before decoding: decode and toObject cost per field, and 5M empty records fit in 10 KB.
    const budget = checkLogsProtoBudget(raw, maxValues);
    if (budget === 'over')
      return tooComplex(
        'too_many_fields',
        `the request holds more than ${maxValues} protobuf fields; export smaller batches`,
        maxValues,
      );
    if (budget === 'bad') return invalid('bad_protobuf', 'body is not a protobuf ExportLogsServiceRequest');
    try {
      return { ok: true, value: decodeLogsProto(raw) };
    } catch {
      // protobufjs's message may quote bytes of the body: keep it out of answers and logs.
      return invalid('bad_protobuf', 'body is not a protobuf ExportLogsServiceRequest');
    }
  }
  const over = checkJsonBudget(raw, maxValues);
  if (over) return over;
  const parsed = parseJson(raw.toString('utf8'), undefined, { shape: false });
  if (!parsed.ok) return parsed;
  // Bodies may be long (the mapping cuts them); depth and prototype keys are what must be refused here.
  const problem = checkJsonShape(
    parsed.value,
    OTLP_JSON_MAX_NESTING,
    raw.length as typeof LIMITS.maxStringLength, // typed as its default's literal
  );
  if (problem !== undefined)
    return {
      ok: false,
      code: problem.reason === 'forbidden_key' ? 'TELLTALE_ERR_INVALID_JSON' : 'TELLTALE_ERR_INVALID_LOGS',
      reason: problem.reason,
      field: problem.field,
      message: problem.message,
    };
  const value = parsed.value as OtlpLogsRequest | null;
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    !Array.isArray(value.resourceLogs ?? [])
  )
    return invalid('schema', 'body is not an ExportLogsServiceRequest (expected {"resourceLogs": [...]})');
  return { ok: true, value };
}

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
      const decoded = decodeRequest(raw, format, config.limits.maxBodyValues);
      if (!decoded.ok) return refuse(reply, 'logs', decoded.code, decoded.reason, decoded);

      const receivedAt = Date.now();
      const mapped = mapOtlpLogs(decoded.value, receivedAt);
      if (!mapped.ok) return refuse(reply, 'logs', 'TELLTALE_ERR_INVALID_LOGS', mapped.reason, mapped);
      const { lines, rejected, errorMessage } = mapped.value;
      if (rejected > 0) metrics.rejected('logs', 'TELLTALE_ERR_INVALID_LOGS', 'otlp_record');
      if (lines.length > 0) {
        for (const line of lines) {
          const fix = normalizeLogTime(line, receivedAt);
          if (fix !== undefined) metrics.timestampsFixed(fix, 1);
        }
        const envelope: ServerLogEnvelope = { v: 1, app: auth.app.id, receivedAt, logs: lines };
        try {
          // The same app's quotas as /v1/logs; fsync before the 200, which promises the lines are on disk.
          const payload = Buffer.from(JSON.stringify(envelope), 'utf8');
          await appendWithinQuotas(deps, auth.app, lines.length, payload);
        } catch (error) {
          return refuseStoreFailure(deps, request, reply, 'logs', error);
        }
        metrics.accepted('logs', auth.app.id, lines.length);
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
