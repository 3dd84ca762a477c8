/**
 * Which routes answer without credentials. Everything else needs a session or a token: the access
 * hook (access-hook.ts) checks every request against these lists, so a new route is private by default.
 *
 * Entries are route patterns as registered with fastify; a trailing `*` matches any rest of the path.
 */
export const INGEST_ROUTES: readonly string[] = [
  // One line per route, never a prefix: a new route under /v1/ is private until someone adds it here.
  '/v1/batch', // SDK batches: the app's ingest key
  '/v1/attachments', // bug-report screenshots and files: the app's ingest key
  '/v1/logs', // server logs: the app's secret key
  '/v1/releases/:release/sourcemaps', // source map uploads: the app's secret key
  '/otlp/v1/logs', // OTLP/HTTP logs (OTEL_EXPORTER_OTLP_ENDPOINT=http://<telltale>/otlp): the app's secret key
  '/api/:projectId(^\\d{1,16}$)/envelope/', // Sentry SDKs (digits only; the route checks the DSN's key)
  '/api/:projectId(^\\d{1,16}$)/store/',
  '/sdk/*', // the SDK bundle's static files that apps load (GET only; cli/test/public-surface.test.ts)
  '/healthz',
  '/readyz',
];

/** Sign-in itself, and what a page shown before sign-in loads: the stylesheet and the theme script. */
export const SIGN_IN_ROUTES: readonly string[] = [
  '/login',
  '/login/token/:token',
  '/logout',
  '/auth/oidc/*',
  '/assets/dashboard.css',
  '/assets/theme.js',
];

/** A `:name` segment takes any non-empty value; `:name(^regex$)` only values its pattern accepts. */
function param(segment: string, value: string): boolean {
  const open = segment.indexOf('(');
  return value !== '' && (open === -1 || new RegExp(segment.slice(open + 1, -1)).test(value));
}

/** True when `path` (a route pattern, or a request path without its query) is one of `patterns`. */
export function matchesRoute(patterns: readonly string[], path: string): boolean {
  return patterns.some((pattern) => {
    if (pattern.endsWith('*')) return path.startsWith(pattern.slice(0, -1));
    const want = pattern.split('/');
    const have = path.split('/');
    return (
      want.length === have.length &&
      want.every((segment, i) => segment === have[i] || (segment.startsWith(':') && param(segment, have[i]!)))
    );
  });
}

/**
 * Whether a request belongs to the ingest surface. The matched route decides when there is one (so an
 * encoded path cannot pose as ingest); a request that matched no route is judged by its path, which
 * only ever reaches a 404.
 */
export function isIngestRequest(route: string | undefined, path: string): boolean {
  return matchesRoute(INGEST_ROUTES, route ?? path);
}

export function isSignInRequest(route: string | undefined, path: string): boolean {
  return matchesRoute(SIGN_IN_ROUTES, route ?? path);
}
