import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, writeFileDurably } from '@telltale/spool';

/** Client-chosen attachment ids (for retries): safe as a file name. */
export const ATTACHMENT_ID = /^[A-Za-z0-9_-]{8,128}$/;

/** The sidecar written next to each attachment; its presence means the upload is complete. */
export interface AttachmentMeta {
  id: string;
  app: string;
  session: string;
  /** The event it belongs to (e.g. the error a bug report was filed about), when the client said. */
  event?: string;
  receivedAt: number;
  /** Bytes stored (gzip). */
  bytes: number;
  /** Bytes once inflated. */
  inflatedBytes: number;
  contentType?: string;
  userAgent?: string;
}

export interface AttachmentInput {
  app: string;
  session: string;
  id?: string;
  event?: string;
  /** gzip bytes, already checked to inflate within the limit. */
  body: Buffer;
  inflatedBytes: number;
  contentType?: string;
  userAgent?: string;
}

export interface AttachmentStore {
  readonly dir: string;
  /** Resolves once the attachment and its sidecar are fsync'd; an id seen today or yesterday is a duplicate. */
  save(input: AttachmentInput): Promise<{ id: string; duplicate: boolean; path: string }>;
  /** True when `bytes` more would pass the disk cap. */
  isFull(bytes?: number): boolean;
  stats(): { bytes: number; files: number; maxBytes: number };
}

/** Thrown by save() at the disk cap; nothing was written. */
export class AttachmentStoreFullError extends Error {
  readonly code = 'ATTACHMENTS_FULL';
  constructor(readonly maxBytes: number) {
    super(`attachment store is at its disk cap of ${maxBytes} bytes`);
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;
const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

const exists = (file: string): Promise<boolean> =>
  stat(file).then(
    () => true,
    () => false,
  );

/** Walks the store once at start-up: bytes and files present, leftovers of a crash removed. */
async function scan(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name.endsWith('.tmp')) await rm(full, { force: true });
      else {
        bytes += (await stat(full)).size;
        if (entry.name.endsWith('.json')) files += 1;
      }
    }
  };
  await walk(dir);
  return { bytes, files };
}

/**
 * Attachments (`reportBug`) under `<dir>/<app>/<yyyy-mm-dd>/<id>.gz` with `<id>.json` beside it:
 * a day folder is the retention unit, deleted whole.
 */
export async function openAttachmentStore(options: {
  dir: string;
  maxTotalBytes: number;
}): Promise<AttachmentStore> {
  const dir = path.resolve(options.dir);
  await mkdir(dir, { recursive: true });
  let { bytes, files } = await scan(dir);
  let reserved = 0;
  const inFlight = new Map<string, Promise<{ id: string; duplicate: boolean; path: string }>>();

  const isFull = (more = 0): boolean => bytes + reserved + more > options.maxTotalBytes;

  async function findExisting(app: string, id: string, now: number): Promise<string | undefined> {
    for (const day of [dayOf(now), dayOf(now - DAY_MS)]) {
      const file = path.join(dir, app, day, `${id}.gz`);
      if (await exists(path.join(dir, app, day, `${id}.json`))) return file;
    }
    return undefined;
  }

  async function store(
    input: AttachmentInput,
    id: string,
  ): Promise<{ id: string; duplicate: boolean; path: string }> {
    const receivedAt = Date.now();
    if (input.id !== undefined) {
      const existing = await findExisting(input.app, id, receivedAt);
      if (existing !== undefined) return { id, duplicate: true, path: existing };
    }
    const meta: AttachmentMeta = {
      id,
      app: input.app,
      session: input.session,
      ...(input.event !== undefined ? { event: input.event } : {}),
      receivedAt,
      bytes: input.body.length,
      inflatedBytes: input.inflatedBytes,
      ...(input.contentType ? { contentType: input.contentType } : {}),
      ...(input.userAgent ? { userAgent: input.userAgent } : {}),
    };
    const metaText = JSON.stringify(meta) + '\n';
    const size = input.body.length + Buffer.byteLength(metaText);
    if (isFull(size)) throw new AttachmentStoreFullError(options.maxTotalBytes);
    reserved += size;
    try {
      const dayDir = path.join(dir, input.app, dayOf(receivedAt));
      const created = await mkdir(dayDir, { recursive: true });
      if (created !== undefined) {
        await fsyncDir(path.dirname(dayDir));
        await fsyncDir(dir);
      }
      const file = path.join(dayDir, `${id}.gz`);
      // Body first, sidecar last: a sidecar is only ever next to a complete, fsync'd body.
      await writeFileDurably(file, input.body, 0o600);
      await writeFileDurably(path.join(dayDir, `${id}.json`), metaText, 0o600);
      await fsyncDir(dayDir);
      bytes += size;
      files += 1;
      return { id, duplicate: false, path: file };
    } finally {
      reserved -= size;
    }
  }

  return {
    dir,
    isFull,
    save(input) {
      const id = input.id ?? randomUUID();
      const key = `${input.app}\n${id}`;
      const pending = inFlight.get(key);
      if (pending) return pending.then((r) => ({ ...r, duplicate: true }));
      const attempt = store(input, id).finally(() => inFlight.delete(key));
      inFlight.set(key, attempt);
      return attempt;
    },
    stats: () => ({ bytes, files, maxBytes: options.maxTotalBytes }),
  };
}
