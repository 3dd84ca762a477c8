// Script-tag add-on (dist/telltale-bug.js), loaded after telltale.min.js: adds Telltale.reportBug.
import { sendBugReport } from '../core/report-bug.js';
import type { BugReport } from '../core/types.js';
import { Telltale } from './iife.js';

Telltale.reportBug = (report?: BugReport) => sendBugReport(Telltale.ctx(), report);
