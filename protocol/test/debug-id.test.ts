import { describe, expect, it } from 'vitest';
import { stripDebugIdMarkers } from '../src/index.js';

describe('debug-ID markers on frame URLs', () => {
  it('removes every marker and leaves the rest of a stack as it was', () => {
    const id = '0123456789abcdef0123456789abcdef';
    const stack = `Error: x\n    at f (debugid-${id}+https://app.example/a.js:1:2)\n    at g (https://app.example/b.js:3:4)`;
    expect(stripDebugIdMarkers(stack)).toBe(
      'Error: x\n    at f (https://app.example/a.js:1:2)\n    at g (https://app.example/b.js:3:4)',
    );
    expect(stripDebugIdMarkers('debugid-not-hex+https://a')).toBe('debugid-not-hex+https://a');
    expect(stripDebugIdMarkers('debugid-'.repeat(10_000))).toHaveLength(80_000);
  });
});
