import type { FastifyInstance, FastifyRequest } from 'fastify';
import { registerAccessControl, type RegisteredRoute } from './access-hook.js';
import { openAccessStore, type AccessStore } from './access-store.js';
import type { OidcSettings } from './oidc-state.js';
import { createFirstStartToken, createSessionStore, type SessionLimits } from './sessions.js';
import { createLoginLimiter, DEFAULT_LOGIN_LIMIT, type LoginLimitSettings } from './sign-in-limits.js';
import { createSessionStarter, signInRoutes } from './sign-in-routes.js';

export interface AuthOptions {
  /** Users and API tokens live in `<dataDir>/auth/access.json`. */
  dataDir: string;
  /** `TELLTALE_API_TOKEN`: a fixed admin token. */
  apiToken?: string | undefined;
  /** `TELLTALE_PUBLIC_URL`: the one non-loopback Host the dashboards answer. */
  publicUrl?: URL | undefined;
  session?: Partial<SessionLimits>;
  /**
   * Failed sign-ins allowed per (account, address) pair, per address and per account; default 10,
   * 50 and 100 per 15 minutes.
   */
  loginLimit?: LoginLimitSettings;
  /** Life of the first-start link; default 24 h. */
  firstStartTtlMs?: number;
  /** Single sign-on (TELLTALE_OIDC_*): adds /auth/oidc/login and /auth/oidc/callback. */
  oidc?: OidcSettings | undefined;
  onDashboardListener?: (request: FastifyRequest) => boolean;
  site?: string;
}

export interface RegisteredAuth {
  store: AccessStore;
  /** Every route registered after the access hook, for the route-enumeration test and start-up checks. */
  routes(): readonly RegisteredRoute[];
  /** The first-start link's token, when no user exists; print it as `<url>/login/token/<token>`. */
  firstStartToken: string | undefined;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { idleMs: 12 * 3600_000, maxAgeMs: 7 * 24 * 3600_000 };

/**
 * Access control for the whole instance: call it on the root instance before any route, so its
 * hook sees every request; then register the collector, dashboards and anything else.
 */
export async function registerAuth(app: FastifyInstance, options: AuthOptions): Promise<RegisteredAuth> {
  const store = openAccessStore(options.dataDir);
  const sessions = createSessionStore({ ...DEFAULT_SESSION_LIMITS, ...options.session });
  const { routes } = await registerAccessControl(app, {
    store,
    sessions,
    apiToken: options.apiToken,
    publicUrl: options.publicUrl,
    ...(options.onDashboardListener ? { onDashboardListener: options.onDashboardListener } : {}),
  });
  const firstStart =
    (await store.users()).length === 0
      ? createFirstStartToken(options.firstStartTtlMs ?? 24 * 3600_000)
      : undefined;
  const limits = options.loginLimit ?? DEFAULT_LOGIN_LIMIT;
  const limiter = createLoginLimiter(limits);
  await app.register(signInRoutes, {
    store,
    sessions,
    limiter,
    limits,
    firstStart,
    sso: options.oidc !== undefined,
    ...(options.site ? { site: options.site } : {}),
  });
  const oidc = options.oidc;
  if (oidc !== undefined) {
    // Loaded only when configured: nobody else pays for the OpenID client.
    const { registerOidcRoutes } = await import('./oidc.js');
    await app.register(async (scope) =>
      registerOidcRoutes(scope, { settings: oidc, startSession: createSessionStarter(store, sessions) }),
    );
  }
  return { store, routes, firstStartToken: firstStart?.token };
}
