import { open, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { SpoolPosition } from '@telltale/spool';
import type { BatchIndex, BatchIndexEntry } from './batch-index.js';
import { fsyncDir } from '@telltale/spool';

/** How often buffered journal lines are written and fsync'd. */
export const JOURNAL_FLUSH_MS = 1000;
/** Rewrite the journal once it holds this many more lines than live entries (expired or evicted ids). */
const COMPACT_SLACK_LINES = 10_000;
/**
 * Largest journal file: past it the journal is rewritten with the newest entries filling at most
 * half of it (the oldest lines go first), whatever the index holds. It is read whole at start-up.
 */
export const JOURNAL_MAX_BYTES = 128 * 1024 * 1024;

/**
 * The batch ids the collector has stored, one JSON line each, so the idempotency window (24 h)
 * survives the deletion of the spool segments that held the batches. Lines are buffered and
 * written every second: a line lost in a crash is still in the spool, whose newest segments are
 * scanned at start-up from the last position the journal knows.
 */
export interface BatchJournal {
  append(entry: BatchIndexEntry): void;
  /** Writes buffered lines and fsyncs them. */
  flush(): Promise<void>;
  /** Flushes and closes; nothing is appended after. */
  close(): Promise<void>;
  stats(): { lines: number; bytes: number; pending: number; compactions: number };
}

export interface JournalLoad {
  /** Lines read (valid or not). */
  lines: number;
  /** Lines that were not a journal entry (a torn last line after a crash). */
  unreadable: number;
  /** The furthest spool position named by a line: the spool is scanned from its segment. */
  lastPosition: SpoolPosition | undefined;
}

const later = (a: SpoolPosition | undefined, b: SpoolPosition): SpoolPosition =>
  a === undefined || b.segment > a.segment || (b.segment === a.segment && b.offset > a.offset) ? b : a;

const encode = (e: BatchIndexEntry): string =>
  JSON.stringify({
    a: e.app,
    b: e.batchId,
    n: e.accepted,
    t: e.receivedAt,
    ...(e.position ? { s: e.position.segment, o: e.position.offset } : {}),
  }) + '\n';

function decode(line: string): BatchIndexEntry | undefined {
  try {
    const { a, b, n, t, s, o } = JSON.parse(line) as Record<string, unknown>;
    if (typeof a !== 'string' || typeof b !== 'string' || typeof n !== 'number' || typeof t !== 'number')
      return undefined;
    const position =
      Number.isSafeInteger(s) && Number.isSafeInteger(o)
        ? { segment: s as number, offset: o as number }
        : undefined;
    return { app: a, batchId: b, accepted: n, receivedAt: t, ...(position ? { position } : {}) };
  } catch {
    return undefined;
  }
}

/** Reads the journal into `index` (entries outside the window are skipped by the index). */
export async function loadBatchJournal(file: string, index: BatchIndex): Promise<JournalLoad> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { lines: 0, unreadable: 0, lastPosition: undefined };
    throw error;
  }
  let lines = 0;
  let unreadable = 0;
  let lastPosition: SpoolPosition | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    lines += 1;
    const entry = decode(line);
    if (entry === undefined) {
      unreadable += 1;
      continue;
    }
    if (entry.position) lastPosition = later(lastPosition, entry.position);
    index.remember(entry.app, entry.batchId, entry.accepted, entry.receivedAt, entry.position);
  }
  return { lines, unreadable, lastPosition };
}

export async function openBatchJournal(
  file: string,
  index: BatchIndex,
  options: { lines?: number; flushMs?: number; maxBytes?: number; onError?: (error: unknown) => void } = {},
): Promise<BatchJournal> {
  const maxBytes = options.maxBytes ?? JOURNAL_MAX_BYTES;
  let handle: FileHandle | null = await open(file, 'a', 0o600);
  let lines = options.lines ?? 0;
  let bytes = (await stat(file)).size;
  let pending: string[] = [];
  let compactions = 0;
  let closed = false;
  // Writes, fsyncs and rewrites run one at a time, in order.
  let chain: Promise<void> = Promise.resolve();
  const serial = (task: () => Promise<void>): Promise<void> => {
    const run = chain.then(task);
    chain = run.catch((error: unknown) => options.onError?.(error));
    return run;
  };

  const writePending = async (): Promise<void> => {
    if (pending.length === 0 || handle === null) return;
    const text = pending.join('');
    const count = pending.length;
    pending = [];
    await handle.write(text);
    await handle.datasync();
    lines += count;
    bytes += Buffer.byteLength(text);
  };

  // Rewrites the file with only the live entries: tmp, fsync, rename, fsync dir.
  const compact = async (): Promise<void> => {
    if (handle === null || (lines <= 2 * index.size + COMPACT_SLACK_LINES && bytes <= maxBytes)) return;
    // Oldest first: skip as many of the oldest as it takes for the rest to fit half the cap.
    let total = 0;
    for (const entry of index.entries()) total += Buffer.byteLength(encode(entry));
    let skipBytes = Math.max(0, total - Math.floor(maxBytes / 2));
    const tmp = `${file}.tmp`;
    const out = await open(tmp, 'w', 0o600);
    let written = 0;
    let writtenBytes = 0;
    try {
      let chunk: string[] = [];
      for (const entry of index.entries()) {
        const line = encode(entry);
        const size = Buffer.byteLength(line);
        if (skipBytes > 0) {
          skipBytes -= size;
          continue;
        }
        chunk.push(line);
        written += 1;
        writtenBytes += size;
        if (chunk.length >= 10_000) {
          await out.write(chunk.join(''));
          chunk = [];
        }
      }
      await out.write(chunk.join(''));
      await out.sync();
    } finally {
      await out.close();
    }
    await handle.close();
    handle = null;
    await rename(tmp, file).catch(async (error: unknown) => {
      await rm(tmp, { force: true });
      throw error;
    });
    await fsyncDir(path.dirname(file));
    handle = await open(file, 'a', 0o600);
    lines = written;
    bytes = writtenBytes;
    compactions += 1;
  };

  const flush = (): Promise<void> =>
    serial(async () => {
      await writePending();
      await compact();
    });

  const timer = setInterval(() => {
    if (pending.length > 0) flush().catch(() => undefined);
  }, options.flushMs ?? JOURNAL_FLUSH_MS);
  timer.unref();

  return {
    append(entry) {
      if (!closed) pending.push(encode(entry));
    },
    flush,
    async close() {
      if (closed) return chain;
      closed = true;
      clearInterval(timer);
      await flush().catch((error: unknown) => options.onError?.(error));
      await serial(async () => {
        await handle?.close();
        handle = null;
      });
    },
    stats: () => ({ lines, bytes, pending: pending.length, compactions }),
  };
}
