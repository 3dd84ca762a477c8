import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SpoolEnvelope } from '@telltale/protocol';
import type { SpoolWriter } from '@telltale/spool';
import { DSN_KEY_PATTERN } from '../apps.js';
import type { IdempotentStore } from '../batch-index.js';
import { inflateBody } from '../decode.js';
import {
  appendWithinQuotas,
  publicClient,
  isFullError,
  MAX_USER_AGENT_LENGTH,
  type IngestRouteDeps,
} from '../batch-route.js';
import { corsHeaders, refuseQuota, StorageFailure } from '../guard.js';
import { QuotaRefused } from '../quotas.js';
import type { SpoolShares } from '../spool-shares.js';
import { normalizeBatchTimes } from '../timestamps.js';
import { checkBatch } from '../validation.js';
import { authorizeSentryKey, parseDsn, sentryKeyOf } from './auth.js';
import { parseSentryEncoding } from './body.js';
import {
  MAX_ENVELOPE_BYTES,
  MAX_TUNNEL_BYTES,
  MAX_TUNNEL_DECOMPRESSED_BYTES,
  parseEnvelopeHeader,
  parseEnvelopeItems,
  storeAsEnvelope,
  type EnvelopeFailure,
  type EnvelopeItem,
  type ValueBudget,
} from './envelope.js';
import {
  assembleBatch,
  envelopeSdk,
  mapSentryEvent,
  mapSentryLogs,
  sentryTime,
  type MappedEvent,
} from './event.js';

// Digits only: `/api/errors/envelope/` is no ingest route, and the access hook's surface says the same.
export const SENTRY_ENVELOPE_URL = '/api/:projectId(^\\d{1,16}$)/envelope/';
export const SENTRY_STORE_URL = '/api/:projectId(^\\d{1,16}$)/store/';
const EVENT_ID = /^[0-9a-f]{32}$/;

type SentryDeps = IngestRouteDeps & { spool: SpoolWriter; shares: SpoolShares; storeOnce: IdempotentStore };

/** Sentry SDKs back off on 429 by this header (`retry_after:categories:scope:reason`), not by Retry-After alone. */
function sentryHeaders(deps: SentryDeps) {
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    reply.headers({
      ...corsHeaders(request, deps.guard.auth.get(request)),
      'access-control-expose-headers': 'Retry-After, X-Sentry-Rate-Limits',
    });
    if (reply.statusCode === 429 && !reply.hasHeader('x-sentry-rate-limits')) {
      const retryAfter = Number(reply.getHeader('retry-after')) || 60;
      const quota = typeof payload === 'string' && payload.includes('TELLTALE_ERR_QUOTA_EXCEEDED');
      reply.header(
        'x-sentry-rate-limits',
        `${retryAfter}::${quota ? 'project:quota_exceeded' : 'key:rate_limited'}`,
      );
    }
    return payload;
  };
}

const parseJson = (item: EnvelopeItem): unknown => {
  try {
    return JSON.parse(item.payload.toString('utf8'));
  } catch {
    return undefined;
  }
};

/** A tunnel body as sent past MAX_TUNNEL_BYTES: the error handler answers 413 with this limit. */
class TunnelTooLarge extends Error {
  readonly code = 'FST_ERR_CTP_BODY_TOO_LARGE';
  readonly statusCode = 413;
  readonly limit = MAX_TUNNEL_BYTES;
}

/** Passes a body through until it passes `limit` bytes, then fails the read (chunked bodies too). */
const capped = (limit: number): Transform => {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > limit) done(new TunnelTooLarge('tunnel body over its limit'));
      else done(null, chunk);
    },
  });
};

/**
 * POST /api/<project id>/envelope/ and /store/: Sentry's SDKs as senders. Headers first (rate limit
 * by address, key, encoding, disk cap), then the bounded inflate and envelope parse, the key from the
 * envelope's `dsn` when the URL had none (a tunnel: body capped at MAX_TUNNEL_BYTES, and the key
 * checked from the envelope header line before any item header is read), and the same path as /v1/batch from there:
 * one Telltale batch per envelope, deduplicated by its event id, within quotas, fsync'd before the 200.
 */
export function registerSentryRoutes(app: FastifyInstance, deps: SentryDeps): void {
  const { config, metrics, spool, storeOnce } = deps;
  const refuse = deps.guard.refuse;
  /** Requests with no key outside the body: read under the tunnel limits. */
  const tunnels = new WeakSet<FastifyRequest>();
  const refuseEnvelope = (reply: FastifyReply, parsed: EnvelopeFailure) =>
    refuse(
      reply,
      'sentry',
      parsed.tooComplex
        ? 'TELLTALE_ERR_BODY_TOO_COMPLEX'
        : parsed.tooLarge
          ? 'TELLTALE_ERR_ITEM_TOO_LARGE'
          : 'TELLTALE_ERR_INVALID_ENVELOPE',
      parsed.reason,
      { message: parsed.message, ...(parsed.limit !== undefined ? { limit: parsed.limit } : {}) },
    );
  for (const current of deps.guard.keys.apps()) {
    const unusable = current.ingestKeys.filter((key) => !DSN_KEY_PATTERN.test(key)).length;
    if (unusable > 0)
      app.log.warn(
        `collector: ${unusable} ingest key(s) of app "${current.id}" contain "-", which a Sentry DSN cannot carry; ` +
          `"telltale apps rotate-key ${current.id}" makes one that can`,
      );
  }

  const onRequest = (store: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const byIp = deps.guard.perIp.take(request.ip);
    if (!byIp.ok)
      return refuse(reply, 'sentry', 'TELLTALE_ERR_RATE_LIMITED', 'rate_limited_ip', {
        message: 'too many requests from this address; retry after the Retry-After delay',
        retryAfterSeconds: byIp.retryAfterSeconds,
      });
    if (parseSentryEncoding(request.headers['content-encoding']) === undefined)
      return refuse(reply, 'sentry', 'TELLTALE_ERR_UNSUPPORTED_ENCODING', 'unsupported_encoding', {
        message: 'unsupported Content-Encoding: send gzip, deflate or no encoding',
      });
    if (spool.isFull())
      return refuse(reply, 'sentry', 'TELLTALE_ERR_SPOOL_FULL', 'disk_cap', {
        message: 'the collector is at its disk cap; retry later',
      });
    const key = sentryKeyOf(request);
    // Without a key in the URL or headers, an envelope may still carry its DSN: checked from its
    // header line, after a body read under the much smaller tunnel limit.
    if (key === undefined && !store) {
      if (Number(request.headers['content-length']) > MAX_TUNNEL_BYTES)
        return refuse(reply, 'sentry', 'TELLTALE_ERR_BODY_TOO_LARGE', 'tunnel_body_too_large', {
          message: `an envelope with its key only inside (a tunnel) may be at most ${MAX_TUNNEL_BYTES} bytes; put the key in the URL (sentry_key) or X-Sentry-Auth`,
          limit: MAX_TUNNEL_BYTES,
        });
      tunnels.add(request);
      return undefined;
    }
    const projectId = (request.params as { projectId: string }).projectId;
    const checked = authorizeSentryKey(deps.guard, request, reply, key, projectId, 'sentry');
    return checked.ok ? undefined : checked.reply;
  };

  const handler = (store: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const encoding = parseSentryEncoding(request.headers['content-encoding']) ?? 'identity';
    const tunnel = tunnels.has(request);
    const limit = tunnel ? MAX_TUNNEL_DECOMPRESSED_BYTES : MAX_ENVELOPE_BYTES;
    const inflated = await inflateBody(body, encoding, limit);
    if (!inflated.ok) return refuse(reply, 'sentry', inflated.code, inflated.reason, inflated);
    const maxValues = config.limits.maxBodyValues;
    let parsed;
    let auth = deps.guard.auth.get(request);
    if (store) parsed = storeAsEnvelope(inflated.value, maxValues);
    else {
      const budget: ValueBudget = { left: maxValues, cap: maxValues };
      const head = parseEnvelopeHeader(inflated.value, budget);
      if (!head.ok) return refuseEnvelope(reply, head);
      if (auth === undefined) {
        // A tunnel: the key is the envelope header's dsn, checked before any item header is parsed.
        const dsn = parseDsn(head.header.dsn);
        const projectId = (request.params as { projectId: string }).projectId;
        const checked = authorizeSentryKey(deps.guard, request, reply, dsn?.key, projectId, 'sentry');
        if (!checked.ok) return checked.reply;
        auth = checked.auth;
      }
      parsed = parseEnvelopeItems(inflated.value, head, budget);
    }
    if (!parsed.ok) return refuseEnvelope(reply, parsed);
    if (auth === undefined) return refuse(reply, 'sentry', 'TELLTALE_ERR_UNAUTHORIZED', 'missing_key'); // unreachable: /store/ checks its key first
    const appId = auth.app.id;
    const counts = new Map<string, number>();
    for (const item of parsed.items) counts.set(item.type, (counts.get(item.type) ?? 0) + 1);
    for (const [type, count] of counts) metrics.sentryItems(appId, type, count);

    const receivedAt = Date.now();
    const headerId = typeof parsed.header.event_id === 'string' ? parsed.header.event_id : undefined;
    const bodyHash = createHash('sha256').update(inflated.value).digest('hex').slice(0, 32);
    const mapped: MappedEvent[] = [];
    let logs: ReturnType<typeof mapSentryLogs> = { logs: [], dropped: 0 };
    for (const item of parsed.items) {
      if (item.type !== 'event' && item.type !== 'log') continue;
      const value = parseJson(item);
      if (item.type === 'event') {
        const event = mapSentryEvent(value, receivedAt, headerId ?? `${bodyHash}-${mapped.length}`);
        if (event === undefined)
          return refuse(reply, 'sentry', 'TELLTALE_ERR_INVALID_ENVELOPE', 'bad_event', {
            message: 'an event item is not a JSON object',
          });
        mapped.push(event);
      } else {
        const more = mapSentryLogs(value, receivedAt, `${headerId ?? bodyHash}-${logs.logs.length}`, 1000);
        logs = { ...logs, ...more, logs: [...logs.logs, ...more.logs], dropped: logs.dropped + more.dropped };
      }
    }
    const eventId = headerId ?? mapped[0]?.event.id;
    const answer = eventId !== undefined && EVENT_ID.test(eventId) ? { id: eventId } : {};
    // Sessions, transactions, client reports, replays…: counted above, nothing to store.
    if (mapped.length === 0 && logs.logs.length === 0) return reply.code(200).send(answer);

    const batch = assembleBatch(
      `sentry-${eventId ?? bodyHash}`,
      receivedAt,
      mapped,
      logs,
      envelopeSdk(parsed.header.sdk),
    );
    batch.sentAt = sentryTime(parsed.header.sent_at) ?? receivedAt;
    // The mapping keeps every field within protocol v1; the check proves it before anything is stored.
    const checked = checkBatch(batch);
    if (!checked.ok) {
      request.log.error({ field: checked.field }, 'collector: a mapped Sentry event failed the batch schema');
      return refuse(reply, 'sentry', 'TELLTALE_ERR_INVALID_ENVELOPE', 'unmappable_event', {
        field: checked.field,
        message: checked.message,
      });
    }
    const userAgent = (mapped[0]?.userAgent ?? request.headers['user-agent'])?.slice(
      0,
      MAX_USER_AGENT_LENGTH,
    );
    try {
      const outcome = await storeOnce(appId, batch.batchId, batch.events.length, async () => {
        const { fixed } = normalizeBatchTimes(batch, receivedAt);
        for (const [reason, count] of Object.entries(fixed)) metrics.timestampsFixed(reason, count);
        const envelope: SpoolEnvelope = {
          v: 1,
          app: appId,
          receivedAt,
          ...(userAgent ? { userAgent } : {}),
          batch,
        };
        const position = await appendWithinQuotas(
          deps,
          auth.app,
          batch.events.length,
          Buffer.from(JSON.stringify(envelope)),
          publicClient(request, auth.kind, batch.session),
        );
        return { receivedAt, position };
      });
      metrics.bytes('sentry', body.length, inflated.value.length);
      if (outcome.duplicate) metrics.duplicate();
      else {
        metrics.stored(outcome.accepted);
        metrics.accepted('sentry', appId, outcome.accepted);
      }
      return reply.code(200).send(answer);
    } catch (error) {
      if (error instanceof QuotaRefused) return refuseQuota(refuse, reply, 'sentry', error.refusal);
      if (!(error instanceof StorageFailure)) throw error;
      if (isFullError(error.failure))
        return refuse(reply, 'sentry', 'TELLTALE_ERR_SPOOL_FULL', 'disk_cap', {
          message: 'the collector is at its disk cap; keep the envelope and retry later',
        });
      request.log.error(
        { err: { message: String(error.message) } },
        'collector: spool append failed, answering 503',
      );
      return refuse(reply, 'sentry', 'TELLTALE_ERR_STORAGE', 'storage');
    }
  };

  for (const [url, store] of [
    [SENTRY_ENVELOPE_URL, false],
    [SENTRY_STORE_URL, true],
  ] as const) {
    app.route({
      method: 'POST',
      url,
      bodyLimit: MAX_ENVELOPE_BYTES,
      onRequest: onRequest(store),
      // A tunnel's body is cut at MAX_TUNNEL_BYTES as it arrives, chunked or not.
      preParsing: async (request: FastifyRequest, _reply: FastifyReply, payload) =>
        tunnels.has(request) ? payload.pipe(capped(MAX_TUNNEL_BYTES)) : payload,
      onSend: sentryHeaders(deps),
      handler: handler(store),
    });
    // Sentry's browser SDK sends text/plain without custom headers (no preflight); a tunnel or a
    // custom transport that adds headers asks first. The POST itself enforces the app's origins.
    app.options(url, async (_request, reply) =>
      reply
        .code(204)
        .headers({
          'access-control-allow-origin': '*',
          'access-control-allow-methods': 'POST, OPTIONS',
          'access-control-allow-headers': 'Content-Type, Content-Encoding, X-Sentry-Auth',
          'access-control-max-age': '86400',
        })
        .send(),
    );
  }
}
