import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readdir, rm, stat } from 'node:fs/promises';
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
  /** Attachments and bytes stored today (UTC) by app, as found at open plus saved since. */
  usageToday(): Map<string, { files: number; bytes: number }>;
  /** Deletes the day folders older than the retention; returns how many went. */
  removeExpired(): Promise<number>;
  /** Stops the hourly retention timer. */
  close(): Promise<void>;
}

/** Attachments are kept this many days unless configured (`TELLTALE_ATTACHMENTS_RETENTION_DAYS`). */
export const DEFAULT_RETENTION_DAYS = 30;
/** How often expired day folders are looked for, besides at open. */
export const RETENTION_CHECK_MS = 60 * 60 * 1000;
const DAY_FOLDER = /^\d{4}-\d{2}-\d{2}$/;

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

type Usage = { files: number; bytes: number };

/** Walks a folder: bytes and attachments (sidecars) present, leftovers of a crash removed. */
async function scan(dir: string): Promise<Usage> {
  const usage = { bytes: 0, files: 0 };
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name.endsWith('.tmp')) await rm(full, { force: true });
      else {
        usage.bytes += (await stat(full)).size;
        if (entry.name.endsWith('.json')) usage.files += 1;
      }
    }
  };
  await walk(dir);
  return usage;
}

/** `<dir>/<app>/<day>` folders, by app. */
async function dayFolders(dir: string): Promise<Array<{ app: string; day: string; path: string }>> {
  const out: Array<{ app: string; day: string; path: string }> = [];
  for (const app of await readdir(dir, { withFileTypes: true })) {
    if (!app.isDirectory()) continue;
    for (const day of await readdir(path.join(dir, app.name), { withFileTypes: true }))
      if (day.isDirectory() && DAY_FOLDER.test(day.name))
        out.push({ app: app.name, day: day.name, path: path.join(dir, app.name, day.name) });
  }
  return out;
}

/**
 * Attachments (`reportBug`) under `<dir>/<app>/<yyyy-mm-dd>/<id>.gz` with `<id>.json` beside it:
 * a day folder is the retention unit, deleted whole.
 */
export async function openAttachmentStore(options: {
  dir: string;
  maxTotalBytes: number;
  /** Day folders older than this many days are deleted, at open and hourly. Default 30. */
  retentionDays?: number;
  now?: () => number;
}): Promise<AttachmentStore> {
  const dir = path.resolve(options.dir);
  const now = options.now ?? Date.now;
  const retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
  // Bug reports are raw customer-adjacent data: this user only (files are written 0600).
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  let { bytes, files } = await scan(dir);
  let reserved = 0;
  let today = dayOf(now());
  let usage = new Map<string, Usage>();
  for (const folder of await dayFolders(dir))
    if (folder.day === today) usage.set(folder.app, await scan(folder.path));
  const countToday = (app: string, day: string, size: number): void => {
    if (day !== today) {
      today = day;
      usage = new Map();
    }
    const current = usage.get(app) ?? { files: 0, bytes: 0 };
    usage.set(app, { files: current.files + 1, bytes: current.bytes + size });
  };

  // Whole day folders, oldest first; a folder is the retention unit, never single files.
  let expiring: Promise<number> | undefined;
  const removeExpired = (): Promise<number> =>
    (expiring ??= (async () => {
      const cutoff = dayOf(now() - retentionDays * DAY_MS);
      let removed = 0;
      for (const folder of await dayFolders(dir)) {
        if (folder.day >= cutoff) continue;
        const gone = await scan(folder.path);
        await rm(folder.path, { recursive: true, force: true });
        bytes -= gone.bytes;
        files -= gone.files;
        removed += 1;
      }
      if (removed > 0) await fsyncDir(dir);
      return removed;
    })().finally(() => {
      expiring = undefined;
    }));
  await removeExpired();
  const timer = setInterval(() => void removeExpired().catch(() => undefined), RETENTION_CHECK_MS);
  timer.unref();
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
    const receivedAt = now();
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
      const created = await mkdir(dayDir, { recursive: true, mode: 0o700 });
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
      countToday(input.app, dayOf(receivedAt), size);
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
    usageToday: () => (dayOf(now()) === today ? new Map(usage) : new Map()),
    removeExpired,
    close: async () => {
      clearInterval(timer);
      await expiring;
    },
  };
}
