// The React Native entry, in Node against the real collector. React Native itself cannot run here:
// ErrorUtils, AppState and AsyncStorage are stand-ins with their documented shapes (the only stand-ins
// in these tests); fetch, gzip (fflate) and the collector are real.
import type { Batch } from '@telltale/protocol';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelltale, type RunningTelltale } from '../../cli/src/index.js';
import { STATE_KEY } from '../src/core/client.js';
import { QUEUE_KEY } from '../src/platform/react-native/async-storage.js';
import { startReactNative, type RejectionTrackingOptions } from '../src/platform/react-native/index.js';
import * as rn from '../src/react-native.js';

/** AsyncStorage's shape over a Map, answering asynchronously like the real one. */
function asyncStorage(data = new Map<string, string>()) {
  return {
    data,
    getItem: async (k: string) => data.get(k) ?? null,
    setItem: async (k: string, v: string) => void data.set(k, v),
  };
}

/** React Native's ErrorUtils global: one handler, which the SDK must chain, not replace. */
function errorUtils() {
  const seen: Array<[unknown, boolean | undefined]> = [];
  let handler: ((e: unknown, fatal?: boolean) => void) | undefined = (e, fatal) => void seen.push([e, fatal]);
  return {
    seen,
    getGlobalHandler: () => handler,
    setGlobalHandler: (h: (e: unknown, fatal?: boolean) => void) => void (handler = h),
    /** What React Native does with an uncaught JS error. */
    throw: (e: unknown, fatal = false) => handler?.(e, fatal),
  };
}

/** AppState: `change` listeners, and a way to move the app between states. */
function appState() {
  const listeners: Array<(s: string) => void> = [];
  return {
    addEventListener: (_type: 'change', l: (s: string) => void) => void listeners.push(l),
    go: (s: string) => listeners.forEach((l) => l(s)),
  };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 20_000,
) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let telltale: RunningTelltale;
let dataDir: string;
// The dashboards' API needs credentials (docs/security.md): the test reads it with a token.
const API_TOKEN = 'react-native-admin-token-0123456789abcdef';
const stored = async (session: string) =>
  (
    (await (
      await fetch(`${telltale.url}/api/events?session=${session}&limit=1000`, {
        headers: { authorization: `Bearer ${API_TOKEN}` },
      })
    ).json()) as {
      events: Array<{ id: string; kind: string; name: string | null; count: number }>;
    }
  ).events;
const options = () => ({
  endpoint: telltale.url,
  key: telltale.demoKey!,
  release: 'rn-1.0.0',
  environment: 'e2e',
});
const session = (storage: ReturnType<typeof asyncStorage>) => storage.data.get(STATE_KEY)!.split(' ')[0]!;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'telltale-rn-'));
  telltale = await startTelltale({ port: 0, dataDir, logger: false, env: { TELLTALE_API_TOKEN: API_TOKEN } });
}, 120_000);

afterAll(async () => {
  await telltale?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('React Native entry', () => {
  it('captures through ErrorUtils (chained), flushes when the app goes to the background, gzip to the real collector', async () => {
    const storage = asyncStorage();
    const errors = errorUtils();
    const app = appState();
    rn.init(options(), { storage, appState: app, errorUtils: errors });
    const render = () => new TypeError('undefined is not an object'); // one line throwing twice
    errors.throw(render());
    errors.throw(render());
    rn.track('open-settings', { tab: 'privacy' });
    rn.assert(false, 'cart-total-matches', { items: 3 });
    expect(errors.seen).toHaveLength(2); // the app's (React Native's) own handler still ran
    app.go('background');
    const sid = session(storage);
    const events = await until('the events in the store', async () => {
      const rows = await stored(sid);
      return rows.length >= 3 && rows;
    });
    expect(events.find((e) => e.kind == 'error')).toMatchObject({ count: 2 });
    expect(events.map((e) => e.name).sort()).toEqual(['cart-total-matches', null, 'open-settings']);
    expect(JSON.parse(storage.data.get(QUEUE_KEY)!)).toEqual([]); // confirmed, so gone from storage
  }, 60_000);

  it('keeps the queue in AsyncStorage across app runs while the collector is unreachable, then delivers once', async () => {
    const storage = asyncStorage();
    const down = { ...options(), endpoint: 'http://127.0.0.1:9' }; // nothing listens on the discard port
    const first = startReactNative(down, { storage, errorUtils: errorUtils() });
    first.track('used-while-unreachable');
    await first.flush();
    await until('the queue written to AsyncStorage', () => {
      const q = storage.data.get(QUEUE_KEY);
      return q && (JSON.parse(q) as unknown[]).length == 1;
    });
    // the app is killed and started again (a new client, the same storage), now with the collector up
    const second = startReactNative(options(), { storage, errorUtils: errorUtils() });
    // within 30 minutes of the last run: its session goes on (adopted once AsyncStorage answered)
    const sid = first.ctx().session;
    await until('the earlier session adopted', () => second.ctx().session == sid);
    const rows = await until('the event in the store', async () => {
      const r = await stored(sid);
      return r.some((e) => e.name == 'used-while-unreachable') && r;
    });
    expect(rows.filter((e) => e.name == 'used-while-unreachable')).toHaveLength(1);
  }, 60_000);

  it('remembers a Retry-After across app runs', async () => {
    const storage = asyncStorage();
    const retryUntil = Date.now() + 60_000;
    storage.data.set(STATE_KEY, `${'a'.repeat(32)} ${Date.now()} ${retryUntil} 0`);
    const sent: Batch[] = [];
    const c = startReactNative(options(), { storage, errorUtils: errorUtils() });
    const original = globalThis.fetch;
    globalThis.fetch = ((...a: Parameters<typeof fetch>) => {
      sent.push({} as Batch);
      return original(...a);
    }) as typeof fetch;
    try {
      // merged once AsyncStorage answered: the stored session (active just now), the stored Retry-After
      await until('the stored state merged', () => {
        const v = storage.data.get(STATE_KEY)!;
        return (
          c.ctx().session == 'a'.repeat(32) && v.startsWith(c.ctx().session) && v.includes(` ${retryUntil} `)
        );
      });
      c.track('during-retry-after');
      await c.flush();
      expect(sent).toHaveLength(0);
    } finally {
      globalThis.fetch = original;
    }
  }, 30_000);

  it('a fatal error is sent at once, before React Native ends the app', async () => {
    const storage = asyncStorage();
    const errors = errorUtils();
    const c = startReactNative(options(), { storage, errorUtils: errors });
    errors.throw(new Error('fatal crash'), true);
    expect(errors.seen).toEqual([[expect.any(Error), true]]);
    const sid = c.ctx().session;
    await until('the fatal error in the store', async () =>
      (await stored(sid)).some((e) => e.kind == 'error'),
    );
  }, 30_000);

  it('captures unhandled promise rejections through Hermes’ tracker, or the one the app passes', async () => {
    // Hermes: the global HermesInternal, found on its own
    let hermes: RejectionTrackingOptions | undefined;
    (globalThis as { HermesInternal?: unknown }).HermesInternal = {
      enablePromiseRejectionTracker: (o: RejectionTrackingOptions) => void (hermes = o),
    };
    try {
      const c = startReactNative(options(), { storage: asyncStorage(), errorUtils: errorUtils() });
      expect(hermes?.allRejections).toBe(true);
      hermes!.onUnhandled(1, new RangeError('sync failed on Hermes'));
      await c.flush();
      const sid = c.ctx().session;
      const rows = await until('the rejection in the store', async () => {
        const r = await stored(sid);
        return r.some((e) => e.kind == 'error') && r;
      });
      expect(rows).toHaveLength(1);
    } finally {
      delete (globalThis as { HermesInternal?: unknown }).HermesInternal;
    }
    // JSC: promise/setimmediate/rejection-tracking, handed over by the app
    let jsc: RejectionTrackingOptions | undefined;
    const d = startReactNative(options(), {
      storage: asyncStorage(),
      errorUtils: errorUtils(),
      rejectionTracking: { enable: (o) => void (jsc = o) },
    });
    jsc!.onUnhandled(7, { code: 'E_SYNC' });
    await d.flush();
    const sid = d.ctx().session;
    await until('the non-Error rejection in the store', async () =>
      (await stored(sid)).some((e) => e.kind == 'error'),
    );
  }, 30_000);

  it('NetInfo offline: no request at all, the queue kept; back online: sent at once, once', async () => {
    const listeners: Array<
      (s: { isConnected: boolean | null; isInternetReachable?: boolean | null }) => void
    > = [];
    const netInfo = {
      addEventListener: (l: (typeof listeners)[number]) => (listeners.push(l), () => {}),
      // The answer the SDK got: its own .then runs before a later await of the same promise ends.
      answer: undefined as Promise<{ isConnected: boolean; isInternetReachable: boolean }> | undefined,
      fetch() {
        return (this.answer = Promise.resolve({ isConnected: false, isInternetReachable: false }));
      },
    };
    const original = globalThis.fetch;
    let requests = 0;
    globalThis.fetch = ((...a: Parameters<typeof fetch>) => {
      if (String(a[0]).includes('/v1/batch')) requests++;
      return original(...a);
    }) as typeof fetch;
    try {
      const storage = asyncStorage();
      const c = startReactNative(options(), { storage, errorUtils: errorUtils(), netInfo });
      await until('NetInfo asked', () => netInfo.answer);
      await netInfo.answer; // the SDK has taken NetInfo's first answer
      for (let i = 0; i < 40; i++) c.track('offline-use');
      await c.flush();
      await c.flush();
      expect(requests).toBe(0);
      await until('the queue in AsyncStorage', () => storage.data.get(QUEUE_KEY)?.includes('offline-use'));
      const sid = c.ctx().session;
      for (const l of listeners) l({ isConnected: true, isInternetReachable: true });
      const rows = await until('the uses in the store', async () => {
        const r = await stored(sid);
        return r.some((e) => e.name == 'offline-use') && r;
      });
      expect(rows.filter((e) => e.name == 'offline-use')).toEqual([expect.objectContaining({ count: 40 })]);
      expect(requests).toBe(1);
    } finally {
      globalThis.fetch = original;
    }
  }, 30_000);

  it('keeps the session across an app restart within 30 minutes, and starts a new one after', async () => {
    const storage = asyncStorage();
    const first = startReactNative(options(), { storage, errorUtils: errorUtils() });
    first.track('before-restart');
    await until('the state in AsyncStorage', () => storage.data.get(STATE_KEY));
    const sid = first.ctx().session;
    const second = startReactNative(options(), { storage, errorUtils: errorUtils() });
    await until('the session kept', () => second.ctx().session == sid);

    // 31 idle minutes later (the stored last activity moved back): a new session
    const [, , ...rest] = storage.data.get(STATE_KEY)!.split(' ');
    storage.data.set(STATE_KEY, [sid, Date.now() - 31 * 60_000, ...rest].join(' '));
    const third = startReactNative(options(), { storage, errorUtils: errorUtils() });
    third.track('after-idle');
    // It has read the stale state and written its own: the stored session is the new one.
    await until('the new session stored', () => {
      const stored = storage.data.get(STATE_KEY)?.split(' ')[0];
      return stored !== sid && stored === third.ctx().session;
    });
    expect(third.ctx().session).not.toBe(sid);
    expect(third.ctx().session).toMatch(/^[0-9a-f]{32}$/);
  }, 30_000);
});
