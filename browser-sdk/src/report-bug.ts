// npm add-on: `import { reportBug } from '@telltale/browser-sdk/report-bug'` (kept out of the core bundle).
import { sendBugReport } from './core/report-bug.js';
import type { BugReport } from './core/types.js';
import { current } from './index.js';

export type { BugReport };

/** Uploads a gzipped bug report (description, app state, recent breadcrumbs) tied to the session; true once stored. */
export const reportBug = (report?: BugReport): Promise<boolean> => sendBugReport(current()?.ctx(), report);
