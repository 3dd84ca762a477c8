import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { SpoolPosition } from '@telltale/spool';
import { writeFileDurably, fsyncDir } from '@telltale/spool';

/** What `<data>/dead-letter/<consumer>/<name>.reason.json` holds next to the raw payload. */
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

export function createDeadLetterWriter(dataDir: string, consumer: string): DeadLetterWriter {
  const dir = path.join(dataDir, 'dead-letter', consumer);
  const counts: Record<string, number> = {};
  let ready: Promise<unknown> | undefined;
  return {
    dir,
    async write(origin, payload, code, reason) {
      ready ??= mkdir(dir, { recursive: true }).catch((error: unknown) => {
        ready = undefined; // a full or read-only disk may recover; try again next time
        throw error;
      });
      await ready;
      const base = path.join(dir, deadLetterName(origin));
      const record: DeadLetterReason = {
        consumer,
        code,
        reason,
        ...('blob' in origin ? { blob: origin.blob } : { position: origin }),
        time: new Date().toISOString(),
      };
      await writeFileDurably(`${base}.payload`, payload);
      await writeFileDurably(`${base}.reason.json`, `${JSON.stringify(record, null, 2)}\n`);
      await fsyncDir(dir);
      counts[code] = (counts[code] ?? 0) + 1;
    },
    counts: () => ({ ...counts }),
  };
}

/** Names of dead-lettered records of one consumer (without extension), oldest first. */
export async function listDeadLetters(dataDir: string, consumer: string): Promise<string[]> {
  const dir = path.join(dataDir, 'dead-letter', consumer);
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((name) => name.endsWith('.reason.json'))
    .map((name) => name.slice(0, -'.reason.json'.length))
    .sort();
}

/** One dead-lettered record: its reason file, and where its payload lies. */
export interface DeadLetterEntry extends DeadLetterReason {
  /** File name without extension, unique within the consumer. */
  name: string;
  payloadFile: string;
  reasonFile: string;
}

/** Consumers that have a dead-letter folder. */
export async function listDeadLetterConsumers(dataDir: string): Promise<string[]> {
  const entries = await readdir(path.join(dataDir, 'dead-letter'), { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** Every dead-lettered record of a consumer with its reason, oldest name first; unreadable reason files are skipped. */
export async function readDeadLetters(dataDir: string, consumer: string): Promise<DeadLetterEntry[]> {
  const dir = path.join(dataDir, 'dead-letter', consumer);
  const out: DeadLetterEntry[] = [];
  for (const name of await listDeadLetters(dataDir, consumer)) {
    const reasonFile = path.join(dir, `${name}.reason.json`);
    try {
      const reason = JSON.parse(await readFile(reasonFile, 'utf8')) as DeadLetterReason;
      out.push({ ...reason, name, payloadFile: path.join(dir, `${name}.payload`), reasonFile });
    } catch {
      // a reason file being written right now (tmp + rename makes this rare) or edited by hand
    }
  }
  return out;
}

/** After a successful replay: the entry moves to `replayed/`, kept for the record but no longer listed. */
export async function markReplayed(entry: DeadLetterEntry): Promise<void> {
  const dir = path.join(path.dirname(entry.payloadFile), 'replayed');
  await mkdir(dir, { recursive: true });
  await rename(entry.payloadFile, path.join(dir, path.basename(entry.payloadFile)));
  await rename(entry.reasonFile, path.join(dir, path.basename(entry.reasonFile)));
  await fsyncDir(dir);
}
