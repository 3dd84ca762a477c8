// npm add-on: `import { reportBug } from '@telltale/browser-sdk/report-bug'` (kept out of the core bundle).
import { bugQueue } from './addons/bug-queue.js';
import type { BugReport } from './core/types.js';
import { current } from './index.js';

export type { BugReport };

/**
 * Sends a bug report (description, app state, recent breadcrumbs) tied to the session, through a
 * durable queue (IndexedDB): true once the collector stored it or once it waits in the queue for
 * the network; false before init, when too large, or when the collector refused it.
 */
export const reportBug: (report?: BugReport) => Promise<boolean> = bugQueue(() => current()?.ctx());
