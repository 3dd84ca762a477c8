import { chmod, mkdir, open, readdir, rename, stat, type FileHandle } from 'node:fs/promises';
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

/** Files under the data dir hold customer-adjacent data: this user only (the umask can only remove more bits). */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Replaces `file` atomically and durably: write a sibling `.tmp` (created `mode`, default 0600),
 * fsync it, rename over `file`. Callers fsync the directory (fsyncDir) when the new name itself
 * must survive a power cut.
 */
export async function writeFileDurably(
  file: string,
  data: Buffer | string,
  mode: number = PRIVATE_FILE_MODE,
): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w', mode);
  try {
    // A tmp left by a crash (maybe of an older version) keeps its mode: `mode` applies only on create.
    if (((await handle.stat()).mode & 0o777 & ~mode) !== 0) await handle.chmod(mode);
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}

/**
 * Removes group and other bits from a file or folder an older version created (world-readable);
 * one stat when it is already private. Missing paths are ignored.
 */
export async function tightenMode(file: string, mode: number): Promise<void> {
  try {
    const info = await stat(file);
    if ((info.mode & 0o777 & ~mode) !== 0) await chmod(file, mode);
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
  }
}

/**
 * mkdir -p with `mode` (default 0700) for every folder it creates, then fsync each parent that
 * gained an entry, so a fresh spool's directory survives a power cut. An existing `dir` (from an
 * older version) is tightened to `mode`; its parents are left alone (they may not be ours).
 */
export async function mkdirDurable(dir: string, mode: number = PRIVATE_DIR_MODE): Promise<void> {
  const firstCreated = await mkdir(dir, { recursive: true, mode });
  if (firstCreated === undefined) {
    await tightenMode(dir, mode);
    return;
  }
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
