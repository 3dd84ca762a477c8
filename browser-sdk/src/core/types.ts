import type { Attributes, LogLevel, TelltaleEvent } from '@telltale/protocol';

export type { Attributes, LogLevel, TelltaleEvent };

/** What `init()` accepts. */
export interface Options {
  /** Collector origin, e.g. `https://telltale.example.com`; `''` (the default) means the page's own origin. */
  endpoint?: string;
  /** The app's ingest key (sent in the query string so the POST needs no CORS preflight). */
  key: string;
  /** The app's bundle version, e.g. `web-2025.01.3`. */
  release: string;
  /** e.g. `production`, `staging`. */
  environment: string;
  /** Share of distinct errors kept, 0..1 (default 1); decided once per error per session. */
  sampleRate?: number;
  /** Last look at each event before it is queued; return null, false or nothing to drop it. Scrubbing runs after it. */
  beforeSend?: (event: TelltaleEvent) => TelltaleEvent | null | false | undefined;
  /** Errors whose `type: message` contains one of these strings, or matches one of these patterns, are ignored. */
  ignoreErrors?: Array<string | RegExp>;
}

/** The collector's answer as the core needs it: status 0 means the request never got an answer. */
export interface Answer {
  status: number;
  retryAfter?: string | null;
}

/** One queued event; `b` is the batch id once the event has been put in a batch (then it never changes). */
export interface QueueItem {
  e: TelltaleEvent;
  /** Approximate size in bytes (JSON length), for the queue and batch caps. */
  n: number;
  b?: string;
}

/** Where the queue keeps its items; a durable adapter (IndexedDB, AsyncStorage) mirrors them. */
export interface QueueStore {
  /** Items left by an earlier page or app run; they are put before anything captured since. */
  load(): Promise<QueueItem[]>;
  /** Called after every change with the whole queue; durable adapters write through asynchronously. */
  save(items: readonly QueueItem[]): void;
}

/** Everything the core needs from its host (browser, React Native, tests). */
export interface Platform {
  /** POSTs a JSON batch; `keepalive` marks the last send of a page that is going away. */
  send(url: string, json: string, keepalive: boolean): Promise<Answer>;
  /** Session id and trace id of the current session (renewing it after idle time). */
  session(): [id: string, trace: string];
  /** Per-event context: URL path and online state. */
  context(): { url?: string; online?: boolean };
  /** Page load time in ms, once known. */
  loadMs?(): number | undefined;
  store?: QueueStore;
}
