import type { Batch } from '@telltale/protocol';
import type { Answer, KeyValue, Platform, QueueItem } from '../src/core/types.js';

export interface Sent {
  url: string;
  batch: Batch;
  keepalive: boolean;
}

/** A Storage-shaped map (what localStorage gives the core). */
export function memoryKv(data = new Map<string, string>()): KeyValue & { data: Map<string, string> } {
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

/** An answer as fetch gives it: a status and headers. */
export const answer = (status: number, headers: Record<string, string> = {}): Answer => ({
  status,
  headers: new Headers(headers),
});

/**
 * A platform for unit tests of the platform-free core: its transport records each batch and answers
 * with `state.answer` (202 unless changed); its storage is a map and an in-memory record store.
 */
export function fakePlatform(kv = memoryKv()) {
  const sent: Sent[] = [];
  /** What the store holds, by event id (copies, as a real store would keep). */
  const records = new Map<string, QueueItem>();
  const stored = {
    get items(): QueueItem[] {
      return [...records.values()];
    },
    writes: 0,
  };
  const state = {
    online: true,
    answer: (_batch: Batch): Answer | Promise<Answer> => answer(202),
    /** What the store hands back at load (an earlier page's queue). */
    left: [] as QueueItem[],
  };
  const platform: Platform = {
    sdk: 'telltale-test/1',
    send(url, json, keepalive) {
      const batch = JSON.parse(json) as Batch;
      sent.push({ url, batch, keepalive: !!keepalive });
      return Promise.resolve(state.answer(batch));
    },
    context: () => ({ url: '/checkout', online: state.online }),
    meta: () => ({ loadMs: 420 }),
    kv: () => kv,
    store: {
      load: () => Promise.resolve(state.left),
      save(changed, removed = []) {
        stored.writes += changed.length + removed.length;
        for (const it of changed) records.set(it.e.id, JSON.parse(JSON.stringify(it)) as QueueItem);
        for (const it of removed) records.delete(it.e.id);
      },
    },
  };
  const events = () => sent.flatMap((s) => s.batch.events);
  return { platform, sent, state, events, kv, stored };
}

export const OPTIONS = {
  endpoint: 'https://collector.test/',
  key: 'app key',
  release: '1.2.3',
  environment: 'test',
};

/** An error whose stack is the same each time, as when one line throws in a loop. */
export function sameError(message = 'boom'): Error {
  const e = new TypeError(message);
  e.stack = `TypeError: ${message}\n    at computeTotal (https://shop.test/app.js:10:5)\n    at onClick (https://shop.test/app.js:20:3)`;
  return e;
}
