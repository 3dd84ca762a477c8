import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from '@telltale/protocol';
import { sendPage } from '../http/pages.js';
import { acceptForms, crossSiteReason } from '../http/same-site.js';
import { messagePage } from '../views/layout.js';
import { viewerOf } from './access-hook.js';
import { isEmail, normalizeEmail, ROLES, type AccessStore, type Role } from './access-store.js';
import { decoyHash, hashPassword, passwordProblem, verifyPassword } from './password.js';
import { SESSION_COOKIE, type FirstStartToken, type SessionStore, type Viewer } from './sessions.js';
import { signInKeys, type LoginLimiter, type LoginLimitSettings } from './sign-in-limits.js';
import { accountPage, loginPage } from './sign-in-views.js';

export interface SignInOptions {
  store: AccessStore;
  sessions: SessionStore;
  limiter: LoginLimiter;
  limits: LoginLimitSettings;
  /** The one-time start-up link's token, when no user existed at start. */
  firstStart?: FirstStartToken | undefined;
  /** Show "Sign in with SSO" (the OIDC routes are registered beside these). */
  sso?: boolean;
  site?: string;
}

type Form = Record<string, string> | undefined;

/**
 * A same-site path to go to after signing in; anything else (`//evil`, `https:…`, `/\\`) becomes `/`.
 * Checked again after URL normalisation: `/.//evil.com` normalises to `//evil.com`, another site.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > 2048) return '/';
  const offSite = (path: string) => !path.startsWith('/') || path.startsWith('//') || path.startsWith('/\\');
  if (offSite(next)) return '/';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must not pass
  if (/[\u0000-\u001f\\]/.test(next)) return '/';
  const base = 'http://telltale.invalid';
  try {
    const url = new URL(next, base);
    const path = `${url.pathname}${url.search}${url.hash}`;
    return url.origin === base && !offSite(path) ? path : '/';
  } catch {
    return '/';
  }
}

/** Sets the session cookie: HttpOnly, SameSite=Strict, Secure when the request came over https. */
function setSessionCookie(request: FastifyRequest, reply: FastifyReply, sessions: SessionStore, id: string) {
  reply.setCookie(SESSION_COOKIE, id, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: request.protocol === 'https',
    maxAge: sessions.cookieMaxAgeSeconds(),
  });
}

/**
 * Starts a session for a verified identity; the OIDC callback calls it (role: the user's if the
 * email is a known user, else viewer).
 */
export function createSessionStarter(store: AccessStore, sessions: SessionStore) {
  return async (
    request: FastifyRequest,
    reply: FastifyReply,
    identity: { email: string; name?: string },
  ): Promise<void> => {
    const email = normalizeEmail(identity.email);
    const user = await store.findUser(email);
    const viewer: Viewer = { email, role: user?.role ?? 'viewer', via: 'sso' };
    setSessionCookie(request, reply, sessions, sessions.create(viewer, user?.updatedAt));
  };
}

/** Login, logout, the first-start link, and the account page (an admin adds people there). */
export async function signInRoutes(app: FastifyInstance, options: SignInOptions): Promise<void> {
  const { store, sessions, limiter, limits, firstStart } = options;
  const site = options.site ?? 'Telltale';
  acceptForms(app);

  const showLogin = async (
    reply: FastifyReply,
    next: string,
    extra: { problem?: string; email?: string } = {},
    status = 200,
  ) =>
    sendPage(
      reply,
      loginPage({
        site,
        next,
        sso: options.sso === true,
        noUsers: (await store.users()).length === 0,
        ...extra,
      }),
      status,
    );

  // A forged form post from another site must not sign anyone in or out (the hook lets sign-in through).
  const crossSite = (request: FastifyRequest, reply: FastifyReply) => {
    const reason = crossSiteReason(request);
    return reason === undefined
      ? undefined
      : reply.code(403).send(errorBody('TELLTALE_ERR_CROSS_SITE', { message: `refused: ${reason}` }));
  };

  app.get<{ Querystring: { next?: string } }>('/login', async (request, reply) =>
    showLogin(reply, safeNext(request.query.next)),
  );

  app.post<{ Body: Form }>('/login', async (request, reply) => {
    if (crossSite(request, reply) !== undefined) return reply;
    const form = request.body ?? {};
    const email = normalizeEmail(form.email ?? '').slice(0, 254);
    const next = safeNext(form.next);
    const { all: keys, account } = signInKeys(email, request.ip, limits);
    const wait = limiter.retryAfterSeconds(keys);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      return showLogin(
        reply,
        next,
        { email, problem: `Too many failed sign-ins. Try again in ${Math.ceil(wait / 60)} minutes.` },
        429,
      );
    }
    // Counted before the slow password check, so a burst of parallel guesses meets the limit too.
    const reached = limiter.fail(keys);
    const user = email === '' ? undefined : await store.findUser(email);
    // The same work and the same words whether or not the email is known: no user enumeration.
    const ok = await verifyPassword(form.password ?? '', user?.passwordHash ?? (await decoyHash()));
    if (user === undefined || !ok) {
      // The one limit that refuses the right password from everywhere: someone should hear of it.
      if (reached.includes(account))
        request.log.warn(
          { account: user === undefined ? '(no such user)' : email, failures: account.max },
          'sign-in: an account reached its ceiling of failed sign-ins from all addresses; refused from everywhere until the window ends',
        );
      return showLogin(reply, next, { email, problem: 'Wrong email or password.' }, 401);
    }
    limiter.refund(keys);
    const id = sessions.create({ email: user.email, role: user.role, via: 'password' }, user.updatedAt);
    setSessionCookie(request, reply, sessions, id);
    return reply.redirect(next, 303);
  });

  // No HEAD route: a link checker's HEAD must not use up the one-time link.
  app.get<{ Params: { token: string } }>(
    '/login/token/:token',
    { exposeHeadRoute: false },
    async (request, reply) => {
      const usable = firstStart !== undefined && (await store.users()).length === 0;
      if (!usable || !firstStart.redeem(request.params.token))
        return sendPage(
          reply,
          messagePage(
            site,
            'Link not valid',
            'This start-up link was used, has expired, or a user exists already. Sign in, or run: telltale users add you@example.com',
          ),
          403,
        );
      const id = sessions.create({ email: 'first admin', role: 'admin', via: 'first-start' });
      setSessionCookie(request, reply, sessions, id);
      return reply.redirect('/account', 303);
    },
  );

  app.post('/logout', async (request, reply) => {
    if (crossSite(request, reply) !== undefined) return reply;
    const id = request.cookies[SESSION_COOKIE];
    if (id !== undefined) sessions.end(id);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.redirect('/login', 303);
  });

  const showAccount = async (
    request: FastifyRequest,
    reply: FastifyReply,
    extra: { problem?: string; done?: string } = {},
    status = 200,
  ) => {
    const viewer = viewerOf(request)!;
    const users = viewer.role === 'admin' && viewer.via !== 'first-start' ? await store.users() : undefined;
    return sendPage(reply, accountPage({ site, viewer, ...(users ? { users } : {}), ...extra }), status);
  };

  // Behind the access hook: a session or token is needed, and POST needs an admin.
  app.get('/account', async (request, reply) => showAccount(request, reply));

  // Cross-site posts with the session cookie are refused by the access hook, like every route's.
  app.post<{ Body: Form }>('/account/users', async (request, reply) => {
    const viewer = viewerOf(request)!;
    const form = request.body ?? {};
    const email = normalizeEmail(form.email ?? '');
    const role = (form.role ?? 'viewer') as Role;
    const password = form.password ?? '';
    const problem = !isEmail(email)
      ? 'Give an email address.'
      : !ROLES.includes(role)
        ? 'The role is admin or viewer.'
        : passwordProblem(password);
    if (problem !== undefined) return showAccount(request, reply, { problem: `Not added: ${problem}` }, 400);
    if ((await store.findUser(email)) !== undefined)
      return showAccount(
        request,
        reply,
        { problem: `${email} exists already; change a password with telltale users passwd.` },
        409,
      );
    const now = new Date().toISOString();
    const passwordHash = await hashPassword(password);
    // Checked again inside the serialised update: two parallel posts cannot both pass the checks above.
    let refused: string | undefined;
    await store.update((file) => {
      if (viewer.via === 'first-start' && file.users.length > 0)
        refused = 'the first admin exists already; sign in.';
      else if (file.users.some((user) => user.email === email)) refused = `${email} exists already.`;
      else file.users.push({ email, role, passwordHash, createdAt: now, updatedAt: now });
      return refused === undefined;
    });
    if (refused !== undefined) return showAccount(request, reply, { problem: `Not added: ${refused}` }, 409);
    if (viewer.via === 'first-start') {
      // The one-time session becomes the new admin's own.
      const old = request.cookies[SESSION_COOKIE];
      if (old !== undefined) sessions.end(old);
      setSessionCookie(request, reply, sessions, sessions.create({ email, role, via: 'password' }, now));
      return reply.redirect('/', 303);
    }
    return showAccount(request, reply, { done: `Added ${email} (${role}).` });
  });
}
