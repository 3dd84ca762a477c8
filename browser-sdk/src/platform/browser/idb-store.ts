import type { QueueItem, QueueStore } from '../../core/types.js';

/**
 * The queue in IndexedDB, one record per event (keyed by its id, which sorts by time): each change
 * writes only the events it touched, however long the queue. A page loads what earlier pages (or other
 * tabs) left; a batch sent from two tabs is one batch to the collector (same batch id). Where IndexedDB
 * fails (private modes, blocked storage), load rejects and the queue stays in memory.
 */
export function idbStore(): QueueStore {
  const db = new Promise<IDBDatabase>((resolve, reject) => {
    const r = indexedDB.open('telltale');
    r.onupgradeneeded = () => r.result.createObjectStore('q');
    r.onsuccess = () => resolve(r.result);
    r.onerror = reject;
  });
  // A new transaction each time: IndexedDB ends one as soon as it has nothing left to do.
  const store = () => db.then((d) => d.transaction('q', 'readwrite').objectStore('q'));
  return {
    load: () =>
      store().then(
        (s) =>
          new Promise<QueueItem[]>((resolve) => {
            const r = s.getAll();
            r.onsuccess = () => resolve(r.result as QueueItem[]);
          }),
      ),
    save(changed, removed = []) {
      store().then(
        (s) => {
          for (const it of changed) s.put(it, it.e.id);
          for (const it of removed) s.delete(it.e.id);
        },
        () => {},
      );
    },
  };
}
