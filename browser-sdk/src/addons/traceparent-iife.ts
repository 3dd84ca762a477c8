// Script-tag add-on (dist/telltale-trace.js), loaded after telltale.min.js: honours init({ propagateTraceparent }).
import { Telltale } from './iife.js';
import { patchTraceparent } from './traceparent.js';

patchTraceparent(() => Telltale.ctx());
