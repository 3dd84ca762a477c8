import { TypeCompiler } from '@sinclair/typebox/compiler';
import { describe, expect, it } from 'vitest';
import { scrubAttributes, scrubText, ServerLogSchema } from '@telltale/protocol';
import { ATTRIBUTE_CORPUS, SCRUB_CORPUS } from '../../dispatchers/test/fixtures/scrub-corpus.js';
import { toServerLog } from '../src/log-line.js';
import { resolveTransportConfig } from '../src/transport-config.js';
import { backoffMs, RETRY } from '../src/shipper.js';

const valid = TypeCompiler.Compile(ServerLogSchema);
const defaults = { service: 'api', release: undefined, environment: undefined };
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('a pino line as a server log', () => {
  it('maps pino levels, time, message and the request context, and passes the collector’s schema', () => {
    const line = toServerLog(
      {
        level: 50,
        time: 1_700_000_000_000,
        pid: 1,
        hostname: 'h',
        msg: 'boom',
        trace: TRACE,
        span: '00f067aa0ba902b7',
        session: 's-1',
        user: 'u-1',
        orderId: 7,
      },
      defaults,
    );
    expect(line).toEqual({
      ts: 1_700_000_000_000,
      level: 'error',
      message: 'boom',
      service: 'api',
      trace: TRACE,
      span: '00f067aa0ba902b7',
      session: 's-1',
      user: 'u-1',
      attrs: { orderId: 7 },
    });
    expect(valid.Check({ ...line, id: 'x' })).toBe(true);
    expect([10, 20, 30, 40, 60].map((level) => toServerLog({ level, msg: '' }, defaults).level)).toEqual([
      'debug',
      'debug',
      'info',
      'warn',
      'fatal',
    ]);
  });

  it('scrubs with the dispatchers’ rules before the line leaves the machine', () => {
    const line = toServerLog(
      {
        level: 30,
        msg: 'login for bob@example.com with token=abc123 from /cb?code=xyz',
        password: 'hunter2',
        apiKey: 'k-1',
        note: 'card 4111 1111 1111 1111',
        err: {
          type: 'Error',
          message: 'failed for carol@example.com',
          stack: 'Error: x\n    at f (/app/a.js?v=1:1:2)',
        },
      },
      defaults,
    );
    expect(line.message).toBe('login for [email] with token=[Filtered] from /cb');
    expect(line.attrs).toMatchObject({
      password: '[Filtered]',
      apiKey: '[Filtered]',
      note: 'card [card]',
      'err.type': 'Error',
      'err.message': 'failed for [email]',
    });
    expect(JSON.stringify(line)).not.toMatch(/hunter2|bob@|carol@|abc123|xyz|v=1/);
  });

  it('gives the same result as the dispatchers on their scrub corpus, first time and remembered', () => {
    const texts = SCRUB_CORPUS.filter((c) => (c.field ?? 'text') === 'text');
    expect(texts.length).toBeGreaterThan(10);
    for (let pass = 0; pass < 2; pass++) {
      for (const { input } of texts)
        expect(toServerLog({ msg: input }, defaults).message).toBe(scrubText(input));
      const attrs = toServerLog({ ...ATTRIBUTE_CORPUS.input }, defaults).attrs;
      expect(attrs).toEqual(scrubAttributes(ATTRIBUTE_CORPUS.input));
    }
  });

  it('keeps a hostile line inside the protocol’s limits: ids bounded, attributes capped, bad trace ids dropped', () => {
    const attrs = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
    const line = toServerLog(
      {
        level: 30,
        msg: 'x'.repeat(100_000),
        trace: 'not-hex',
        span: TRACE,
        session: 's'.repeat(5000),
        nested: { a: { b: { c: 1 } } },
        ...attrs,
      },
      { service: undefined, release: undefined, environment: undefined },
    );
    expect(line.trace).toBeUndefined();
    expect(line.span).toBeUndefined();
    expect(line.service).toBe('app');
    expect(line.message.length).toBe(8192);
    expect(line.session!.length).toBe(200);
    expect(Object.keys(line.attrs!)).toHaveLength(32);
    expect(line.attrs!['nested.a']).toBe('{"b":{"c":1}}');
    expect(valid.Check({ ...line, id: 'x' })).toBe(true);
  });
});

describe('transport options', () => {
  it('names the field and the fix when an option is wrong', () => {
    expect(() => resolveTransportConfig({ key: 'k', dir: '/tmp/x' })).toThrow(/options\.endpoint: set it/);
    expect(() => resolveTransportConfig({ endpoint: 'ftp://x', key: 'k', dir: '/tmp/x' })).toThrow(
      /http: or https:/,
    );
    expect(() => resolveTransportConfig({ endpoint: 'http://h/?key=1', key: 'k', dir: '/tmp/x' })).toThrow(
      /query string/,
    );
    expect(() => resolveTransportConfig({ endpoint: 'http://h', dir: '/tmp/x' })).toThrow(/options\.key/);
    expect(() => resolveTransportConfig({ endpoint: 'http://h', key: 'k' })).toThrow(/options\.dir/);
    expect(() =>
      resolveTransportConfig({ endpoint: 'http://h', key: 'k', dir: 'd', batchLines: 5000 }),
    ).toThrow(/options\.batchLines: must be an integer from 1 to 1000/);
    expect(() =>
      resolveTransportConfig({ endpoint: 'http://h', key: 'k', dir: 'd', maxBufferBytes: 10 }),
    ).toThrow(/TELLTALE_ERR_INVALID_CONFIG.*maxBufferBytes/);
  });

  it('posts to <endpoint>/v1/logs whichever way the endpoint is written', () => {
    for (const endpoint of [
      'http://127.0.0.1:8080',
      'http://127.0.0.1:8080/',
      'http://127.0.0.1:8080/v1/logs',
    ])
      expect(resolveTransportConfig({ endpoint, key: 'k', dir: 'd' }).logsUrl).toBe(
        'http://127.0.0.1:8080/v1/logs',
      );
    expect(
      resolveTransportConfig({ endpoint: 'https://t.example/telltale', key: 'k', dir: 'd' }).logsUrl,
    ).toBe('https://t.example/telltale/v1/logs');
  });
});

describe('retry schedule', () => {
  it('grows exponentially with jitter in the upper half, up to the cap', () => {
    expect(backoffMs(0, () => 0)).toBe(RETRY.baseMs / 2);
    expect(backoffMs(0, () => 1)).toBe(RETRY.baseMs);
    expect(backoffMs(3, () => 0.5)).toBe(RETRY.baseMs * 8 * 0.75);
    expect(backoffMs(50, () => 1)).toBe(RETRY.capMs);
  });
});
