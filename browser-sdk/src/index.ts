import { createClient, type CaptureExtra, type Client } from './core/client.js';
import type { Attributes, LogLevel, Options } from './core/types.js';
import { browserPlatform, instrument } from './platform/browser/index.js';

export type { Attributes, CaptureExtra, LogLevel, Options };
export type { TelltaleEvent } from './core/types.js';

let client: Client | undefined;

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
      instrument((client = createClient(options, browserPlatform())));
    } catch {
      // a host without fetch or storage must still run the app
    }
  }
}

/** Reports an error: once per session, repeats only raise its count. */
export const captureError: (error: unknown, extra?: CaptureExtra) => void = forward('captureError');
/** Reports a failed assertion (soft: false) when `condition` is falsy; never throws. */
export const assert: (condition: unknown, name: string, vars?: Attributes) => void = forward('assert');
/** Like assert, for a limit the app tolerates ("warn us, let the user go on"): soft: true. */
export const softAssert: (condition: unknown, name: string, vars?: Attributes) => void =
  forward('softAssert');
/** Counts one use of a feature. */
export const track: (feature: string, props?: Attributes) => void = forward('track');
/** Counts one time the app said "no" to the user (file too large, permission denied). */
export const blocked: (reason: string, props?: Attributes) => void = forward('blocked');
/** Adds a breadcrumb (the last 20 are kept): logs travel only with the next error or failed assert. */
export const log: (level: LogLevel, message: string) => void = forward('log');
/** Ids only: who is affected, never who they are. `null` forgets the user. */
export const setUser: (user: { id?: string; account?: string } | null) => void = forward('setUser');

/** Sends what is queued now; resolves once the collector answered (or the send failed and was rescheduled). */
export function flush(): Promise<void> {
  return client ? client.flush() : Promise.resolve();
}
