// Protocol v1's optional `count` on feature, blocked and assert events (issue 16): additive, bounded.
import { describe, expect, it } from 'vitest';
import { LIMITS, validateBatch } from '../src/index.js';

const batch = (event: Record<string, unknown>) => ({
  v: 1,
  batchId: 'b'.repeat(32),
  sentAt: 1_700_000_000_000,
  release: '1.0.0',
  environment: 'test',
  session: 's'.repeat(32),
  events: [{ id: 'e'.repeat(32), ts: 1_700_000_000_000, ...event }],
});
const kinds = [
  { kind: 'feature', name: 'export-csv' },
  { kind: 'blocked', reason: 'file-too-large' },
  { kind: 'assert', name: 'cart-total', soft: false },
  { kind: 'error', type: 'TypeError', message: 'boom' },
];

describe('count on counted kinds', () => {
  it('accepts an integer count from 1 to LIMITS.maxCount, and events without one (older SDKs)', () => {
    for (const k of kinds) {
      for (const count of [undefined, 1, 1000, LIMITS.maxCount]) {
        const r = validateBatch(batch({ ...k, count }));
        expect(r).toMatchObject({ ok: true });
        if (r.ok) expect((r.value.events[0] as { count?: number }).count).toBe(count);
      }
    }
  });

  it('refuses a count of 0, a fraction, a string or one over the bound, naming the field', () => {
    for (const k of kinds)
      for (const count of [0, -1, 1.5, '3', LIMITS.maxCount + 1]) {
        const r = validateBatch(batch({ ...k, count }));
        expect(r.ok).toBe(false);
        expect(JSON.stringify(r)).toContain('count');
      }
  });
});
