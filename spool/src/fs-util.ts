import { mkdir, open, readdir, rename, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { parseSegmentFileName, segmentFileName } from './format.js';

export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}

/** fsync a directory so a created, renamed or deleted entry survives a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `file` atomically and durably: write a sibling `.tmp`, fsync it, rename over `file`.
 * Callers fsync the directory (fsyncDir) when the new name itself must survive a power cut.
 */
export async function writeFileDurably(file: string, data: Buffer | string, mode?: number): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}

/** mkdir -p, then fsync each parent that gained an entry, so a fresh spool's directory survives a power cut. */
export async function mkdirDurable(dir: string): Promise<void> {
  const firstCreated = await mkdir(dir, { recursive: true });
  if (firstCreated === undefined) return;
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    await fsyncDir(path.dirname(current));
    if (current === path.resolve(firstCreated) || path.dirname(current) === current) return;
  }
}

export function segmentPath(dir: string, segment: number): string {
  return path.join(dir, segmentFileName(segment));
}

/** Segment sequence numbers present in `dir`, oldest first; [] when the directory does not exist yet. */
export async function listSegmentNumbers(dir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return [];
    throw error;
  }
  const segments: number[] = [];
  for (const name of names) {
    const segment = parseSegmentFileName(name);
    if (segment !== undefined) segments.push(segment);
  }
  return segments.sort((a, b) => a - b);
}

export interface SegmentInfo {
  segment: number;
  bytes: number;
  /** Last write, epoch ms: every record in the segment was appended at or before this time. */
  modifiedAt: number;
}

/** The segments present in `dir`, oldest first, with their size and last write time. */
export async function listSegments(dir: string): Promise<SegmentInfo[]> {
  const infos: SegmentInfo[] = [];
  for (const segment of await listSegmentNumbers(dir)) {
    try {
      const info = await stat(segmentPath(dir, segment));
      infos.push({ segment, bytes: info.size, modifiedAt: info.mtimeMs });
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error; // removed between readdir and stat
    }
  }
  return infos;
}

/** Writes every byte of `buffers` at `position`, looping over short writes and the iovec limit. */
export async function writeAllAt(file: FileHandle, buffers: Buffer[], position: number): Promise<number> {
  const pending = buffers.filter((b) => b.length > 0);
  let written = 0;
  while (pending.length > 0) {
    const slice = pending.slice(0, 512);
    const { bytesWritten } = await file.writev(slice, position + written);
    if (bytesWritten <= 0) throw new Error('spool write made no progress');
    written += bytesWritten;
    let left = bytesWritten;
    while (left > 0 && pending.length > 0) {
      const head = pending[0]!;
      if (head.length <= left) {
        left -= head.length;
        pending.shift();
      } else {
        pending[0] = head.subarray(left);
        left = 0;
      }
    }
  }
  return written;
}
