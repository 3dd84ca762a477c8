import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  accessFilePath,
  INGEST_ROUTES,
  isIngestRequest,
  SIGN_IN_ROUTES,
  matchesRoute,
} from '@telltale/dashboards';
import { main, startDashboardsRole, startTelltale, type RunningTelltale } from '../src/index.js';
import { tempDir } from './helpers.js';

const ADMIN_TOKEN = 'test-admin-token-0123456789-abcdefghijkl';
const PASSWORD = 'correct horse battery';

/** Runs `telltale …` in-process with `input` on stdin (a pipe, like `echo pw | telltale users add`). */
async function telltale(args: string[], env: NodeJS.ProcessEnv, input = '') {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  stdin.end(input);
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await main(args, { stdout, stderr, env, stdin });
  return { code, out, err };
}

/** A concrete URL for a route pattern: each `:param` and `*` becomes a plausible segment. */
const concrete = (url: string): string => url.replace(/:[A-Za-z]+/g, 'x1').replace(/\*$/, 'x1');

const batch = () =>
  JSON.stringify({
    v: 1,
    batchId: `b-${Math.random()}`,
    sentAt: Date.now(),
    release: '1.0.0',
    environment: 'test',
    session: 's-1',
    events: [{ id: `e-${Math.random()}`, ts: Date.now(), kind: 'feature', name: 'export-csv' }],
  });

describe('access control of the composed server', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningTelltale | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await data.remove();
  });

  const start = async (env: NodeJS.ProcessEnv = {}) => {
    server = await startTelltale({ port: 0, dataDir: data.dir, logger: false, env });
    return server;
  };

  it('refuses an anonymous request on every registered route outside the ingest surface, every method', async () => {
    data = await tempDir('access-routes');
    const t = await start({ TELLTALE_API_TOKEN: ADMIN_TOKEN });
    const routes = t.routes();
    // The list is complete: as many route-method pairs as fastify's own route tree holds.
    const printed = [...t.app.printRoutes({ commonPrefix: false }).matchAll(/\(([A-Z, ]{1,80})\)/g)];
    expect(routes).toHaveLength(printed.reduce((n, match) => n + match[1]!.split(', ').length, 0));
    // The composed server really is in the list: pages, API, metrics, demo, ingest.
    for (const url of [
      '/',
      '/errors/:id',
      '/api/errors',
      '/api/mute-rules',
      '/metrics',
      '/demo',
      '/v1/batch',
      '/login',
    ])
      expect(routes.map((r) => r.url)).toContain(url);

    const guarded = routes.filter(
      (r) => !isIngestRequest(r.url, r.url) && !matchesRoute(SIGN_IN_ROUTES, r.url),
    );
    expect(guarded.length).toBeGreaterThan(25);
    for (const { method, url } of guarded) {
      const answer = await t.app.inject({ method: method as 'GET', url: concrete(url) });
      const where = `${method} ${url}`;
      if (answer.statusCode === 302) {
        expect(['GET', 'HEAD'], where).toContain(method);
        expect(answer.headers.location, where).toMatch(/^\/login(\?next=%2F|$)/);
      } else {
        expect(answer.statusCode, where).toBe(401);
        if (method !== 'HEAD') expect(answer.json().error.code, where).toBe('TELLTALE_ERR_UNAUTHENTICATED');
      }
    }

    // A viewer's token reads, but every state-changing route outside ingest and sign-in refuses it.
    const made = await telltale(
      ['tokens', 'create', 'grafana', '--role', 'viewer', '--data-dir', data.dir],
      {},
    );
    const viewerToken = /(tt_api_\S+)/.exec(made.out)![1]!;
    const changing = guarded.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
    expect(changing.map((r) => r.url)).toContain('/api/mute-rules');
    for (const { method, url } of changing) {
      const answer = await t.app.inject({
        method: method as 'POST',
        url: concrete(url),
        headers: { authorization: `Bearer ${viewerToken}`, 'content-type': 'application/json' },
        payload: '{}',
      });
      expect(answer.statusCode, `${method} ${url}`).toBe(403);
      expect(answer.json().error.code).toBe('TELLTALE_ERR_FORBIDDEN');
    }
    const read = await t.app.inject({
      url: '/api/errors',
      headers: { authorization: `Bearer ${viewerToken}` },
    });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toHaveProperty('groups');
  });

  it('keeps the ingest surface open without a session, from any Host', async () => {
    data = await tempDir('access-ingest');
    const t = await start({ TELLTALE_API_TOKEN: ADMIN_TOKEN });
    expect(INGEST_ROUTES).toEqual(expect.arrayContaining(['/v1/batch', '/sdk/*', '/healthz', '/readyz']));
    const sent = await fetch(`${t.url}/v1/batch?key=${t.demoKey}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: batch(),
    });
    expect(sent.status).toBe(202);
    expect((await fetch(`${t.url}/sdk/telltale.min.js`)).status).toBe(200);
    for (const url of ['/healthz', '/readyz']) {
      const answer = await t.app.inject({ url, headers: { host: 'rebound.evil.example' } });
      expect(answer.statusCode, url).toBe(200);
    }
    // Not ingest: refused for a foreign Host even with the admin token (DNS rebinding).
    const rebound = await t.app.inject({
      url: '/api/errors',
      headers: { host: 'rebound.evil.example:8080', authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(rebound.statusCode).toBe(421);
    expect(rebound.json().error.code).toBe('TELLTALE_ERR_HOST_NOT_ALLOWED');
    const page = await t.app.inject({ url: '/login', headers: { host: 'rebound.evil.example' } });
    expect(page.statusCode).toBe(421);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    for (const host of ['localhost:9999', '127.0.0.1', '[::1]:8080']) {
      const answer = await t.app.inject({
        url: '/api/errors',
        headers: { host, authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(answer.statusCode, host).toBe(200);
    }
  });

  it('answers the public URL’s host, and nothing else that is not loopback', async () => {
    data = await tempDir('access-public-url');
    const t = await start({
      TELLTALE_API_TOKEN: ADMIN_TOKEN,
      TELLTALE_PUBLIC_URL: 'https://telltale.example.com',
    });
    const get = (host: string) =>
      t.app.inject({ url: '/api/stats', headers: { host, authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect((await get('telltale.example.com')).statusCode).toBe(200);
    expect((await get('telltale.example.com:443')).statusCode).toBe(200);
    expect((await get('telltale.example.com:8443')).statusCode).toBe(421);
    expect((await get('other.example.com')).statusCode).toBe(421);
  });

  it('users sign in with a password, get a strict cookie, see themselves in the nav, and sign out', async () => {
    data = await tempDir('access-users');
    const env = { TELLTALE_DATA_DIR: data.dir };
    const added = await telltale(
      ['users', 'add', 'Admin@Example.com', '--password-stdin'],
      env,
      `${PASSWORD}\n`,
    );
    expect(added).toMatchObject({ code: 0, out: 'added admin@example.com (admin)\n' });
    expect((await telltale(['users', 'add', 'viewer@example.com'], env, `${PASSWORD}\n`)).out).toBe(
      'added viewer@example.com (viewer)\n',
    );
    const file = accessFilePath(data.dir);
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
    expect(((await stat(path.dirname(file))).mode & 0o777).toString(8)).toBe('700');
    expect(await readFile(file, 'utf8')).not.toContain(PASSWORD);
    expect((await telltale(['users', 'add', 'short@example.com'], env, 'short\n')).code).toBe(2);
    expect((await telltale(['users', 'list'], env)).out).toMatch(
      /admin@example\.com\s+admin[\s\S]*viewer@example\.com\s+viewer/,
    );

    const t = await start();
    expect(t.loginLink).toBeUndefined(); // users exist: no first-start link
    const page = await fetch(`${t.url}/errors/abc?app=web`, { redirect: 'manual' });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login?next=%2Ferrors%2Fabc%3Fapp%3Dweb');
    const loginPage = await fetch(`${t.url}/login?next=/features`);
    expect(loginPage.headers.get('content-security-policy')).toContain("default-src 'self'");
    const loginHtml = await loginPage.text();
    expect(loginHtml).toContain('name="password"');
    expect(loginHtml).not.toContain('<script');
    expect(loginHtml).not.toContain('Sign in with SSO');

    const login = (email: string, password: string, next = '/features') =>
      fetch(`${t.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email, password, next }).toString(),
      });
    const wrong = await login('admin@example.com', 'not the password');
    const unknown = await login('nobody@example.com', PASSWORD);
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const message = (text: string) => /role="alert">([^<]*)</.exec(text)?.[1];
    expect(message(await wrong.text())).toBe('Wrong email or password.');
    expect(message(await unknown.text())).toBe('Wrong email or password.');
    expect((await login('admin@example.com', PASSWORD, '//evil.example/')).headers.get('location')).toBe('/');

    const ok = await login('ADMIN@example.com', PASSWORD);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/features');
    const setCookie = ok.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^telltale_session=[\w-]{40,};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).not.toContain('Secure'); // plain http on loopback
    const cookie = setCookie.split(';')[0]!;
    // The account page, not `/`: it shows the same layout and depends on no event data.
    const home = await fetch(`${t.url}/account`, { headers: { cookie }, redirect: 'manual' });
    expect(home.status).toBe(200);
    const homeHtml = await home.text();
    expect(homeHtml).toContain('admin@example.com');
    expect(homeHtml).toContain('action="/logout"');
    expect((await fetch(`${t.url}/metrics`, { headers: { cookie } })).status).toBe(200);

    const out = await fetch(`${t.url}/logout`, { method: 'POST', headers: { cookie }, redirect: 'manual' });
    expect(out.status).toBe(303);
    expect((await fetch(`${t.url}/account`, { headers: { cookie }, redirect: 'manual' })).status).toBe(302);

    // A viewer reads but cannot change state; a new password ends the sessions made before it.
    const viewer = (await login('viewer@example.com', PASSWORD)).headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${t.url}/api/errors`, { headers: { cookie: viewer } })).status).toBe(200);
    const mute = await fetch(`${t.url}/api/mute-rules`, {
      method: 'POST',
      headers: { cookie: viewer, 'content-type': 'application/json' },
      body: JSON.stringify({ message: '*' }),
    });
    expect(mute.status).toBe(403);
    expect(((await mute.json()) as { error: { code: string } }).error.code).toBe('TELLTALE_ERR_FORBIDDEN');
    expect(
      (await fetch(`${t.url}/api/mute-rules`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }))
        .status,
    ).toBe(401);
    expect(
      (await telltale(['users', 'passwd', 'viewer@example.com'], env, 'another long password\n')).code,
    ).toBe(0);
    expect((await fetch(`${t.url}/api/errors`, { headers: { cookie: viewer } })).status).toBe(401);
    const again = (await login('viewer@example.com', 'another long password')).headers
      .get('set-cookie')!
      .split(';')[0]!;
    expect((await fetch(`${t.url}/api/errors`, { headers: { cookie: again } })).status).toBe(200);
    expect((await telltale(['users', 'remove', 'viewer@example.com'], env)).code).toBe(0);
    expect((await fetch(`${t.url}/api/errors`, { headers: { cookie: again } })).status).toBe(401);
  });

  it('prints a one-time first-start link while no user exists; it makes the first admin', async () => {
    data = await tempDir('access-first');
    const t = await start();
    expect(t.loginLink).toMatch(new RegExp(`^${t.url}/login/token/[\\w-]{30,}$`));
    expect((await fetch(`${t.url}/login`)).ok).toBe(true);
    expect(await (await fetch(`${t.url}/login`)).text()).toContain('one-time link');
    const first = await fetch(t.loginLink!, { redirect: 'manual' });
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/account');
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(t.loginLink!, { redirect: 'manual' })).status).toBe(403); // single use
    expect((await fetch(`${t.url}/login/token/guessed-token`, { redirect: 'manual' })).status).toBe(403);

    const account = await fetch(`${t.url}/account`, { headers: { cookie } });
    expect(await account.text()).toContain('Create your admin account');
    const created = await fetch(`${t.url}/account/users`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        email: 'founder@example.com',
        password: PASSWORD,
        role: 'admin',
      }).toString(),
    });
    expect(created.status).toBe(303);
    const own = created.headers.get('set-cookie')!.split(';')[0]!;
    expect(created.headers.get('location')).toBe('/');
    expect(await (await fetch(`${t.url}/account`, { headers: { cookie: own } })).text()).toContain(
      'Signed in as <b>founder@example.com</b> (admin)',
    );
    // The one-time session ended with it.
    expect((await fetch(`${t.url}/account`, { headers: { cookie }, redirect: 'manual' })).status).toBe(302);
    expect((await telltale(['users', 'list', '--data-dir', data.dir], {})).out).toMatch(
      /founder@example\.com\s+admin/,
    );

    await t.close();
    server = undefined;
    const restarted = await start();
    expect(restarted.loginLink).toBeUndefined();
  });

  it('API tokens: made by the CLI, shown once, open /api and /metrics, revocable while running', async () => {
    data = await tempDir('access-tokens');
    const env = { TELLTALE_DATA_DIR: data.dir };
    const t = await start({ TELLTALE_API_TOKEN: ADMIN_TOKEN });
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    expect(
      (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status,
    ).toBe(200);

    const made = await telltale(['tokens', 'create', 'deploy-bot', '--role', 'admin'], env);
    const token = /(tt_api_[\w-]+)/.exec(made.out)![1]!;
    const listed = await telltale(['tokens', 'list'], env);
    expect(listed.out).toMatch(/deploy-bot\s+admin/);
    expect(listed.out).not.toContain(token);
    expect(await readFile(accessFilePath(data.dir), 'utf8')).not.toContain(token);

    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${t.url}/metrics`, { headers: auth })).status).toBe(200);
    const rule = await fetch(`${t.url}/api/mute-rules`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ message: '*ResizeObserver*' }),
    });
    expect(rule.status).toBe(201);
    // The CLI sends the token it is given.
    const viaCli = await telltale(['mute', 'list', '--endpoint', t.url], { TELLTALE_TOKEN: token });
    expect(viaCli.out).toContain('*ResizeObserver*');
    expect((await telltale(['mute', 'list', '--endpoint', t.url], {})).code).toBe(1);

    expect((await telltale(['tokens', 'revoke', 'deploy-bot'], env)).code).toBe(0);
    const revoked = await fetch(`${t.url}/api/errors`, { headers: auth });
    expect(revoked.status).toBe(401);
  });
});

describe('access control of `telltale dashboards` (the dashboards as a process of their own)', () => {
  it('refuses an anonymous request on every route outside ingest and sign-in; /healthz and /readyz stay open', async () => {
    const data = await tempDir('access-dashboards-role');
    const t = await startDashboardsRole({
      port: 0,
      logger: false,
      env: { TELLTALE_DATA_DIR: data.dir, TELLTALE_API_TOKEN: ADMIN_TOKEN },
    });
    try {
      const routes = t.routes();
      const printed = [...t.app.printRoutes({ commonPrefix: false }).matchAll(/\(([A-Z, ]{1,80})\)/g)];
      expect(routes).toHaveLength(printed.reduce((n, match) => n + match[1]!.split(', ').length, 0));
      for (const url of [
        '/',
        '/errors/:id',
        '/api/errors',
        '/api/mute-rules',
        '/metrics',
        '/login',
        '/healthz',
      ])
        expect(routes.map((r) => r.url)).toContain(url);
      // No ingest here: the collector is another process.
      expect(routes.map((r) => r.url)).not.toContain('/v1/batch');
      const guarded = routes.filter(
        (r) => !isIngestRequest(r.url, r.url) && !matchesRoute(SIGN_IN_ROUTES, r.url),
      );
      expect(guarded.length).toBeGreaterThan(25);
      for (const { method, url } of guarded) {
        const answer = await t.app.inject({ method: method as 'GET', url: concrete(url) });
        const where = `${method} ${url}`;
        if (answer.statusCode === 302) {
          expect(['GET', 'HEAD'], where).toContain(method);
          expect(answer.headers.location, where).toMatch(/^\/login(\?next=%2F|$)/);
        } else expect(answer.statusCode, where).toBe(401);
      }
      for (const url of ['/healthz', '/readyz']) {
        const answer = await t.app.inject({ url, headers: { host: 'rebound.evil.example' } });
        expect(answer.statusCode, url).toBe(200);
      }
      const metrics = await t.app.inject({
        url: '/metrics',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(metrics.statusCode).toBe(200);
      expect(metrics.body).toContain('telltale_process_cpu_seconds_total{role="dashboards"}');
    } finally {
      await t.close();
      await data.remove();
    }
  });
});
