import { gzipSync, strToU8 } from 'fflate';
import { createClient, type Client } from '../../core/client.js';
import type { Answer, Options } from '../../core/types.js';
import { asyncStorageAdapter, type AsyncStorageLike } from './async-storage.js';

export const SDK_NAME = 'telltale-react-native/0.1.0';

/** React Native's global error handler registry (the `ErrorUtils` global). */
export interface ErrorUtilsLike {
  getGlobalHandler(): ((error: unknown, isFatal?: boolean) => void) | undefined;
  setGlobalHandler(handler: (error: unknown, isFatal?: boolean) => void): void;
}

/** The part of React Native's `AppState` the SDK uses. */
export interface AppStateLike {
  addEventListener(type: 'change', listener: (state: string) => void): unknown;
}

/** What `@react-native-community/netinfo` reports; `null`: not known yet. */
export interface NetInfoStateLike {
  isConnected: boolean | null;
  isInternetReachable?: boolean | null;
}

/** The part of `@react-native-community/netinfo` (default export) the SDK uses. */
export interface NetInfoLike {
  /** Calls back on every change; returns the unsubscribe function. */
  addEventListener(listener: (state: NetInfoStateLike) => void): () => void;
  fetch(): Promise<NetInfoStateLike>;
}

/** Options of a promise rejection tracker: `HermesInternal.enablePromiseRejectionTracker`'s, and `promise/setimmediate/rejection-tracking`'s. */
export interface RejectionTrackingOptions {
  allRejections: boolean;
  onUnhandled: (id: number, error: unknown) => void;
  onHandled: (id: number) => void;
}

/** A promise rejection tracker: `require('promise/setimmediate/rejection-tracking')` has this shape. */
export interface RejectionTrackerLike {
  enable(options: RejectionTrackingOptions): void;
}

/** What the app hands over from React Native (imports the SDK does not make itself, so it runs anywhere). */
export interface ReactNativeHost {
  /** `@react-native-async-storage/async-storage` (default export): the durable queue. Memory only without it. */
  storage?: AsyncStorageLike;
  /** `AppState` from `react-native`: going to the background flushes. */
  appState?: AppStateLike;
  /** Defaults to the `ErrorUtils` global React Native defines. */
  errorUtils?: ErrorUtilsLike;
  /**
   * `@react-native-community/netinfo` (default export): no upload is tried while offline, and
   * reconnecting sends at once. Without it, network errors back off (capped at 5 minutes).
   */
  netInfo?: NetInfoLike;
  /**
   * Where unhandled promise rejections are reported. Defaults to Hermes'
   * `HermesInternal.enablePromiseRejectionTracker`; on JSC pass
   * `require('promise/setimmediate/rejection-tracking')`; `false` leaves rejections alone.
   */
  rejectionTracking?: RejectionTrackerLike | false;
}

type Hermes = { enablePromiseRejectionTracker?: (o: RejectionTrackingOptions) => void };

/** The Hermes tracker as a RejectionTrackerLike, where the engine is Hermes. */
const hermesTracker = (): RejectionTrackerLike | undefined => {
  const h = (globalThis as { HermesInternal?: Hermes }).HermesInternal;
  return h?.enablePromiseRejectionTracker
    ? { enable: (o) => h.enablePromiseRejectionTracker!(o) }
    : undefined;
};

/** POSTs gzip (fflate: React Native has no CompressionStream) as text/plain, like the browser. */
const send = (url: string, json: string): Promise<Answer> =>
  fetch(url, {
    method: 'POST',
    body: gzipSync(strToU8(json)) as Uint8Array<ArrayBuffer>,
    headers: { 'content-type': 'text/plain' },
  });

/**
 * The React Native host: AsyncStorage queue and session, ErrorUtils handler (chained), promise
 * rejection tracking, NetInfo online state, AppState flushes.
 */
export function startReactNative(o: Options, host: ReactNativeHost = {}): Client {
  // Without AsyncStorage, the same adapter over a storage that never answers: memory only.
  const storage = asyncStorageAdapter(
    host.storage ?? { getItem: () => new Promise(() => {}), setItem: async () => {} },
  );
  /** NetInfo's last word: undefined until it answers (then uploads are tried as without it). */
  let online: boolean | undefined;
  const c = createClient(o, {
    sdk: SDK_NAME,
    // offline: no request (and no radio woken up); the backoff waits, reconnecting ends it
    send: (url, json) => (online === false ? Promise.resolve({ status: 0 }) : send(url, json)),
    context: () => ({ online }),
    meta: () => ({}),
    ...storage,
  });
  const net = (state: NetInfoStateLike) => {
    const was = online;
    online = state.isConnected !== false && state.isInternetReachable !== false;
    if (online && was === false) c.resume();
  };
  host.netInfo?.addEventListener(net);
  host.netInfo
    ?.fetch()
    .then(net)
    .catch(() => {});
  // Unhandled rejections, as the browser's unhandledrejection: reported once handled late is too late to undo, so counted as is.
  const tracker = host.rejectionTracking === false ? undefined : (host.rejectionTracking ?? hermesTracker());
  tracker?.enable({
    allRejections: true,
    onUnhandled: (_id, error) => c.captureError(error, { mechanism: 'onunhandledrejection' }),
    onHandled: () => {},
  });
  const errorUtils = host.errorUtils ?? (globalThis as { ErrorUtils?: ErrorUtilsLike }).ErrorUtils;
  const previous = errorUtils?.getGlobalHandler();
  errorUtils?.setGlobalHandler((error, isFatal) => {
    c.captureError(error, { mechanism: 'onerror' });
    // A fatal error ends the app right after the handlers: send now; the stored queue covers a failed send.
    if (isFatal) void c.flush(1);
    previous?.(error, isFatal);
  });
  host.appState?.addEventListener('change', (state) => (state == 'active' ? c.resume() : c.flush(1)));
  return c;
}
