import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/**
 * The Blob source's durable record of what was done: one JSON line per blob handled, fsync'd before
 * the next blob is touched. A blob in the ledger is never read again, across restarts.
 */
export interface BlobLedger {
  has(name: string): boolean;
  /** Durable before it resolves. */
  add(name: string, outcome: { records: number; deadLettered?: string }): Promise<void>;
  /** Forgets blobs no longer in the container (deleted by retention), so the ledger stays small. */
  compact(present: ReadonlySet<string>): Promise<number>;
  size(): number;
  close(): Promise<void>;
}

export async function openBlobLedger(file: string): Promise<BlobLedger> {
  // Under the data dir: this user only, like every file there.
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const done = new Map<string, string>();
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    try {
      const entry = JSON.parse(line) as { name?: unknown };
      if (typeof entry.name === 'string') done.set(entry.name, line);
    } catch {
      // a torn last line from a crash: that blob was not recorded, so it is read again (stores dedupe)
    }
  }
  let handle: FileHandle = await open(file, 'a', 0o600);
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(run: () => Promise<T>): Promise<T> => {
    const result = tail.then(run, run);
    tail = result.catch(() => undefined);
    return result;
  };
  return {
    has: (name) => done.has(name),
    add: (name, outcome) =>
      serial(async () => {
        const line = JSON.stringify({ name, ...outcome, at: new Date().toISOString() });
        await handle.write(`${line}\n`);
        await handle.datasync();
        done.set(name, line);
      }),
    compact: (present) =>
      serial(async () => {
        const gone = [...done.keys()].filter((name) => !present.has(name));
        if (gone.length === 0) return 0;
        for (const name of gone) done.delete(name);
        const tmp = `${file}.tmp`;
        const out = await open(tmp, 'w', 0o600);
        try {
          await out.writeFile([...done.values()].map((line) => `${line}\n`).join(''));
          await out.sync();
        } finally {
          await out.close();
        }
        await handle.close();
        await rename(tmp, file);
        handle = await open(file, 'a', 0o600);
        return gone.length;
      }),
    size: () => done.size,
    close: () => serial(() => handle.close()),
  };
}
