import { describe, expect, it } from 'vitest';
import { fingerprintError, parseStack } from '@telltale/dispatchers';
import { STACK_CORPUS } from './fixtures/stack-corpus.js';

describe('stack corpus: Chromium, Node, Firefox, Safari, Hermes, React Native, React, Angular, Vue, Edge', () => {
  it.each(STACK_CORPUS.map((entry) => [entry.id, entry] as const))(
    '%s: every frame parsed, the innermost one exactly, in-app vs library marked',
    (_id, entry) => {
      const frames = parseStack(entry.stack);
      expect(frames.map((f) => f.inApp)).toEqual(entry.inApp);
      const first = frames[0];
      expect(first?.function).toBe(entry.first.function);
      expect(first?.file).toBe(entry.first.file);
      expect(first?.line).toBe(entry.first.line);
      expect(first?.column).toBe(entry.first.column);
      // Line and column numbers are numbers, never NaN, wherever a location was printed.
      for (const f of frames) {
        if (f.line !== undefined) expect(Number.isInteger(f.line)).toBe(true);
        if (f.column !== undefined) expect(Number.isInteger(f.column)).toBe(true);
      }
    },
  );

  it('marks Hermes bytecode frames, whose column is a 0-based offset', () => {
    const hermes = STACK_CORPUS.find((e) => e.id === 'hermes-release')!;
    const frames = parseStack(hermes.stack);
    expect(frames.slice(0, 3).every((f) => f.bytecode === true)).toBe(true);
    expect(frames[3]).toMatchObject({ function: undefined, file: 'native', inApp: false });
  });

  it('groups stacks of the same defect together and keeps every other defect apart', () => {
    const fingerprints = STACK_CORPUS.map((entry) => ({
      bug: entry.bug,
      id: entry.id,
      fp: fingerprintError({ type: entry.type, message: entry.message, stack: entry.stack }),
    }));
    for (const a of fingerprints) {
      for (const b of fingerprints) {
        if (a.id >= b.id) continue;
        if (a.bug === b.bug) expect(a.fp, `${a.id} and ${b.id} are one bug`).toBe(b.fp);
        else expect(a.fp, `${a.id} and ${b.id} are different bugs`).not.toBe(b.fp);
      }
    }
    // The corpus does hold a cross-browser pair: Chromium and Firefox, two builds, two hosts.
    expect(fingerprints.filter((f) => f.bug === 'orders-503')).toHaveLength(2);
  });

  it('groups a message-only error by its parameterised message', () => {
    const a = fingerprintError({
      type: 'Error',
      message: 'timeout after 3000 ms calling 10.0.0.12 at 2026-11-20T12:00:00Z',
    });
    const b = fingerprintError({
      type: 'Error',
      message: 'timeout after 5000 ms calling 10.0.3.7 at 2026-11-21T08:30:00Z',
    });
    const c = fingerprintError({ type: 'Error', message: 'quota exceeded for user anna@example.com' });
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });
});
