import { mkdir, open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** An append-only JSON-lines file whose appends count only once fsync'd (alert log, group states). */
export interface JsonLinesLog<T> {
  readonly file: string;
  /** Writes the records as whole lines, in call order; resolves after fsync. */
  append(records: readonly T[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Reads every valid record (cutting a line torn by a crash, skipping damaged lines) and opens the
 * file for appending.
 */
export async function openJsonLinesLog<T>(
  file: string,
  isRecord: (value: unknown) => value is T,
): Promise<{ records: T[]; log: JsonLinesLog<T> }> {
  await mkdir(path.dirname(file), { recursive: true });
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  const end = text.lastIndexOf('\n') + 1;
  // Only whole lines count: a line without its newline was never fsync'd as a whole.
  if (end < text.length) await truncate(file, Buffer.byteLength(text.slice(0, end)));
  const records: T[] = [];
  for (const line of text.slice(0, end).split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed: unknown = JSON.parse(line);
      if (isRecord(parsed)) records.push(parsed);
    } catch {
      // A corrupt line in the middle (disk trouble) loses one record, not the whole history.
    }
  }

  const handle: FileHandle = await open(file, 'a');
  let chain: Promise<void> = Promise.resolve();
  let torn = false;
  const log: JsonLinesLog<T> = {
    file,
    append(batch) {
      if (batch.length === 0) return Promise.resolve();
      const step = chain.then(async () => {
        // After a failed write the file may end mid-line; start on a fresh one.
        const lines = (torn ? '\n' : '') + batch.map((record) => `${JSON.stringify(record)}\n`).join('');
        torn = true;
        await handle.write(lines);
        await handle.sync();
        torn = false;
      });
      chain = step.catch(() => undefined);
      return step;
    },
    async close() {
      await chain;
      await handle.close();
    },
  };
  return { records, log };
}
