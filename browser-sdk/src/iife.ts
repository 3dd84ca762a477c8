import { assert, blocked, captureError, flush, init, log, setUser, softAssert, track } from './index.js';

// The script-tag build: the same API on `window.Telltale`.
(globalThis as unknown as { Telltale: unknown }).Telltale = {
  init,
  captureError,
  assert,
  softAssert,
  track,
  blocked,
  log,
  setUser,
  flush,
};
