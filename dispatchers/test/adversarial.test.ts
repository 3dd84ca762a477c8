import { describe, expect, it } from 'vitest';
import type { TelltaleEvent } from '@telltale/protocol';
import {
  enrichEnvelope,
  fingerprintError,
  functionScopes,
  matchGlob,
  parseStack,
  parseUserAgent,
  ruleMatches,
  scrubAttributes,
  scrubStack,
  scrubText,
  scrubUrl,
  serverLogRows,
} from '@telltale/dispatchers';
import { scrubJsonValue } from '../src/pipeline/index.js';
import { ADVERSARIAL, MAX_OUTPUT_CHARS } from './fixtures/adversarial.js';
import { envelope } from './helpers.js';

// Passes are asserted to finish with bounded output, never per-call wall time (flaky on shared
// machines). One generous whole-corpus bound instead: measured once, enrichEnvelope over this corpus
// (3 events per string, strings cut to 8 KB as the collector does) took 3.2 s on the code before
// issue 9 (9.8 s uncut) and 0.2-0.3 s now; this test's batch adds mute rules and server logs (~0.5 s).
const WHOLE_CORPUS_MS = 3000;
const HOSTILE_GLOB = `*${'a*'.repeat(99)}b`;

/** The longest string anywhere in a JSON value (keys included). */
function longestString(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (value === null || typeof value !== 'object') return 0;
  let longest = 0;
  for (const [key, item] of Object.entries(value))
    longest = Math.max(longest, key.length, longestString(item));
  return longest;
}

describe.each(ADVERSARIAL)('hostile text: $name', ({ text }) => {
  it('every scrubber finishes with output within the string cap', () => {
    for (const out of [scrubText(text), scrubStack(text), scrubUrl(text)])
      expect(out.length).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
    const attrs = scrubAttributes({ [text.slice(0, 200)]: text, note: text });
    for (const [key, value] of Object.entries(attrs)) {
      expect(key.length).toBeLessThanOrEqual(200);
      expect(String(value).length).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
    }
    expect(longestString(scrubJsonValue({ a: [text, { b: text }] }))).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
  });

  it('stack parsing, grouping, function names, mute rules and user agents finish, bounded', () => {
    const frames = parseStack(text);
    expect(frames.length).toBeLessThanOrEqual(256);
    expect(fingerprintError({ type: 'Error', message: text, stack: text })).toMatch(/^[0-9a-f]{32}$/);
    expect(fingerprintError({ type: 'Error', message: text })).toMatch(/^[0-9a-f]{32}$/);
    expect(functionScopes(`function f() {${text}}`).length).toBeLessThanOrEqual(text.length + 1);
    expect(typeof matchGlob(HOSTILE_GLOB, text.slice(0, MAX_OUTPUT_CHARS))).toBe('boolean');
    const ua = parseUserAgent(text);
    for (const value of Object.values(ua)) expect((value ?? '').length).toBeLessThanOrEqual(512);
  });
});

function hostileBatch(): TelltaleEvent[] {
  return ADVERSARIAL.flatMap(({ name, text }, i): TelltaleEvent[] => [
    {
      kind: 'error',
      id: `e-${i}`,
      ts: 1,
      type: text.slice(0, 200),
      message: text,
      stack: text,
      url: text,
      breadcrumbs: [{ ts: 1, category: text.slice(0, 200), message: text }],
    },
    { kind: 'log', id: `l-${i}`, ts: 1, level: 'warn', message: text },
    { kind: 'assert', id: `a-${i}`, ts: 1, name: name.slice(0, 200), soft: true, vars: { v: text } },
    { kind: 'feature', id: `f-${i}`, ts: 1, name: text.slice(0, 200), props: { [text.slice(0, 200)]: text } },
  ]);
}

describe('the whole corpus as one batch', () => {
  it('enriches every event, mute rules included, with every stored string capped, within one generous bound', () => {
    const started = performance.now();
    const rows = enrichEnvelope({
      ...envelope('b-hostile', hostileBatch()),
      userAgent: ADVERSARIAL[0]?.text ?? '',
    });
    for (const row of rows) ruleMatches({ message: HOSTILE_GLOB, url: HOSTILE_GLOB }, row);
    const logs = serverLogRows({
      v: 1,
      app: 'shop',
      receivedAt: 1,
      logs: ADVERSARIAL.map(({ text }, i) => ({
        id: `s-${i}`,
        ts: 1,
        level: 'info' as const,
        message: text,
        service: 'api',
        attrs: { [text.slice(0, 200)]: text },
      })),
    } as never);
    const elapsed = performance.now() - started;

    expect(rows).toHaveLength(ADVERSARIAL.length * 4);
    for (const row of rows) {
      for (const field of [row.message, row.stack, row.url, row.errorType, row.name])
        expect((field ?? '').length).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
      for (const json of [row.breadcrumbs, row.attrs])
        expect(longestString(JSON.parse(json ?? 'null'))).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
    }
    expect(logs).toHaveLength(ADVERSARIAL.length);
    for (const log of logs) {
      expect(log.message.length).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
      expect(longestString(JSON.parse(log.attrs ?? 'null'))).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
    }
    expect(elapsed).toBeLessThan(WHOLE_CORPUS_MS);
  });
});
