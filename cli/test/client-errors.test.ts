// npm start's one listener (collector, dashboards, API) answers what the HTTP parser refuses in
// Telltale's JSON error shape, as the standalone collector does (collector/test/client-errors.test.ts).
import { maxHeaderSize } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { rawRequest } from '../../test-support/raw-http.js';
import { startTelltale, type RunningTelltale } from '../src/index.js';
import { tempDir } from './helpers.js';

describe('requests the HTTP parser refuses, on the composed server', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningTelltale | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await data.remove();
  });

  it('answers oversized headers on a dashboard path 431 with the code and the limit, and keeps serving', async () => {
    data = await tempDir('client-errors');
    server = await startTelltale({ port: 0, dataDir: data.dir, logger: false, env: {} });
    const answer = await rawRequest(
      server.url,
      `GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${'a'.repeat(maxHeaderSize + 1)}\r\n\r\n`,
    );
    expect(answer.status).toBe(431);
    expect(JSON.parse(answer.body)).toEqual({
      error: {
        code: 'TELLTALE_ERR_HEADERS_TOO_LARGE',
        message: 'request headers are over the size limit',
        limit: maxHeaderSize,
      },
    });
    expect((await fetch(`${server.url}/api/stats`)).status).toBe(401);
  });
});
