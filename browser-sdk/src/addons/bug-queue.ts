import type { Ctx } from '../core/client.js';
import { bugUpload, uploadBug, type BugUpload } from '../core/report-bug.js';
import { decide } from '../core/retry.js';
import type { BugReport } from '../core/types.js';

/**
 * `reportBug` through a durable queue: each report is written to IndexedDB (database
 * `telltale-bugs`, one record per report) before it is sent, and forgotten only once the collector
 * stored it (or refused it for good). What could not be sent goes when the browser is back online
 * and at the next page's load event, under the same attachment id, so the collector keeps it once.
 * Without IndexedDB it is sent once, as on React Native. Passes run one after another: two never
 * send the same report at once.
 */
export function bugQueue(ctx: () => Ctx | undefined): (report?: BugReport) => Promise<boolean> {
  const db = new Promise<IDBDatabase>((resolve, reject) => {
    const r = indexedDB.open('telltale-bugs');
    r.onupgradeneeded = () => r.result.createObjectStore('r');
    r.onsuccess = () => resolve(r.result);
    r.onerror = reject;
  });
  const run = <T>(op: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> =>
    db.then(
      (d) =>
        new Promise<T>((resolve, reject) => {
          const r = op(d.transaction('r', 'readwrite').objectStore('r'));
          r.onsuccess = () => resolve(r.result);
          r.onerror = reject;
        }),
    );
  /** Ids the collector stored in this page: what reportBug's promise reports. */
  const stored: Record<string, boolean> = {};
  const pass = async (): Promise<void> => {
    try {
      for (const b of await run((s) => s.getAll() as IDBRequest<BugUpload[]>)) {
        const a = await uploadBug(ctx()!, b);
        const r = decide(a.status, null, 0);
        // not now (no network, collector busy): the rest waits for the next pass too
        if (r > 0) return;
        stored[b.id] = !r;
        await run((s) => s.delete(b.id));
      }
    } catch {
      // no client yet (a pass at load before init), or no IndexedDB: nothing to send
    }
  };
  let chain = Promise.resolve();
  const drain = (): Promise<void> => (chain = chain.then(pass));
  addEventListener('online', drain);
  addEventListener('load', drain);
  return (report) =>
    new Promise<BugUpload>((resolve) => resolve(bugUpload(ctx()!, report))).then(
      (b) =>
        run((s) => s.put(b, b.id)).then(
          // stored: true whether it went now or waits for the network
          () => drain().then(() => stored[b.id] ?? true),
          () => uploadBug(ctx()!, b).then((a) => a.status > 199 && a.status < 300),
        ),
      () => false,
    );
}
