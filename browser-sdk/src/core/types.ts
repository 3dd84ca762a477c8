import type { Attributes, Batch, LogLevel, TelltaleEvent } from '@telltale/protocol';

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
  /**
   * Origins (e.g. `https://api.example.com`) whose fetch / XHR calls get a W3C `traceparent` header
   * carrying the session's trace id. Needs the traceparent add-on (see the README).
   */
  propagateTraceparent?: string[];
}

/** What `reportBug()` accepts: both optional, both scrubbed like everything else. */
export interface BugReport {
  /** What the user says happened (emails, tokens and card-like numbers removed; 1 KB at most). */
  description?: string;
  /** App state worth seeing (JSON-serialisable); deny-listed keys are filtered, strings scrubbed. */
  state?: unknown;
}

/** The collector's answer as the core needs it (a fetch `Response` is one); status 0: no answer at all. */
export interface Answer {
  status: number;
  headers?: { get(name: string): string | null };
}

/** One queued event; `b` is the batch id once the event has been put in a batch (then it never changes). */
export interface QueueItem {
  e: TelltaleEvent;
  /** Approximate size in bytes (JSON length), for the queue and batch caps. */
  n: number;
  b?: string;
}

/** Where the queue keeps its items across page loads / app runs (IndexedDB, AsyncStorage). */
export interface QueueStore {
  /** Items left by earlier pages or app runs, oldest first; they go before anything captured since. */
  load(): Promise<QueueItem[]>;
  /** Writes (asynchronously) the items new or changed since the last call, and forgets `removed` ones (by event id). */
  save(changed: readonly QueueItem[], removed?: readonly QueueItem[]): void;
}

/** The part of `Storage` the core uses for its small state (session, Retry-After, rate limit). */
export interface KeyValue {
  getItem(key: string): string | null | undefined;
  setItem(key: string, value: string): void;
}

/** Everything the core needs from its host (browser, React Native, tests). */
export interface Platform {
  /** SDK name and version sent with each batch, e.g. `telltale-browser/0.1.0`. */
  sdk: string;
  /** POSTs a JSON body (gzip-compressed where it can); `keepalive` marks the last send of a page going away. */
  send(url: string, json: string, keepalive?: unknown): Promise<Answer>;
  /** Per-event context: URL path and online state. */
  context(): { url?: string; online?: boolean };
  /** Per-batch metadata known to the host: page load time, ad blocker. */
  meta(): Pick<Batch, 'loadMs' | 'adblock'>;
  /** Small synchronous state (localStorage, or memory mirrored to AsyncStorage); may throw (blocked storage). */
  kv(): KeyValue;
  store: QueueStore;
}
