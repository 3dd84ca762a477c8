import type { CaptureExtra, Client } from './core/client.js';
import type { Attributes, LogLevel, Options } from './core/types.js';
import { startBrowser } from './platform/browser/index.js';

export type { Attributes, CaptureExtra, LogLevel, Options };
export type { BugReport, TelltaleEvent } from './core/types.js';

let client: Client | undefined;

/** The running client (undefined before init): for add-ons such as `reportBug`. */
export const current = (): Client | undefined => client;

// Calls before init() are ignored; the SDK never throws into the app.
const forward =
  <K extends keyof Client>(k: K) =>
  (...a: Parameters<Client[K]>): void => {
    (client?.[k] as ((...a: unknown[]) => void) | undefined)?.(...a);
  };

/** Starts the SDK once per page; later calls, and calls without a key, are ignored. */
export function init(options: Options): void {
  if (!client && options?.key) {
    try {
      client = startBrowser(options);
    } catch {
      // a host without fetch or storage must still run the app
    }
  }
}

/** Reports an error: once per session, repeats only raise its count. */
export const captureError: (error: unknown, extra?: CaptureExtra) => void =
  /* @__PURE__ */ forward('captureError');
/** Reports a failed assertion (soft: false) when `condition` is falsy; never throws. */
export const assert: (condition: unknown, name: string, vars?: Attributes) => void =
  /* @__PURE__ */ forward('assert');
/** Like assert, for a limit the app tolerates ("warn us, let the user go on"): soft: true. */
export const softAssert: (condition: unknown, name: string, vars?: Attributes) => void =
  /* @__PURE__ */ forward('softAssert');
/** Counts one use of a feature. */
export const track: (feature: string, props?: Attributes) => void = /* @__PURE__ */ forward('track');
/** Counts one time the app said "no" to the user (file too large, permission denied). */
export const blocked: (reason: string, props?: Attributes) => void = /* @__PURE__ */ forward('blocked');
/** Adds a breadcrumb (the last 20 are kept): logs travel only with the next error or failed assert. */
export const log: (level: LogLevel, message: string) => void = /* @__PURE__ */ forward('log');
/** Ids only: who is affected, never who they are. `null` forgets the user. */
export const setUser: (user: { id?: string; account?: string } | null) => void =
  /* @__PURE__ */ forward('setUser');

/** Sends what is queued now; resolves once the collector answered (or the send failed and was rescheduled). */
export function flush(): Promise<unknown> {
  return client ? client.flush() : Promise.resolve();
}
