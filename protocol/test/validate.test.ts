import { assert, describe, expect, it } from 'vitest';
import { LIMITS, validateBatch } from '../src/index.js';

const batch = (events: unknown[], extra: Record<string, unknown> = {}) => ({
  v: 1,
  batchId: 'b-1',
  sentAt: 1_732_000_000_000,
  release: '1.0.0',
  environment: 'production',
  session: 's-1',
  events,
  ...extra,
});
const error = {
  id: 'e-1',
  kind: 'error',
  ts: 1_732_000_000_000,
  type: 'TypeError',
  message: 'x is undefined',
};

describe('validateBatch', () => {
  it('accepts every event kind', () => {
    const result = validateBatch(
      batch([
        error,
        {
          id: 'e-2',
          kind: 'assert',
          ts: 1,
          name: 'cart-total',
          soft: false,
          vars: { items: 3, sum: 'ab12' },
        },
        { id: 'e-3', kind: 'feature', ts: 1, name: 'export-csv', props: { rows: 42 } },
        { id: 'e-4', kind: 'blocked', ts: 1, reason: 'file-too-large' },
        { id: 'e-5', kind: 'log', ts: 1, level: 'warn', message: 'slow' },
      ]),
    );
    expect(result.ok).toBe(true);
  });

  it('removes unknown properties instead of storing them', () => {
    const result = validateBatch(batch([{ ...error, fromTheFuture: true }], { newField: 1 }));
    // Each part on its own: `result.ok && …` would read false, and pass, for a refused batch.
    assert(result.ok, 'the batch is accepted');
    expect(result.value).toMatchObject({ batchId: 'b-1' });
    expect(result.value).not.toHaveProperty('newField');
    expect(result.value.events[0]).not.toHaveProperty('fromTheFuture');
  });

  it('names the offending batch field', () => {
    expect(validateBatch({ ...batch([error]), v: 2 })).toMatchObject({ ok: false, path: '/v' });
    expect(validateBatch(batch([]))).toMatchObject({ ok: false, path: '/events' });
    expect(validateBatch('nope')).toMatchObject({ ok: false, path: '/' });
  });

  it('names the field inside an event, not just the event', () => {
    expect(validateBatch(batch([error, { ...error, kind: 'crash' }]))).toMatchObject({
      ok: false,
      path: '/events/1/kind',
    });
    const { message: _dropped, ...noMessage } = error;
    expect(validateBatch(batch([noMessage]))).toMatchObject({ ok: false, path: '/events/0/message' });
    expect(validateBatch(batch([{ ...error, trace: 'not-hex' }]))).toMatchObject({
      ok: false,
      path: '/events/0/trace',
    });
  });

  it('enforces the documented limits', () => {
    const long = 'x'.repeat(LIMITS.maxStringLength + 1);
    expect(validateBatch(batch([{ ...error, message: long }]))).toMatchObject({
      ok: false,
      path: '/events/0/message',
    });
    const many = Array.from({ length: LIMITS.maxEventsPerBatch + 1 }, (_, i) => ({ ...error, id: `e-${i}` }));
    expect(validateBatch(batch(many))).toMatchObject({ ok: false, path: '/events' });
    const nested = { id: 'f', kind: 'feature', ts: 1, name: 'n', props: { deep: { deeper: 1 } } };
    expect(validateBatch(batch([nested]))).toMatchObject({ ok: false, path: '/events/0/props/deep' });
  });
});
