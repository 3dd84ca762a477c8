import { mkdir, open, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { SpoolPosition } from '@telltale/spool';

/** What `<data>/dead-letter/<consumer>/<name>.reason.json` holds next to the raw payload. */
export interface DeadLetterReason {
  consumer: string;
  /** Metric label: `invalid_json`, `invalid_batch`, `sink_rejected`, … */
  code: string;
  reason: string;
  position: SpoolPosition;
  time: string;
}

export interface DeadLetterWriter {
  readonly dir: string;
  /** Durable before it resolves: the consumer commits its checkpoint past the record right after. */
  write(position: SpoolPosition, payload: Buffer, code: string, reason: string): Promise<void>;
  /** Dead-lettered records by code since start. */
  counts(): Record<string, number>;
}

async function writeDurably(file: string, data: Buffer | string): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** File name from the spool position: a replayed poison record overwrites its own entry instead of piling up. */
export function deadLetterName(position: SpoolPosition): string {
  return `${String(position.segment).padStart(10, '0')}-${String(position.offset).padStart(12, '0')}`;
}

export function createDeadLetterWriter(dataDir: string, consumer: string): DeadLetterWriter {
  const dir = path.join(dataDir, 'dead-letter', consumer);
  const counts: Record<string, number> = {};
  let ready: Promise<unknown> | undefined;
  return {
    dir,
    async write(position, payload, code, reason) {
      ready ??= mkdir(dir, { recursive: true }).catch((error: unknown) => {
        ready = undefined; // a full or read-only disk may recover; try again next time
        throw error;
      });
      await ready;
      const base = path.join(dir, deadLetterName(position));
      const record: DeadLetterReason = { consumer, code, reason, position, time: new Date().toISOString() };
      await writeDurably(`${base}.payload`, payload);
      await writeDurably(`${base}.reason.json`, `${JSON.stringify(record, null, 2)}\n`);
      await syncDir(dir);
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
