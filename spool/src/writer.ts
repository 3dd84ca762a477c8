import { open, readFile, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { encodeHeader, MAX_RECORD_BYTES, RECORD_HEADER_BYTES, scanRecords } from './format.js';
import {
  fsyncDir,
  isErrno,
  listSegmentNumbers,
  mkdirDurable,
  PRIVATE_FILE_MODE,
  segmentPath,
  tightenMode,
  writeAllAt,
} from './fs-util.js';
import { createLatencyRecorder } from './histogram.js';
import type { SpoolPosition, SpoolWriter, SpoolWriterOptions, SpoolWriterStats } from './types.js';

export const DEFAULT_SEGMENT_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_SEGMENT_MAX_AGE_MS = 60 * 60 * 1000;
const LOCK_FILE = 'writer.lock';
// How often an idle writer looks at its active segment (age, or a failed write to recover from).
const ageCheckInterval = (maxAgeMs: number): number =>
  Math.min(5_000, Math.max(50, Math.floor(maxAgeMs / 4)));

/** An append refused because the spool is at its disk cap; nothing was written. */
export class SpoolFullError extends Error {
  readonly code = 'SPOOL_FULL';
  constructor(
    readonly dir: string,
    readonly maxTotalBytes: number,
  ) {
    super(`spool ${dir} is at its disk cap of ${maxTotalBytes} bytes`);
    this.name = 'SpoolFullError';
  }
}

interface PendingAppend {
  payload: Buffer;
  resolve: (position: SpoolPosition) => void;
  reject: (error: unknown) => void;
}

// One writer per spool directory: two would interleave records in the same segment.
const dirsOpenInThisProcess = new Set<string>();

/** Opens the spool for appending (mkdir -p) after cutting any torn tail off the newest segment. */
export async function openSpoolWriter(options: SpoolWriterOptions): Promise<SpoolWriter> {
  const maxBytes = options.segmentMaxBytes ?? DEFAULT_SEGMENT_MAX_BYTES;
  const maxAgeMs = options.segmentMaxAgeMs ?? DEFAULT_SEGMENT_MAX_AGE_MS;
  if (!Number.isFinite(maxBytes) || maxBytes <= 0)
    throw new RangeError(`segmentMaxBytes must be a positive number, got ${maxBytes}`);
  if (!Number.isFinite(maxAgeMs) || maxAgeMs <= 0)
    throw new RangeError(`segmentMaxAgeMs must be a positive number, got ${maxAgeMs}`);
  const maxTotalBytes = options.maxTotalBytes ?? null;
  if (maxTotalBytes !== null && (!Number.isFinite(maxTotalBytes) || maxTotalBytes <= 0))
    throw new RangeError(`maxTotalBytes must be a positive number, got ${maxTotalBytes}`);
  const dir = path.resolve(options.dir);
  await mkdirDurable(dir);
  await acquireLock(dir);
  try {
    const writer = new SegmentedSpoolWriter(dir, maxBytes, maxAgeMs, maxTotalBytes);
    await writer.recover();
    writer.startAgeTimer();
    return writer;
  } catch (error) {
    await releaseLock(dir);
    throw error;
  }
}

class SegmentedSpoolWriter implements SpoolWriter {
  private readonly sizes = new Map<number, number>();
  private readonly listeners = new Set<() => void>();
  private readonly removeListeners = new Set<(segments: number[]) => void>();
  private queue: PendingAppend[] = [];
  private flushing: Promise<void> | null = null;
  private file: FileHandle | null = null;
  private activeSegment = 0;
  private activeSize = 0;
  private activeCreatedAt = 0;
  // After a failed write or fsync the active segment's tail is suspect: seal it and start a new one.
  private broken = false;
  private closing: Promise<void> | null = null;
  private records = 0;
  private fsyncs = 0;
  private truncatedBytes = 0;
  private refusedFull = 0;
  // Set by a refusal, cleared when segments are deleted: once full, the spool stays full until consumers
  // free space, so small batches do not squeeze past a large one that waits for room.
  private capReached = false;
  // Bytes of records queued but not yet written: they count against the disk cap already.
  private queuedBytes = 0;
  private ageTimer: NodeJS.Timeout | undefined;
  private readonly fsyncLatency = createLatencyRecorder();

  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly maxAgeMs: number,
    private readonly maxTotalBytes: number | null,
  ) {}

  /**
   * Seals an old active segment even when no append comes, so it can be shipped and deleted whole;
   * after a failed write, starts a fresh segment so the writer reports itself writable again.
   */
  startAgeTimer(): void {
    this.ageTimer = setInterval(() => this.sealIfOld(), ageCheckInterval(this.maxAgeMs));
    this.ageTimer.unref();
  }

  private sealIfOld(): void {
    if (this.flushing || this.closing) return;
    const old =
      this.file !== null && this.activeSize > 0 && Date.now() - this.activeCreatedAt >= this.maxAgeMs;
    if (!old && !this.broken && this.file !== null) return;
    // Runs in the append lane, so no group is written while the segment changes.
    this.flushing = (async () => {
      try {
        await this.rotate();
      } catch {
        this.broken = true; // the next append retries the rotation
      } finally {
        this.flushing = null;
      }
      if (this.queue.length > 0) this.flushing ??= this.drain();
    })();
  }

  async recover(): Promise<void> {
    const segments = await listSegmentNumbers(this.dir);
    for (const segment of segments) {
      // Segments an older version wrote world-readable: tightened once, here, at open.
      await tightenMode(segmentPath(this.dir, segment), PRIVATE_FILE_MODE);
      this.sizes.set(segment, (await stat(segmentPath(this.dir, segment))).size);
    }
    const newest = segments.at(-1);
    if (newest === undefined) {
      await this.createSegment(1);
      return;
    }
    const file = await open(segmentPath(this.dir, newest), 'r+');
    try {
      const info = await file.stat();
      const scan = await scanRecords(file, info.size, 0, Number.POSITIVE_INFINITY);
      if (scan.offset < info.size) {
        // Torn tail from a crash mid-write: nothing past the last good record was ever acknowledged.
        await file.truncate(scan.offset);
        await file.datasync();
        this.truncatedBytes = info.size - scan.offset;
      }
      this.file = file;
      this.activeSegment = newest;
      this.activeSize = scan.offset;
      this.activeCreatedAt = info.birthtimeMs > 0 ? info.birthtimeMs : info.mtimeMs;
      this.sizes.set(newest, scan.offset);
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  append(payload: Buffer): Promise<SpoolPosition> {
    if (this.closing) return Promise.reject(new Error(`spool writer for ${this.dir} is closed`));
    if (!Buffer.isBuffer(payload) || payload.length === 0 || payload.length > MAX_RECORD_BYTES) {
      return Promise.reject(
        new RangeError(`spool payload must be a Buffer of 1 to ${MAX_RECORD_BYTES} bytes`),
      );
    }
    if (this.isFull(payload.length)) {
      this.refusedFull += 1;
      this.capReached = true;
      return Promise.reject(new SpoolFullError(this.dir, this.maxTotalBytes!));
    }
    this.queuedBytes += RECORD_HEADER_BYTES + payload.length;
    return new Promise<SpoolPosition>((resolve, reject) => {
      this.queue.push({ payload, resolve, reject });
      this.flushing ??= this.drain();
    });
  }

  isFull(payloadBytes = 0): boolean {
    if (this.maxTotalBytes === null) return false;
    if (this.capReached) return true;
    return this.totalBytes() + this.queuedBytes + RECORD_HEADER_BYTES + payloadBytes > this.maxTotalBytes;
  }

  private totalBytes(): number {
    let bytes = 0;
    for (const size of this.sizes.values()) bytes += size;
    return bytes;
  }

  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  onRemove(listener: (segments: number[]) => void): () => void {
    this.removeListeners.add(listener);
    return () => {
      this.removeListeners.delete(listener);
    };
  }

  async removeSegmentsBefore(segment: number): Promise<number> {
    // The active segment is never removed, whatever the caller asks: appends are still landing in it.
    const victims = [...this.sizes.keys()].filter((s) => s < segment && s !== this.activeSegment);
    let removed = 0;
    for (const victim of victims) {
      try {
        await unlink(segmentPath(this.dir, victim));
        removed += 1;
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error;
      }
      this.sizes.delete(victim);
    }
    if (removed > 0) {
      await fsyncDir(this.dir);
      this.capReached = false;
    }
    if (victims.length > 0)
      for (const listener of this.removeListeners) {
        try {
          listener(victims);
        } catch {
          // A tally's bug must not fail the clean-up.
        }
      }
    return removed;
  }

  stats(): SpoolWriterStats {
    return {
      segments: this.sizes.size,
      bytes: this.totalBytes(),
      records: this.records,
      fsyncs: this.fsyncs,
      truncatedBytes: this.truncatedBytes,
      maxTotalBytes: this.maxTotalBytes,
      refusedFull: this.refusedFull,
      writable: !this.broken,
      fsyncLatency: this.fsyncLatency.snapshot(),
    };
  }

  close(): Promise<void> {
    clearInterval(this.ageTimer);
    this.closing ??= (async () => {
      while (this.flushing) await this.flushing;
      try {
        await this.file?.close();
      } finally {
        this.file = null;
        await releaseLock(this.dir);
      }
    })();
    return this.closing;
  }

  // Group commit: whatever queued while the previous write+fsync ran goes out in one write and one fsync.
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.queue;
        this.queue = [];
        await this.commitGroup(group);
      }
    } finally {
      this.flushing = null;
    }
  }

  private async commitGroup(group: PendingAppend[]): Promise<void> {
    let done = 0;
    try {
      if (this.broken || this.file === null) await this.rotate();
      while (done < group.length) {
        const take = this.countFitting(group, done);
        if (take === 0) {
          await this.rotate();
          continue;
        }
        await this.writeChunk(group.slice(done, done + take));
        done += take;
      }
    } catch (error) {
      this.broken = true;
      for (const item of group.slice(done)) {
        this.queuedBytes -= RECORD_HEADER_BYTES + item.payload.length;
        item.reject(error);
      }
    }
  }

  /** How many queued records from `from` still belong in the active segment; 0 means rotate first. */
  private countFitting(group: PendingAppend[], from: number): number {
    let size = this.activeSize;
    if (size > 0 && Date.now() - this.activeCreatedAt >= this.maxAgeMs) return 0;
    let count = 0;
    for (let i = from; i < group.length; i++) {
      const recordBytes = RECORD_HEADER_BYTES + group[i]!.payload.length;
      // An empty segment always takes one record, however large, so nothing is refused for size here.
      if (size > 0 && size + recordBytes > this.maxBytes) break;
      size += recordBytes;
      count += 1;
    }
    return count;
  }

  private async writeChunk(items: PendingAppend[]): Promise<void> {
    const file = this.file;
    if (file === null) throw new Error('spool has no active segment');
    const buffers: Buffer[] = [];
    const positions: SpoolPosition[] = [];
    let offset = this.activeSize;
    for (const item of items) {
      buffers.push(encodeHeader(item.payload), item.payload);
      positions.push({ segment: this.activeSegment, offset });
      offset += RECORD_HEADER_BYTES + item.payload.length;
    }
    await writeAllAt(file, buffers, this.activeSize);
    // fsync before ack: a 2xx from the collector promises the batch is on disk.
    const started = process.hrtime.bigint();
    await file.datasync();
    this.fsyncLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.fsyncs += 1;
    this.records += items.length;
    // The written bytes now count in `sizes`, no longer as queued (same tick: the cap never double counts).
    this.queuedBytes -= offset - this.activeSize;
    this.activeSize = offset;
    this.sizes.set(this.activeSegment, offset);
    items.forEach((item, i) => item.resolve(positions[i]!));
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // A consumer's bug must not fail appends that are already durable.
      }
    }
  }

  /** Seals the active segment and starts the next one. */
  private async rotate(): Promise<void> {
    const old = this.file;
    // Nothing reached the disk of a still-empty segment, so no reader can be past it: keep using it
    // instead of leaving an empty file per failed attempt while the disk is full.
    if (old !== null && this.activeSize === 0 && (await old.stat()).size === 0) {
      this.broken = false;
      return;
    }
    if (old !== null) {
      this.file = null;
      try {
        // Cut whatever a failed write may have left past the last acknowledged record.
        if (this.broken) {
          await old.truncate(this.activeSize);
          await old.datasync();
        }
      } catch {
        // Best effort: a reader skips a bad tail in a sealed segment and counts it.
      }
      await old.close().catch(() => undefined);
    }
    await this.createSegment(this.activeSegment + 1);
  }

  private async createSegment(segment: number): Promise<void> {
    const file = await open(segmentPath(this.dir, segment), 'wx', PRIVATE_FILE_MODE);
    this.file = file;
    this.activeSegment = segment;
    this.activeSize = 0;
    this.activeCreatedAt = Date.now();
    this.sizes.set(segment, 0);
    // The new file's directory entry must be durable before any record in it is acknowledged.
    await fsyncDir(this.dir);
    this.broken = false;
  }
}

async function acquireLock(dir: string): Promise<void> {
  if (dirsOpenInThisProcess.has(dir))
    throw new Error(`spool ${dir} is already open for writing in this process; close that writer first`);
  const file = path.join(dir, LOCK_FILE);
  try {
    await writeFile(file, String(process.pid), { flag: 'wx', mode: PRIVATE_FILE_MODE });
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) throw error;
    const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new Error(
        `spool ${dir} is locked by process ${holder}; stop it, or delete ${file} if that process is not a Telltale writer`,
      );
    }
    await writeFile(file, String(process.pid), { mode: PRIVATE_FILE_MODE }); // stale lock from a crashed process
  }
  dirsOpenInThisProcess.add(dir);
}

async function releaseLock(dir: string): Promise<void> {
  dirsOpenInThisProcess.delete(dir);
  await unlink(path.join(dir, LOCK_FILE)).catch(() => undefined);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM');
  }
}
