// npm add-on: `import '@telltale/browser-sdk/traceparent'`, then `init({ propagateTraceparent: [origins] })`.
import { patchTraceparent } from './addons/traceparent.js';
import { current } from './index.js';

patchTraceparent(() => current()?.ctx());
