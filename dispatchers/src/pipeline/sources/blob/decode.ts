import { gunzipSync } from 'node:zlib';

/** What the Blob source learned from one blob: spool payloads to append, or why it cannot be used. */
export type BlobDecodeResult = { ok: true; payloads: Buffer[] } | { ok: false; code: string; reason: string };

export interface BlobInfo {
  name: string;
  /** Last-Modified, epoch ms: the receive time of bare batches, so a re-read yields the same rows. */
  lastModified: number;
  /** Blob metadata; `app` names the app of bare batches. */
  metadata: Record<string, string>;
}

/** Largest blob after gunzip; anything larger is refused, like the collector's zip-bomb limit. */
export const MAX_BLOB_BYTES = 64 * 1024 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The app of a bare batch: the blob's `app` metadata, else the first segment of its name (`app/…`). */
function appOf(blob: BlobInfo): string | undefined {
  const fromMeta = blob.metadata.app;
  if (fromMeta !== undefined && fromMeta !== '') return decodeURIComponent(fromMeta);
  const first = blob.name.split('/')[0];
  return first !== undefined && first !== '' && first !== blob.name ? first : undefined;
}

/**
 * One value → a spool envelope. Accepts what the collector writes (client envelopes, server-log
 * envelopes, e.g. from the Blob archive) and bare client batches as an SDK or another system uploads them.
 */
function toEnvelope(value: unknown, blob: BlobInfo): Record<string, unknown> | string {
  if (!isRecord(value)) return 'is not a JSON object';
  if (value.v === 1 && typeof value.app === 'string' && (isRecord(value.batch) || Array.isArray(value.logs)))
    return typeof value.receivedAt === 'number' ? value : { ...value, receivedAt: blob.lastModified };
  if (typeof value.batchId === 'string' && Array.isArray(value.events)) {
    const app = appOf(blob);
    if (app === undefined) return 'a bare batch needs an `app` metadata entry or an `app/…` blob name';
    return { v: 1, app, receivedAt: blob.lastModified, batch: value };
  }
  return 'is neither a batch ({batchId, events}) nor a Telltale envelope ({v, app, batch | logs})';
}

/** Blob bytes (JSON, NDJSON or a JSON array; gzipped or not) → spool payloads. Pure. */
export function decodeBlob(bytes: Buffer, blob: BlobInfo): BlobDecodeResult {
  let data = bytes;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      data = gunzipSync(bytes, { maxOutputLength: MAX_BLOB_BYTES });
    } catch (error) {
      return {
        ok: false,
        code: 'invalid_gzip',
        reason: `blob does not inflate: ${(error as Error).message}`,
      };
    }
  }
  const text = data.toString('utf8');
  let values: unknown[];
  try {
    const parsed = JSON.parse(text) as unknown;
    values = Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    try {
      values = text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as unknown);
    } catch (error) {
      return {
        ok: false,
        code: 'invalid_json',
        reason: `blob is not JSON or JSON lines: ${(error as Error).message}`,
      };
    }
  }
  if (values.length === 0) return { ok: false, code: 'invalid_envelope', reason: 'blob holds no batch' };
  const payloads: Buffer[] = [];
  for (const [index, value] of values.entries()) {
    const envelope = toEnvelope(value, blob);
    if (typeof envelope === 'string')
      return {
        ok: false,
        code: 'invalid_envelope',
        reason: `${values.length > 1 ? `item ${index} ` : ''}${envelope}`,
      };
    payloads.push(Buffer.from(JSON.stringify(envelope)));
  }
  return { ok: true, payloads };
}
