import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createFirstStartToken, createSessionStore } from '../src/auth/sessions.js';
import {
  hashPassword,
  openAccessStore,
  registerAuth,
  safeNext,
  verifyPassword,
  type AuthOptions,
} from '../src/index.js';

const PASSWORD = 'a long enough password';

describe('sign-in: rate limits, cookies, the SSO button', () => {
  let dir: string;
  let app: FastifyInstance;
  afterEach(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  const build = async (options: Partial<AuthOptions> = {}, trustProxy = false, logLines?: string[]) => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-auth-'));
    const passwordHash = await hashPassword(PASSWORD);
    const now = new Date().toISOString();
    await openAccessStore(dir).update((file) => {
      file.users.push({
        email: 'ada@example.com',
        role: 'admin',
        passwordHash,
        createdAt: now,
        updatedAt: now,
      });
    });
    const logger = logLines && { level: 'warn', stream: { write: (line: string) => logLines.push(line) } };
    app = Fastify({ trustProxy, ...(logger ? { logger } : {}) });
    await registerAuth(app, { dataDir: dir, ...options });
    app.get('/api/thing', async () => ({ ok: true }));
    return app;
  };
  const login = (email: string, password: string, headers: Record<string, string> = {}, from = '127.0.0.1') =>
    app.inject({
      method: 'POST',
      url: '/login',
      remoteAddress: from,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: new URLSearchParams({ email, password, next: '/api/thing' }).toString(),
    });

  it('locks out the address that guessed, not the account: the right password still signs in from another address', async () => {
    await build({ loginLimit: { max: 10, windowMs: 15 * 60_000 } });
    for (let i = 0; i < 10; i++)
      expect((await login('ada@example.com', 'wrong password!', {}, '198.51.100.7')).statusCode).toBe(401);
    const limited = await login('ada@example.com', PASSWORD, {}, '198.51.100.7');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(800);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(900);
    expect(limited.headers['set-cookie']).toBeUndefined();
    const owner = await login('ada@example.com', PASSWORD, {}, '203.0.113.20');
    expect(owner.statusCode).toBe(303);
    expect(String(owner.headers['set-cookie'])).toContain('telltale_session=');
  });

  it('behind a trusted proxy, counts the forwarded client address: another client is not locked out', async () => {
    await build({ loginLimit: { max: 3, windowMs: 60_000 } }, true);
    const via = (client: string) => ({ 'x-forwarded-for': client });
    for (let i = 0; i < 3; i++)
      expect((await login('ada@example.com', 'wrong password!', via('198.51.100.7'))).statusCode).toBe(401);
    expect((await login('ada@example.com', PASSWORD, via('198.51.100.7'))).statusCode).toBe(429);
    expect((await login('ada@example.com', PASSWORD, via('203.0.113.20'))).statusCode).toBe(303);
  });

  it('counts an IPv6 client by its /64: a fresh address in the same network does not reset the count', async () => {
    await build({ loginLimit: { max: 3, windowMs: 60_000 } });
    for (let i = 1; i <= 3; i++)
      expect((await login('ada@example.com', 'wrong password!', {}, `2001:db8:1:2::${i}`)).statusCode).toBe(
        401,
      );
    expect((await login('ada@example.com', PASSWORD, {}, '2001:db8:1:2:ffff::9')).statusCode).toBe(429);
    expect((await login('ada@example.com', PASSWORD, {}, '2001:db8:1:3::1')).statusCode).toBe(303);
  });

  it('limits one address across many accounts', async () => {
    await build({ loginLimit: { max: 3, windowMs: 60_000, perAddress: 3 } });
    for (const name of ['a', 'b', 'c'])
      expect((await login(`${name}@example.com`, 'guess guess')).statusCode).toBe(401);
    expect((await login('ada@example.com', PASSWORD)).statusCode).toBe(429);
    const spoofed = await login('ada@example.com', PASSWORD, { 'x-forwarded-for': '203.0.113.9' });
    expect(spoofed.statusCode).toBe(429); // no trusted proxy: the header does not change the address
    expect((await login('ada@example.com', PASSWORD, {}, '203.0.113.9')).statusCode).toBe(303);
  });

  it('refuses an account everywhere at its high ceiling of failures from all addresses, and logs it', async () => {
    const lines: string[] = [];
    await build({ loginLimit: { max: 10, windowMs: 15 * 60_000, perAccount: 5 } }, false, lines);
    for (let i = 0; i < 5; i++)
      expect((await login('ada@example.com', 'wrong password!', {}, `198.51.100.${i}`)).statusCode).toBe(401);
    expect((await login('ada@example.com', PASSWORD, {}, '203.0.113.20')).statusCode).toBe(429);
    const warnings = lines.map((line) => JSON.parse(line)).filter((entry) => entry.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ account: 'ada@example.com', failures: 5 });
    expect(warnings[0].msg).toContain('ceiling');
  });

  it('marks the cookie Secure when the request came over https (behind a trusted proxy)', async () => {
    await build({}, true);
    const plain = await login('ada@example.com', PASSWORD);
    expect(String(plain.headers['set-cookie'])).not.toContain('Secure');
    const tls = await login('ada@example.com', PASSWORD, { 'x-forwarded-proto': 'https' });
    expect(tls.statusCode).toBe(303);
    const cookie = String(tls.headers['set-cookie']);
    expect(cookie).toContain('Secure');
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toMatch(/Max-Age=604800/); // 7 days, the absolute limit
    const session = cookie.split(';')[0]!;
    expect((await app.inject({ url: '/api/thing', headers: { cookie: session } })).json()).toEqual({
      ok: true,
    });
  });

  it('refuses a sign-in form posted from another site', async () => {
    await build();
    const forged = await login('ada@example.com', PASSWORD, {
      origin: 'https://evil.example',
      'sec-fetch-site': 'cross-site',
    });
    expect(forged.statusCode).toBe(403);
    expect(forged.json().error.code).toBe('TELLTALE_ERR_CROSS_SITE');
  });

  it('shows "Sign in with SSO" when OpenID Connect is configured, and its routes need no session', async () => {
    await build({
      oidc: {
        issuer: 'https://idp.invalid',
        clientId: 'telltale',
        clientSecret: 'secret',
        redirectUrl: 'http://127.0.0.1:8080/auth/oidc/callback',
        allowedDomains: ['example.com'],
      },
    });
    expect((await app.inject('/login')).body).toContain('Sign in with SSO');
    const start = await app.inject('/auth/oidc/login');
    expect(start.headers.location ?? '').not.toMatch(/^\/login/);
    expect(start.statusCode).not.toBe(401);
  });
});

describe('sessions, the first-start token, passwords', () => {
  it('ends a session after the idle time, and after the absolute age however active', () => {
    let now = 0;
    const hours = 3600_000;
    const sessions = createSessionStore({ idleMs: 12 * hours, maxAgeMs: 7 * 24 * hours }, () => now);
    const idle = sessions.create({ email: 'a@example.com', role: 'viewer', via: 'password' });
    const busy = sessions.create({ email: 'b@example.com', role: 'viewer', via: 'password' });
    now = 11 * hours;
    expect(sessions.touch(busy)).toBeDefined();
    now = 12 * hours + 1;
    expect(sessions.touch(idle)).toBeUndefined();
    for (now = 12 * hours; now < 7 * 24 * hours; now += 6 * hours)
      expect(sessions.touch(busy), String(now)).toBeDefined();
    now = 7 * 24 * hours;
    expect(sessions.touch(busy)).toBeUndefined();
    expect(sessions.touch('never-issued')).toBeUndefined();
  });

  it('redeems the first-start token once, and not after it expires', () => {
    let now = 0;
    const once = createFirstStartToken(1000, () => now);
    expect(once.redeem('wrong')).toBe(false);
    expect(once.redeem(once.token)).toBe(true);
    expect(once.redeem(once.token)).toBe(false);
    const late = createFirstStartToken(1000, () => now);
    now = 1000;
    expect(late.redeem(late.token)).toBe(false);
  });

  it('hashes with scrypt, a random salt and its parameters, and verifies only the right password', async () => {
    const one = await hashPassword(PASSWORD);
    const two = await hashPassword(PASSWORD);
    expect(one).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(one).not.toBe(two);
    expect(await verifyPassword(PASSWORD, one)).toBe(true);
    expect(await verifyPassword(`${PASSWORD}!`, one)).toBe(false);
    expect(await verifyPassword(PASSWORD, 'plain-text')).toBe(false);
    expect(await verifyPassword(PASSWORD, one.replace('$32768$', '$1073741824$'))).toBe(false); // no gigabyte asks
  });

  it('keeps "next" a same-site path', () => {
    expect(safeNext('/errors/abc?app=web')).toBe('/errors/abc?app=web');
    for (const bad of [
      '//evil.example',
      'https://evil.example',
      '/\\evil.example',
      'javascript:alert(1)',
      '/a\nb',
      undefined,
    ])
      expect(safeNext(bad), String(bad)).toBe('/');
  });
});
