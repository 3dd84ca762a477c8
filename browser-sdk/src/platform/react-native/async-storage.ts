import { SESSION_IDLE_MS, STATE_KEY } from '../../core/client.js';
import type { KeyValue, QueueItem, QueueStore } from '../../core/types.js';

/** The part of `@react-native-async-storage/async-storage` the SDK uses. */
export interface AsyncStorageLike {
  getItem(key: string): Promise<string | null>;
  setItem(key: string, value: string): Promise<unknown>;
}

/** Storage key of the queue (JSON array of items); the small state lives under the core's STATE_KEY. */
export const QUEUE_KEY = 'telltale.queue';

/**
 * The queue and the small state in AsyncStorage. The core reads its small state synchronously, so it
 * is kept in memory and written through; `load()` fills it from storage before handing back the queue
 * an earlier run left. The queue is one JSON array (AsyncStorage has no cheap per-event records),
 * rewritten at most once per tick; a failing storage leaves both in memory.
 */
export function asyncStorageAdapter(storage: AsyncStorageLike): { kv: () => KeyValue; store: QueueStore } {
  const memory = new Map<string, string>();
  /** The stored queue by event id, in capture order. */
  const queue = new Map<string, QueueItem>();
  let queued = false;
  const write = (key: string, value: string) => void storage.setItem(key, value).catch(() => {});
  const kv: KeyValue = {
    getItem: (key) => memory.get(key),
    setItem: (key, value) => {
      memory.set(key, value);
      write(key, value);
    },
  };
  return {
    kv: () => kv,
    store: {
      load: async () => {
        const [state, stored] = await Promise.all([storage.getItem(STATE_KEY), storage.getItem(QUEUE_KEY)]);
        // The core merges it at its next read: the newer session wins, Retry-After and the rate limit keep the later time.
        // The core started before storage answered, with a new session; an earlier run's session active
        // within 30 minutes is the same session (the idle rule across app starts), so it is made the newer.
        const f = state?.split(' ');
        if (f && Date.now() - +f[1]! <= SESSION_IDLE_MS) f[1] = `${Date.now() + 1}`;
        if (f) memory.set(STATE_KEY, f.join(' '));
        const items: unknown = stored ? JSON.parse(stored) : [];
        const old = Array.isArray(items) ? (items as QueueItem[]) : [];
        // what this run saved before the load answered goes after what the last run left
        const now = [...queue.values()];
        queue.clear();
        for (const it of [...old, ...now]) queue.set(it.e.id, it);
        return old;
      },
      save(changed, removed = []) {
        for (const it of changed) queue.set(it.e.id, it);
        for (const it of removed) queue.delete(it.e.id);
        if (!queued) {
          queued = true;
          void Promise.resolve().then(() => {
            queued = false;
            write(QUEUE_KEY, JSON.stringify([...queue.values()]));
          });
        }
      },
    },
  };
}
