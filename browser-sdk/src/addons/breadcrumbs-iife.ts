// Script-tag add-on (dist/telltale-breadcrumbs.js), loaded after telltale.min.js: SPA navigation and failed fetch / XHR breadcrumbs.
import { patchBreadcrumbs } from './breadcrumbs.js';
import { Telltale } from './iife.js';

patchBreadcrumbs(() => Telltale.ctx());
