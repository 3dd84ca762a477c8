import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import {
  artifactId,
  artifactPath,
  dataLayout,
  debugIdKey,
  DEBUG_ID_DIR,
  releaseDirName,
} from '@telltale/protocol';

/**
 * Reader of the local artifact store the collector writes on `POST /v1/releases/:release/sourcemaps`
 * (writer: collector/src/sourcemaps.ts; layout in ARCHITECTURE.md):
 *
 *   <data>/artifacts/<app>/<release dir>/release.json   {"app", "release"}
 *   <data>/artifacts/<app>/<release dir>/<id>.map       the source map, as uploaded
 *   <data>/artifacts/<app>/<release dir>/<id>.json      ArtifactMeta; written last, so a meta implies its map
 *   <data>/artifacts/<app>/@debug-ids/<debug id>.json  {"release", "id"}: the map a debug ID names
 *
 * `<release dir>` is the release itself when it is a plain name, else `~` + a hash of it;
 * `<id>` is a hash of the file's URL path, so a re-upload of the same file replaces it.
 */
export interface ArtifactMeta {
  id: string;
  /** The minified file's URL as uploaded, e.g. `https://app.example.com/assets/app.3f9a2c1b.js` or `~/assets/app.js`. */
  name: string;
  /** What frames are matched on: the URL path without origin, query or fragment (`/assets/app.3f9a2c1b.js`). */
  path: string;
  /** Epoch ms when this map was first stored (an identical re-upload keeps it). */
  uploadedAt: number;
  mapBytes: number;
  /** SHA-256 (hex) of the map text. */
  sha256?: string;
}

export function artifactsRoot(dataDir: string): string {
  return dataLayout(dataDir).artifacts;
}

// Release folders, debug-ID index and map names: protocol's artifact-layout.ts (the collector writes them).
export { artifactId, artifactPath, debugIdKey, DEBUG_ID_DIR, releaseDirName };

/**
 * The debug ID a frame's script carries: the collector writes `debugid-<32 hex>+` before the script
 * URL of frames an event's `debug_meta` names (collector/src/sentry/event.ts). It sits in the URL's
 * scheme, which grouping and artifactPath drop and the scrubber keeps.
 */
export function frameDebugId(file: string): string | undefined {
  if (!file.startsWith('debugid-') || file[40] !== '+') return undefined;
  return debugIdKey(file.slice(8, 40));
}

function isMeta(value: unknown): value is ArtifactMeta {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return (
    typeof m.id === 'string' &&
    /^[0-9a-f]{32}$/.test(m.id) &&
    typeof m.name === 'string' &&
    typeof m.path === 'string' &&
    typeof m.uploadedAt === 'number' &&
    typeof m.mapBytes === 'number'
  );
}

export interface ArtifactStore {
  /** The artifacts of one release, oldest upload first; [] when none were uploaded. */
  list(app: string, release: string): Promise<ArtifactMeta[]>;
  /** Releases of the app that have artifacts (for "maps exist for 1.4.1 but not for 1.4.2"). */
  releases(app: string): Promise<string[]>;
  readMap(app: string, release: string, meta: ArtifactMeta): Promise<string>;
  /** The map uploaded with this debug ID, and the release it was uploaded for. */
  byDebugId(app: string, debugId: string): Promise<{ release: string; meta: ArtifactMeta } | undefined>;
}

// Listing a release reads one small file per artifact: remember it until the folder changes.
const LISTING_CACHE = 256;

export function openArtifactStore(root: string): ArtifactStore {
  const listings = new LRUCache<string, { mtimeMs: number; metas: ArtifactMeta[] }>({ max: LISTING_CACHE });
  const releaseDir = (app: string, release: string): string =>
    path.join(root, path.basename(app), releaseDirName(release));

  return {
    async list(app, release) {
      const dir = releaseDir(app, release);
      const info = await stat(dir).catch(() => undefined);
      if (info === undefined || !info.isDirectory()) return [];
      const key = `${app}\u0000${release}`;
      const cached = listings.get(key);
      // A rename into the folder (every upload ends with one) moves its mtime.
      if (cached !== undefined && cached.mtimeMs === info.mtimeMs) return cached.metas;
      const names = (await readdir(dir).catch(() => [] as string[])).filter((n) =>
        /^[0-9a-f]{32}\.json$/.test(n),
      );
      const metas: ArtifactMeta[] = [];
      for (const name of names) {
        const parsed = await readFile(path.join(dir, name), 'utf8')
          .then((text) => JSON.parse(text) as unknown)
          .catch(() => undefined);
        if (isMeta(parsed)) metas.push(parsed);
      }
      metas.sort((a, b) => a.uploadedAt - b.uploadedAt || a.path.localeCompare(b.path));
      listings.set(key, { mtimeMs: info.mtimeMs, metas });
      return metas;
    },
    async releases(app) {
      const appDir = path.join(root, path.basename(app));
      const dirs = await readdir(appDir).catch(() => [] as string[]);
      const found: string[] = [];
      for (const dir of dirs) {
        const parsed = await readFile(path.join(appDir, dir, 'release.json'), 'utf8')
          .then((text) => JSON.parse(text) as { release?: unknown })
          .catch(() => undefined);
        if (typeof parsed?.release === 'string') found.push(parsed.release);
      }
      return found.sort();
    },
    readMap(app, release, meta) {
      return readFile(path.join(releaseDir(app, release), `${meta.id}.map`), 'utf8');
    },
    async byDebugId(app, debugId) {
      const key = debugIdKey(debugId);
      if (key === undefined) return undefined;
      const entry = await readFile(path.join(root, path.basename(app), DEBUG_ID_DIR, `${key}.json`), 'utf8')
        .then((text) => JSON.parse(text) as { release?: unknown; id?: unknown })
        .catch(() => undefined);
      if (
        typeof entry?.release !== 'string' ||
        typeof entry.id !== 'string' ||
        !/^[0-9a-f]{32}$/.test(entry.id)
      )
        return undefined;
      const meta = await readFile(path.join(releaseDir(app, entry.release), `${entry.id}.json`), 'utf8')
        .then((text) => JSON.parse(text) as unknown)
        .catch(() => undefined);
      return isMeta(meta) ? { release: entry.release, meta } : undefined;
    },
  };
}

/**
 * The artifact for a frame's script: the same URL path, else the only upload with the same file
 * name (maps uploaded under another prefix still resolve).
 */
export function findArtifact(metas: readonly ArtifactMeta[], file: string): ArtifactMeta | undefined {
  const wanted = artifactPath(file);
  const exact = metas.find((m) => m.path === wanted);
  if (exact !== undefined) return exact;
  const base = wanted.slice(wanted.lastIndexOf('/') + 1);
  const sameName = metas.filter((m) => m.path.slice(m.path.lastIndexOf('/') + 1) === base);
  return sameName.length === 1 ? sameName[0] : undefined;
}
