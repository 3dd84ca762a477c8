import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, isErrno, mkdirDurable, PRIVATE_FILE_MODE, tightenMode } from './fs-util.js';
import type { Checkpoint, SpoolPosition } from './types.js';

const START: SpoolPosition = Object.freeze({ segment: 0, offset: 0 });

function isPosition(value: unknown): value is SpoolPosition {
  if (typeof value !== 'object' || value === null) return false;
  const { segment, offset } = value as Record<string, unknown>;
  return (
    Number.isSafeInteger(segment) &&
    Number.isSafeInteger(offset) &&
    (segment as number) >= 0 &&
    (offset as number) >= 0
  );
}

/** Durable per-consumer checkpoint (write tmp, fsync, rename, fsync dir). Starts at {segment: 0, offset: 0}. */
export async function openCheckpoint(file: string): Promise<Checkpoint> {
  const dir = path.dirname(file);
  const tmp = `${file}.tmp`;
  await mkdirDurable(dir);
  await rm(tmp, { force: true }); // left by a crash between write and rename; the old file is intact
  await tightenMode(file, PRIVATE_FILE_MODE); // written world-readable by older versions

  let position = START;
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (!isPosition(parsed)) throw new Error('not a {segment, offset} object');
    position = Object.freeze({ segment: parsed.segment, offset: parsed.offset });
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `checkpoint ${file} is unreadable (${reason}); delete it to re-read the spool from the oldest segment`,
      );
    }
  }

  // Commits run one at a time, in call order, so an older position never overwrites a newer one.
  let queue: Promise<void> = Promise.resolve();

  async function write(next: SpoolPosition): Promise<void> {
    const handle = await open(tmp, 'w', PRIVATE_FILE_MODE);
    try {
      await handle.writeFile(JSON.stringify({ segment: next.segment, offset: next.offset }));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
    await fsyncDir(dir);
  }

  return {
    get position() {
      return position;
    },
    commit(next: SpoolPosition): Promise<void> {
      if (!isPosition(next))
        return Promise.reject(
          new RangeError('checkpoint position must be {segment, offset} of non-negative integers'),
        );
      const frozen = Object.freeze({ segment: next.segment, offset: next.offset });
      const run = queue
        .then(() => write(frozen))
        .then(() => {
          position = frozen;
        });
      queue = run.catch(() => undefined);
      return run;
    },
  };
}
