import { describe, expect, it } from 'vitest';
import { filterFromQuery, filterHref, filterToQuery, RANGE_MS } from '../src/filter.js';

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);

describe('filterFromQuery', () => {
  it('reads a named range as a window ending now and keeps its name', () => {
    const result = filterFromQuery({ range: '24h', release: '1.2.0', app: '' }, NOW);
    expect(result).toEqual({
      ok: true,
      filter: { range: '24h', from: NOW - RANGE_MS['24h'], release: '1.2.0' },
    });
    if (!result.ok) return;
    expect(filterToQuery(result.filter)).toEqual({ range: '24h', release: '1.2.0' });
  });

  it('reads custom from/to as epoch ms or ISO UTC times', () => {
    const result = filterFromQuery({ from: '2026-12-01', to: '2026-12-01T09:30' }, NOW);
    expect(result).toEqual({
      ok: true,
      filter: { range: 'custom', from: Date.UTC(2026, 11, 1), to: Date.UTC(2026, 11, 1, 9, 30) },
    });
    const epoch = filterFromQuery({ range: 'custom', from: String(NOW - 5000) }, NOW);
    expect(epoch.ok && epoch.filter.from).toBe(NOW - 5000);
    if (!result.ok) return;
    expect(filterHref('/errors', result.filter, { before: 'abc' })).toBe(
      `/errors?range=custom&from=${Date.UTC(2026, 11, 1)}&to=${Date.UTC(2026, 11, 1, 9, 30)}&before=abc`,
    );
  });

  it('names the bad field and the limit', () => {
    expect(filterFromQuery({ range: '2h' }, NOW)).toMatchObject({ ok: false, field: 'range' });
    expect(filterFromQuery({ from: 'yesterday' }, NOW)).toMatchObject({ ok: false, field: 'from' });
    expect(filterFromQuery({ from: '2026-02-31' }, NOW)).toMatchObject({ ok: false, field: 'from' });
    expect(filterFromQuery({ from: '2000', to: '1000' }, NOW)).toMatchObject({ ok: false, field: 'to' });
    expect(filterFromQuery({ range: 'custom' }, NOW)).toMatchObject({ ok: false, field: 'from' });
    expect(filterFromQuery({ path: 'checkout' }, NOW)).toMatchObject({ ok: false, field: 'path' });
    expect(filterFromQuery({ os: ['a', 'b'] }, NOW)).toMatchObject({ ok: false, field: 'os' });
    const long = filterFromQuery({ release: 'r'.repeat(201) }, NOW);
    expect(long).toMatchObject({ ok: false, field: 'release' });
    expect(!long.ok && long.message).toContain('200');
  });

  it('treats empty values as no filter', () => {
    expect(filterFromQuery({ range: '', from: '', to: '', browser: '', path: '' }, NOW)).toEqual({
      ok: true,
      filter: {},
    });
  });
});
