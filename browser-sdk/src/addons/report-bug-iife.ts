// Script-tag add-on (dist/telltale-bug.js), loaded after telltale.min.js: adds Telltale.reportBug.
import { bugQueue } from './bug-queue.js';
import { Telltale } from './iife.js';

Telltale.reportBug = bugQueue(() => Telltale.ctx());
