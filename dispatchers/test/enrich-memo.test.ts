import { describe, expect, it } from 'vitest';
import type { TelltaleEvent } from '@telltale/protocol';
import {
  enrichEnvelope,
  fingerprintError,
  scrubAttributes,
  scrubStack,
  scrubText,
  scrubUrl,
} from '@telltale/dispatchers';
import { envelope, errorEvent } from './helpers.js';

const SECRET_MESSAGE = 'No account for anna@example.com, token=abc123secret, card 4111 1111 1111 1111';
const SECRET_STACK = `Error: boom
    at pay (https://shop.example.com/assets/app.js?token=abc123secret:3:15)
    at Bearer eyJhbGciOiJIUzI1NiJ9.payload.signature (https://shop.example.com/assets/app.js:6:10)`;

function repeated(n: number): TelltaleEvent[] {
  return Array.from({ length: n }, (_, i): TelltaleEvent[] => [
    errorEvent(`e-${i}`, { message: SECRET_MESSAGE, stack: SECRET_STACK, url: '/pay?card=4111111111111111' }),
    {
      kind: 'feature',
      id: `f-${i}`,
      ts: 1,
      name: 'export anna@example.com',
      props: { password: 'hunter2', note: 'mail anna@example.com', rows: i },
    },
    {
      kind: 'log',
      id: `l-${i}`,
      ts: 1,
      level: 'info',
      message: SECRET_MESSAGE,
      breadcrumbs: [{ ts: 1, category: 'token=abc123secret', message: SECRET_MESSAGE }],
    },
  ]).flat();
}

describe('enrichment memos (the same text seen again)', () => {
  it('stores every repeat exactly as the scrubbers give it the first time, secrets out', () => {
    const first = enrichEnvelope(envelope('b-1', repeated(3)));
    const again = enrichEnvelope(envelope('b-2', repeated(3)));
    for (const rows of [first, again]) {
      const errors = rows.filter((r) => r.kind === 'error');
      expect(errors).toHaveLength(3);
      for (const row of errors) {
        expect(row.message).toBe(scrubText(SECRET_MESSAGE));
        expect(row.stack).toBe(scrubStack(SECRET_STACK));
        expect(row.url).toBe(scrubUrl('/pay?card=4111111111111111'));
        expect(row.fingerprint).toBe(errors[0]!.fingerprint);
      }
      const features = rows.filter((r) => r.kind === 'feature');
      features.forEach((row, i) =>
        expect(JSON.parse(row.attrs!)).toEqual(
          scrubAttributes({ password: 'hunter2', note: 'mail anna@example.com', rows: i }),
        ),
      );
      for (const row of rows) {
        const stored = JSON.stringify(row);
        for (const secret of ['anna@example.com', 'abc123secret', 'hunter2', '4111', 'eyJhbGciOiJIUzI1NiJ9'])
          expect(stored).not.toContain(secret);
      }
    }
    // Same rows apart from ids and batch: the memo answers what the scrubbers answered.
    const strip = (rows: typeof first) => rows.map(({ id: _id, batchId: _b, ...rest }) => rest);
    expect(strip(again)).toEqual(strip(first));
  });

  it('groups on the text itself, not on what was seen before: distinct texts never share an answer', () => {
    // Texts that would collide if the memo key only joined its parts with a separator.
    const a = errorEvent('e-a', { type: 'A|1', message: 'x', stack: undefined });
    const b = errorEvent('e-b', { type: 'A', message: '1|x', stack: undefined });
    const [rowA, rowB] = enrichEnvelope(envelope('b-3', [a, b]));
    expect(rowA?.errorType).toBe('A|1');
    expect(rowB?.errorType).toBe('A');
    expect(rowA?.fingerprint).not.toBe(rowB?.fingerprint);
    expect(rowA?.fingerprint).toBe(fingerprintError({ type: 'A|1', message: 'x' }));
    // An app's own fingerprint changes the group though message and stack are the same.
    const custom = enrichEnvelope(
      envelope('b-4', [errorEvent('e-c', { fingerprint: 'checkout' }), errorEvent('e-d')]),
    );
    expect(custom[0]?.fingerprint).not.toBe(custom[1]?.fingerprint);
  });

  it('stays right past its bounds: more distinct texts than it holds, then the first ones again', () => {
    const many = (from: number): TelltaleEvent[] =>
      Array.from({ length: 2_500 }, (_, i) =>
        errorEvent(`m-${from + i}`, {
          message: `user ${from + i}@example.com failed`,
          stack: `Error\n    at f${from + i} (https://a.example.com/app.js?secret=s${from + i}:1:${i + 1})`,
        }),
      );
    const batch = many(0);
    const rows = enrichEnvelope(envelope('b-5', batch));
    const later = enrichEnvelope(envelope('b-6', [...many(2_500), ...batch.slice(0, 50)]));
    for (const [i, row] of [...rows, ...later.slice(-50)].entries()) {
      const event = batch[i % 2_500] as Extract<TelltaleEvent, { kind: 'error' }>;
      expect(row.message).toBe(scrubText(event.message));
      expect(row.stack).toBe(scrubStack(event.stack!));
      expect(row.message).not.toContain('@example.com');
    }
    // A text longer than any memo holds is scrubbed every time, the same way.
    const huge = `${'word '.repeat(3_000)} anna@example.com`;
    const [big] = enrichEnvelope(envelope('b-7', [errorEvent('h-1', { message: huge })]));
    expect(big?.message).toBe(scrubText(huge));
  });
});
