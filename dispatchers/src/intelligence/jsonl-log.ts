import { mkdir, open, truncate, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { fsyncDir, writeFileDurably } from '@telltale/spool';

/** An append-only JSON-lines file whose appends count only once fsync'd (alert log, group states). */
export interface JsonLinesLog<T> {
  readonly file: string;
  /** Lines in the file (loaded, appended or rewritten): what compaction compares with the live keys. */
  readonly lines: number;
  /** Writes the records as whole lines, in call order; resolves after fsync. */
  append(records: readonly T[]): Promise<void>;
  /**
   * Replaces the whole file with these records, atomically (tmp + fsync + rename + fsync dir), in
   * order with appends: a crash leaves either the old file or the new one, never a mix.
   */
  rewrite(records: Iterable<T>): Promise<void>;
  close(): Promise<void>;
}

/** Read in chunks so a large log never has to fit in one string. */
const READ_CHUNK_BYTES = 64 * 1024;
/** A longer line is damage (a pending alert with its email bodies is a few tens of KB): skipped, not buffered. */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

/**
 * Streams every valid record to `onRecord`, in file order (cutting a line torn by a crash, skipping
 * damaged lines), then opens the file for appending.
 */
export async function openJsonLinesLog<T>(
  file: string,
  isRecord: (value: unknown) => value is T,
  onRecord: (record: T) => void,
): Promise<JsonLinesLog<T>> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let lines = await readLines(file, (line) => {
    try {
      const parsed: unknown = JSON.parse(line);
      if (isRecord(parsed)) onRecord(parsed);
    } catch {
      // A corrupt line in the middle (disk trouble) loses one record, not the whole history.
    }
  });

  let handle: FileHandle | undefined = await open(file, 'a', 0o600);
  let chain: Promise<void> = Promise.resolve();
  let torn = false;
  const enqueue = (step: () => Promise<void>): Promise<void> => {
    const run = chain.then(step);
    chain = run.catch(() => undefined);
    return run;
  };
  const log: JsonLinesLog<T> = {
    file,
    get lines() {
      return lines;
    },
    append(batch) {
      if (batch.length === 0) return Promise.resolve();
      return enqueue(async () => {
        // A failed rewrite may have left no handle: appends go to whatever file holds the name now.
        handle ??= await open(file, 'a', 0o600);
        // After a failed write the file may end mid-line; start on a fresh one.
        const text = (torn ? '\n' : '') + batch.map((record) => `${JSON.stringify(record)}\n`).join('');
        torn = true;
        await handle.write(text);
        await handle.sync();
        torn = false;
        lines += batch.length;
      });
    },
    rewrite(records) {
      return enqueue(async () => {
        const parts: string[] = [];
        for (const record of records) parts.push(`${JSON.stringify(record)}\n`);
        await writeFileDurably(file, parts.join(''), 0o600);
        // The rename must survive a power cut before the next append lands in the new file.
        await fsyncDir(dir);
        const old = handle;
        handle = undefined;
        await old?.close().catch(() => undefined);
        handle = await open(file, 'a', 0o600);
        torn = false;
        lines = parts.length;
      });
    },
    async close() {
      await chain;
      await handle?.close();
      handle = undefined;
    },
  };
  return log;
}

/** Calls `onLine` for each whole line; truncates a torn tail; returns the number of lines read. */
async function readLines(file: string, onLine: (line: string) => void): Promise<number> {
  let input: FileHandle;
  try {
    input = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  let count = 0;
  let offset = 0;
  // Bytes up to the last newline: only whole lines count, a line without its newline was never fsync'd.
  let wholeEnd = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  try {
    for (;;) {
      const { bytesRead } = await input.read(buffer, 0, READ_CHUNK_BYTES, offset);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, nl);
        if (!overlong && pendingBytes + piece.length <= MAX_LINE_BYTES) {
          const decoder = new StringDecoder('utf8');
          const line = pending.map((p) => decoder.write(p)).join('') + decoder.write(piece) + decoder.end();
          if (line.trim() !== '') onLine(line);
        }
        count += 1;
        pending = [];
        pendingBytes = 0;
        overlong = false;
        start = nl + 1;
        wholeEnd = offset + start;
      }
      const rest = chunk.subarray(start);
      if (!overlong && pendingBytes + rest.length <= MAX_LINE_BYTES) {
        // Copy: the read buffer is reused for the next chunk.
        pending.push(Buffer.from(rest));
        pendingBytes += rest.length;
      } else {
        overlong = true;
        pending = [];
        pendingBytes = 0;
      }
      offset += bytesRead;
    }
  } finally {
    await input.close();
  }
  if (wholeEnd < offset) await truncate(file, wholeEnd);
  return count;
}
