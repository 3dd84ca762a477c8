// What Node's HTTP parser refuses before any route runs still gets Telltale's error body: a code
// from the registry, the limit, counted by reason, and the server goes on serving everyone else.
import { maxHeaderSize } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { rawRequest } from '../../test-support/raw-http.js';
import { startCollectorServer, type RunningCollector } from '../src/index.js';
import { APPS, makeBatch, tempDir, WEB_KEY } from './helpers.js';

const API_TOKEN = 'client-errors-metrics-token-0123456789abcdef';

describe('requests the HTTP parser refuses (real server)', () => {
  let collector: RunningCollector | undefined;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  afterEach(async () => {
    await collector?.close();
    await tmp.remove();
  });
  /** A standalone collector with a 1 s headers timeout and a 2 s request timeout. */
  async function start(): Promise<RunningCollector> {
    tmp = await tempDir();
    return startCollectorServer({
      port: 0,
      dataDir: tmp.dir,
      env: { TELLTALE_APPS: JSON.stringify(APPS), TELLTALE_API_TOKEN: API_TOKEN },
      config: { timeouts: { headersMs: 1_000, requestMs: 2_000 } },
    });
  }

  it('answers oversized headers 431, broken HTTP 400 and a stalled request 408, each in the JSON error shape', async () => {
    collector = await start();

    const big = await rawRequest(
      collector.url,
      `POST /v1/batch HTTP/1.1\r\nHost: x\r\nX-Telltale-Key: ${WEB_KEY}\r\nCookie: ${'a'.repeat(maxHeaderSize + 1)}\r\n\r\n`,
    );
    expect(big.status).toBe(431);
    expect(big.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(big.body)).toEqual({
      error: {
        code: 'TELLTALE_ERR_HEADERS_TOO_LARGE',
        message: 'request headers are over the size limit',
        limit: maxHeaderSize,
      },
    });

    const broken = await rawRequest(collector.url, 'HELLO THERE\r\n\r\n');
    expect(broken.status).toBe(400);
    expect(JSON.parse(broken.body).error.code).toBe('TELLTALE_ERR_BAD_REQUEST');

    // Headers that never end: the headers timeout (1 s here) closes it.
    const stalled = await rawRequest(collector.url, 'POST /v1/batch HTTP/1.1\r\nHost: x\r\n');
    expect(stalled.status).toBe(408);
    expect(JSON.parse(stalled.body).error.code).toBe('TELLTALE_ERR_REQUEST_TIMEOUT');

    // Counted by reason, and a real client is served as before.
    const metrics = await (
      await fetch(`${collector.url}/metrics`, { headers: { authorization: `Bearer ${API_TOKEN}` } })
    ).text();
    for (const reason of ['header_overflow', 'bad_request', 'timeout'])
      expect(metrics).toMatch(
        new RegExp(`telltale_collector_client_errors_total\\{reason="${reason}"\\} 1\\b`),
      );
    const res = await fetch(`${collector.url}/v1/batch`, {
      method: 'POST',
      headers: { 'x-telltale-key': WEB_KEY, 'content-type': 'text/plain' },
      body: JSON.stringify(makeBatch()),
    });
    expect(res.status).toBe(202);
  });

  it('answers a request once: a body that stalls after its early 401 gets no 408 appended', async () => {
    collector = await start();
    // An unknown key is refused before the body is read; the body never comes, the request times out.
    const answer = await rawRequest(
      collector.url,
      `POST /v1/batch HTTP/1.1\r\nHost: x\r\nX-Telltale-Key: tt_live_nobody_0123456789\r\nContent-Type: text/plain\r\nContent-Length: 5000\r\n\r\n{"v":1`,
    );
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body).error.code).toBe('TELLTALE_ERR_UNAUTHORIZED');
  });
});
