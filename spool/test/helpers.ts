import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SpoolPosition, SpoolReader, SpoolRecord } from '../src/index.js';

export async function tempDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-spool-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Every record from `from` to the current end, following `next` like a consumer would. */
export async function readAll(
  reader: SpoolReader,
  from: SpoolPosition = { segment: 0, offset: 0 },
): Promise<SpoolRecord[]> {
  const all: SpoolRecord[] = [];
  let position = from;
  for (;;) {
    const batch = await reader.read(position, 7);
    if (batch.length === 0) return all;
    all.push(...batch);
    position = batch.at(-1)!.next;
  }
}

export const texts = (records: SpoolRecord[]): string[] => records.map((r) => r.payload.toString('utf8'));
