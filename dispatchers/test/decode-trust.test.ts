import { describe, expect, it } from 'vitest';
import { decodeRecord } from '@telltale/dispatchers';
import { clientBatch, json } from './corpus.js';

describe('decoding spool records', () => {
  it('gives the same rows for a collector-validated record with the shape check as with full validation', () => {
    const payload = json(clientBatch(3, 40));
    const trusted = decodeRecord(payload, 'client');
    const validated = decodeRecord(payload, 'mixed');
    expect(trusted.ok).toBe(true);
    expect(trusted).toEqual(validated);
  });

  it('validates Blob intake records in full: what protocol v1 refuses is dead-lettered as invalid_batch', () => {
    const envelope = clientBatch(4, 2);
    envelope.batch.events[0]!.id = 'x'.repeat(10_000); // longer than any id the collector accepts
    expect(decodeRecord(json(envelope), 'mixed')).toMatchObject({ ok: false, code: 'invalid_batch' });
  });

  it('sends a client-spool record of the wrong shape through full validation, with its reason', () => {
    const envelope = clientBatch(5, 2) as unknown as { batch: { events: Record<string, unknown>[] } };
    envelope.batch.events[1]!.kind = 'telemetry';
    const result = decodeRecord(json(envelope as never), 'client');
    expect(result).toMatchObject({ ok: false, code: 'invalid_batch' });
    expect(result.ok ? '' : result.reason).toMatch(/^batch\/events\/1\/kind: must be one of/);
  });
});
