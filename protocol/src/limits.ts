/** Limits of wire protocol v1. The collector enforces them; the SDK stays inside them. */
export const LIMITS = Object.freeze({
  /** Largest request body as sent (gzip bytes), in bytes. */
  maxCompressedBytes: 1024 * 1024,
  /** Largest request body after gunzip, in bytes: anything larger is a zip bomb. */
  maxDecompressedBytes: 10 * 1024 * 1024,
  /** Most events in one batch. */
  maxEventsPerBatch: 1000,
  /** Longest string value anywhere in a batch (messages, stacks), in characters. */
  maxStringLength: 8192,
  /** Longest id, name, release or other short identifier, in characters. */
  maxIdLength: 200,
  /** Most breadcrumbs attached to one event. */
  maxBreadcrumbs: 50,
  /** Most keys in one `vars` / `props` map. */
  maxAttributes: 32,
  /** Largest `count` on one event (repeats aggregated by the SDK between uploads). */
  maxCount: 1_000_000_000,
});

export const PROTOCOL_VERSION = 1;
