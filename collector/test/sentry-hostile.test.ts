import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEnvelope, MAX_ENVELOPE_ITEMS } from '../src/sentry/envelope.js';
import { APPS, makeBatch, startHarness, WEB_KEY, type Harness } from './helpers.js';
import { envelope, eventEnvelope, SENTRY_APPS } from './sentry-fixtures.js';

const URL = `/api/7/envelope/?sentry_key=${WEB_KEY}`;

describe('hostile Sentry envelopes', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  const post = (payload: Buffer | string, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'POST',
      url: URL,
      payload,
      headers: { 'content-type': 'application/x-sentry-envelope', ...headers },
    });
  const refusal = async (payload: Buffer | string, headers: Record<string, string> = {}) => {
    const answer = await post(payload, headers);
    return {
      status: answer.statusCode,
      ...(answer.json() as { error: { code: string; message: string; limit?: number } }).error,
    };
  };

  it('refuses wrong lengths, missing newlines and broken headers with 400 TELLTALE_ERR_INVALID_ENVELOPE, storing nothing', async () => {
    h = await startHarness({ apps: SENTRY_APPS });
    const event =
      '{"event_id":"0123456789abcdef0123456789abcdef","exception":{"values":[{"type":"Error","value":"x"}]}}';
    const cases: Array<[string, string]> = [
      // length past the end of the body
      [`{}\n{"type":"event","length":${event.length + 50}}\n${event}\n`, 'envelope ends sooner'],
      // length shorter than the payload: what follows is not a newline
      [`{}\n{"type":"event","length":${event.length - 3}}\n${event}\n`, 'not followed by a newline'],
      // an item header at the very end, with no newline and no payload
      ['{}\n{"type":"event"}', 'not followed by a newline and a payload'],
      ['{"dsn":', 'envelope header is not valid JSON'],
      ['[1,2]\n', 'must be a JSON object'],
      [`{}\n{"length":2}\n{}\n`, 'has no "type"'],
      [`{}\n{"type":"event","length":-1}\n{}\n`, 'whole number of bytes'],
    ];
    for (const [body, message] of cases) {
      const answer = await refusal(body);
      expect(answer, body).toMatchObject({ status: 400, code: 'TELLTALE_ERR_INVALID_ENVELOPE' });
      expect(answer.message, body).toContain(message);
    }
    expect(await refusal(`{}\n{"type":"event"}\nnot json\n`)).toMatchObject({
      status: 400,
      code: 'TELLTALE_ERR_INVALID_ENVELOPE',
    });
    expect(await h.envelopes()).toHaveLength(0);
  });

  it('refuses 10,000 items and header lines over 16 KB, and a normal batch from another app is still accepted', async () => {
    h = await startHarness({ apps: SENTRY_APPS });
    const many = Buffer.from('{}\n' + '{"type":"client_report","length":2}\n{}\n'.repeat(10_000));
    expect(await refusal(many)).toMatchObject({
      status: 400,
      code: 'TELLTALE_ERR_INVALID_ENVELOPE',
      limit: MAX_ENVELOPE_ITEMS,
    });
    const hugeHeader = `{"pad":"${'a'.repeat(5 * 1024 * 1024)}"}\n`;
    expect(await refusal(hugeHeader)).toMatchObject({
      status: 400,
      code: 'TELLTALE_ERR_INVALID_ENVELOPE',
      limit: 16 * 1024,
    });
    const hugeItemHeader = `{}\n{"type":"event","pad":"${'b'.repeat(100_000)}"}\n{}\n`;
    expect((await refusal(hugeItemHeader)).message).toContain('longer than 16384 bytes');
    const batch = await h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: { 'x-telltale-key': APPS[1]!.ingestKeys[0]! },
      payload: makeBatch(),
    });
    expect(batch.statusCode).toBe(202);
    expect(await h.envelopes()).toMatchObject([{ app: 'api' }]);
  });

  it('answers 413 for an event item over 1 MB, an envelope over 20 MB and a gzip bomb', async () => {
    h = await startHarness({ apps: SENTRY_APPS });
    const bigEvent = JSON.stringify({ message: 'x', extra: { blob: 'y'.repeat(1024 * 1024) } });
    expect(await refusal(envelope({}, [[{ type: 'event' }, bigEvent]]))).toMatchObject({
      status: 413,
      code: 'TELLTALE_ERR_ITEM_TOO_LARGE',
      limit: 1024 * 1024,
    });
    // A large attachment is fine (counted, not stored); past 20 MB the envelope is refused as a whole.
    const attachment = Buffer.alloc(2 * 1024 * 1024, 1);
    expect((await post(envelope({}, [[{ type: 'attachment' }, attachment]]))).statusCode).toBe(200);
    const over = envelope({}, [[{ type: 'attachment' }, Buffer.alloc(20 * 1024 * 1024 + 10, 1)]]);
    expect(await refusal(over)).toMatchObject({ status: 413, code: 'TELLTALE_ERR_BODY_TOO_LARGE' });
    // 20 KB of gzip that inflates to 100 MB: stopped at the 20 MB limit.
    const bomb = gzipSync(Buffer.alloc(100 * 1024 * 1024, 0x20), { level: 9 });
    expect(bomb.length).toBeLessThan(200 * 1024);
    expect(await refusal(bomb, { 'content-encoding': 'gzip' })).toMatchObject({
      status: 413,
      code: 'TELLTALE_ERR_DECOMPRESSED_TOO_LARGE',
      limit: 20 * 1024 * 1024,
    });
    // Still serving: the next real event goes through.
    expect((await post(eventEnvelope())).statusCode).toBe(200);
    expect(await h.envelopes()).toHaveLength(1);
  });
});

describe('parseEnvelope', () => {
  it('reads items by length (binary payloads with newlines inside) and by newline', () => {
    const binary = Buffer.from([10, 0, 10, 255]);
    const parsed = parseEnvelope(
      Buffer.concat([
        Buffer.from('{"event_id":"e"}\n{"type":"attachment","length":4}\n'),
        binary,
        Buffer.from('\n{"type":"session"}\n{"sid":"s"}\n{"type":"Event"}\n{}'),
      ]),
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.header).toEqual({ event_id: 'e' });
    expect(parsed.items.map((i) => [i.type, i.payload.toString('hex')])).toEqual([
      ['attachment', binary.toString('hex')],
      ['session', Buffer.from('{"sid":"s"}').toString('hex')],
      ['event', Buffer.from('{}').toString('hex')],
    ]);
  });
});
