import type { FastifyCorsOptions } from '@fastify/cors';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, errorBody, type ErrorCode } from '@telltale/protocol';
import type { CollectorApp, KeyKind, KeyRegistry } from './apps.js';
import { parseContentEncoding, type BodyEncoding } from './decode.js';
import type { CollectorMetrics, IngestRoute } from './metrics.js';
import type { QuotaRefusal } from './quotas.js';
import type { RateLimiter } from './rate-limit.js';

/** Seconds a client should wait before retrying after the spool failed. */
export const STORAGE_RETRY_AFTER_SECONDS = 5;
/** Seconds a client should wait when the spool is at its disk cap (consumers need time to drain it). */
export const FULL_RETRY_AFTER_SECONDS = 30;

export interface RefusalDetail {
  message?: string;
  limit?: number;
  field?: string;
  retryAfterSeconds?: number;
}

export type Refuse = (
  reply: FastifyReply,
  route: IngestRoute | 'other',
  code: ErrorCode,
  reason: string,
  detail?: RefusalDetail,
) => FastifyReply;

export function createRefuse(metrics: CollectorMetrics): Refuse {
  return (reply, route, code, reason, detail = {}) => {
    metrics.rejected(route, code, reason);
    const retryAfter =
      detail.retryAfterSeconds ??
      (code === 'TELLTALE_ERR_STORAGE'
        ? STORAGE_RETRY_AFTER_SECONDS
        : code === 'TELLTALE_ERR_SPOOL_FULL'
          ? FULL_RETRY_AFTER_SECONDS
          : undefined);
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
    const { message, limit, field } = detail;
    return reply.code(ERROR_CODES[code].status).send(errorBody(code, { message, limit, field }));
  };
}

/** 429 for a quota or a public-key client's budget: `field` names it, `limit` its value, Retry-After its window. */
export function refuseQuota(
  refuse: Refuse,
  reply: FastifyReply,
  route: IngestRoute,
  refusal: QuotaRefusal,
): FastifyReply {
  return refuse(reply, route, refusal.code ?? 'TELLTALE_ERR_QUOTA_EXCEEDED', refusal.reason, {
    message: refusal.message,
    field: refusal.quota,
    limit: refusal.limit,
    retryAfterSeconds: refusal.retryAfterSeconds,
  });
}

/**
 * A write to the spool or the attachment store failed (disk full, I/O error, writer closed): the
 * only failure answered 503 TELLTALE_ERR_STORAGE. Anything else thrown is a bug: 500 INTERNAL.
 */
export class StorageFailure extends Error {
  constructor(readonly failure: unknown) {
    super(failure instanceof Error ? failure.message : String(failure));
    this.name = 'StorageFailure';
  }
}

/** Marks a store step's rejection as a storage failure. */
export const storing = <T>(write: Promise<T>): Promise<T> =>
  write.catch((error: unknown) => {
    throw new StorageFailure(error);
  });

/** Who is sending, once the guard let a request through. */
export interface RequestAuth {
  app: CollectorApp;
  kind: KeyKind;
  encoding: BodyEncoding;
}

export interface GuardSpec {
  route: IngestRoute;
  /** Which keys this route takes. */
  kinds: readonly KeyKind[];
  /** Browser-facing: the app's origin allow-list applies. */
  checkOrigin: boolean;
  /** Refuses before the body is read when the store behind the route is at its disk cap. */
  isFull?: () => boolean;
}

export interface GuardDeps {
  keys: KeyRegistry;
  perIp: RateLimiter;
  perKey: RateLimiter;
  refuse: Refuse;
  auth: WeakMap<FastifyRequest, RequestAuth>;
}

function keyOf(request: FastifyRequest): { key: string; inUrl: boolean } | undefined {
  const header = request.headers['x-telltale-key'];
  if (typeof header === 'string' && header !== '') return { key: header, inUrl: false };
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match?.[1]) return { key: match[1], inUrl: false };
  }
  const query = (request.query as Record<string, unknown> | undefined)?.key;
  if (typeof query === 'string' && query !== '') return { key: query, inUrl: true };
  return undefined;
}

const KEY_NAMES: Record<KeyKind, string> = { ingest: 'ingest key', secret: 'secret key' };

/**
 * The checks every ingest request passes from its headers alone, before any body byte is read:
 * rate limit by client IP, key (unknown, revoked, wrong kind), origin allow-list, rate limit by
 * key, Content-Encoding, and the disk cap of the store behind the route.
 */
export function createGuard(deps: GuardDeps, spec: GuardSpec) {
  const { refuse, route } = { refuse: deps.refuse, route: spec.route };
  const wanted = spec.kinds.map((k) => KEY_NAMES[k]).join(' or ');
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const byIp = deps.perIp.take(request.ip);
    if (!byIp.ok)
      return refuse(reply, route, 'TELLTALE_ERR_RATE_LIMITED', 'rate_limited_ip', {
        message: 'too many requests from this address; retry after the Retry-After delay',
        retryAfterSeconds: byIp.retryAfterSeconds,
      });

    const found = keyOf(request);
    if (found === undefined) {
      const where = spec.kinds.includes('ingest')
        ? 'the X-Telltale-Key header or ?key='
        : 'the Authorization: Bearer header or X-Telltale-Key';
      return refuse(reply, route, 'TELLTALE_ERR_UNAUTHORIZED', 'missing_key', {
        message: `missing ${wanted}: send ${where}`,
      });
    }
    const lookup = deps.keys.lookup(found.key);
    if (lookup.status === 'unknown')
      return refuse(reply, route, 'TELLTALE_ERR_UNAUTHORIZED', 'unknown_key', {
        message: `unknown ${wanted}`,
      });
    if (lookup.status === 'revoked')
      return refuse(reply, route, 'TELLTALE_ERR_UNAUTHORIZED', 'revoked_key', {
        message: `this key was revoked; use the app's current ${wanted}`,
      });
    const { app, kind } = lookup;
    if (kind === 'secret' && found.inUrl)
      // URLs end up in proxy and browser logs: a secret key there must be considered leaked.
      return refuse(reply, route, 'TELLTALE_ERR_UNAUTHORIZED', 'secret_key_in_url', {
        message: 'secret keys never go in a URL: send Authorization: Bearer <key>, and rotate this key',
      });
    if (!spec.kinds.includes(kind))
      return refuse(reply, route, 'TELLTALE_ERR_UNAUTHORIZED', 'wrong_key_kind', {
        message:
          kind === 'ingest'
            ? `requests to this route need the app's secret key, not its public ingest key`
            : `this route takes the app's public ingest key; keep the secret key on your servers`,
      });

    const origin = request.headers.origin;
    if (spec.checkOrigin && origin !== undefined && app.allowedOrigins.length > 0) {
      if (!app.allowedOrigins.includes(origin)) {
        deps.auth.set(request, { app, kind, encoding: 'identity' }); // so the refusal carries CORS headers
        return refuse(reply, route, 'TELLTALE_ERR_ORIGIN_NOT_ALLOWED', 'origin_not_allowed', {
          message: `app "${app.id}" does not accept requests from this origin; add it with "telltale apps add-origin"`,
        });
      }
    }

    const byKey = deps.perKey.take(found.key);
    if (!byKey.ok)
      return refuse(reply, route, 'TELLTALE_ERR_RATE_LIMITED', 'rate_limited_key', {
        message: 'too many requests for this key; retry after the Retry-After delay',
        retryAfterSeconds: byKey.retryAfterSeconds,
      });

    const encoding = parseContentEncoding(request.headers['content-encoding']);
    if (encoding === undefined)
      return refuse(reply, route, 'TELLTALE_ERR_UNSUPPORTED_ENCODING', 'unsupported_encoding', {
        message: 'unsupported Content-Encoding: send gzip or no encoding',
      });
    if (spec.isFull?.())
      return refuse(reply, route, 'TELLTALE_ERR_SPOOL_FULL', 'disk_cap', {
        message: 'the collector is at its disk cap; your data is safe with you: retry later',
      });
    deps.auth.set(request, { app, kind, encoding });
    return undefined;
  };
}

/**
 * CORS for the Sentry routes, whose key may arrive inside the envelope (after every hook
 * @fastify/cors can run in): an app with an origin allow-list gets its (checked) origin echoed;
 * otherwise any origin may read our answers.
 */
export function corsHeaders(request: FastifyRequest, auth: RequestAuth | undefined): Record<string, string> {
  const origin = request.headers.origin;
  const headers: Record<string, string> = { 'access-control-expose-headers': 'Retry-After' };
  if (auth !== undefined && auth.app.allowedOrigins.length > 0 && origin !== undefined) {
    headers['access-control-allow-origin'] = origin;
    headers.vary = 'Origin';
  } else {
    headers['access-control-allow-origin'] = '*';
  }
  return headers;
}

/**
 * CORS for browser-facing routes (@fastify/cors, decided per request from its key before the guard
 * runs): an app with an origin allow-list gets the request's origin echoed (with Vary: Origin), so a
 * browser can read even the refusal of a foreign origin (the guard enforces the list); otherwise any
 * origin may read our answers (ingest keys are public and write-only). Preflights are the routes'
 * own OPTIONS answers.
 */
export function browserCors(keys: KeyRegistry): FastifyCorsOptions {
  return {
    hook: 'onRequest',
    preflight: false,
    delegator: (request, callback) => {
      const found = keyOf(request);
      const lookup = found === undefined ? undefined : keys.lookup(found.key);
      const pinned =
        lookup?.status === 'active' &&
        lookup.app.allowedOrigins.length > 0 &&
        request.headers.origin !== undefined;
      // preflight here too: the delegator's answer replaces the options given at registration.
      callback(null, { origin: pinned ? true : '*', exposedHeaders: 'Retry-After', preflight: false });
    },
  };
}
