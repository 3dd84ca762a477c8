import type { QueueItem, QueueStore, TelltaleEvent } from './types.js';

/** Caps of the in-memory queue: beyond either, the oldest items are dropped (and counted). */
export const MAX_ITEMS = 500;
export const MAX_BYTES = 1 << 20;
/** Batch id given to an item the queue dropped, so nobody mutates it any more. */
export const GONE = '-';

export type Queue = ReturnType<typeof createQueue>;

/** FIFO of events waiting for a confirmed upload; `store` mirrors it (none: memory only). */
export function createQueue(
  onDrop: (n: number) => void,
  store?: QueueStore,
  maxItems = MAX_ITEMS,
  maxBytes = MAX_BYTES,
) {
  let items: QueueItem[] = [];
  let bytes = 0;
  const save = () => store?.save(items);
  const trim = () => {
    let n = 0;
    while (items.length > maxItems || bytes > maxBytes) {
      const it = items.shift()!;
      it.b ||= GONE;
      bytes -= it.n;
      n++;
    }
    if (n) onDrop(n);
    save();
  };
  const set = (next: QueueItem[]) => {
    items = next;
    bytes = 0;
    for (const it of items) bytes += it.n;
    trim();
  };
  store?.load().then(
    (old) => set(old.concat(items)),
    () => {},
  );
  return {
    items: (): readonly QueueItem[] => items,
    push(e: TelltaleEvent): QueueItem {
      const it: QueueItem = { e, n: JSON.stringify(e).length };
      items.push(it);
      bytes += it.n;
      trim();
      return it;
    },
    /** Forgets the items of a batch the collector confirmed (or refused for good). */
    remove(batchId: string): void {
      set(items.filter((it) => it.b !== batchId));
    },
    /** Items changed in place (a count raised, a batch id given): let the store write them. */
    save,
  };
}
