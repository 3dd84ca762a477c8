import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GuardDeps, RequestAuth } from '../guard.js';
import type { IngestRoute } from '../metrics.js';

/** Longest X-Sentry-Auth header or envelope `dsn` read, in characters (a real one is ~200). */
const MAX_AUTH_CHARS = 2048;

/** The key a Sentry SDK sends in the URL (`?sentry_key=`) or the `X-Sentry-Auth` header. */
export function sentryKeyOf(request: FastifyRequest): string | undefined {
  const query = (request.query as Record<string, unknown> | undefined)?.sentry_key;
  if (typeof query === 'string' && query !== '') return query;
  for (const name of ['x-sentry-auth', 'authorization']) {
    const header = request.headers[name];
    if (typeof header !== 'string' || header.length > MAX_AUTH_CHARS) continue;
    const trimmed = header.trimStart();
    if (!/^sentry\s/i.test(trimmed)) continue;
    // `Sentry sentry_key=…, sentry_version=7, sentry_client=…`: split, no pattern over the whole line.
    for (const part of trimmed.slice(7).split(',')) {
      const [name, value] = part.split('=', 2).map((s) => s.trim());
      if (name === 'sentry_key' && value) return value;
    }
  }
  return undefined;
}

/** The key and project id of a DSN (`https://<key>@<host>/<project id>`), or undefined. */
export function parseDsn(dsn: unknown): { key: string; projectId: string } | undefined {
  if (typeof dsn !== 'string' || dsn.length > MAX_AUTH_CHARS) return undefined;
  try {
    const url = new URL(dsn);
    const projectId = url.pathname.split('/').pop() ?? '';
    if (url.username === '' || !/^\d{1,16}$/.test(projectId)) return undefined;
    return { key: decodeURIComponent(url.username), projectId };
  } catch {
    return undefined;
  }
}

export type SentryAuth = { ok: true; auth: RequestAuth } | { ok: false; reply: FastifyReply };

/**
 * The key checks of the ingest guard (createGuard) for a key found in a Sentry place: unknown,
 * revoked, wrong kind, wrong project, origin allow-list, rate limit by key. It runs after the
 * body was read when the key is only in the envelope's `dsn` (a first-party tunnel).
 */
export function authorizeSentryKey(
  deps: GuardDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  key: string | undefined,
  projectId: string,
  route: IngestRoute,
): SentryAuth {
  const refused = (reason: string, message: string): SentryAuth => ({
    ok: false,
    reply: deps.refuse(reply, route, 'TELLTALE_ERR_UNAUTHORIZED', reason, { message }),
  });
  if (key === undefined)
    return refused(
      'missing_key',
      'missing ingest key: use the DSN from "telltale apps dsn <app>" (sentry_key, X-Sentry-Auth or the envelope dsn)',
    );
  const lookup = deps.keys.lookup(key);
  if (lookup.status === 'unknown') return refused('unknown_key', 'unknown ingest key');
  if (lookup.status === 'revoked')
    return refused('revoked_key', "this key was revoked; use the app's current DSN");
  if (lookup.kind !== 'ingest')
    // A secret key in a DSN ends up in browsers and URLs: refuse it like a secret key in ?key=.
    return refused('wrong_key_kind', "a DSN carries the app's public ingest key, never its secret key");
  const { app } = lookup;
  if (String(app.projectId) !== projectId)
    return refused(
      'wrong_project',
      `this key belongs to another project id; use the DSN from "telltale apps dsn ${app.id}"`,
    );
  const origin = request.headers.origin;
  if (origin !== undefined && app.allowedOrigins.length > 0 && !app.allowedOrigins.includes(origin)) {
    deps.auth.set(request, { app, kind: 'ingest', encoding: 'identity' }); // so the refusal carries CORS headers
    return {
      ok: false,
      reply: deps.refuse(reply, route, 'TELLTALE_ERR_ORIGIN_NOT_ALLOWED', 'origin_not_allowed', {
        message: `app "${app.id}" does not accept requests from this origin; add it with "telltale apps add-origin"`,
      }),
    };
  }
  const byKey = deps.perKey.take(key);
  if (!byKey.ok)
    return {
      ok: false,
      reply: deps.refuse(reply, route, 'TELLTALE_ERR_RATE_LIMITED', 'rate_limited_key', {
        message: 'too many requests for this key; retry after the Retry-After delay',
        retryAfterSeconds: byKey.retryAfterSeconds,
      }),
    };
  const auth: RequestAuth = { app, kind: 'ingest', encoding: 'identity' };
  deps.auth.set(request, auth);
  return { ok: true, auth };
}
