import { createHash } from 'node:crypto';
import type { RawBatch } from '../types.js';

const SAFE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/** A path segment from an app or batch id: as is when it is plain, else a stable hash (no "/" or ".." surprises). */
export function nameSegment(value: string): string {
  return SAFE.test(value) ? value : `x-${createHash('sha256').update(value).digest('hex').slice(0, 32)}`;
}

/** `app/yyyy/mm/dd/hh/<batchId>.json.gz` from the collector's receive time (UTC): days are prefixes, for retention. */
export function archiveBlobName(raw: Pick<RawBatch, 'app' | 'receivedAt' | 'batchId'>): string {
  const iso = new Date(raw.receivedAt).toISOString(); // 2024-04-25T10:00:00.000Z
  const [yyyy, mm, dd, hh] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10), iso.slice(11, 13)];
  return `${nameSegment(raw.app)}/${yyyy}/${mm}/${dd}/${hh}/${nameSegment(raw.batchId)}.json.gz`;
}

/** The UTC day (YYYY-MM-DD) of an archive blob name, or undefined for names of another shape. */
export function archiveBlobDay(name: string): string | undefined {
  const match = /^[^/]+\/(\d{4})\/(\d{2})\/(\d{2})\//.exec(name);
  return match === null ? undefined : `${match[1]}-${match[2]}-${match[3]}`;
}
