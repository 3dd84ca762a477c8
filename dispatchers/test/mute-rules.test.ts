import { describe, expect, it } from 'vitest';
import {
  enrichEnvelope,
  isRegression,
  matchGlob,
  MUTE_LIMITS,
  openGroupStates,
  openMuteRules,
  ruleMatches,
  validateMuteRule,
  type GroupState,
} from '@telltale/dispatchers';
import { envelope, errorEvent, featureEvent, tempDir } from './helpers.js';

describe('mute rule patterns', () => {
  it('match the whole value, case-insensitively, with * and ?', () => {
    expect(matchGlob('*ResizeObserver loop*', 'ResizeObserver loop limit exceeded')).toBe(true);
    expect(matchGlob('resizeobserver*', 'ResizeObserver loop limit exceeded')).toBe(true);
    expect(matchGlob('ResizeObserver', 'ResizeObserver loop limit exceeded')).toBe(false);
    expect(matchGlob('/admin/*', '/admin/users/7')).toBe(true);
    expect(matchGlob('/admin/*', '/shop/admin/x')).toBe(false);
    expect(matchGlob('1.?.0', '1.4.0')).toBe(true);
    expect(matchGlob('1.?.0', '1.40.0')).toBe(false);
    expect(matchGlob('*', '')).toBe(true);
    expect(matchGlob('a*b*c', 'axxbyyc')).toBe(true);
    expect(matchGlob('a*b*c', 'axxbyy')).toBe(false);
  });

  it('finish on inputs that make backtracking regular expressions explode', () => {
    // As a regex, (a*)*b-style patterns against a long run of "a" take exponential time; globs stay linear per star.
    const pattern = `${'*a'.repeat(MUTE_LIMITS.maxPatternLength / 2 - 1)}*b`;
    expect(pattern.length).toBeLessThanOrEqual(MUTE_LIMITS.maxPatternLength);
    expect(matchGlob(pattern, 'a'.repeat(8192))).toBe(false);
    expect(matchGlob(pattern, `${'a'.repeat(8191)}b`)).toBe(true);
  });

  it('are validated: bounded length, at least one condition, no unknown fields or control characters', () => {
    expect(validateMuteRule({ message: '*timeout*', browser: 'Firefox' })).toEqual({
      ok: true,
      rule: { message: '*timeout*', browser: 'Firefox' },
    });
    expect(validateMuteRule({ note: 'only a note' })).toMatchObject({ ok: false, field: 'message' });
    expect(validateMuteRule({ message: 'x'.repeat(201) })).toMatchObject({ ok: false, field: 'message' });
    expect(validateMuteRule({ regex: '(a+)+$' })).toMatchObject({ ok: false, field: 'regex' });
    expect(validateMuteRule({ url: '/a\u0000b' })).toMatchObject({ ok: false, field: 'url' });
    expect(validateMuteRule('nope')).toMatchObject({ ok: false });
  });

  it('match on every field given: type, browser, URL, release, environment, app', () => {
    const [error] = enrichEnvelope(
      envelope('b', [errorEvent('e', { type: 'NetworkError', message: 'offline' })]),
    );
    const [feature] = enrichEnvelope(envelope('c', [featureEvent('f', 'export-csv')]));
    expect(ruleMatches({ type: 'networkerror', browser: 'chrome', environment: 'production' }, error!)).toBe(
      true,
    );
    expect(ruleMatches({ type: 'NetworkError', release: '2.*' }, error!)).toBe(false);
    expect(ruleMatches({ url: '/checkout' }, error!)).toBe(true);
    expect(ruleMatches({ url: '/checkout', app: 'other' }, error!)).toBe(false);
    expect(ruleMatches({ type: 'feature', message: 'export-*' }, feature!)).toBe(true);
  });

  it('persist across a restart, and a rule edited by hand into something unsafe is dropped', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const rules = await openMuteRules(dir);
      const added = await rules.add({ message: '*Script error*', note: 'cross-origin scripts' });
      expect(added.ok).toBe(true);
      const again = await openMuteRules(dir);
      expect(again.list()).toEqual([
        expect.objectContaining({ message: '*Script error*', note: 'cross-origin scripts' }),
      ]);
      expect(await again.remove(added.ok ? added.rule.id : '')).toBe(true);
      expect((await openMuteRules(dir)).list()).toEqual([]);
    } finally {
      await cleanup();
    }
  });
});

describe('group lifecycle', () => {
  const base: GroupState = {
    app: 'shop',
    fingerprint: 'f',
    status: 'resolved',
    resolution: 1,
    resolvedAt: 1000,
    updatedAt: 1000,
  };

  it('calls a later occurrence a regression: any release, or the fixing release and releases unknown at resolve time', () => {
    expect(isRegression(base, { receivedAt: 999, release: '1' })).toBe(false); // a replay of an old event
    expect(isRegression(base, { receivedAt: 1001, release: '1' })).toBe(true);
    const fixedIn = { ...base, resolvedInRelease: '1.4.3', releasesAtResolve: ['1.4.1', '1.4.2'] };
    expect(isRegression(fixedIn, { receivedAt: 2000, release: '1.4.2' })).toBe(false); // old clients still out there
    expect(isRegression(fixedIn, { receivedAt: 2000, release: '1.4.3' })).toBe(true);
    expect(isRegression(fixedIn, { receivedAt: 2000, release: '1.5.0' })).toBe(true);
    expect(isRegression({ ...fixedIn, status: 'ignored' }, { receivedAt: 2000, release: '1.5.0' })).toBe(
      false,
    );
    expect(isRegression(undefined, { receivedAt: 2000, release: '1.5.0' })).toBe(false);
  });

  it('is durable: resolve, regress, ignore and reopen survive a restart', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const states = await openGroupStates(dir);
      await states.resolve('shop', 'f1', { release: '2.0', knownReleases: ['1.0', '1.0'] });
      await states.markRegressed('shop', 'f1', Date.now(), '2.0');
      await states.ignore('shop', 'f2');
      await states.close();
      const again = await openGroupStates(dir);
      expect(again.get('shop', 'f1')).toMatchObject({
        status: 'regressed',
        resolution: 1,
        resolvedInRelease: '2.0',
        releasesAtResolve: ['1.0'],
        regressedInRelease: '2.0',
      });
      expect(again.get('shop', 'f2')?.status).toBe('ignored');
      expect((await again.reopen('shop', 'f2')).status).toBe('open');
      expect((await again.resolve('shop', 'f1')).resolution).toBe(2);
      await again.close();
    } finally {
      await cleanup();
    }
  });
});
