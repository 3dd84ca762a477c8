import type { SpoolPosition, SpoolReader } from '@telltale/spool';

/** How long a batch id is remembered: SDK retries of one batch arrive well within a day. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Upper bound on remembered ids so a flood of distinct batches cannot exhaust memory. */
export const IDEMPOTENCY_MAX_ENTRIES = 1_000_000;
/**
 * Upper bound on the characters of remembered keys (app + batch id), since senders choose batch
 * ids up to 200 characters: 1M typical ids (~40 characters) fit, 1M of the longest do not.
 */
export const IDEMPOTENCY_MAX_BYTES = 64 * 1024 * 1024;

export interface BatchIndexOptions {
  windowMs?: number;
  maxEntries?: number;
  /** Most key characters held (app id + batch id of every entry), oldest evicted first. Default 64 Mi. */
  maxBytes?: number;
  now?: () => number;
}

/** Batches already stored, by app + batch id, within the idempotency window. */
export interface BatchIndex {
  /** Events stored under this batch id, or undefined when it is new (or older than the window). */
  lookup(app: string, batchId: string): number | undefined;
  /** Returns false when the entry is already outside the window (nothing remembered). */
  remember(
    app: string,
    batchId: string,
    accepted: number,
    receivedAt: number,
    position?: SpoolPosition,
  ): boolean;
  /** Every remembered batch, oldest first (to rewrite the journal). */
  entries(): IterableIterator<BatchIndexEntry>;
  readonly size: number;
  /** Key characters held now (what maxBytes bounds). */
  readonly bytes: number;
}

export interface BatchIndexEntry {
  app: string;
  batchId: string;
  accepted: number;
  receivedAt: number;
  /** Where the batch's envelope is in the spool, when known. */
  position?: SpoolPosition;
}

interface Entry {
  accepted: number;
  receivedAt: number;
  position?: SpoolPosition;
}

// App ids cannot contain a newline (config validation), so this key is unambiguous.
const keyOf = (app: string, batchId: string): string => `${app}\n${batchId}`;

export function createBatchIndex(options: BatchIndexOptions = {}): BatchIndex {
  const windowMs = options.windowMs ?? IDEMPOTENCY_WINDOW_MS;
  const maxEntries = options.maxEntries ?? IDEMPOTENCY_MAX_ENTRIES;
  const maxBytes = options.maxBytes ?? IDEMPOTENCY_MAX_BYTES;
  const now = options.now ?? Date.now;
  // A Map iterates in insertion order, which is (nearly) receivedAt order: the oldest entries are first.
  const entries = new Map<string, Entry>();
  let bytes = 0;

  const evict = (): void => {
    const cutoff = now() - windowMs;
    for (const [key, entry] of entries) {
      if (entries.size <= maxEntries && bytes <= maxBytes && entry.receivedAt >= cutoff) break;
      entries.delete(key);
      bytes -= key.length;
    }
  };

  return {
    lookup(app, batchId) {
      const entry = entries.get(keyOf(app, batchId));
      if (entry === undefined || entry.receivedAt < now() - windowMs) return undefined;
      return entry.accepted;
    },
    remember(app, batchId, accepted, receivedAt, position) {
      if (receivedAt < now() - windowMs) return false;
      const key = keyOf(app, batchId);
      // Re-inserted at the end to keep insertion order = time order.
      if (entries.delete(key)) bytes -= key.length;
      bytes += key.length;
      entries.set(
        key,
        position === undefined ? { accepted, receivedAt } : { accepted, receivedAt, position },
      );
      evict();
      return true;
    },
    *entries() {
      for (const [key, entry] of entries) {
        const cut = key.indexOf('\n');
        yield { app: key.slice(0, cut), batchId: key.slice(cut + 1), ...entry };
      }
    },
    get size() {
      return entries.size;
    },
    get bytes() {
      return bytes;
    },
  };
}

export interface BatchIndexBuild {
  index: BatchIndex;
  /** Records read from the spool. */
  scanned: number;
  /** Records whose payload is not an envelope we can read (skipped, never fatal). */
  unreadable: number;
}

const READ_PAGE = 500;

/**
 * Rebuilds the index at start-up from the envelopes already in the spool, so a batch retried across
 * a collector restart is still answered `duplicate: true` instead of being stored twice.
 */
export async function buildBatchIndex(
  reader: SpoolReader,
  options: BatchIndexOptions & {
    from?: SpoolPosition;
    /** Start from this index (e.g. loaded from the journal) instead of an empty one. */
    index?: BatchIndex;
    /** Called for each batch found in the spool that the index did not know yet. */
    onFound?: (entry: BatchIndexEntry) => void;
  } = {},
): Promise<BatchIndexBuild> {
  const index = options.index ?? createBatchIndex(options);
  let position = options.from ?? { segment: 0, offset: 0 };
  let scanned = 0;
  let unreadable = 0;
  for (;;) {
    const records = await reader.read(position, READ_PAGE);
    if (records.length === 0) break;
    for (const record of records) {
      scanned += 1;
      const envelope = readEnvelopeKey(record.payload);
      if (envelope === undefined) unreadable += 1;
      else if (index.lookup(envelope.app, envelope.batchId) === undefined) {
        const { app, batchId, accepted, receivedAt } = envelope;
        if (index.remember(app, batchId, accepted, receivedAt, record.position))
          options.onFound?.({ app, batchId, accepted, receivedAt, position: record.position });
      }
    }
    position = records.at(-1)!.next;
  }
  return { index, scanned, unreadable };
}

function readEnvelopeKey(
  payload: Buffer,
): { app: string; batchId: string; accepted: number; receivedAt: number } | undefined {
  try {
    const envelope = JSON.parse(payload.toString('utf8')) as {
      app?: unknown;
      receivedAt?: unknown;
      batch?: { batchId?: unknown; events?: unknown };
    };
    const { app, receivedAt, batch } = envelope;
    if (typeof app !== 'string' || typeof receivedAt !== 'number' || typeof batch?.batchId !== 'string')
      return undefined;
    return {
      app,
      batchId: batch.batchId,
      accepted: Array.isArray(batch.events) ? batch.events.length : 0,
      receivedAt,
    };
  } catch {
    return undefined;
  }
}

/**
 * Stores each batch id at most once. A second upload of a batch still being stored waits for the
 * first's outcome: duplicate if it was stored, a fresh attempt of its own if it failed.
 */
export function createIdempotentStore(index: BatchIndex, onStored?: (entry: BatchIndexEntry) => void) {
  const inFlight = new Map<string, Promise<void>>();

  return async function storeOnce(
    app: string,
    batchId: string,
    accepted: number,
    store: () => Promise<StoredAt>,
  ): Promise<{ duplicate: boolean; accepted: number }> {
    const key = keyOf(app, batchId);
    for (;;) {
      const known = index.lookup(app, batchId);
      if (known !== undefined) return { duplicate: true, accepted: known };
      const pending = inFlight.get(key);
      if (pending === undefined) break;
      await pending.catch(() => undefined);
    }
    const attempt = store().then(({ receivedAt, position }) => {
      if (index.remember(app, batchId, accepted, receivedAt, position))
        onStored?.({ app, batchId, accepted, receivedAt, position });
    });
    inFlight.set(key, attempt);
    try {
      await attempt;
      return { duplicate: false, accepted };
    } finally {
      // A failed attempt leaves no trace, so the client's retry (or a waiting twin) stores it.
      inFlight.delete(key);
    }
  };
}

export type IdempotentStore = ReturnType<typeof createIdempotentStore>;

/** What a store step reports: when the batch was received and where its envelope landed. */
export interface StoredAt {
  receivedAt: number;
  position: SpoolPosition;
}
