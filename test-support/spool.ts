// Reading a spool the way a consumer does, for assertions on what the collector made durable.
import path from 'node:path';
import type { SpoolEnvelope } from '@telltale/protocol';
import { openSpoolReader, type SpoolPosition } from '@telltale/spool';

/** Every record in the spool at `dir`, parsed as JSON, oldest first. */
export async function readEnvelopes<T = SpoolEnvelope>(dir: string): Promise<T[]> {
  const reader = openSpoolReader({ dir });
  const out: T[] = [];
  let position: SpoolPosition = { segment: 0, offset: 0 };
  for (;;) {
    const records = await reader.read(position, 1000);
    if (records.length === 0) return out;
    for (const record of records) out.push(JSON.parse(record.payload.toString('utf8')) as T);
    position = records.at(-1)!.next;
  }
}

/** Every envelope in a data dir's client spool (`<data>/spool/client`), oldest first. */
export function readSpool(dataDir: string): Promise<SpoolEnvelope[]> {
  return readEnvelopes(path.join(dataDir, 'spool', 'client'));
}
