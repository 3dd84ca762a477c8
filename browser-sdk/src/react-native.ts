// React Native entry: `import { init, track } from '@telltale/browser-sdk/react-native'`.
import type { CaptureExtra, Client } from './core/client.js';
import { sendBugReport } from './core/report-bug.js';
import type { Attributes, BugReport, LogLevel, Options } from './core/types.js';
import { startReactNative, type ReactNativeHost } from './platform/react-native/index.js';

export type { Attributes, BugReport, CaptureExtra, LogLevel, Options, ReactNativeHost };
export type { AsyncStorageLike } from './platform/react-native/async-storage.js';
export type { AppStateLike, ErrorUtilsLike } from './platform/react-native/index.js';

let client: Client | undefined;

/**
 * Starts the SDK once per app run; later calls are ignored. Pass what React Native provides:
 * `init(options, { storage: AsyncStorage, appState: AppState })` (ErrorUtils is found on its own).
 */
export function init(options: Options, host?: ReactNativeHost): void {
  if (!client && options?.key) {
    try {
      client = startReactNative(options, host);
    } catch {
      // the app runs on without us
    }
  }
}

/** Reports an error: once per session, repeats only raise its count. */
export const captureError = (error: unknown, extra?: CaptureExtra): void =>
  client?.captureError(error, extra);
/** Reports a failed assertion (soft: false) when `condition` is falsy; never throws. */
export const assert = (condition: unknown, name: string, vars?: Attributes): void =>
  client?.assert(condition, name, vars);
/** Like assert, for a limit the app tolerates: soft: true. */
export const softAssert = (condition: unknown, name: string, vars?: Attributes): void =>
  client?.softAssert(condition, name, vars);
/** Counts one use of a feature. */
export const track = (feature: string, props?: Attributes): void => client?.track(feature, props);
/** Counts one time the app said "no" to the user. */
export const blocked = (reason: string, props?: Attributes): void => client?.blocked(reason, props);
/** Adds a breadcrumb (the last 20 travel with the next error or failed assert). */
export const log = (level: LogLevel, message: string): void => client?.log(level, message);
/** Ids only. `null` forgets the user. */
export const setUser = (user: { id?: string; account?: string } | null): void => client?.setUser(user);
/** Sends what is queued now. */
export const flush = (): Promise<unknown> => (client ? client.flush() : Promise.resolve());
/** Uploads a gzipped bug report (description, app state, recent breadcrumbs) tied to the session; true once stored. */
export const reportBug = (report?: BugReport): Promise<boolean> => sendBugReport(client?.ctx(), report);
