import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Batch, SpoolEnvelope, TelltaleEvent } from '@telltale/protocol';

export const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

export const ERROR_STACK = `TypeError: Cannot read properties of undefined (reading 'items')
    at renderCart (https://shop.example.com/assets/app.3f9a2c1b.js:3:15)
    at handleCheckout (https://shop.example.com/assets/app.3f9a2c1b.js:6:10)
    at Store.dispatch (https://shop.example.com/assets/app.3f9a2c1b.js:8:36)`;

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-dispatchers-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function errorEvent(
  id: string,
  overrides: Partial<Extract<TelltaleEvent, { kind: 'error' }>> = {},
): TelltaleEvent {
  return {
    kind: 'error',
    id,
    ts: 1_714_000_000_000,
    type: 'TypeError',
    message: "Cannot read properties of undefined (reading 'items')",
    stack: ERROR_STACK,
    url: '/checkout',
    ...overrides,
  };
}

export function featureEvent(id: string, name: string): TelltaleEvent {
  return { kind: 'feature', id, ts: 1_714_000_000_100, name, props: { rows: 120 } };
}

export function envelope(
  batchId: string,
  events: TelltaleEvent[],
  app = 'shop',
  extra: Partial<Batch> = {},
): SpoolEnvelope {
  return {
    v: 1,
    app,
    receivedAt: 1_714_000_001_000,
    userAgent: CHROME_UA,
    batch: {
      v: 1,
      batchId,
      sentAt: 1_714_000_000_900,
      release: '1.4.2',
      environment: 'production',
      session: 's-1',
      user: 'u-7',
      events,
      ...extra,
    },
  };
}

export function payload(env: SpoolEnvelope): Buffer {
  return Buffer.from(JSON.stringify(env));
}

// Polling with a deadline is test-support's, shared by every package's tests.
export { waitFor } from '../../test-support/wait.js';
