import { afterEach, describe, expect, it } from 'vitest';
import { createKeyRegistry, fingerprintKey, resolveApps } from '../src/index.js';
import { APPS, makeBatch, startHarness, WEB_KEY, WEB_SECRET, type Harness } from './helpers.js';

const OLD_KEY = 'tt_web_old_0123456789abcdef';
const NEW_KEY = 'tt_web_new_0123456789abcdef';
const GONE_KEY = 'tt_web_gone_0123456789abcdef';

describe('keys, rotation, revocation and origins', () => {
  let h: Harness;
  afterEach(() => h.close());

  const send = (headers: Record<string, string>, url = '/v1/batch') =>
    h.app.inject({
      method: 'POST',
      url,
      payload: JSON.stringify(makeBatch()),
      headers: { 'content-type': 'text/plain', ...headers },
    });

  it('accepts both keys of an app during a rotation and refuses a revoked one with 401 "revoked"', async () => {
    h = await startHarness({
      apps: [
        { id: 'web', name: 'Web', ingestKeys: [NEW_KEY, OLD_KEY], revokedKeys: [fingerprintKey(GONE_KEY)] },
      ],
    });
    expect((await send({ 'x-telltale-key': NEW_KEY })).statusCode).toBe(202);
    expect((await send({ 'x-telltale-key': OLD_KEY })).statusCode).toBe(202);
    const revoked = await send({ 'x-telltale-key': GONE_KEY });
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json().error).toMatchObject({
      code: 'TELLTALE_ERR_UNAUTHORIZED',
      message: expect.stringMatching(/revoked/),
    });
    expect(revoked.json().error.message).not.toContain(GONE_KEY);
    const unknown = await send({ 'x-telltale-key': 'tt_never_seen_0123456789' });
    expect(unknown.json().error.message).toMatch(/unknown/);
    expect((await h.envelopes()).map((e) => e.app)).toEqual(['web', 'web']);
  });

  it('takes new keys and drops old ones while running (a reloaded apps file)', async () => {
    const apps = (list: Parameters<typeof resolveApps>[0]) => resolveApps(list, 'apps', '');
    const keys = createKeyRegistry(apps([{ id: 'web', name: 'Web', ingestKeys: [OLD_KEY] }]));
    h = await startHarness({ apps: [{ id: 'web', name: 'Web', ingestKeys: [OLD_KEY] }] }, undefined, {
      keys,
    });
    expect((await send({ 'x-telltale-key': OLD_KEY })).statusCode).toBe(202);
    expect((await send({ 'x-telltale-key': NEW_KEY })).statusCode).toBe(401);
    keys.replace(
      apps([{ id: 'web', name: 'Web', ingestKeys: [NEW_KEY], revokedKeys: [fingerprintKey(OLD_KEY)] }]),
    );
    expect((await send({ 'x-telltale-key': NEW_KEY })).statusCode).toBe(202);
    const old = await send({ 'x-telltale-key': OLD_KEY });
    expect(old.statusCode).toBe(401);
    expect(old.json().error.message).toMatch(/revoked/);
    expect(await h.envelopes()).toHaveLength(2);
  });

  it('keeps secret keys and ingest keys to their own routes', async () => {
    h = await startHarness();
    const secretOnBatch = await send({ 'x-telltale-key': WEB_SECRET });
    expect(secretOnBatch.statusCode).toBe(401);
    expect(secretOnBatch.json().error.message).toMatch(/ingest key/);
    const logs = (headers: Record<string, string>, url = '/v1/logs') =>
      h.app.inject({
        method: 'POST',
        url,
        payload: JSON.stringify([{ ts: Date.now(), level: 'info', message: 'hi', service: 'api' }]),
        headers: { 'content-type': 'application/json', ...headers },
      });
    const ingestOnLogs = await logs({ 'x-telltale-key': WEB_KEY });
    expect(ingestOnLogs.statusCode).toBe(401);
    expect(ingestOnLogs.json().error.message).toMatch(/secret key/);
    const secretInUrl = await logs({}, `/v1/logs?key=${WEB_SECRET}`);
    expect(secretInUrl.statusCode).toBe(401);
    expect(secretInUrl.json().error.message).toMatch(/never go in a URL/);
    expect((await logs({ authorization: `Bearer ${WEB_SECRET}` })).statusCode).toBe(202);
    expect((await logs({ 'x-telltale-key': WEB_SECRET })).statusCode).toBe(202);
    expect(await h.envelopes()).toEqual([]);
    expect(await h.serverLogEnvelopes()).toHaveLength(2);
  });

  it('refuses pages from origins an app does not allow (403, readable by that page), echoes allowed ones', async () => {
    h = await startHarness({
      apps: [
        { ...APPS[0]!, allowedOrigins: ['https://app.example.com'] },
        APPS[1]!, // no allow-list: any origin
      ],
    });
    const allowed = await send({ 'x-telltale-key': WEB_KEY, origin: 'https://app.example.com' });
    expect(allowed.statusCode).toBe(202);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(allowed.headers.vary).toMatch(/Origin/);

    const other = await send({ 'x-telltale-key': WEB_KEY, origin: 'https://evil.example' });
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe('TELLTALE_ERR_ORIGIN_NOT_ALLOWED');
    // The page can read the refusal, so the SDK drops the batch instead of retrying it forever.
    expect(other.headers['access-control-allow-origin']).toBe('https://evil.example');

    // No Origin header: a server or a React Native app, not a page; never refused for it.
    expect((await send({ 'x-telltale-key': WEB_KEY })).statusCode).toBe(202);
    const open = await send({
      'x-telltale-key': APPS[1]!.ingestKeys[0]!,
      origin: 'https://anywhere.example',
    });
    expect(open.statusCode).toBe(202);
    expect(open.headers['access-control-allow-origin']).toBe('*');
    expect(await h.envelopes()).toHaveLength(3);
  });
});
