import { open, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import {
  fsyncDir,
  openCheckpoint,
  PRIVATE_DIR_MODE,
  tightenMode,
  type Checkpoint,
  type SpoolPosition,
} from '@telltale/spool';

/**
 * The app-side buffer: plain NDJSON files under `dir/journal`, one line per pino line as pino wrote
 * it, appended by journal-writer.ts (batched: one synchronous write per turn of the app's event
 * loop, so a line is in the page cache, safe from a kill -9, once the code that logged it yields).
 * This file has the layout and the reader. Each file is named `<seq>-<random id>.ndjson`; the newest is the
 * one being written, the others are sealed. A line's id is the file's random id and the line's byte
 * offset: the same after any restart, and never reused (a new process life starts a new file with a
 * new random id, even if a power cut took back the end of the old one).
 */
export const JOURNAL_DIR = 'journal';
export const CHECKPOINT_FILE = 'journal-shipped.json';
const NAME = /^(\d{12})-([\da-f]{16})\.ndjson$/;
// Reads go in blocks this large; a line longer than one block is skipped (the collector would refuse it).
const READ_BLOCK_BYTES = 1024 * 1024;

export interface JournalFile {
  seq: number;
  id: string;
  file: string;
  bytes: number;
}

export const fileName = (seq: number, id: string): string => `${String(seq).padStart(12, '0')}-${id}.ndjson`;
export const lineId = (fileId: string, offset: number): string => `tn-${fileId}-${offset.toString(36)}`;

export function parseName(name: string): { seq: number; id: string } | undefined {
  const match = NAME.exec(name);
  return match ? { seq: Number(match[1]), id: match[2]! } : undefined;
}

export const isErrno = (error: unknown, code: string): boolean =>
  typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;

/** The journal's files, oldest first, with their sizes. */
export async function listJournal(dir: string): Promise<JournalFile[]> {
  const journal = path.join(dir, JOURNAL_DIR);
  const names = await readdir(journal).catch((error: unknown) => {
    if (isErrno(error, 'ENOENT')) return [] as string[];
    throw error;
  });
  const files: JournalFile[] = [];
  for (const name of names) {
    const parsed = parseName(name);
    if (parsed === undefined) continue;
    const file = path.join(journal, name);
    try {
      files.push({ ...parsed, file, bytes: (await stat(file)).size });
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error; // deleted between readdir and stat
    }
  }
  return files.sort((a, b) => a.seq - b.seq);
}

// Reader: asynchronous, in the shipping worker.

export interface JournalEntry {
  /** The line as the collector gets it (scrubbed, with its id), or undefined for a blank line. */
  wire: string;
  /** Where the following line starts. */
  next: SpoolPosition;
}

export interface JournalBatch {
  entries: JournalEntry[];
  /** Where the next read starts once this batch is shipped (past torn tails of sealed files). */
  next: SpoolPosition;
  /** True when `next` is past the checkpoint (there is something to commit, even with no entries). */
  advanced: boolean;
  /** Lines longer than a read block, skipped. */
  skipped: number;
}

export interface JournalReader {
  read(maxLines: number, maxChars: number): Promise<JournalBatch>;
  /** Commits the checkpoint, then deletes the sealed files wholly behind it. */
  shipped(next: SpoolPosition): Promise<void>;
  /** Drop-oldest: deletes the oldest sealed files while the journal is over `maxBytes`; returns the unshipped lines they held. */
  enforceCap(maxBytes: number): Promise<{ dropped: number; bytes: number }>;
  /** fdatasync every file that grew since the last call (and the directory when files came or went). */
  sync(): Promise<void>;
}

async function readAt(file: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

async function countLines(file: JournalFile, from: number): Promise<number> {
  let lines = 0;
  try {
    for (let offset = from; offset < file.bytes; offset += READ_BLOCK_BYTES) {
      const block = await readAt(file.file, offset, Math.min(READ_BLOCK_BYTES, file.bytes - offset));
      for (let i = block.indexOf(10); i >= 0; i = block.indexOf(10, i + 1)) lines += 1;
    }
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
    return 0; // shipped and deleted meanwhile: nothing of it is dropped
  }
  return lines;
}

const atOrAfter = (a: SpoolPosition, b: SpoolPosition): boolean =>
  a.segment > b.segment || (a.segment === b.segment && a.offset >= b.offset);

export async function openJournalReader(options: {
  dir: string;
  toWire: (raw: string, id: string) => string | undefined;
}): Promise<JournalReader> {
  const { dir, toWire } = options;
  const journal = path.join(dir, JOURNAL_DIR);
  const checkpoint: Checkpoint = await openCheckpoint(path.join(dir, CHECKPOINT_FILE));
  await tightenMode(journal, PRIVATE_DIR_MODE);
  const synced = new Map<number, number>();
  let dirChanged = true;

  async function read(maxLines: number, maxChars: number): Promise<JournalBatch> {
    const from = checkpoint.position;
    const files = await listJournal(dir);
    const entries: JournalEntry[] = [];
    let next = from;
    let skipped = 0;
    let chars = 0;
    const full = (): boolean => entries.length >= maxLines || chars >= maxChars;
    for (let i = files.findIndex((f) => f.seq >= from.segment); i >= 0 && i < files.length; i++) {
      const file = files[i]!;
      const sealed = i < files.length - 1;
      let offset = file.seq === from.segment ? from.offset : 0;
      next = { segment: file.seq, offset };
      // The newest file may grow while we read; reading to the size listed is enough.
      while (offset < file.bytes && !full()) {
        const block = await readAt(file.file, offset, Math.min(READ_BLOCK_BYTES, file.bytes - offset)).catch(
          (error: unknown) => {
            if (isErrno(error, 'ENOENT')) return undefined; // dropped at the cap meanwhile: its lines are counted
            throw error;
          },
        );
        if (block === undefined) break;
        let start = 0;
        for (let nl = block.indexOf(10); nl >= 0 && !full(); nl = block.indexOf(10, start)) {
          const raw = block.toString('utf8', start, nl);
          const at = offset + start;
          start = nl + 1;
          chars += raw.length + 1;
          const wire = toWire(raw, lineId(file.id, at));
          next = { segment: file.seq, offset: offset + start };
          if (wire !== undefined) entries.push({ wire, next });
        }
        if (start === 0) {
          if (block.length < READ_BLOCK_BYTES) break; // a line still being written, or a torn tail
          // One line longer than a block: skip to its end.
          let end = -1;
          for (let at = offset + block.length; end < 0 && at < file.bytes; at += READ_BLOCK_BYTES) {
            const more = await readAt(file.file, at, Math.min(READ_BLOCK_BYTES, file.bytes - at));
            const nl = more.indexOf(10);
            if (nl >= 0) end = at + nl + 1;
          }
          if (end < 0) break;
          skipped += 1;
          offset = end;
          next = { segment: file.seq, offset };
          continue;
        }
        offset += start;
      }
      if (full() || !sealed) break;
      // A sealed file is final: bytes past its last newline are a tail torn by a power cut, never a line.
      next = { segment: files[i + 1]!.seq, offset: 0 };
    }
    const advanced = !atOrAfter(from, next);
    return { entries, next, advanced, skipped };
  }

  async function removeBefore(segment: number, keepNewest: JournalFile | undefined, files: JournalFile[]) {
    let removed = 0;
    for (const file of files) {
      if (file.seq >= segment || file === keepNewest) continue;
      await unlink(file.file).catch((error: unknown) => {
        if (!isErrno(error, 'ENOENT')) throw error;
      });
      synced.delete(file.seq);
      removed += 1;
    }
    if (removed > 0) dirChanged = true;
  }

  return {
    read,
    async shipped(next) {
      await checkpoint.commit(next);
      const files = await listJournal(dir);
      await removeBefore(next.segment, files.at(-1), files);
    },
    async enforceCap(maxBytes) {
      const files = await listJournal(dir);
      let bytes = files.reduce((sum, f) => sum + f.bytes, 0);
      let dropped = 0;
      // The newest file is never deleted: the app may be writing it.
      while (bytes > maxBytes && files.length > 1) {
        const oldest = files.shift()!;
        const at = checkpoint.position;
        if (oldest.seq >= at.segment)
          dropped += await countLines(oldest, oldest.seq === at.segment ? at.offset : 0);
        await removeBefore(oldest.seq + 1, undefined, [oldest]);
        bytes -= oldest.bytes;
      }
      return { dropped, bytes };
    },
    async sync() {
      for (const file of await listJournal(dir)) {
        if (synced.get(file.seq) === file.bytes) continue;
        if (!synced.has(file.seq)) dirChanged = true;
        try {
          const handle = await open(file.file, 'r');
          try {
            await handle.datasync();
          } finally {
            await handle.close();
          }
          synced.set(file.seq, file.bytes);
        } catch (error) {
          if (!isErrno(error, 'ENOENT')) throw error;
        }
      }
      if (dirChanged) {
        await fsyncDir(journal);
        dirChanged = false;
      }
    },
  };
}
