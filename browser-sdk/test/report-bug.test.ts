import { describe, expect, it } from 'vitest';
import type { Ctx } from '../src/core/client.js';
import { bugUpload } from '../src/core/report-bug.js';

// A random session id is 32 hex digits; about one in twenty holds a run of 12+ decimal digits, which
// the scrubber filters as a possible card number anywhere in user text.
const SESSION = '01a23796b13764f58bc6039889166897';

function ctx(): Ctx {
  return {
    url: (route: string) => `http://127.0.0.1:1/v1/${route}?key=k`,
    session: SESSION,
    user: 'u-1',
    account: undefined,
    ring: [{ ts: 1, level: 'info', message: 'card 4111 1111 1111 1111' }],
    o: { release: 'r1', environment: 'prod' },
    p: { context: () => ({ url: '/settings' }) },
  } as unknown as Ctx;
}

describe('bug report', () => {
  it("keeps the report's own ids as they are and scrubs what the user and the app put in", () => {
    const upload = bugUpload(ctx(), {
      description: 'paid with 4111 1111 1111 1111, mail jane@example.com',
      state: { note: `order ${'1'.repeat(14)}`, apiToken: 'x' },
    });
    const report = JSON.parse(upload.json) as Record<string, unknown>;
    expect(report).toMatchObject({
      id: upload.id,
      session: SESSION,
      trace: SESSION,
      description: 'paid with [filtered], mail [filtered]',
      state: { note: 'order [filtered]', apiToken: '[filtered]' },
    });
    expect(upload.json).not.toContain('4111');
    expect(upload.url).toContain(`session=${SESSION}`);
  });
});
