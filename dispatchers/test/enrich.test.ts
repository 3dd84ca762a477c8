import { describe, expect, it } from 'vitest';
import { decodeEnvelope, enrichEnvelope, scrubText } from '@telltale/dispatchers';
import { envelope, errorEvent, payload } from './helpers.js';

describe('enrichEnvelope', () => {
  it('maps every kind onto the flat row', () => {
    const rows = enrichEnvelope(
      envelope('b-1', [
        errorEvent('e-1', { count: 4 }),
        {
          kind: 'assert',
          id: 'a-1',
          ts: 1,
          name: 'cart-total-positive',
          soft: true,
          vars: { items: 3, password: 'hunter2' },
        },
        { kind: 'assert', id: 'a-2', ts: 1, name: 'ids-unique', soft: false },
        { kind: 'blocked', id: 'x-1', ts: 1, reason: 'file-too-large', props: { mb: 120 } },
        {
          kind: 'log',
          id: 'l-1',
          ts: 1,
          level: 'warn',
          message: 'retrying',
          breadcrumbs: [{ ts: 1, message: 'clicked pay' }],
        },
      ]),
    );
    expect(rows.map((r) => [r.kind, r.name, r.level, r.count, r.soft])).toEqual([
      ['error', null, 'error', 4, null],
      ['assert', 'cart-total-positive', 'warn', 1, true],
      ['assert', 'ids-unique', 'error', 1, false],
      ['blocked', 'file-too-large', null, 1, null],
      ['log', null, 'warn', 1, null],
    ]);
    expect(rows[0]?.fingerprint).toMatch(/^[0-9a-f]{32}$/);
    expect(rows.slice(1).every((r) => r.fingerprint === null)).toBe(true);
    expect(rows[1]?.attrs).toBe('{"items":3,"password":"[Filtered]"}');
    expect(rows[4]?.breadcrumbs).toBe('[{"ts":1,"message":"clicked pay"}]');
    expect(rows.every((r) => r.browser === 'Chrome' && r.release === '1.4.2' && r.userId === 'u-7')).toBe(
      true,
    );
  });

  it('scrubs what an old client let through', () => {
    const [row] = enrichEnvelope(
      envelope('b-1', [
        errorEvent('e-1', {
          message: 'No account for anna@example.com, card 4111 1111 1111 1111, token=abc123secret',
          url: '/reset?token=abc#x',
        }),
      ]),
    );
    expect(row?.message).toBe('No account for [email], card [card], token=[Filtered]');
    expect(row?.url).toBe('/reset');
    // Timestamps and ids are not card numbers.
    expect(scrubText('at 1714000000000 order 12345678901234')).toBe('at 1714000000000 order 12345678901234');
  });

  it('falls back to the receive time for an impossible client clock', () => {
    const [row] = enrichEnvelope(envelope('b-1', [errorEvent('e-1', { ts: 1e20 })]));
    expect(row?.ts).toBe(row?.receivedAt);
  });
});

describe('decodeEnvelope', () => {
  it('accepts what the collector writes and names what is wrong otherwise', () => {
    const good = decodeEnvelope(payload(envelope('b-1', [errorEvent('e-1')])));
    expect(good.ok).toBe(true);
    expect(decodeEnvelope(Buffer.from('{oops'))).toMatchObject({ ok: false, code: 'invalid_json' });
    expect(decodeEnvelope(Buffer.from('{"v":2}'))).toMatchObject({ ok: false, code: 'invalid_envelope' });
    const noEvents = { ...envelope('b-1', [errorEvent('e-1')]), batch: { v: 1 } };
    expect(decodeEnvelope(payload(noEvents as never))).toMatchObject({ ok: false, code: 'invalid_batch' });
  });
});
