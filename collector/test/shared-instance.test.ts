import path from 'node:path';
import Fastify from 'fastify';
import { openSpoolWriter } from '@telltale/spool';
import { describe, expect, it } from 'vitest';
import { collectorRoutes, resolveCollectorConfig } from '../src/index.js';
import { APPS, makeBatch, tempDir, WEB_KEY } from './helpers.js';

describe('collectorRoutes on a shared fastify instance (the one-process server)', () => {
  it('keeps its raw-body parsers and error shape to itself', async () => {
    const tmp = await tempDir();
    const spool = await openSpoolWriter({ dir: path.join(tmp.dir, 'spool') });
    const app = Fastify();
    await app.register(collectorRoutes, { config: resolveCollectorConfig({ apps: APPS }, {}), spool });
    app.post('/api/echo', async (request) => ({ body: request.body as unknown }));
    try {
      const sibling = await app.inject({ method: 'POST', url: '/api/echo', payload: { a: 1 } });
      expect(sibling.json()).toEqual({ body: { a: 1 } }); // still parsed by fastify's JSON parser
      const text = await app.inject({
        method: 'POST',
        url: '/api/echo',
        payload: 'hi',
        headers: { 'content-type': 'text/plain' },
      });
      expect(text.json()).toEqual({ body: 'hi' });
      const batch = await app.inject({
        method: 'POST',
        url: '/v1/batch',
        payload: JSON.stringify(makeBatch()),
        headers: { 'x-telltale-key': WEB_KEY, 'content-type': 'text/plain' },
      });
      expect(batch.statusCode).toBe(202);
    } finally {
      await app.close();
      await spool.close();
      await tmp.remove();
    }
  });
});
