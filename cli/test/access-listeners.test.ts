import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { main, resolveServerConfig, startTelltale, type RunningTelltale } from '../src/index.js';
import { tempDir } from './helpers.js';

const ADMIN_TOKEN = 'listener-admin-token-0123456789-abcdefgh';
const DEMO_KEY = 'tt_demo_fixed_key_for_tests_0001';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

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
const send = (base: string, key: string) =>
  fetch(`${base}/v1/batch?key=${key}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: batch(),
  });

const REPO = fileURLToPath(new URL('../..', import.meta.url));

describe('the quick start: `telltale start` prints a one-time login link', () => {
  it('prints the link on first start; the link signs the browser in as the first admin', async () => {
    const data = await tempDir('quick-start');
    const child = spawn(process.execPath, [path.join(REPO, 'cli/bin/telltale.js'), 'start'], {
      cwd: data.dir, // the default apps file (./telltale.config.json) is absent there
      // A clean slate: no TELLTALE_* from the caller.
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TELLTALE_'))),
        TELLTALE_PORT: '0',
        TELLTALE_DATA_DIR: data.dir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const link = await new Promise<string>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`telltale start exited (${code}): ${out}`)));
        child.stdout.on('data', () => {
          const found = /^ {2}(http:\/\/127\.0\.0\.1:\d+\/login\/token\/[\w-]+)$/m.exec(out)?.[1];
          if (found) resolve(found);
        });
      });
      expect(out).toContain('No user yet. Open this one-time link');
      const signedIn = await fetch(link, { redirect: 'manual' });
      expect(signedIn.status).toBe(303);
      expect(signedIn.headers.get('set-cookie')).toMatch(/^telltale_session=/);
    } finally {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await data.remove();
    }
  });
});

describe('listeners and the demo app', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningTelltale | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await data.remove();
  });

  it('TELLTALE_DASHBOARD_PORT: dashboards, API, login and /metrics move there; the main port keeps ingest only', async () => {
    data = await tempDir('listeners');
    server = await startTelltale({
      port: 0,
      dataDir: data.dir,
      logger: false,
      env: { TELLTALE_API_TOKEN: ADMIN_TOKEN, TELLTALE_DASHBOARD_PORT: '0', TELLTALE_DEMO_KEY: DEMO_KEY },
    });
    const { url, dashboardUrl } = server;
    expect(dashboardUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(dashboardUrl).not.toBe(url);
    expect(server.loginLink?.startsWith(`${dashboardUrl}/login/token/`)).toBe(true);

    // Main port: ingest answers; everything else is not there, whatever the credentials.
    expect((await send(url, DEMO_KEY)).status).toBe(202);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/sdk/telltale.min.js`)).status).toBe(200);
    for (const path of ['/api/stats', '/metrics', '/login', '/', '/demo']) {
      const answer = await fetch(`${url}${path}`, { headers: auth, redirect: 'manual' });
      expect(answer.status, path).toBe(404);
    }

    // Dashboard port: the same routes behind the same access hook.
    expect((await fetch(`${dashboardUrl}/api/stats`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${dashboardUrl}/metrics`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${dashboardUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${dashboardUrl}/login`)).status).toBe(200);
    expect((await fetch(`${dashboardUrl}/`, { redirect: 'manual' })).status).toBe(302);

    await server.close();
    server = undefined;
    await expect(fetch(`${dashboardUrl}/login`)).rejects.toThrow();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('on a non-loopback host the demo app is off unless TELLTALE_DEMO=1: /demo is 404 and its key 401', async () => {
    data = await tempDir('demo-off');
    const env = {
      TELLTALE_API_TOKEN: ADMIN_TOKEN,
      TELLTALE_DEMO_KEY: DEMO_KEY,
      TELLTALE_CONFIG: path.join(data.dir, 'telltale.config.json'),
    };
    // With the demo off, a public server with no app of its own would receive nothing: it says so.
    await expect(
      startTelltale({
        host: '0.0.0.0',
        port: 0,
        dataDir: data.dir,
        logger: false,
        env: { TELLTALE_DEMO_KEY: DEMO_KEY },
      }),
    ).rejects.toThrow(/the demo app is off. Add an app \(telltale apps add web\) or set TELLTALE_DEMO=1/);
    expect(
      (
        await main(['apps', 'add', 'web'], { stdout: new PassThrough(), stderr: new PassThrough(), env })
      ).valueOf(),
    ).toBe(0);
    server = await startTelltale({ host: '0.0.0.0', port: 0, dataDir: data.dir, logger: false, env });
    const local = server.url.replace('0.0.0.0', '127.0.0.1');
    expect(server.demoKey).toBeUndefined();
    expect((await fetch(`${local}/demo`, { headers: auth })).status).toBe(404);
    const refused = await send(local, DEMO_KEY);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
      'TELLTALE_ERR_UNAUTHORIZED',
    );
    expect((await fetch(`${local}/sdk/telltale.min.js`)).status).toBe(200); // apps still load the SDK
    await server.close();

    server = await startTelltale({
      host: '0.0.0.0',
      port: 0,
      dataDir: data.dir,
      logger: false,
      env: { ...env, TELLTALE_DEMO: '1' },
    });
    const on = server.url.replace('0.0.0.0', '127.0.0.1');
    expect(server.demoKey).toBe(DEMO_KEY);
    expect((await send(on, DEMO_KEY)).status).toBe(202);
    expect((await fetch(`${on}/demo`, { headers: auth })).status).toBe(200);
    // Still private: the demo page hands out a key, so it needs a session like any page.
    expect((await fetch(`${on}/demo`, { redirect: 'manual' })).status).toBe(302);
  });

  it('validates the access settings at start-up, naming the field and the fix', () => {
    const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ TELLTALE_API_TOKEN: 'too-short' }, /TELLTALE_API_TOKEN: must be 32-128 characters/],
      [{ TELLTALE_API_TOKEN: `${'a'.repeat(40)}!` }, /TELLTALE_API_TOKEN/],
      [{ TELLTALE_PUBLIC_URL: 'telltale.example.com' }, /TELLTALE_PUBLIC_URL: .* is not a URL/],
      [
        { TELLTALE_PUBLIC_URL: 'ftp://telltale.example.com' },
        /TELLTALE_PUBLIC_URL: must start with https:\/\//,
      ],
      [{ TELLTALE_DASHBOARD_PORT: '70000' }, /TELLTALE_DASHBOARD_PORT: "70000" is not a port/],
      [{ TELLTALE_DEMO: 'yes please' }, /TELLTALE_DEMO: "yes please" is not 1 or 0/],
      [{ TELLTALE_SESSION_IDLE_HOURS: '-1' }, /TELLTALE_SESSION_IDLE_HOURS/],
      [{ TELLTALE_OIDC_ISSUER: 'https://idp.example.com' }, /TELLTALE_OIDC_ALLOWED_DOMAINS: is required/],
      [
        { TELLTALE_OIDC_ISSUER: 'https://idp.example.com', TELLTALE_OIDC_ALLOWED_DOMAINS: 'example.com' },
        /TELLTALE_OIDC_CLIENT_ID: is required/,
      ],
    ];
    for (const [env, message] of cases)
      expect(() => resolveServerConfig({}, env), JSON.stringify(env)).toThrow(message);

    const config = resolveServerConfig(
      {},
      {
        TELLTALE_PUBLIC_URL: 'https://telltale.example.com',
        TELLTALE_API_TOKEN: 'A'.repeat(32),
        TELLTALE_OIDC_ISSUER: 'https://idp.example.com',
        TELLTALE_OIDC_CLIENT_ID: 'telltale',
        TELLTALE_OIDC_CLIENT_SECRET: 'secret',
        TELLTALE_OIDC_ALLOWED_DOMAINS: 'Example.com, example.org',
      },
    );
    expect(config.access.publicUrl?.host).toBe('telltale.example.com');
    expect(config.access.oidc?.allowedDomains).toEqual(['example.com', 'example.org']);
    expect(config.access.sessionIdleMs).toBe(12 * 3600_000);
    expect(config.demo).toBe(true); // loopback by default
    expect(resolveServerConfig({ host: '0.0.0.0' }, {}).demo).toBe(false);
  });
});
