import { createClient, type Client } from '../../core/client.js';
import { scrub } from '../../core/scrub.js';
import type { Options } from '../../core/types.js';
import { idbStore } from './idb-store.js';
import { sendBatch } from './transport.js';

export const SDK_NAME = 'telltale-browser/0.1.0';

/** The browser host: IndexedDB queue, localStorage state, fetch transport, page listeners. */
export function startBrowser(o: Options): Client {
  let loadMs: number | undefined;
  let adblock: boolean | undefined;
  const on = addEventListener;
  const c = createClient(o, {
    sdk: SDK_NAME,
    send: sendBatch,
    // pathname has neither query string nor fragment; scrub still removes ids that look like emails or cards
    context: () => ({ url: scrub(location.pathname), online: navigator.onLine }),
    meta: () => ({ loadMs, adblock }),
    kv: () => localStorage,
    store: idbStore(),
  });
  on('error', (e) => c.captureError(e.error ?? e.message, { mechanism: 'onerror' }));
  on('unhandledrejection', (e) => c.captureError(e.reason, { mechanism: 'onunhandledrejection' }));
  // Both fire when a tab closes; the second call finds the batch already in flight with keepalive.
  on('pagehide', () => c.flush(1));
  // visibilitychange bubbles from the document to the window
  on('visibilitychange', () => document.hidden && c.flush(1));
  on('online', c.resume);
  // At the load event: the page load time, and a bait element ad blockers hide (a class from
  // EasyList's generic rules; empty, so it takes no room). Hidden or removed, it has no offsetParent.
  // A page that starts the SDK after its load event sends neither.
  on('load', () => {
    const d = document.body.appendChild(document.createElement('div'));
    d.className = 'adsbox';
    adblock = !d.offsetParent;
    d.remove();
    loadMs = performance.now() | 0;
  });
  return c;
}
