import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_USER_AGENT_LENGTH, STORAGE_RETRY_AFTER_SECONDS } from '../src/index.js';
import { API_KEY, failingSpool, makeBatch, startHarness, WEB_KEY, type Harness } from './helpers.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('POST /v1/batch', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  const post = (body: Buffer | string, headers: Record<string, string> = {}, url = '/v1/batch') =>
    h.app.inject({
      method: 'POST',
      url,
      payload: body,
      headers: { 'x-telltale-key': WEB_KEY, 'content-type': 'application/json', ...headers },
    });

  it('answers 202 only once the envelope is in the spool', async () => {
    const batch = makeBatch();
    const res = await post(json(batch), { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120' });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: 2, duplicate: false });
    const [envelope, ...rest] = await h.envelopes();
    expect(rest).toEqual([]);
    expect(envelope).toMatchObject({
      v: 1,
      app: 'web',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120',
      batch,
    });
    expect(Math.abs(envelope!.receivedAt - Date.now())).toBeLessThan(10_000);
    expect(h.spool.stats().fsyncs).toBeGreaterThanOrEqual(1);
  });

  it('accepts gzip with Content-Encoding: gzip', async () => {
    const batch = makeBatch();
    const res = await post(gzipSync(json(batch)), { 'content-encoding': 'gzip' });
    expect(res.statusCode).toBe(202);
    expect((await h.envelopes())[0]?.batch).toEqual(batch);
  });

  it('accepts gzip sent as text/plain with no Content-Encoding (the no-preflight form) and ?key=', async () => {
    const batch = makeBatch({ session: 'é-ü-✓' }); // non-ASCII survives: the bytes are never decoded as text first
    const res = await h.app.inject({
      method: 'POST',
      url: `/v1/batch?key=${API_KEY}`,
      payload: gzipSync(json(batch)),
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
    });
    expect(res.statusCode).toBe(202);
    const [envelope] = await h.envelopes();
    expect(envelope).toMatchObject({ app: 'api', batch });
  });

  it('accepts plain JSON with any content type, or none', async () => {
    for (const contentType of ['text/plain', 'application/octet-stream', 'application/x-anything']) {
      expect((await post(json(makeBatch()), { 'content-type': contentType })).statusCode).toBe(202);
    }
    const none = await h.app.inject({
      method: 'POST',
      url: `/v1/batch?key=${WEB_KEY}`,
      payload: json(makeBatch()),
    });
    expect(none.statusCode).toBe(202);
    expect(await h.envelopes()).toHaveLength(4);
  });

  it('drops unknown fields (newer SDKs) and caps the stored User-Agent', async () => {
    const batch = { ...makeBatch(), future: 'field' };
    expect((await post(json(batch), { 'user-agent': 'u'.repeat(2000) })).statusCode).toBe(202);
    const [envelope] = await h.envelopes();
    expect(envelope?.batch).not.toHaveProperty('future');
    expect(envelope?.userAgent).toHaveLength(MAX_USER_AGENT_LENGTH);
  });

  describe('refuses, with a JSON error body, and stores nothing', () => {
    afterEach(async () => {
      expect(await h.envelopes()).toEqual([]);
    });

    it('401 without a key, with an unknown key in the header or in ?key=', async () => {
      const missing = await h.app.inject({ method: 'POST', url: '/v1/batch', payload: json(makeBatch()) });
      expect(missing.statusCode).toBe(401);
      expect(missing.json()).toMatchObject({ error: { code: 'TELLTALE_ERR_UNAUTHORIZED' } });
      expect(
        (await post(json(makeBatch()), { 'x-telltale-key': 'tt_nope_0123456789abcdef' })).statusCode,
      ).toBe(401);
      const query = await h.app.inject({
        method: 'POST',
        url: '/v1/batch?key=tt_nope_0123456789abcdef',
        payload: json(makeBatch()),
      });
      expect(query.statusCode).toBe(401);
      expect(query.json().error.message).not.toContain('tt_nope');
    });

    it('415 for Content-Encoding other than gzip', async () => {
      for (const encoding of ['br', 'deflate', 'gzip, br']) {
        const res = await post(json(makeBatch()), { 'content-encoding': encoding });
        expect(res.statusCode).toBe(415);
        expect(res.json().error.code).toBe('TELLTALE_ERR_UNSUPPORTED_ENCODING');
      }
    });

    it('400 for bytes that claim gzip but are not', async () => {
      const res = await post(Buffer.from('definitely not gzip'), { 'content-encoding': 'gzip' });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('TELLTALE_ERR_BAD_GZIP');
      const truncated = gzipSync(json(makeBatch()));
      const cut = await post(truncated.subarray(0, truncated.length - 12), { 'content-type': 'text/plain' });
      expect(cut.json().error.code).toBe('TELLTALE_ERR_BAD_GZIP');
    });

    it('400 for malformed JSON, an empty body, and invalid UTF-8', async () => {
      for (const body of ['{"v":1,', '', 'null x']) {
        const res = await post(body);
        expect(res.statusCode).toBe(400);
        expect(res.json().error.code).toBe('TELLTALE_ERR_INVALID_JSON');
      }
      const badUtf8 = Buffer.concat([
        Buffer.from('{"v":1,"batchId":"'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}'),
      ]);
      const res = await post(badUtf8);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({
        code: 'TELLTALE_ERR_INVALID_JSON',
        message: 'body is not valid UTF-8',
      });
    });

    it('400 for __proto__ and constructor.prototype keys, even inside gzip', async () => {
      const batch = JSON.stringify(makeBatch());
      const proto = batch.replace('{"v":1,', '{"v":1,"__proto__":{"polluted":true},');
      const res = await post(gzipSync(proto), { 'content-encoding': 'gzip' });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toMatch(/__proto__/);
      const ctor = batch.replace('{"v":1,', '{"v":1,"constructor":{"prototype":{"polluted":true}},');
      expect((await post(ctor)).json().error.code).toBe('TELLTALE_ERR_INVALID_JSON');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('415 for a Content-Type header that does not parse', async () => {
      const res = await post(json(makeBatch()), { 'content-type': '' });
      expect(res.statusCode).toBe(415);
      expect(res.json().error.code).toBe('TELLTALE_ERR_UNSUPPORTED_MEDIA_TYPE');
    });

    it('400 naming the field for a schema violation', async () => {
      const batch = makeBatch();
      const bad = { ...batch, events: [{ ...batch.events[0], kind: 'nonsense' }] };
      const res = await post(json(bad));
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'TELLTALE_ERR_INVALID_BATCH', field: '/events/0/kind' });
      const { kind: _kind, ...noKind } = batch.events[0]!;
      expect((await post(json({ ...batch, events: [batch.events[1], noKind] }))).json().error.field).toBe(
        '/events/1/kind',
      );
      const { message: _message, ...noMessage } = batch.events[1] as { message: string };
      const wrongShape = (await post(json({ ...batch, events: [noMessage] }))).json().error;
      expect(wrongShape).toMatchObject({
        field: '/events/0/message',
        message: expect.stringContaining('/events/0/message'),
      });
      expect((await post(json({ ...batch, release: 5 }))).json().error.field).toBe('/release');
      const noEvents = await post(json({ ...batch, events: [] }));
      expect(noEvents.json().error).toMatchObject({ code: 'TELLTALE_ERR_INVALID_BATCH', field: '/events' });
    });
  });

  it('answers 503 with Retry-After when the spool fails, never crashes, and takes the retry', async () => {
    await h.close();
    h = await startHarness({}, (spool) => failingSpool(spool, 1));
    const batch = makeBatch();
    const failed = await post(json(batch));
    expect(failed.statusCode).toBe(503);
    expect(failed.headers['retry-after']).toBe(String(STORAGE_RETRY_AFTER_SECONDS));
    expect(failed.json().error.code).toBe('TELLTALE_ERR_STORAGE');
    // The failed id was forgotten: the client's retry is stored, not called a duplicate.
    expect((await post(json(batch))).json()).toEqual({ accepted: 2, duplicate: false });
    expect(await h.envelopes()).toHaveLength(1);
  });

  it('lets a browser read the answer (CORS) and answers the preflight', async () => {
    const ok = await post(json(makeBatch()), { origin: 'https://app.example' });
    expect(ok.headers['access-control-allow-origin']).toBe('*');
    const denied = await post(json(makeBatch()), { 'x-telltale-key': '' });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['access-control-allow-origin']).toBe('*');
    const preflight = await h.app.inject({
      method: 'OPTIONS',
      url: '/v1/batch',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-telltale-key,content-encoding',
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers).toMatchObject({ 'access-control-allow-origin': '*' });
    expect(String(preflight.headers['access-control-allow-headers'])).toMatch(/X-Telltale-Key/);
  });
});

describe('service routes', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  it('GET /healthz answers ok, unknown paths a JSON 404', async () => {
    expect((await h.app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const missing = await h.app.inject('/nope');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('TELLTALE_ERR_NOT_FOUND');
  });

  it('GET /metrics counts accepted, duplicate and rejected batches by reason', async () => {
    const batch = makeBatch();
    const send = (key: string) =>
      h.app.inject({ method: 'POST', url: '/v1/batch', payload: batch, headers: { 'x-telltale-key': key } });
    await send(WEB_KEY);
    await send(WEB_KEY);
    await send('tt_nope_0123456789abcdef');
    const text = (await h.app.inject('/metrics')).body;
    expect(text).toContain('telltale_collector_batches_total{outcome="stored"} 1');
    expect(text).toContain('telltale_collector_batches_total{outcome="duplicate"} 1');
    expect(text).toContain('telltale_collector_events_stored_total 2');
    expect(text).toContain('telltale_collector_accepted_total{route="batch",app="web"} 2');
    expect(text).toContain(
      'telltale_collector_rejected_total{route="batch",code="TELLTALE_ERR_UNAUTHORIZED",reason="unknown_key"} 1',
    );
    expect(text).toContain('telltale_spool_records_total{spool="client"} 1');
  });
});
