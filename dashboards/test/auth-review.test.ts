import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { hostAllowed } from '../src/auth/access-hook.js';
import { safeNextPath } from '../src/auth/oidc-state.js';
import { hashPassword, openAccessStore, registerAuth, safeNext } from '../src/index.js';

// Each test here replays an attack found in a review of the access gate; it fails on the code before the fix.
const PASSWORD = 'a long enough password';
const form = (fields: Record<string, string>) => ({
  'content-type': 'application/x-www-form-urlencoded',
  payload: new URLSearchParams(fields).toString(),
});

describe('access gate: attacks found in review', () => {
  let dir: string;
  let app: FastifyInstance;
  afterEach(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  const build = async (withUser: boolean, trustProxy = false) => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-auth-review-'));
    if (withUser) {
      const now = new Date().toISOString();
      const passwordHash = await hashPassword(PASSWORD);
      await openAccessStore(dir).update((file) => {
        file.users.push({
          email: 'ada@example.com',
          role: 'admin',
          passwordHash,
          createdAt: now,
          updatedAt: now,
        });
      });
    }
    app = Fastify({ trustProxy });
    const auth = await registerAuth(app, { dataDir: dir, loginLimit: { max: 5, windowMs: 60_000 } });
    app.get('/api/thing', async () => ({ ok: true }));
    app.get('/v1/exports', async () => ({ everything: true }));
    return auth;
  };
  const post = (url: string, fields: Record<string, string>, cookie?: string) => {
    const { payload, ...type } = form(fields);
    return app.inject({ method: 'POST', url, payload, headers: { ...type, ...(cookie ? { cookie } : {}) } });
  };
  const sessionOf = (response: { headers: Record<string, unknown> }) =>
    String(response.headers['set-cookie']).split(';')[0]!;

  it('counts parallel wrong guesses before the password check: a burst cannot exceed the limit', async () => {
    await build(true);
    const burst = await Promise.all(
      Array.from({ length: 20 }, () =>
        post('/login', { email: 'ada@example.com', password: 'wrong guess!!' }),
      ),
    );
    const statuses = burst.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
  });

  it('a right password does not use up an attempt', async () => {
    await build(true);
    for (let i = 0; i < 8; i++)
      expect((await post('/login', { email: 'ada@example.com', password: PASSWORD })).statusCode).toBe(303);
  });

  it('does not redeem the one-time link on HEAD (link checkers)', async () => {
    const auth = await build(false);
    const head = await app.inject({ method: 'HEAD', url: `/login/token/${auth.firstStartToken}` });
    expect(head.headers['set-cookie']).toBeUndefined();
    const get = await app.inject(`/login/token/${auth.firstStartToken}`);
    expect(get.statusCode).toBe(303);
  });

  it("ends the start-up link's temporary admin once a real user exists", async () => {
    const auth = await build(false);
    const temporary = sessionOf(await app.inject(`/login/token/${auth.firstStartToken}`));
    expect((await app.inject({ url: '/api/thing', headers: { cookie: temporary } })).statusCode).toBe(200);
    const now = new Date().toISOString();
    await openAccessStore(dir).update((file) => {
      file.users.push({
        email: 'owner@example.com',
        role: 'admin',
        passwordHash: 'x',
        createdAt: now,
        updatedAt: now,
      });
    });
    expect((await app.inject({ url: '/api/thing', headers: { cookie: temporary } })).statusCode).toBe(401);
    const takeover = await post(
      '/account/users',
      { email: 'evil@example.com', role: 'admin', password: PASSWORD },
      temporary,
    );
    expect(takeover.statusCode).toBe(401);
    expect(await readFile(path.join(dir, 'auth', 'access.json'), 'utf8')).not.toContain('evil@example.com');
  });

  it('adds exactly one first admin when the temporary admin posts in parallel, and loses no write', async () => {
    const auth = await build(false);
    const temporary = sessionOf(await app.inject(`/login/token/${auth.firstStartToken}`));
    const answers = await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) =>
        post(
          '/account/users',
          { email: `${name}@example.com`, role: 'admin', password: PASSWORD },
          temporary,
        ),
      ),
    );
    const users = (await openAccessStore(dir).users()).map((u) => u.email);
    expect(users).toHaveLength(1);
    expect(answers.filter((a) => a.statusCode === 303)).toHaveLength(1);
    expect(answers.every((a) => a.statusCode === 303 || a.statusCode === 409 || a.statusCode === 401)).toBe(
      true,
    );
  });

  it('refuses a foreign X-Forwarded-Host behind a trusted proxy, and a foreign Host under a loopback X-Forwarded-Host', async () => {
    await build(true, true);
    const token = await app.inject({
      url: '/api/thing',
      headers: { host: 'evil.example', 'x-forwarded-host': '127.0.0.1' },
    });
    expect(token.statusCode).toBe(421);
    const forwarded = await app.inject({
      url: '/api/thing',
      headers: { host: '127.0.0.1', 'x-forwarded-host': 'evil.example' },
    });
    expect(forwarded.statusCode).toBe(421);
  });

  it('puts an unmatched path under /v1/ behind the gate like any other', async () => {
    await build(true);
    const page = await app.inject('/v1/no-such-route');
    expect(page.statusCode).toBe(302);
    expect(page.headers.location).toMatch(/^\/login/);
    expect((await app.inject({ method: 'POST', url: '/v1/no-such-route' })).statusCode).toBe(401);
  });

  it('keeps a route added later under /v1/ private: only the named ingest routes are public', async () => {
    await build(true);
    const anonymous = await app.inject('/v1/exports');
    expect(anonymous.statusCode).toBe(302);
    expect(anonymous.headers.location).toBe('/login?next=%2Fv1%2Fexports');
    expect(anonymous.body).not.toContain('everything');
  });

  it('keeps "next" same-site after URL normalisation (/.//evil.com is //evil.com)', () => {
    for (const check of [safeNext, safeNextPath])
      for (const bad of [
        '/.//evil.example',
        '/..//evil.example',
        '/%2e//evil.example',
        '/a/..//evil.example',
      ])
        expect(check(bad), `${check.name} ${bad}`).toBe('/');
    expect(safeNext('/errors/abc?app=web')).toBe('/errors/abc?app=web');
    expect(safeNextPath('/errors/abc?app=web')).toBe('/errors/abc?app=web');
  });

  it('accepts only plain Host values: nothing a URL parser would drop', () => {
    for (const bad of [
      'localhost#.evil.example',
      'localhost?.evil.example',
      'evil.example@127.0.0.1',
      'localhost/x',
    ])
      expect(hostAllowed(bad, undefined), bad).toBe(false);
    for (const good of ['localhost', '127.0.0.1:8080', '[::1]:9000'])
      expect(hostAllowed(good, undefined), good).toBe(true);
  });
});
