import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { openCheckpoint, openSpoolReader, type SpoolPosition } from '@telltale/spool';
import { createConsumer } from '../consumer.js';
import type { Consumer, LingerOptions, RecordHandler, RecordSource } from '../types.js';

/** The local spool as a source: the collector's fsync'd segments plus this consumer's checkpoint file. */
export async function openSpoolSource(options: {
  spoolDir: string;
  checkpointFile: string;
}): Promise<RecordSource<SpoolPosition>> {
  const reader = openSpoolReader({ dir: options.spoolDir });
  await mkdir(path.dirname(options.checkpointFile), { recursive: true });
  const checkpoint = await openCheckpoint(options.checkpointFile);
  let cursor = checkpoint.position;
  return {
    committed: () => checkpoint.position,
    async read(max) {
      const records = await reader.read(cursor, max);
      const last = records[records.length - 1];
      if (last !== undefined) cursor = last.next;
      return records;
    },
    commit: (next) => checkpoint.commit(next),
    close: async () => undefined,
  };
}

export interface SpoolConsumerOptions {
  /** Consumer name: names its checkpoint and dead-letter folder (`duckdb`, `alerts`, …). */
  name: string;
  spoolDir: string;
  checkpointFile: string;
  /** `done` commits the checkpoint past the records; anything else hands the same records over again after a backoff. */
  handle: RecordHandler<SpoolPosition>;
  batchSize?: number;
  /** Poll interval when no append notification arrives, ms (default 250: new clicks show up within a second). */
  pollMs?: number;
  /** The spool writer's onAppend, so a consumer wakes as soon as a batch is fsync'd. */
  notify?: ((listener: () => void) => () => void) | undefined;
  onCommit?: ((next: SpoolPosition) => void) | undefined;
  /** Collect records for up to this long before handing them over (bulk-insert sinks). */
  linger?: LingerOptions | undefined;
}

export type SpoolConsumer = Consumer<SpoolPosition>;

export function createSpoolConsumer(options: SpoolConsumerOptions): SpoolConsumer {
  return createConsumer<SpoolPosition>({
    name: options.name,
    openSource: () => openSpoolSource({ spoolDir: options.spoolDir, checkpointFile: options.checkpointFile }),
    handle: options.handle,
    batchSize: options.batchSize ?? 100,
    pollMs: options.pollMs ?? 250,
    notify: options.notify,
    onCommit: options.onCommit,
    linger: options.linger,
  });
}
