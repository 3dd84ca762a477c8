import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashPassword, openAccessStore, registerAuth } from '../src/index.js';

// The access hook refuses forged (cross-site) state changes for every route that a session cookie
// authenticates, including routes that never check for themselves.
const PASSWORD = 'a long enough password';
const API_TOKEN = 'cross-site-test-token-0123456789abcdef';
const FORGED = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' };

describe('cross-site requests with a session cookie', () => {
  let dir: string;
  let app: FastifyInstance;
  let changes: number;
  let session: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-cross-site-'));
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
    app = Fastify();
    await registerAuth(app, { dataDir: dir, apiToken: API_TOKEN });
    changes = 0;
    // A state-changing route with no cross-site check of its own, like the demo's /demo/api/checkout.
    app.post('/api/unchecked', async () => ({ changed: ++changes }));
    app.delete('/api/unchecked', async () => ({ changed: ++changes }));
    const signedIn = await app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ email: 'ada@example.com', password: PASSWORD }).toString(),
    });
    expect(signedIn.statusCode).toBe(303);
    session = String(signedIn.headers['set-cookie']).split(';')[0]!;
  });
  afterEach(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a cross-site POST or DELETE to a route that has no check of its own, and changes nothing', async () => {
    for (const method of ['POST', 'DELETE'] as const) {
      const forged = await app.inject({
        method,
        url: '/api/unchecked',
        headers: { cookie: session, ...FORGED },
      });
      expect(forged.statusCode, method).toBe(403);
      expect(forged.json().error.code).toBe('TELLTALE_ERR_CROSS_SITE');
    }
    const fromOrigin = await app.inject({
      method: 'POST',
      url: '/api/unchecked',
      headers: { cookie: session, origin: 'https://evil.example' },
    });
    expect(fromOrigin.statusCode).toBe(403);
    const sameSiteSibling = await app.inject({
      method: 'POST',
      url: '/api/unchecked',
      headers: { cookie: session, 'sec-fetch-site': 'same-site' },
    });
    expect(sameSiteSibling.statusCode).toBe(403);
    expect(changes).toBe(0);
  });

  it('lets the same page post from its own origin, and reads from anywhere', async () => {
    const own = await app.inject({
      method: 'POST',
      url: '/api/unchecked',
      headers: { cookie: session, origin: 'http://localhost:80', 'sec-fetch-site': 'same-origin' },
    });
    expect(own.statusCode).toBe(200);
    expect(own.json()).toEqual({ changed: 1 });
    // No Origin and no Sec-Fetch-Site: not a browser's cross-site request.
    expect(
      (await app.inject({ method: 'POST', url: '/api/unchecked', headers: { cookie: session } })).statusCode,
    ).toBe(200);
    const read = await app.inject({ url: '/account', headers: { cookie: session, ...FORGED } });
    expect(read.statusCode).toBe(200);
  });

  it('refuses adding a person from another site (the hook, not the route, checks it now)', async () => {
    const forged = await app.inject({
      method: 'POST',
      url: '/account/users',
      headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded', ...FORGED },
      payload: new URLSearchParams({
        email: 'evil@example.com',
        role: 'admin',
        password: PASSWORD,
      }).toString(),
    });
    expect(forged.statusCode).toBe(403);
    expect((await openAccessStore(dir).users()).map((user) => user.email)).toEqual(['ada@example.com']);
  });

  it('lets a bearer token change state from any origin: a browser never attaches it by itself', async () => {
    const scripted = await app.inject({
      method: 'POST',
      url: '/api/unchecked',
      headers: { authorization: `Bearer ${API_TOKEN}`, ...FORGED },
    });
    expect(scripted.statusCode).toBe(200);
    expect(scripted.json()).toEqual({ changed: 1 });
  });
});
