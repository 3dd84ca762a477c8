import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { registerAuth } from '@telltale/dashboards';
import { loggerOptions, redactedUrl } from '../src/roles/shared.js';
import { tempDir } from './helpers.js';

describe('request logs at TELLTALE_LOG_LEVEL=info', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let app: FastifyInstance;
  afterEach(async () => {
    await app.close();
    await data.remove();
  });

  it('log the first-start link as /login/token/[redacted] and no query string, however the path is spelled', async () => {
    data = await tempDir('log-redaction');
    const lines: string[] = [];
    const options = loggerOptions('info', true);
    if (typeof options !== 'object') throw new Error('loggerOptions gave no options at info');
    app = Fastify({ logger: { ...options, stream: { write: (line: string) => lines.push(line) } } });
    const auth = await registerAuth(app, { dataDir: data.dir });
    const token = auth.firstStartToken!;
    expect(token.length).toBeGreaterThan(20);

    const signedIn = await app.inject(`/login/token/${token}`);
    expect(signedIn.statusCode).toBe(303); // the link worked: its request was logged like any other
    await app.inject(`/login/%74oken/${token}`);
    await app.inject(`//login/token/${token}x`);
    await app.inject('/login?next=%2F&key=tt_live_query_secret');

    const logged = lines.join('');
    expect(logged).not.toContain(token);
    expect(logged).not.toContain('tt_live_query_secret');
    const urls = lines.map((line) => JSON.parse(line)).flatMap((entry) => (entry.req ? [entry.req.url] : []));
    expect(urls).toEqual([
      '/login/token/[redacted]',
      '/login/token/[redacted]',
      '/login/token/[redacted]',
      '/login',
    ]);
  });

  it('keeps every other path as it is', () => {
    expect(redactedUrl('/errors/abc?app=web')).toBe('/errors/abc');
    expect(redactedUrl('/login')).toBe('/login');
    expect(redactedUrl('/login/token/')).toBe('/login/token/');
    expect(redactedUrl('/v1/batch?key=tt_live_x')).toBe('/v1/batch');
    expect(redactedUrl('/bad%zz')).toBe('/bad%zz');
  });
});
