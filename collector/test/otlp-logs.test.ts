import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter as JsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  LoggerProvider,
  SimpleLogRecordProcessor,
  type LogRecordExporter,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import { createQuotaLedger, resolveCollectorConfig } from '../src/index.js';
import { API_KEY, APPS, startHarness, WEB_SECRET, type Harness } from './helpers.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

/** Sends records through a real OTel exporter and keeps the result it reported. */
async function exportWith(kind: 'json' | 'proto', url: string, key: string): Promise<ExportResult[]> {
  const options = { url, headers: { 'x-telltale-key': key } };
  const real = kind === 'json' ? new JsonExporter(options) : new ProtoExporter(options);
  const results: ExportResult[] = [];
  const exporter: LogRecordExporter = {
    export: (records: ReadableLogRecord[], done: (r: ExportResult) => void) =>
      real.export(records, (result) => {
        results.push(result);
        done(result);
      }),
    shutdown: () => real.shutdown(),
    forceFlush: () => real.forceFlush(),
  };
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': `checkout-${kind}`, 'service.version': '2.0.1' }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('orders', '1.0.0');
  const traced = trace.setSpanContext(context.active(), {
    traceId: TRACE,
    spanId: SPAN,
    traceFlags: TraceFlags.SAMPLED,
  });
  logger.emit({
    severityNumber: 17,
    severityText: 'ERROR',
    body: `payment declined (${kind})`,
    attributes: { 'http.route': '/checkout', 'session.id': 'sess-9', status: 402 },
    context: traced,
  });
  logger.emit({ severityNumber: 9, body: { order: 42, items: ['a', 'b'] }, context: traced });
  await provider.forceFlush();
  await provider.shutdown();
  return results;
}

/** Protobuf by hand, for bodies no exporter would send. */
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
};
const field = (id: number, bytes: Buffer): Buffer =>
  Buffer.concat([Buffer.from([(id << 3) | 2, ...varint(bytes.length)]), bytes]);
const str = (id: number, text: string): Buffer => field(id, Buffer.from(text));
/** ExportLogsServiceRequest with one record whose body is `body` (AnyValue bytes). */
const requestWithBody = (body: Buffer): Buffer =>
  field(
    1,
    Buffer.concat([
      field(1, field(1, Buffer.concat([str(1, 'service.name'), field(2, str(1, 'deep'))]))),
      field(2, field(2, field(5, body))),
    ]),
  );
/** An AnyValue nested `depth` arrays deep around a string. */
function nestedArrays(depth: number): Buffer {
  let value = str(1, 'leaf');
  for (let i = 0; i < depth; i++) value = field(5, field(1, value));
  return value;
}

describe('POST /otlp/v1/logs under quotas', () => {
  const API_SECRET = 'tt_secret_api_0123456789abcdef';
  it("answers 429 with Retry-After past one app's quota, and another app's export still lands", async () => {
    const apps = [
      { ...APPS[0]!, quotas: { eventsPerMinute: 3 } },
      { ...APPS[1]!, secretKeys: [API_SECRET] },
    ];
    // One clock minute for the whole test: the quota's window cannot roll over between requests.
    const minute = Math.floor(Date.now() / 60_000) * 60_000 + 1_000;
    const quotas = createQuotaLedger(resolveCollectorConfig({ apps }, {}).quotas, () => minute);
    const h = await startHarness({ apps }, undefined, { quotas });
    try {
      const url = `${await h.app.listen({ port: 0, host: '127.0.0.1' })}/otlp/v1/logs`;
      expect((await exportWith('proto', url, WEB_SECRET)).map((r) => r.code)).toEqual([0, 0]);
      const third = await h.app.inject({
        method: 'POST',
        url: '/otlp/v1/logs',
        payload: requestWithBody(field(1, Buffer.from('over quota'))),
        headers: { 'x-telltale-key': WEB_SECRET, 'content-type': 'application/x-protobuf' },
      });
      expect(third.statusCode).toBe(200); // the third record still fits
      const over = await h.app.inject({
        method: 'POST',
        url: '/otlp/v1/logs',
        payload: requestWithBody(field(1, Buffer.from('over quota'))),
        headers: { 'x-telltale-key': WEB_SECRET, 'content-type': 'application/x-protobuf' },
      });
      expect(over.statusCode).toBe(429);
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
      expect(over.rawPayload.subarray(0, 2)).toEqual(Buffer.from([0x08, 0x08])); // RESOURCE_EXHAUSTED
      expect(over.rawPayload.toString('latin1')).toContain('TELLTALE_ERR_QUOTA_EXCEEDED');
      expect((await exportWith('json', url, API_SECRET)).map((r) => r.code)).toEqual([0, 0]);
      const stored = (await h.serverLogEnvelopes()).map((e) => [e.app, e.logs.length]);
      expect(stored).toEqual([
        ['web', 1],
        ['web', 1],
        ['web', 1],
        ['api', 1],
        ['api', 1],
      ]);
    } finally {
      await h.close();
    }
  });
});

describe('POST /otlp/v1/logs (OTLP/HTTP)', () => {
  let h: Harness;
  let url: string;
  beforeEach(async () => {
    h = await startHarness();
    const address = await h.app.listen({ port: 0, host: '127.0.0.1' });
    url = `${address}/otlp/v1/logs`;
  });
  afterEach(() => h.close());

  const post = (body: Buffer | string, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'POST',
      url: '/otlp/v1/logs',
      payload: body,
      headers: { authorization: `Bearer ${WEB_SECRET}`, 'content-type': 'application/json', ...headers },
    });

  it.each(['json', 'proto'] as const)(
    'stores what the real %s exporter sends as server logs',
    async (kind) => {
      const results = await exportWith(kind, url, WEB_SECRET);
      expect(results.map((r) => r.code)).toEqual([ExportResultCode.SUCCESS, ExportResultCode.SUCCESS]);
      const logs = (await h.serverLogEnvelopes()).flatMap((e) => e.logs);
      expect(logs).toHaveLength(2);
      expect(logs[0]).toMatchObject({
        level: 'error',
        message: `payment declined (${kind})`,
        service: `checkout-${kind}`,
        trace: TRACE,
        span: SPAN,
        session: 'sess-9',
        release: '2.0.1',
        attrs: { 'http.route': '/checkout', status: 402, 'otel.scope.name': 'orders' },
      });
      expect(logs[1]).toMatchObject({ level: 'info', message: '{"order":42,"items":["a","b"]}' });
      expect(Math.abs(logs[0]!.ts - Date.now())).toBeLessThan(60_000);
    },
  );

  it('refuses the public ingest key and keys in the URL, like /v1/logs', async () => {
    const res = await post('{"resourceLogs":[]}', { authorization: `Bearer ${API_KEY}` });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 16, error: { code: 'TELLTALE_ERR_UNAUTHORIZED' } });
    const exported = await exportWith('proto', url, API_KEY);
    expect(exported[0]?.code).toBe(ExportResultCode.FAILED);
    expect(await h.serverLogEnvelopes()).toEqual([]);
  });

  it('answers partialSuccess for records it drops and keeps the others', async () => {
    const body = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
          scopeLogs: [
            {
              logRecords: [
                { timeUnixNano: String(Date.now() * 1e6), body: { stringValue: 'kept' }, traceId: TRACE },
                { body: { stringValue: 'bad trace' }, traceId: 'not-hex' },
                { body: { stringValue: 'no trace' }, traceId: '00000000000000000000000000000000' },
              ],
            },
          ],
        },
      ],
    };
    const res = await post(gzipSync(JSON.stringify(body)), { 'content-encoding': 'gzip' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({
      partialSuccess: { rejectedLogRecords: 1, errorMessage: '1 log records dropped: bad traceId' },
    });
    const logs = (await h.serverLogEnvelopes()).flatMap((e) => e.logs);
    expect(logs.map((l) => [l.message, l.trace])).toEqual([
      ['kept', TRACE],
      ['no trace', undefined],
    ]);
  });

  it('caps a huge attribute map at the protocol limit and says how many it left out', async () => {
    const attributes = Array.from({ length: 20_000 }, (_, i) => ({ key: `k${i}`, value: { intValue: i } }));
    const res = await post(
      JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ attributes }] }] }] }),
    );
    expect(res.statusCode).toBe(200);
    const [line] = (await h.serverLogEnvelopes()).flatMap((e) => e.logs);
    expect(Object.keys(line!.attrs!)).toHaveLength(32);
    expect(line!.attrs!['otel.dropped_attributes']).toBe(20_000 - 31);
    expect(line!.service).toBe('unknown_service');
  });

  it('writes nested values a few levels deep, and refuses nesting no exporter sends', async () => {
    const ok = await post(requestWithBody(nestedArrays(6)), { 'content-type': 'application/x-protobuf' });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toBe('application/x-protobuf');
    const [line] = (await h.serverLogEnvelopes()).flatMap((e) => e.logs);
    expect(line!.message).toBe('[[[["…"]]]]');

    const deep = await post(requestWithBody(nestedArrays(5000)), {
      'content-type': 'application/x-protobuf',
    });
    expect(deep.statusCode).toBe(400);
    expect(deep.headers['content-type']).toBe('application/x-protobuf');
    // google.rpc.Status: code 3 (INVALID_ARGUMENT), then the message naming our error code.
    expect(deep.rawPayload.subarray(0, 2)).toEqual(Buffer.from([0x08, 0x03]));
    expect(deep.rawPayload.toString('latin1')).toContain('TELLTALE_ERR_INVALID_LOGS');

    let json = '{"stringValue":"x"}';
    for (let i = 0; i < 100; i++) json = `{"arrayValue":{"values":[${json}]}}`;
    const deepJson = await post(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":${json}}]}]}]}`);
    expect(deepJson.statusCode).toBe(400);
    expect(deepJson.json()).toMatchObject({ code: 3, error: { code: 'TELLTALE_ERR_INVALID_LOGS' } });
  });

  it('refuses bad protobuf, unknown types, bombs and oversize bodies with documented errors', async () => {
    const bad = await post(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), {
      'content-type': 'application/x-protobuf',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.rawPayload.toString('latin1')).toContain('TELLTALE_ERR_INVALID_LOGS');

    const type = await post('{}', { 'content-type': 'text/plain' });
    expect(type.statusCode).toBe(415);
    expect(type.json().error.code).toBe('TELLTALE_ERR_UNSUPPORTED_MEDIA_TYPE');

    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    const bombed = await post(bomb, { 'content-encoding': 'gzip' });
    expect(bombed.statusCode).toBe(413);
    expect(bombed.json().error.code).toBe('TELLTALE_ERR_DECOMPRESSED_TOO_LARGE');

    const big = await post(Buffer.alloc(2 * 1024 * 1024, 0x20));
    expect(big.statusCode).toBe(413);

    const notJson = await post('{"resourceLogs": [');
    expect(notJson.statusCode).toBe(400);

    // Nothing of the above was stored; the next honest export still is.
    expect(await h.serverLogEnvelopes()).toEqual([]);
    expect((await exportWith('json', url, WEB_SECRET)).map((r) => r.code)).toEqual([0, 0]);
    expect((await h.serverLogEnvelopes()).flatMap((e) => e.logs)).toHaveLength(2);
  });
});
