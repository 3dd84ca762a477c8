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

/** What the app hands over from React Native (imports the SDK does not make itself, so it runs anywhere). */
export interface ReactNativeHost {
  /** `@react-native-async-storage/async-storage` (default export): the durable queue. Memory only without it. */
  storage?: AsyncStorageLike;
  /** `AppState` from `react-native`: going to the background flushes. */
  appState?: AppStateLike;
  /** Defaults to the `ErrorUtils` global React Native defines. */
  errorUtils?: ErrorUtilsLike;
}

/** POSTs gzip (fflate: React Native has no CompressionStream) as text/plain, like the browser. */
const send = (url: string, json: string): Promise<Answer> =>
  fetch(url, {
    method: 'POST',
    body: gzipSync(strToU8(json)) as Uint8Array<ArrayBuffer>,
    headers: { 'content-type': 'text/plain' },
  });

/** The React Native host: AsyncStorage queue, ErrorUtils handler (chained), AppState flushes. */
export function startReactNative(o: Options, host: ReactNativeHost = {}): Client {
  // Without AsyncStorage, the same adapter over a storage that never answers: memory only.
  const storage = asyncStorageAdapter(
    host.storage ?? { getItem: () => new Promise(() => {}), setItem: async () => {} },
  );
  const c = createClient(o, { sdk: SDK_NAME, send, context: () => ({}), meta: () => ({}), ...storage });
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
