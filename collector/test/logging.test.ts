import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import type { FastifyInstance } from 'fastify';
import { build, resolveCollectorConfig } from '../src/index.js';
import { APPS, failingSpool, logCapture, makeBatch, tempDir, WEB_KEY } from './helpers.js';

describe('logging', () => {
  let app: FastifyInstance;
  let spool: SpoolWriter;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  afterEach(async () => {
    await app.close();
    await spool.close();
    await tmp.remove();
  });

  it('never writes ingest keys or request bodies to the log, even on errors', async () => {
    tmp = await tempDir();
    spool = await openSpoolWriter({ dir: path.join(tmp.dir, 'spool') });
    const { lines, stream } = logCapture();
    app = await build(resolveCollectorConfig({ apps: APPS }, {}), {
      spool: failingSpool(spool, 1),
      logger: { level: 'trace', stream },
    });

    const secret = 'customer-secret-text';
    const batch = makeBatch({ session: secret });
    const send = (url: string, headers: Record<string, string>, payload: string) =>
      app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'text/plain', ...headers } });
    await send(`/v1/batch?key=${WEB_KEY}`, {}, JSON.stringify(batch)); // 503: spool failure is logged
    await send('/v1/batch', { 'x-telltale-key': WEB_KEY }, JSON.stringify(batch)); // 202
    await send(`/v1/batch?key=${WEB_KEY}`, {}, `{"broken": "${secret}`); // 400
    await send('/v1/batch?key=tt_wrong_key_0123456789', {}, secret); // 401

    const log = lines.join('');
    expect(lines.length).toBeGreaterThan(4);
    expect(log).toContain('/v1/batch');
    expect(log).toContain('spool append failed');
    expect(log).not.toContain(WEB_KEY);
    expect(log).not.toContain('tt_wrong_key');
    expect(log).not.toContain(secret);
  });
});
