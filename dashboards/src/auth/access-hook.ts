import { createHash, timingSafeEqual } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import { errorBody, type ErrorCode } from '@telltale/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendPage } from '../http/pages.js';
import { crossSiteReason } from '../http/same-site.js';
import { messagePage, VIEWER_SLOT, viewerBadge } from '../views/layout.js';
import type { AccessStore } from './access-store.js';
import { SESSION_COOKIE, type SessionStore, type Viewer } from './sessions.js';
import { isIngestRequest, isSignInRequest } from './surface.js';

export interface AccessControlOptions {
  store: AccessStore;
  sessions: SessionStore;
  /** `TELLTALE_API_TOKEN`: one fixed admin token from the environment. */
  apiToken?: string | undefined;
  /** `TELLTALE_PUBLIC_URL`: its host is allowed besides the loopback names. */
  publicUrl?: URL | undefined;
  /**
   * With a separate dashboard listener (`TELLTALE_DASHBOARD_PORT`): whether this request came in on
   * it. Requests on the other listener reach the ingest surface only. Default: one listener for all.
   */
  onDashboardListener?: (request: FastifyRequest) => boolean;
}

export interface RegisteredRoute {
  method: string;
  url: string;
}

const viewers = new WeakMap<FastifyRequest, Viewer>();
/** Who the request acts for, once the access hook let it through with credentials. */
export const viewerOf = (request: FastifyRequest): Viewer | undefined => viewers.get(request);

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);
const READ_METHODS = new Set(['GET', 'HEAD']);
/** Methods a cross-site page may send without changing anything: the CORS preflight among them. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Whether a `Host` header names this deployment: TELLTALE_PUBLIC_URL's host, or loopback on any port. */
export function hostAllowed(host: string | undefined, publicUrl: URL | undefined): boolean {
  if (host === undefined || host === '' || host.length > 300) return false;
  // A name, an IPv4 or a bracketed IPv6 address, and a port: nothing a URL parser would drop (`#`, `?`, `@`).
  if (!/^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/.test(host)) return false;
  let parsed: URL;
  try {
    parsed = new URL(`${publicUrl?.protocol ?? 'http:'}//${host}`);
  } catch {
    return false;
  }
  if (parsed.username !== '' || parsed.pathname !== '/') return false;
  if (LOOPBACK_NAMES.has(parsed.hostname)) return true;
  return publicUrl !== undefined && parsed.host === publicUrl.host;
}

/** `/login?next=…` for a page the visitor wanted; only a same-site path ever goes into `next`. */
export function loginRedirect(url: string): string {
  return url === '/' ? '/login' : `/login?next=${encodeURIComponent(url)}`;
}

const wantsJson = (request: FastifyRequest, path: string): boolean =>
  path.startsWith('/api/') ||
  path === '/metrics' ||
  !READ_METHODS.has(request.method) ||
  request.headers.authorization !== undefined;

function refuse(
  request: FastifyRequest,
  reply: FastifyReply,
  code: ErrorCode,
  status: number,
  message?: string,
) {
  const path = request.url.split('?')[0] ?? '';
  if (wantsJson(request, path))
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .send(errorBody(code, message ? { message } : {}));
  const title = status === 421 ? 'Wrong address' : status === 403 ? 'Not allowed' : 'Not found';
  return sendPage(reply, messagePage('Telltale', title, message ?? errorBody(code).error.message), status);
}

/**
 * The one gate in front of every route, registered on the root instance before any route: the host
 * allow-list, then credentials (API token or session cookie), then the role. Ingest routes pass
 * untouched; each checks its own app key. Returns the list of routes registered after it.
 */
export async function registerAccessControl(
  app: FastifyInstance,
  options: AccessControlOptions,
): Promise<{ routes: () => readonly RegisteredRoute[] }> {
  const { store, sessions, publicUrl } = options;
  const envToken = options.apiToken === undefined ? undefined : digest(options.apiToken);
  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  await app.register(fastifyCookie);

  const fromToken = async (token: string): Promise<Viewer | undefined> => {
    if (envToken !== undefined) {
      const given = digest(token);
      if (timingSafeEqual(given, envToken))
        return { email: 'TELLTALE_API_TOKEN', role: 'admin', via: 'env-token' };
    }
    const record = await store.findToken(token);
    return record && { email: `token ${record.name}`, role: record.role, via: 'token' };
  };

  const fromSession = async (request: FastifyRequest, reply: FastifyReply): Promise<Viewer | undefined> => {
    const id = request.cookies[SESSION_COOKIE];
    if (id === undefined || id === '') return undefined;
    const session = sessions.touch(id);
    if (session === undefined) return undefined;
    if (session.via === 'first-start') {
      // The start-up link's temporary admin ends as soon as any real user exists.
      if ((await store.users()).length === 0) return session;
      sessions.end(id);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return undefined;
    }
    const user = await store.findUser(session.email);
    if (session.via === 'sso') return { ...session, role: user?.role ?? 'viewer' };
    // A removed user, or a new password or role since sign-in, ends the session.
    if (user === undefined || user.updatedAt !== session.userStamp) {
      sessions.end(id);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return undefined;
    }
    return { email: session.email, role: user.role, via: session.via };
  };

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const route = request.routeOptions.url;
    // Only a matched ingest route is public: a path under /v1/ that matches nothing goes through the gate.
    if (route !== undefined && isIngestRequest(route, path)) return;
    if (options.onDashboardListener !== undefined && !options.onDashboardListener(request))
      return reply
        .code(404)
        .send(errorBody('TELLTALE_ERR_NOT_FOUND', { message: 'this port serves ingest only' }));
    // Before credentials: a page of another site that rebinds its name to 127.0.0.1 gets nothing.
    // Both the Host header and, behind a trusted proxy, X-Forwarded-Host must name this deployment.
    if (!hostAllowed(request.headers.host, publicUrl) || !hostAllowed(request.host, publicUrl))
      return refuse(request, reply, 'TELLTALE_ERR_HOST_NOT_ALLOWED', 421);
    if (isSignInRequest(route, path)) return;

    const authorization = request.headers.authorization;
    let viewer: Viewer | undefined;
    if (authorization !== undefined) {
      const match = /^Bearer ([\w.~+/=-]{1,512})$/i.exec(authorization);
      viewer = match ? await fromToken(match[1]!) : undefined;
      if (viewer === undefined)
        return refuse(
          request,
          reply,
          'TELLTALE_ERR_UNAUTHENTICATED',
          401,
          'the API token is unknown or revoked',
        );
    } else {
      viewer = await fromSession(request, reply);
    }
    if (viewer === undefined) {
      if (!wantsJson(request, path)) return reply.redirect(loginRedirect(request.url), 302);
      return refuse(request, reply, 'TELLTALE_ERR_UNAUTHENTICATED', 401);
    }
    // Forged requests (CSRF), for every route at once: a browser adds the cookie to another site's
    // post, never a bearer token, so token requests (scripts, the CLI) may come from anywhere.
    if (authorization === undefined && !SAFE_METHODS.has(request.method)) {
      const reason = crossSiteReason(request);
      if (reason !== undefined)
        return refuse(request, reply, 'TELLTALE_ERR_CROSS_SITE', 403, `refused: ${reason}`);
    }
    if (!READ_METHODS.has(request.method) && viewer.role !== 'admin')
      return refuse(request, reply, 'TELLTALE_ERR_FORBIDDEN', 403);
    viewers.set(request, viewer);
  });

  // The nav bar's "signed in as": layout.ts leaves a slot that only this hook knows how to fill.
  app.addHook('onSend', async (request, reply, payload) => {
    const viewer = viewers.get(request);
    const person = viewer !== undefined && viewer.via !== 'token' && viewer.via !== 'env-token';
    if (!person || typeof payload !== 'string' || !payload.includes(VIEWER_SLOT)) return payload;
    if (!String(reply.getHeader('content-type') ?? '').startsWith('text/html')) return payload;
    const badge = viewerBadge(viewer.email, viewer.role).value;
    return payload.replace(VIEWER_SLOT, () => badge);
  });
  return { routes: () => routes };
}
