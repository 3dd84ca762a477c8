import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  listSegments,
  mkdirDurable,
  openCheckpoint,
  openSpoolReader,
  openSpoolWriter,
  SpoolFullError,
  writeFileDurably,
  fsyncDir,
  type Checkpoint,
  type SpoolPosition,
  type SpoolRecord,
} from '@telltale/spool';

/**
 * The app-side buffer: `@telltale/spool`'s append-only segment log (CRC-framed records, group commit,
 * torn-tail cut at open) under `dir/segments`, a shipping checkpoint, and a random buffer id. One
 * record holds the lines that arrived together; a line's id is the buffer id, its record's position
 * and its index there — the same after a restart, so a resend is stored once.
 */
export interface DiskBuffer {
  /** Queues NDJSON lines for the disk; never throws, never waits. */
  add(line: string): void;
  /** Resolves once every line added so far is written and fsync'd (or dropped). */
  flushed(): Promise<void>;
  /** Durable records from the checkpoint on, at most `maxRecords`. */
  read(maxRecords: number): Promise<SpoolRecord[]>;
  /** Marks everything before `next` as shipped, and deletes the whole segments behind it. */
  shipped(next: SpoolPosition): Promise<void>;
  /** Called after each record reaches the disk. */
  onDurable(listener: () => void): void;
  lineId(record: SpoolRecord, index: number): string;
  stats(): BufferStats;
  close(): Promise<void>;
}

export interface BufferStats {
  /** Lines handed to the transport since it started. */
  received: number;
  /** Lines fsync'd into the buffer since it started. */
  written: number;
  /** Lines dropped because the buffer was at its cap (the oldest go first). */
  droppedFull: number;
  /** Bytes of segment files on disk (shipped ones are deleted whole). */
  bufferBytes: number;
  maxBufferBytes: number;
}

const MAX_RECORD_LINES = 1000;
// A record stays well under the collector's 1 MiB gzip body, even for text that hardly compresses.
const MAX_RECORD_CHARS = 256 * 1024;
// Lines read from pino but not yet on disk (the disk is behind): past this, the oldest are dropped.
const MAX_PENDING_CHARS = 32 * 1024 * 1024;
// Records handed to the writer together (one write and one fsync between them).
const MAX_RECORDS_PER_ROUND = 64;

const before = (a: SpoolPosition, b: SpoolPosition): boolean =>
  a.segment < b.segment || (a.segment === b.segment && a.offset < b.offset);

async function bufferId(dir: string, fresh: boolean): Promise<string> {
  const file = path.join(dir, 'buffer-id');
  // An empty buffer starts a new id: positions restart at segment 1, and old ids must not recur.
  if (!fresh) {
    const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
    if (/^[\da-f]{16}$/.test(existing)) return existing;
  }
  const created = randomBytes(8).toString('hex');
  await writeFileDurably(file, created);
  await fsyncDir(dir);
  return created;
}

export async function openDiskBuffer(options: {
  dir: string;
  maxBufferBytes: number;
  recordLines?: number;
}): Promise<DiskBuffer> {
  const { dir, maxBufferBytes } = options;
  const recordLines = Math.min(options.recordLines ?? MAX_RECORD_LINES, MAX_RECORD_LINES);
  await mkdirDurable(dir);
  const spoolDir = path.join(dir, 'segments');
  const fresh = (await listSegments(spoolDir).catch(() => [])).length === 0;
  const id = await bufferId(dir, fresh);
  // Small segments, so dropping the oldest at the cap costs a sliver of the buffer, not half of it.
  const segmentMaxBytes = Math.max(64 * 1024, Math.min(16 * 1024 * 1024, Math.floor(maxBufferBytes / 16)));
  const writer = await openSpoolWriter({ dir: spoolDir, segmentMaxBytes, maxTotalBytes: maxBufferBytes });
  const reader = openSpoolReader({ dir: spoolDir });
  let checkpoint: Checkpoint;
  try {
    checkpoint = await openCheckpoint(path.join(dir, 'shipped.json'));
  } catch (error) {
    await writer.close();
    throw error;
  }
  // Everything present at open survived (the writer cut any torn tail); later, only what an append
  // resolved is durable — a record read before its fsync could vanish in a power cut and its
  // position be reused by different lines, which the stores would then drop as duplicates.
  const newest = (await listSegments(spoolDir)).at(-1);
  const durableAtOpen: SpoolPosition = { segment: newest?.segment ?? 0, offset: newest?.bytes ?? 0 };
  let lastDurable: SpoolPosition | undefined;
  const isDurable = (p: SpoolPosition): boolean =>
    before(p, durableAtOpen) || (lastDurable !== undefined && !before(lastDurable, p));

  let pending: string[] = [];
  let pendingBytes = 0;
  let flushing: Promise<void> | undefined;
  let received = 0;
  let written = 0;
  let droppedFull = 0;
  const listeners: Array<() => void> = [];

  async function linesIn(segment: number): Promise<number> {
    let lines = 0;
    let from: SpoolPosition = { segment, offset: 0 };
    for (;;) {
      const records = (await reader.read(from, 1000)).filter((r) => r.position.segment === segment);
      if (records.length === 0) return lines;
      for (const r of records) lines += countLines(r.payload);
      from = records.at(-1)!.next;
      if (from.segment !== segment) return lines;
    }
  }

  /** Drop-oldest: deletes the oldest sealed segment; false when only the active one is left. */
  async function dropOldest(): Promise<boolean> {
    const segments = await listSegments(spoolDir);
    if (segments.length < 2) return false;
    const oldest = segments[0]!.segment;
    const lines = await linesIn(oldest);
    await writer.removeSegmentsBefore(oldest + 1);
    droppedFull += lines;
    return true;
  }

  async function append(payload: Buffer, lines: number): Promise<void> {
    for (;;) {
      try {
        const position = await writer.append(payload);
        if (lastDurable === undefined || before(lastDurable, position)) lastDurable = position;
        written += lines;
        for (const listener of listeners) listener();
        return;
      } catch (error) {
        if (!(error instanceof SpoolFullError) || !(await dropOldest())) {
          // Full with nothing older to drop (or the disk failed): these lines are the ones dropped.
          droppedFull += lines;
          return;
        }
      }
    }
  }

  function takeRecord(): string[] {
    let take = 0;
    let chars = 0;
    while (
      take < pending.length &&
      take < recordLines &&
      (take === 0 || chars + pending[take]!.length < MAX_RECORD_CHARS)
    )
      chars += pending[take++]!.length + 1;
    const group = pending.slice(0, take);
    pending = pending.slice(take);
    pendingBytes -= chars;
    return group;
  }

  // Whatever is pending goes to the writer at once, as several records: its queue keeps their order
  // and writes them with one fsync (group commit); what arrives meanwhile is the next round.
  async function drain(): Promise<void> {
    while (pending.length > 0) {
      const groups: string[][] = [];
      while (pending.length > 0 && groups.length < MAX_RECORDS_PER_ROUND) groups.push(takeRecord());
      const payloads = groups.map((group) => Buffer.from(group.join('\n'), 'utf8'));
      const results = await Promise.allSettled(payloads.map((payload) => writer.append(payload)));
      const refused: number[] = [];
      results.forEach((result, i) => {
        if (result.status === 'rejected') return void refused.push(i);
        if (lastDurable === undefined || before(lastDurable, result.value)) lastDurable = result.value;
        written += groups[i]!.length;
      });
      // At the cap: make room (drop-oldest) and append the refused records again, in order.
      for (const i of refused) await append(payloads[i]!, groups[i]!.length);
      for (const listener of listeners) listener();
    }
    flushing = undefined;
  }

  return {
    add(line) {
      received += 1;
      pending.push(line);
      pendingBytes += line.length + 1;
      // A disk slower than the app: memory stays bounded too, and the oldest lines go first here as well.
      while (pendingBytes > MAX_PENDING_CHARS && pending.length > 1) {
        pendingBytes -= pending.shift()!.length + 1;
        droppedFull += 1;
      }
      // Lines that arrive in the same tick share a record; the write starts on the next turn.
      flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(drain);
    },
    async flushed() {
      while (flushing) await flushing;
    },
    async read(maxRecords) {
      const records = await reader.read(checkpoint.position, maxRecords);
      const durable: SpoolRecord[] = [];
      for (const record of records) {
        if (!isDurable(record.position)) break;
        durable.push(record);
      }
      return durable;
    },
    async shipped(next) {
      await checkpoint.commit(next);
      await writer.removeSegmentsBefore(next.segment);
    },
    onDurable(listener) {
      listeners.push(listener);
    },
    lineId(record, index) {
      return `tn-${id}-${record.position.segment.toString(36)}-${record.position.offset.toString(36)}-${index}`;
    },
    stats() {
      return {
        received,
        written,
        droppedFull,
        bufferBytes: writer.stats().bytes + pendingBytes,
        maxBufferBytes,
      };
    },
    async close() {
      while (flushing) await flushing;
      await writer.close();
    },
  };
}

export function countLines(payload: Buffer): number {
  let lines = 1;
  for (let i = payload.indexOf(10); i >= 0; i = payload.indexOf(10, i + 1)) lines += 1;
  return lines;
}
