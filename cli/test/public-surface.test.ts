import { afterEach, describe, expect, it } from 'vitest';
import { INGEST_ROUTES, isIngestRequest, matchesRoute, SIGN_IN_ROUTES } from '@telltale/dashboards';
import { startTelltale, type RunningTelltale } from '../src/index.js';
import { tempDir } from './helpers.js';

/**
 * Every route the composed server answers without credentials, by method. A route that lands here
 * without being in this list fails the test: making a route public is a decision, written down here
 * and in dashboards/src/auth/surface.ts, never the side effect of a prefix.
 */
const PUBLIC_ROUTES = [
  'POST /v1/batch',
  'OPTIONS /v1/batch',
  'POST /v1/attachments',
  'OPTIONS /v1/attachments',
  'POST /v1/logs',
  'POST /v1/releases/:release/sourcemaps',
  'POST /otlp/v1/logs',
  'POST /api/:projectId(^\\d{1,16}$)/envelope/',
  'OPTIONS /api/:projectId(^\\d{1,16}$)/envelope/',
  'POST /api/:projectId(^\\d{1,16}$)/store/',
  'OPTIONS /api/:projectId(^\\d{1,16}$)/store/',
  'GET /healthz',
  'HEAD /healthz',
  'GET /readyz',
  'HEAD /readyz',
  'GET /login',
  'HEAD /login',
  'POST /login',
  'GET /login/token/:token',
  'POST /logout',
  'GET /assets/dashboard.css',
  'HEAD /assets/dashboard.css',
  'GET /assets/theme.js',
  'HEAD /assets/theme.js',
];

describe('the public surface of the composed server', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningTelltale | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await data.remove();
  });

  it('names every route that answers without credentials; a new /v1/ route is private', async () => {
    data = await tempDir('public-surface');
    server = await startTelltale({ port: 0, dataDir: data.dir, logger: false, env: {} });
    const routes = server.routes();
    // The onRoute list is fastify's whole route tree, so nothing registered escapes the check.
    const printed = [...server.app.printRoutes({ commonPrefix: false }).matchAll(/\(([A-Z, ]{1,80})\)/g)];
    expect(routes).toHaveLength(printed.reduce((n, match) => n + match[1]!.split(', ').length, 0));

    const open = routes.filter((r) => isIngestRequest(r.url, r.url) || matchesRoute(SIGN_IN_ROUTES, r.url));
    // The SDK's static files sit under one prefix: each is a file to download, nothing else.
    const sdk = open.filter((r) => r.url.startsWith('/sdk/'));
    expect(sdk.map((r) => r.url)).toContain('/sdk/telltale.min.js');
    for (const { method, url } of sdk) expect(['GET', 'HEAD'], `${method} ${url}`).toContain(method);
    const named = open.filter((r) => !r.url.startsWith('/sdk/')).map((r) => `${r.method} ${r.url}`);
    expect(named.sort()).toEqual([...PUBLIC_ROUTES].sort());

    // Only /sdk/* (and /auth/oidc/* in SIGN_IN_ROUTES) are prefixes; everything else is one route.
    expect(INGEST_ROUTES.filter((pattern) => pattern.endsWith('*'))).toEqual(['/sdk/*']);
    // A route added under /v1/ later is behind the gate until someone names it.
    expect(isIngestRequest('/v1/exports', '/v1/exports')).toBe(false);
    expect(isIngestRequest('/v1/batch/admin', '/v1/batch/admin')).toBe(false);
  });
});
