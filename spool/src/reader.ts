import { open, type FileHandle } from 'node:fs/promises';
import { scanRecords } from './format.js';
import { isErrno, listSegmentNumbers, segmentPath } from './fs-util.js';
import type { SpoolPosition, SpoolReader, SpoolReaderStats, SpoolRecord } from './types.js';

/**
 * Reads the spool from any position. Stateless apart from its counters, so any number of consumers
 * (each with its own checkpoint) can share one reader or open their own.
 */
export function openSpoolReader(options: { dir: string }): SpoolReader {
  const { dir } = options;
  const counters: SpoolReaderStats = { corruptSkips: 0, bytesSkipped: 0 };

  async function read(from: SpoolPosition, maxRecords: number): Promise<SpoolRecord[]> {
    const out: SpoolRecord[] = [];
    if (!(maxRecords >= 1)) return out;
    // Listed before any file is opened: a segment that is sealed now cannot grow while we read it.
    const segments = await listSegmentNumbers(dir);
    let index = from.segment === 0 ? 0 : segments.findIndex((s) => s >= from.segment);
    if (index < 0) return out;
    // A position in a removed segment continues at the next segment present, from its start.
    let offset = segments[index] === from.segment ? from.offset : 0;

    while (index < segments.length && out.length < maxRecords) {
      const segment = segments[index]!;
      const following = segments[index + 1];
      let file: FileHandle;
      try {
        file = await open(segmentPath(dir, segment), 'r');
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error;
        index += 1; // removed by retention while we were reading
        offset = 0;
        continue;
      }
      try {
        const size = (await file.stat()).size;
        const scan = await scanRecords(file, size, offset, maxRecords - out.length, (payload, at, next) => {
          // At the end of a sealed segment, point past it so a committed checkpoint frees the segment.
          const nextPosition =
            following !== undefined && next === size
              ? { segment: following, offset: 0 }
              : { segment, offset: next };
          out.push({ position: { segment, offset: at }, next: nextPosition, payload });
        });
        // The active segment may still be growing: a short or odd tail there is simply "not yet".
        if (following === undefined || scan.stop === 'limit') break;
        if (scan.stop !== 'end') {
          // Never serve a corrupt record; the rest of a sealed segment is unreachable without framing.
          counters.corruptSkips += 1;
          counters.bytesSkipped += size - scan.offset;
        }
      } finally {
        await file.close();
      }
      index += 1;
      offset = 0;
    }
    return out;
  }

  return { read, stats: () => ({ ...counters }) };
}
