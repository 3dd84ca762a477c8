// npm add-on: `import '@telltale/browser-sdk/breadcrumbs'`: SPA navigation and failed fetch / XHR breadcrumbs.
import { patchBreadcrumbs } from './addons/breadcrumbs.js';
import { current } from './index.js';

patchBreadcrumbs(() => current()?.ctx());
