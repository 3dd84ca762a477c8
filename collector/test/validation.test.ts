import { Value } from '@sinclair/typebox/value';
import { assert, describe, expect, it } from 'vitest';
import { BatchSchema, validateBatch } from '@telltale/protocol';
import { checkBatch, dropUnknownFields } from '../src/validation.js';
import { makeBatch } from './helpers.js';

/** A valid batch with fields v1 does not know at every level: batch, events of each kind, breadcrumbs. */
function withUnknownFields(seed: number) {
  const now = Date.now();
  return {
    ...makeBatch(),
    newTopLevel: { nested: [1, 2, seed] },
    events: [
      {
        id: 'a',
        ts: now,
        kind: 'error',
        type: 'E',
        message: 'm',
        viewport: '1x1',
        breadcrumbs: [{ ts: now, message: 'c', extra: seed }],
      },
      { id: 'b', ts: now, kind: 'assert', name: 'n', soft: true, vars: { keep: 1 }, extra: 'x' },
      { id: 'c', ts: now, kind: 'feature', name: 'f', props: { rows: seed }, more: null },
      { id: 'd', ts: now, kind: 'blocked', reason: 'r', props: {}, z: [] },
      { id: 'e', ts: now, kind: 'log', level: 'info', message: 'l', deep: { a: { b: 1 } } },
    ],
  };
}

describe('batch validation', () => {
  it('drops unknown fields exactly as the protocol validator (Value.Clean) does, and keeps attribute maps', () => {
    for (let seed = 0; seed < 20; seed++) {
      const ours = structuredClone(withUnknownFields(seed));
      const reference = structuredClone(ours);
      dropUnknownFields(BatchSchema as never, ours);
      expect(ours).toEqual(Value.Clean(BatchSchema, reference));
      expect(ours.events[1]).toMatchObject({ vars: { keep: 1 } });
      expect(ours).not.toHaveProperty('newTopLevel');
    }
  });

  it('accepts the same batches as the protocol, exact ones on the fast path', () => {
    const exact = makeBatch();
    expect(checkBatch(structuredClone(exact))).toEqual({ ok: true, batch: exact, exact: true });
    const extended = withUnknownFields(1);
    const checked = checkBatch(structuredClone(extended));
    const reference = validateBatch(structuredClone(extended));
    assert(checked.ok, 'the collector accepts it');
    assert(reference.ok, 'the protocol accepts it');
    expect(checked.exact).toBe(false);
    expect(checked.batch).toEqual(reference.value);
    const broken = { ...makeBatch(), events: [{ id: 'x', ts: 1, kind: 'log', level: 'loud', message: 'm' }] };
    expect(checkBatch(broken)).toMatchObject({ ok: false, field: '/events/0/level', reason: 'schema' });
  });
});
