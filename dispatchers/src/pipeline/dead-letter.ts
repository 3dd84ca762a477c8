import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SpoolPosition } from '@telltale/spool';
import { PRIVATE_DIR_MODE, tightenMode, writeFileDurably, fsyncDir } from '@telltale/spool';
import { scrubRawPayload, type RawPayloadInfo } from './scrub-raw.js';
import { dataLayout } from '@telltale/protocol';

/**
 * Layout: `<data>/dead-letter/<consumer>/<yyyy-mm-dd>/<name>.{payload,reason.json}`, one folder per
 * UTC day of dead-lettering, so retention drops whole days (dropDeadLetterDaysBefore). The payload
 * is the scrubbed copy (scrub-raw.ts), never the raw bytes. Entries an older version wrote straight
 * into `<consumer>/` are still listed and replayed.
 */

/** What `<data>/dead-letter/<consumer>/<day>/<name>.reason.json` holds next to the payload. */
export interface DeadLetterReason {
  consumer: string;
  /** Metric label: `invalid_json`, `invalid_batch`, `sink_rejected`, … */
  code: string;
  reason: string;
  /** Where the record was in its spool; absent for a poison blob of the Blob source. */
  position?: SpoolPosition;
  /** The blob's name, for poison blobs of the Blob source. */
  blob?: string;
  time: string;
  /** What the scrubbed payload file replaces (absent in entries of older versions, which kept raw bytes). */
  payload?: RawPayloadInfo;
}

/** Where a poison record came from: a spool position, or a blob of the Blob source. */
export type DeadLetterOrigin = SpoolPosition | { blob: string };

export interface DeadLetterWriter {
  readonly dir: string;
  /** Durable before it resolves: the consumer commits its checkpoint past the record right after. */
  write(origin: DeadLetterOrigin, payload: Buffer, code: string, reason: string): Promise<void>;
  /** Dead-lettered records by code since start. */
  counts(): Record<string, number>;
}

/** File name from the spool position: a replayed poison record overwrites its own entry instead of piling up. */
export function deadLetterName(origin: DeadLetterOrigin): string {
  if ('blob' in origin) return `blob-${createHash('sha256').update(origin.blob).digest('hex').slice(0, 24)}`;
  return `${String(origin.segment).padStart(10, '0')}-${String(origin.offset).padStart(12, '0')}`;
}

function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === code;
}

export function deadLetterRoot(dataDir: string): string {
  return dataLayout(dataDir).deadLetters;
}

/** A day folder's name, `yyyy-mm-dd` (UTC). */
export const DAY_FOLDER = /^\d{4}-\d{2}-\d{2}$/;

export function createDeadLetterWriter(dataDir: string, consumer: string): DeadLetterWriter {
  const dir = path.join(deadLetterRoot(dataDir), consumer);
  const counts: Record<string, number> = {};
  const ready = new Map<string, Promise<unknown>>();
  // 0700 from the data dir down; an older version's world-readable folders are tightened once.
  const dayDir = (day: string): Promise<unknown> => {
    let made = ready.get(day);
    if (made === undefined) {
      const folder = path.join(dir, day);
      made = mkdir(folder, { recursive: true, mode: PRIVATE_DIR_MODE })
        .then(async () => {
          await tightenMode(deadLetterRoot(dataDir), PRIVATE_DIR_MODE);
          await tightenMode(dir, PRIVATE_DIR_MODE);
        })
        .catch((error: unknown) => {
          ready.delete(day); // a full or read-only disk may recover; try again next time
          throw error;
        });
      if (ready.size > 2) ready.clear(); // only today (and yesterday, around midnight) matter
      ready.set(day, made);
    }
    return made;
  };
  return {
    dir,
    async write(origin, payload, code, reason) {
      const now = new Date();
      const day = now.toISOString().slice(0, 10);
      await dayDir(day);
      const base = path.join(dir, day, deadLetterName(origin));
      const copy = scrubRawPayload(payload);
      const record: DeadLetterReason = {
        consumer,
        code,
        reason,
        ...('blob' in origin ? { blob: origin.blob } : { position: origin }),
        time: now.toISOString(),
        payload: copy.info,
      };
      try {
        await writeFileDurably(`${base}.payload`, copy.body);
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error;
        // The day folder went (deleted by hand, or retention set to less than a day): make it again.
        ready.delete(day);
        await dayDir(day);
        await writeFileDurably(`${base}.payload`, copy.body);
      }
      await writeFileDurably(`${base}.reason.json`, `${JSON.stringify(record, null, 2)}\n`);
      await fsyncDir(path.join(dir, day));
      counts[code] = (counts[code] ?? 0) + 1;
    },
    counts: () => ({ ...counts }),
  };
}

/** Folders holding entries of one consumer: day folders oldest first, then the undated one of older versions. */
async function entryFolders(dataDir: string, consumer: string): Promise<string[]> {
  const dir = path.join(deadLetterRoot(dataDir), consumer);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const days = entries
    .filter((e) => e.isDirectory() && DAY_FOLDER.test(e.name))
    .map((e) => path.join(dir, e.name))
    .sort();
  return [...days, dir];
}

async function namesIn(folder: string): Promise<string[]> {
  const names = await readdir(folder).catch(() => [] as string[]);
  return names
    .filter((name) => name.endsWith('.reason.json'))
    .map((name) => name.slice(0, -'.reason.json'.length))
    .sort();
}

/** Names of dead-lettered records of one consumer (without extension), oldest day first. */
export async function listDeadLetters(dataDir: string, consumer: string): Promise<string[]> {
  const out: string[] = [];
  for (const folder of await entryFolders(dataDir, consumer)) out.push(...(await namesIn(folder)));
  return out;
}

/** One dead-lettered record: its reason, and where its payload lies. */
export interface DeadLetterEntry extends DeadLetterReason {
  /** File name without extension, unique within the consumer's day. */
  name: string;
  /** The UTC day folder it is in; absent for entries of older versions (no day folders). */
  day?: string;
  payloadFile: string;
  reasonFile: string;
}

/** Consumers that have a dead-letter folder. */
export async function listDeadLetterConsumers(dataDir: string): Promise<string[]> {
  const entries = await readdir(deadLetterRoot(dataDir), { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** Every dead-lettered record of a consumer with its reason, oldest day first; unreadable reason files are skipped. */
export async function readDeadLetters(dataDir: string, consumer: string): Promise<DeadLetterEntry[]> {
  const out: DeadLetterEntry[] = [];
  for (const folder of await entryFolders(dataDir, consumer)) {
    const day = DAY_FOLDER.test(path.basename(folder)) ? path.basename(folder) : undefined;
    for (const name of await namesIn(folder)) {
      const reasonFile = path.join(folder, `${name}.reason.json`);
      try {
        const reason = JSON.parse(await readFile(reasonFile, 'utf8')) as DeadLetterReason;
        out.push({
          ...reason,
          name,
          ...(day === undefined ? {} : { day }),
          payloadFile: path.join(folder, `${name}.payload`),
          reasonFile,
        });
      } catch {
        // a reason file being written right now (tmp + rename makes this rare) or edited by hand
      }
    }
  }
  return out;
}

/**
 * After a successful replay: the entry moves to `replayed/` beside it (inside its day folder, so it
 * expires with its day), kept for the record but no longer listed.
 */
export async function markReplayed(entry: DeadLetterEntry): Promise<void> {
  const dir = path.join(path.dirname(entry.payloadFile), 'replayed');
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await rename(entry.payloadFile, path.join(dir, path.basename(entry.payloadFile)));
  await rename(entry.reasonFile, path.join(dir, path.basename(entry.reasonFile)));
  await fsyncDir(dir);
}

/**
 * Deletes every day folder older than `day` (YYYY-MM-DD) of every consumer, replayed entries
 * included: whole folders, nothing is read. Undated entries of older versions go by their file
 * time (a one-off after an upgrade). Returns `<consumer>/<day>` of what was dropped.
 */
export async function dropDeadLetterDaysBefore(dataDir: string, day: string): Promise<string[]> {
  const dropped: string[] = [];
  const cutoff = Date.parse(`${day}T00:00:00Z`);
  for (const consumer of await listDeadLetterConsumers(dataDir)) {
    const dir = path.join(deadLetterRoot(dataDir), consumer);
    const before = dropped.length;
    let oldUndated = false;
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory() && DAY_FOLDER.test(entry.name) && entry.name < day) {
        await rm(path.join(dir, entry.name), { recursive: true, force: true });
        dropped.push(`${consumer}/${entry.name}`);
      } else if (entry.isFile() && (entry.name.endsWith('.payload') || entry.name.endsWith('.reason.json'))) {
        const info = await stat(path.join(dir, entry.name)).catch(() => undefined);
        if (info !== undefined && info.mtimeMs < cutoff) {
          await rm(path.join(dir, entry.name), { force: true });
          oldUndated = true;
        }
      }
    }
    if (oldUndated) dropped.push(`${consumer}/(undated, before ${day})`);
    if (dropped.length > before || oldUndated) await fsyncDir(dir).catch(() => undefined);
  }
  return dropped;
}
