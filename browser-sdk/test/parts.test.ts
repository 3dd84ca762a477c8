import { describe, expect, it } from 'vitest';
import { firstFrame } from '../src/core/client.js';
import { newId } from '../src/core/ids.js';

describe('ids', () => {
  it('are 32 hex digits (a valid W3C trace id) that sort by time', () => {
    const a = newId(1_700_000_000_000);
    const b = newId(1_700_000_000_001);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, () => newId(5))).size).toBe(1000);
  });
});

describe('firstFrame', () => {
  it('finds the first frame of Chrome, Firefox and Safari stacks, not a line of the message', () => {
    expect(firstFrame('TypeError: at 10:30:15 it broke\n    at total (https://a.test/app.js:10:5)')).toBe(
      '    at total (https://a.test/app.js:10:5)',
    );
    expect(firstFrame('total@https://a.test/app.js:10:5\nclick@https://a.test/app.js:20:3')).toBe(
      'total@https://a.test/app.js:10:5',
    );
    expect(firstFrame(undefined)).toBe('');
  });
});

describe('debug flag', () => {
  it('logs what the SDK drops in a debug build (TELLTALE_DEBUG), and nothing otherwise', async () => {
    const { vi } = await import('vitest');
    const { OPTIONS, fakePlatform } = await import('./fake-platform.js');
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => {});
    try {
      const quiet = await import('../src/core/client.js');
      quiet
        .createClient(
          {
            ...OPTIONS,
            beforeSend: () => {
              throw new Error('x');
            },
          },
          fakePlatform().platform,
        )
        .track('a');
      expect(debug).not.toHaveBeenCalled();
      vi.resetModules();
      (globalThis as { TELLTALE_DEBUG?: boolean }).TELLTALE_DEBUG = true;
      const loud = await import('../src/core/client.js');
      loud
        .createClient(
          {
            ...OPTIONS,
            beforeSend: () => {
              throw new Error('x');
            },
          },
          fakePlatform().platform,
        )
        .track('a');
      expect(debug).toHaveBeenCalledWith('[telltale]', 'beforeSend threw: dropped');
    } finally {
      delete (globalThis as { TELLTALE_DEBUG?: boolean }).TELLTALE_DEBUG;
      debug.mockRestore();
      vi.resetModules();
    }
  });
});
