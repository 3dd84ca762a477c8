import type { Client } from '../../core/client.js';
import { scrub } from '../../core/scrub.js';
import type { Platform } from '../../core/types.js';
import { currentSession } from './session.js';
import { sendBatch } from './transport.js';

/** The browser's transport, session and page context. */
export function browserPlatform(): Platform {
  return {
    send: sendBatch,
    session: currentSession,
    // pathname has neither query string nor fragment; scrub still removes ids that look like emails or cards
    context: () => ({ url: scrub(location.pathname), online: navigator.onLine }),
    // 0 until the load event has ended: then there is no load time to report yet
    loadMs: () =>
      Math.round(
        (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined)
          ?.loadEventEnd || 0,
      ) || undefined,
  };
}

/** Listens for uncaught errors, unhandled rejections and page hide; never replaces the app's own handlers. */
export function instrument(c: Client): void {
  addEventListener('error', (e) => c.captureError(e.error ?? e.message, { mechanism: 'onerror' }));
  addEventListener('unhandledrejection', (e) =>
    c.captureError(e.reason, { mechanism: 'onunhandledrejection' }),
  );
  // Both fire when a tab closes; the second call finds the batch already in flight with keepalive.
  addEventListener('pagehide', () => c.flush(true));
  document.addEventListener('visibilitychange', () => document.visibilityState == 'hidden' && c.flush(true));
  addEventListener('online', c.resume);
}
