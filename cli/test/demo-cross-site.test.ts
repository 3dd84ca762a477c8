import { afterEach, describe, expect, it } from 'vitest';
import { startTelltale, type RunningTelltale } from '../src/index.js';
import { tempDir } from './helpers.js';

describe('cross-site posts to the composed server', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningTelltale | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await data.remove();
  });

  it('refuses a forged POST /demo/api/checkout that carries a valid session cookie; the demo page still checks out', async () => {
    data = await tempDir('demo-cross-site');
    server = await startTelltale({ port: 0, dataDir: data.dir, logger: false, env: {} });
    const link = new URL(server.loginLink!);
    const signedIn = await server.app.inject({ url: link.pathname });
    expect(signedIn.statusCode).toBe(303);
    const cookie = String(signedIn.headers['set-cookie']).split(';')[0]!;

    const forged = await server.app.inject({
      method: 'POST',
      url: '/demo/api/checkout',
      headers: { cookie, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(forged.statusCode).toBe(403);
    expect(forged.json().error.code).toBe('TELLTALE_ERR_CROSS_SITE');

    // The demo page's own fetch: same origin. Its checkout always fails (502) by design.
    const own = await server.app.inject({
      method: 'POST',
      url: '/demo/api/checkout',
      headers: { cookie, host: link.host, origin: link.origin, 'sec-fetch-site': 'same-origin' },
    });
    expect(own.statusCode).toBe(502);
    expect(own.json()).toMatchObject({ error: 'payment_declined' });
  });
});
