import { randomBytes } from 'node:crypto';
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { TelltaleError } from '@telltale/protocol';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '@telltale/spool';
import { CHECKPOINT_FILE, fileName, isErrno, JOURNAL_DIR, parseName } from './journal.js';

/**
 * The journal's writing side, synchronous, on whichever thread calls pino's write (the app's, for
 * telltaleDestination). Lines are batched per turn of the event loop: `append` adds the line to a
 * string (a rope: no copy, no encoding per line), and the turn's lines go to the journal with one
 * write(2) when the code that logged yields (a microtask queued by the turn's first line), at
 * PENDING_CHARS, on `flush()`, and at process exit. A write(2) per line cost ~2 µs, more than a
 * whole `logger.info` to `pino/file`; one per turn is nearly free. What a kill -9 can take: the lines
 * of the turn it interrupts (at most PENDING_CHARS), never a line logged before the code last yielded.
 */
export const PENDING_CHARS = 64 * 1024;
const LOCK_FILE = 'writer.lock';

export interface JournalWriter {
  /** Queues one line (a newline is added if missing) for the write at the end of this turn. */
  append(line: string): void;
  /** Writes the queued lines now; false when the disk refused them (they are counted as failed). */
  flush(): boolean;
  /** `written`: lines in the journal; `failed`: lines the disk refused (full, failing). */
  counters(): { written: number; failed: number };
  /** Writes the queued lines, closes the file and releases the dir. */
  close(): void;
}

const openInThisProcess = new Set<string>();

// process.exit() and an uncaught exception skip the microtask: every open writer writes its turn's
// lines on the way out (one listener for all of them, however many loggers the app makes).
const flushOnExit = new Set<() => unknown>();
let exitHooked = false;
function writeOnExit(flush: () => unknown): void {
  flushOnExit.add(flush);
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const each of flushOnExit) each();
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM');
  }
}

// One writer per buffer dir: two would ship each other's lines and race on the checkpoint.
function acquireLock(dir: string, who: string): void {
  if (openInThisProcess.has(dir))
    throw new TelltaleError(
      'TELLTALE_ERR_INVALID_CONFIG',
      `${who} options.dir: ${dir} is already used by another Telltale logger in this process; give each its own dir`,
    );
  const file = path.join(dir, LOCK_FILE);
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx', mode: PRIVATE_FILE_MODE });
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) throw error;
    const holder = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder))
      throw new TelltaleError(
        'TELLTALE_ERR_INVALID_CONFIG',
        `${who} options.dir: ${dir} is used by process ${holder}; give each process its own dir (e.g. one per worker)`,
      );
    writeFileSync(file, String(process.pid), { mode: PRIVATE_FILE_MODE }); // left by a killed process
  }
  openInThisProcess.add(dir);
}

/** The next file's sequence number: past every file present and past the checkpoint (a lost file's number is never reused). */
function nextSeq(dir: string): number {
  let seq = 0;
  for (const name of readdirSync(path.join(dir, JOURNAL_DIR))) seq = Math.max(seq, parseName(name)?.seq ?? 0);
  try {
    const checkpoint = JSON.parse(readFileSync(path.join(dir, CHECKPOINT_FILE), 'utf8')) as {
      segment?: unknown;
    };
    if (Number.isSafeInteger(checkpoint.segment)) seq = Math.max(seq, checkpoint.segment as number);
  } catch {
    // No checkpoint yet (or unreadable: the reader says so when it opens it).
  }
  return seq + 1;
}

export function openJournalWriter(options: {
  dir: string;
  segmentMaxBytes: number;
  who: string;
}): JournalWriter {
  const { dir, segmentMaxBytes, who } = options;
  const journal = path.join(dir, JOURNAL_DIR);
  mkdirSync(journal, { recursive: true, mode: PRIVATE_DIR_MODE });
  acquireLock(dir, who);
  let fd = -1;
  let size = 0;
  let written = 0;
  let failed = 0;
  // The lines of this turn, newline-terminated, and how many.
  let pending = '';
  let lines = 0;
  let scheduled = false;
  let closed = false;

  // A new file for every process life and every segmentMaxBytes: the old one is sealed, never appended to again.
  const startFile = (): void => {
    if (fd >= 0) closeSync(fd);
    fd = -1;
    const name = fileName(nextSeq(dir), randomBytes(8).toString('hex'));
    fd = openSync(path.join(journal, name), 'wx', PRIVATE_FILE_MODE);
    size = 0;
  };
  try {
    startFile();
  } catch (error) {
    openInThisProcess.delete(dir);
    throw error;
  }

  // Positional writes: a line's offset is its id, so the bytes must land exactly at `size`.
  const writeAll = (bytes: Buffer, count: number): boolean => {
    try {
      if (fd < 0 || size >= segmentMaxBytes) startFile();
      for (let done = 0; done < bytes.length;) {
        const wrote = writeSync(fd, bytes, done, bytes.length - done, size + done);
        if (wrote <= 0) throw new Error('short write');
        done += wrote;
      }
      size += bytes.length;
      written += count;
      return true;
    } catch {
      // ENOSPC, EIO: the lines are lost, counted; logging must not throw into the app. Never leave
      // part of a batch to merge with the next line.
      try {
        if (fd >= 0) ftruncateSync(fd, size);
      } catch {
        // The file is unusable: the next write starts another.
        try {
          closeSync(fd);
        } catch {
          // Closed already, or failing too.
        }
        fd = -1;
      }
      failed += count;
      return false;
    }
  };

  const flush = (): boolean => {
    if (lines === 0) return true;
    const ok = writeAll(Buffer.from(pending, 'utf8'), lines);
    pending = '';
    lines = 0;
    return ok;
  };
  const endOfTurn = (): void => {
    scheduled = false;
    flush();
  };
  writeOnExit(flush);

  return {
    append(line) {
      if (closed) return;
      // A file takes no line once it reached segmentMaxBytes: the lines so far go to it, the next to a new one.
      if (lines > 0 && (pending.length >= PENDING_CHARS || size + pending.length >= segmentMaxBytes)) flush();
      pending += line.charCodeAt(line.length - 1) === 10 ? line : `${line}\n`;
      lines += 1;
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(endOfTurn);
      }
    },
    flush,
    counters: () => ({ written, failed }),
    close() {
      if (closed) return;
      flush();
      closed = true;
      flushOnExit.delete(flush);
      if (fd >= 0) closeSync(fd);
      fd = -1;
      openInThisProcess.delete(dir);
      try {
        unlinkSync(path.join(dir, LOCK_FILE));
      } catch {
        // Already gone.
      }
    },
  };
}
