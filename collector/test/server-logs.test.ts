import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerLog } from '@telltale/protocol';
import { MAX_LOG_LINES } from '../src/index.js';
import { startHarness, WEB_SECRET, type Harness } from './helpers.js';

const line = (overrides: Partial<ServerLog> = {}): ServerLog => ({
  ts: Date.now() - 1000,
  level: 'error',
  message: 'GET /api/orders failed: upstream timeout',
  service: 'api',
  trace: '0af7651916cd43dd8448eb211c80319c',
  session: 's-1',
  release: '1.4.2',
  attrs: { status: 504, route: '/api/orders' },
  ...overrides,
});

describe('POST /v1/logs (server logs, secret key)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  const post = (body: Buffer | string, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'POST',
      url: '/v1/logs',
      payload: body,
      headers: { authorization: `Bearer ${WEB_SECRET}`, 'content-type': 'application/json', ...headers },
    });

  it('stores a JSON array as one ServerLogEnvelope in the server-log spool, not the client one', async () => {
    const lines = [line(), line({ id: 'my-own-id', level: 'info', message: 'order 42 created' })];
    const res = await post(JSON.stringify(lines));
    expect(res.statusCode).toBe(202);
    expect(res.json().accepted).toBe(2);
    const [envelope, ...rest] = await h.serverLogEnvelopes();
    expect(rest).toEqual([]);
    expect(envelope).toMatchObject({
      v: 1,
      app: 'web',
      logs: [{ ...lines[0] }, { ...lines[1], id: 'my-own-id' }],
    });
    expect(envelope!.logs[0]!.id).toMatch(/^sl-[0-9a-f]{32}$/);
    expect(await h.envelopes()).toEqual([]);
  });

  it('takes gzipped NDJSON, blank lines and all', async () => {
    const ndjson = `${JSON.stringify(line())}\n\n${JSON.stringify(line({ message: 'second' }))}\n`;
    const res = await post(gzipSync(ndjson), {
      'content-encoding': 'gzip',
      'content-type': 'application/x-ndjson',
    });
    expect(res.statusCode).toBe(202);
    expect((await h.serverLogEnvelopes())[0]!.logs.map((l) => l.message)).toEqual([line().message, 'second']);
  });

  it('gives a line without id the same id every time it is sent, whatever the key order', async () => {
    const sent = line({ ts: 1_765_000_000_000 });
    const reordered = Object.fromEntries(Object.entries(sent).reverse());
    const first = (await post(JSON.stringify([sent]))).json().ids;
    const again = (await post(JSON.stringify([reordered]))).json().ids;
    const other = (await post(JSON.stringify([{ ...sent, message: 'different' }]))).json().ids;
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    const stored = await h.serverLogEnvelopes();
    expect(stored.map((e) => e.logs[0]!.id)).toEqual([...first, ...first, ...other]);
  });

  it('refuses a bad line naming it, more than the line limit, and bad JSON; the next request is taken', async () => {
    const badLevel = await post(JSON.stringify([line(), line({ level: 'loud' as never })]));
    expect(badLevel.statusCode).toBe(400);
    expect(badLevel.json().error).toMatchObject({ code: 'TELLTALE_ERR_INVALID_LOGS', field: '/1/level' });

    const badNdjson = await post(`${JSON.stringify(line())}\n{"ts":`);
    expect(badNdjson.statusCode).toBe(400);
    expect(badNdjson.json().error).toMatchObject({
      code: 'TELLTALE_ERR_INVALID_JSON',
      message: 'line 2 is not valid JSON',
    });

    const tooMany = await post(JSON.stringify(Array.from({ length: MAX_LOG_LINES + 1 }, () => line())));
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().error.code).toBe('TELLTALE_ERR_INVALID_LOGS');

    const notArray = await post(JSON.stringify({ ts: 1 }));
    expect(notArray.statusCode).toBe(400);
    const proto = await post(`[{"ts":1,"level":"info","message":"m","service":"s","__proto__":{"x":1}}]`);
    expect(proto.json().error).toMatchObject({ code: 'TELLTALE_ERR_INVALID_JSON', field: '/0/__proto__' });

    expect(await h.serverLogEnvelopes()).toEqual([]);
    expect((await post(JSON.stringify([line()]))).statusCode).toBe(202);
  });

  it('clamps a line dated in the future and keeps what the server said in clientTs', async () => {
    const future = Date.now() + 10 * 60_000;
    expect((await post(JSON.stringify([line({ ts: future })]))).statusCode).toBe(202);
    const [envelope] = await h.serverLogEnvelopes();
    expect(envelope!.logs[0]).toMatchObject({ ts: envelope!.receivedAt, clientTs: future });
  });
});
