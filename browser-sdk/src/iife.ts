import type { Client } from './core/client.js';
import type { Options } from './core/types.js';
import { startBrowser } from './platform/browser/index.js';

let client: Client | undefined;

// The script-tag build: `window.Telltale`, with the same functions as the ESM entry. A Proxy forwards
// every other name to the client, so the bundle spells the API once; calls before init() are ignored.
// Add-on scripts (telltale-bug.js, telltale-trace.js) add their functions to the target.
(self as unknown as { Telltale: unknown }).Telltale = new Proxy<Record<string, unknown>>(
  {
    init(o: Options) {
      try {
        client ||= o?.key ? startBrowser(o) : undefined;
      } catch {
        // a host without fetch or storage must still run the app
      }
    },
  },
  {
    get: (t, k: string) =>
      t[k] ||
      // before init (or a name the client lacks): nothing happens, and flush() still gives a promise
      ((...a: unknown[]) =>
        (client?.[k as keyof Client] as ((...a: unknown[]) => unknown) | undefined)?.(...a) ??
        Promise.resolve()),
  },
);
