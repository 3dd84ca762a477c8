import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyError, FastifyPluginAsync, FastifyRequest } from 'fastify';
import {
  artifactId,
  artifactPath,
  dataLayout,
  debugIdKey,
  DEBUG_ID_DIR,
  LIMITS,
  releaseDirName,
} from '@telltale/protocol';
import { PRIVATE_DIR_MODE, writeFileDurably, fsyncDir } from '@telltale/spool';
import { createKeyRegistry, type KeyRegistry } from './apps.js';
import type { CollectorConfig } from './config.js';
import { countJsonValues, countJsonValuesInString } from './body-budget.js';
import { inflateBody } from './decode.js';
import { createGuard, createRefuse, type GuardDeps, type RequestAuth } from './guard.js';
import { createCollectorMetrics, type CollectorMetrics, type IngestRoute } from './metrics.js';
import { createRateLimiter } from './rate-limit.js';

/**
 * `POST /v1/releases/:release/sourcemaps` with the app's SECRET key (`Authorization: Bearer …`):
 * stores the source maps of one release in the local artifact store, where the dispatchers read
 * them to symbolicate stacks. Behind the ingest routes' guard (per-IP and per-key rate limits, key
 * checks, refusals counted by route and reason) and their bounded inflate. The body is JSON, gzip allowed:
 *
 *   { "files": [ { "name": "https://app.example.com/assets/app.3f9a2c1b.js", "map": "<the .map file's text>" } ] }
 *
 * `name` is the minified file's URL as browsers load it (`~/assets/app.js` for any host); frames are
 * matched on its path. Re-uploading a file replaces it. Layout (reader: dispatchers/src/intelligence/symbolicate/
 * artifact-store.ts; ARCHITECTURE.md):
 *
 *   <data>/artifacts/<app>/<release dir>/release.json, <id>.map, <id>.json
 *   <data>/artifacts/<app>/@debug-ids/<debug id>.json   {"release", "id"}: maps by debug ID
 *
 * A file's debug ID (`sentry-cli sourcemaps inject`, Sentry's bundler plugins) comes as `debugId`
 * beside `name`, or as `debug_id` / `debugId` inside the map.
 */
export const SOURCEMAPS_URL = '/v1/releases/:release/sourcemaps';

export interface SourceMapLimits {
  /** Largest request as sent, bytes (default 64 MiB; the CLI sends one file per request). */
  maxRequestBytes: number;
  /** Largest request after gunzip, bytes (default 256 MiB). */
  maxDecompressedBytes: number;
  /** Most files in one request (default 100). */
  maxFiles: number;
  /**
   * Most JSON values in one request, maps sent as JSON strings included, counted before parsing
   * (default 2 000 000; a 30 MB production bundle's map has about 300 000: its names and sources).
   */
  maxValues: number;
}

export const SOURCEMAP_LIMITS: Readonly<SourceMapLimits> = Object.freeze({
  maxRequestBytes: 64 * 1024 * 1024,
  maxDecompressedBytes: 256 * 1024 * 1024,
  maxFiles: 100,
  maxValues: 2_000_000,
});

export interface SourceMapRoutesOptions {
  /** The apps (an app's `secretKeys` may upload) and the rate limits, when no `guard` is given. */
  config: Pick<CollectorConfig, 'apps' | 'rateLimits'>;
  /** The collector's key registry (reloaded apps, revoked keys); default: one built from config.apps. */
  keys?: KeyRegistry;
  /**
   * The other ingest routes' guard: the same keys, per-IP and per-key rate limits and refusal
   * counters. Default: one of its own, from `keys`, `config.rateLimits` and `metrics`.
   */
  guard?: GuardDeps;
  /** Where refusals, uploads and bytes are counted when no `guard` is given; default: new counters. */
  metrics?: CollectorMetrics;
  /** The client spool (`<data>/spool/client`): artifacts go to `<data>/artifacts`, beside it. */
  spool: { dir: string };
  /** Overrides where artifacts go. */
  artifactsDir?: string;
  limits?: Partial<SourceMapLimits>;
}

export interface StoredSourceMap {
  name: string;
  path: string;
  id: string;
  sources: number;
  bytes: number;
  /** The debug ID the map is indexed by, when it has one (32 hex digits). */
  debugId?: string;
}

const MAX_NAME_LENGTH = 2048;

// Release folders, debug-ID index and map names: protocol's artifact-layout.ts (the dispatchers read them).
export { artifactPath, debugIdKey, DEBUG_ID_DIR, releaseDirName };

type Checked =
  | { ok: true; name: string; text: string; sources: number; debugId: string | undefined }
  | { ok: false; field: string; message: string };

/** A map must be a source map v3, plain or indexed; anything else is refused with the file it came from. */
function checkFile(entry: unknown, i: number): Checked {
  const field = `files[${i}]`;
  if (typeof entry !== 'object' || entry === null)
    return { ok: false, field, message: `${field} must be { name, map }` };
  const { name, map, debugId } = entry as { name?: unknown; map?: unknown; debugId?: unknown };
  if (
    typeof name !== 'string' ||
    name.trim() === '' ||
    name.length > MAX_NAME_LENGTH ||
    /\s/.test(name.trim())
  )
    return {
      ok: false,
      field: `${field}.name`,
      message: `${field}.name must be the minified file's URL (no spaces, at most ${MAX_NAME_LENGTH} characters), e.g. https://app.example.com/assets/app.js or ~/assets/app.js`,
    };
  let text: string;
  let parsed: unknown;
  try {
    text = typeof map === 'string' ? map : JSON.stringify(map);
    parsed = typeof map === 'string' ? JSON.parse(map) : map;
  } catch {
    return { ok: false, field: `${field}.map`, message: `the map for ${name} is not valid JSON` };
  }
  const m = parsed as {
    version?: unknown;
    mappings?: unknown;
    sources?: unknown;
    sections?: unknown;
    debug_id?: unknown;
    debugId?: unknown;
  } | null;
  const basic = typeof m?.mappings === 'string' && Array.isArray(m.sources);
  const indexed = Array.isArray(m?.sections);
  if (m === null || typeof m !== 'object' || m.version !== 3 || (!basic && !indexed))
    return {
      ok: false,
      field: `${field}.map`,
      message: `the map for ${name} is not a source map v3 (needs "version": 3 and "mappings" + "sources", or "sections")`,
    };
  return {
    ok: true,
    name: name.trim(),
    text,
    sources: basic ? (m.sources as unknown[]).length : (m.sections as unknown[]).length,
    debugId: debugIdKey(debugId) ?? debugIdKey(m.debug_id) ?? debugIdKey(m.debugId),
  };
}

// The metric label of this route.
const ROUTE: IngestRoute = 'sourcemaps';

const passBuffer = (
  _request: FastifyRequest,
  body: Buffer,
  done: (error: null, body: Buffer) => void,
): void => done(null, body);

/** The upload route as an encapsulated plugin with its own body limit, parsers and error shape. */
export const sourcemapRoutes: FastifyPluginAsync<SourceMapRoutesOptions> = async (app, options) => {
  const limits = { ...SOURCEMAP_LIMITS, ...options.limits };
  const metrics = options.metrics ?? createCollectorMetrics();
  const guard: GuardDeps = options.guard ?? {
    keys: options.keys ?? createKeyRegistry(options.config.apps),
    perIp: createRateLimiter(options.config.rateLimits.perIp),
    perKey: createRateLimiter(options.config.rateLimits.perKey),
    refuse: createRefuse(metrics),
    auth: new WeakMap<FastifyRequest, RequestAuth>(),
  };
  const { refuse } = guard;
  const root = options.artifactsDir ?? dataLayout(path.resolve(options.spool.dir, '..', '..')).artifacts;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limits.maxRequestBytes }, passBuffer);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return refuse(reply, ROUTE, 'TELLTALE_ERR_BODY_TOO_LARGE', 'body_too_large', {
        limit: limits.maxRequestBytes,
      });
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)
      return refuse(reply, ROUTE, 'TELLTALE_ERR_INVALID_SOURCEMAP', 'unreadable_body', {
        message: `request could not be read (${error.code ?? error.statusCode})`,
      });
    // Only a failed write is STORAGE (503, retried); anything else is a bug and must not be retried forever.
    const failedWrite = typeof (error as { syscall?: unknown }).syscall === 'string';
    request.log.error({ err: error }, 'collector: source map upload failed');
    return failedWrite
      ? refuse(reply, ROUTE, 'TELLTALE_ERR_STORAGE', 'storage', {
          message: 'the source maps could not be stored; retry later',
        })
      : refuse(reply, ROUTE, 'TELLTALE_ERR_INTERNAL', 'unexpected', {
          message: 'unexpected error while storing source maps',
        });
  });

  app.route<{ Params: { release: string } }>({
    method: 'POST',
    url: SOURCEMAPS_URL,
    bodyLimit: limits.maxRequestBytes,
    // The ingest routes' guard, from the headers, before a (possibly large) body is read: rate limits
    // by IP and by key, the secret key (never in a URL), Content-Encoding.
    onRequest: createGuard(guard, { route: ROUTE, kinds: ['secret'], checkOrigin: false }),
    handler: async (request, reply) => {
      const auth = guard.auth.get(request);
      if (auth === undefined) return refuse(reply, ROUTE, 'TELLTALE_ERR_UNAUTHORIZED', 'missing_key'); // unreachable: the guard set it
      const appId = auth.app.id;
      const { release } = request.params;
      // eslint-disable-next-line no-control-regex
      if (release === '' || release.length > LIMITS.maxIdLength || /[\u0000-\u001f\u007f]/.test(release))
        return refuse(reply, ROUTE, 'TELLTALE_ERR_INVALID_SOURCEMAP', 'invalid_release', {
          field: 'release',
          message: `the release must be 1-${LIMITS.maxIdLength} printable characters, the same as the SDK's release`,
        });

      const sent = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const inflated = await inflateBody(sent, auth.encoding, limits.maxDecompressedBytes);
      if (!inflated.ok) {
        const { code, reason, message, limit, field } = inflated;
        return refuse(reply, ROUTE, code, reason, { message, limit, field });
      }
      const tooMany = () =>
        refuse(reply, ROUTE, 'TELLTALE_ERR_BODY_TOO_COMPLEX', 'too_many_values', {
          message: `the upload holds more than ${limits.maxValues} JSON values; upload fewer maps per request`,
          limit: limits.maxValues,
        });
      // Counted before parsing: JSON.parse costs per value, and `[0,0,…]` is two bytes a value.
      let left = limits.maxValues - countJsonValues(inflated.value, limits.maxValues);
      if (left < 0) return tooMany();
      let parsed: unknown;
      try {
        parsed = JSON.parse(inflated.value.toString('utf8'));
      } catch {
        return refuse(reply, ROUTE, 'TELLTALE_ERR_INVALID_SOURCEMAP', 'not_json', {
          message: 'the body is not JSON: send {"files": [{"name", "map"}]}',
        });
      }
      const files = (parsed as { files?: unknown } | null)?.files;
      if (!Array.isArray(files) || files.length === 0 || files.length > limits.maxFiles)
        return refuse(reply, ROUTE, 'TELLTALE_ERR_INVALID_SOURCEMAP', 'bad_files', {
          field: 'files',
          message: `send {"files": [{"name", "map"}]} with 1-${limits.maxFiles} files`,
        });
      // A map sent as a JSON string is parsed again by checkFile: its values count too.
      for (const file of files) {
        const map = (file as { map?: unknown } | null)?.map;
        if (typeof map === 'string') left -= countJsonValuesInString(map, Math.max(left, 0));
        if (left < 0) return tooMany();
      }
      const checked = files.map(checkFile);
      const bad = checked.find((c) => !c.ok);
      if (bad !== undefined && !bad.ok)
        return refuse(reply, ROUTE, 'TELLTALE_ERR_INVALID_SOURCEMAP', 'invalid_sourcemap', {
          field: bad.field,
          message: bad.message,
        });

      const dir = path.join(root, appId, releaseDirName(release));
      // Maps are the app's source code: this user only (files are 0600 by writeFileDurably).
      await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
      await writeFileDurably(path.join(dir, 'release.json'), `${JSON.stringify({ app: appId, release })}\n`);
      const stored: StoredSourceMap[] = [];
      for (const file of checked) {
        if (!file.ok) continue;
        const urlPath = artifactPath(file.name);
        const id = artifactId(urlPath);
        const sha256 = createHash('sha256').update(file.text).digest('hex');
        const before = await readFile(path.join(dir, `${id}.json`), 'utf8')
          .then((text) => JSON.parse(text) as { sha256?: unknown; uploadedAt?: unknown })
          .catch(() => undefined);
        // The same map uploaded again keeps its first upload time: events grouped with it before group the same on replay.
        const unchanged = before?.sha256 === sha256 && typeof before.uploadedAt === 'number';
        const uploadedAt =
          unchanged && typeof before?.uploadedAt === 'number' ? before.uploadedAt : Date.now();
        const meta = {
          id,
          name: file.name,
          path: urlPath,
          uploadedAt,
          mapBytes: Buffer.byteLength(file.text),
          sha256,
        };
        // The map first, its meta last: a meta the reader sees always has its map.
        if (!unchanged) await writeFileDurably(path.join(dir, `${id}.map`), file.text);
        await writeFileDurably(path.join(dir, `${id}.json`), `${JSON.stringify(meta)}\n`);
        stored.push({
          name: file.name,
          path: urlPath,
          id,
          sources: file.sources,
          bytes: meta.mapBytes,
          ...(file.debugId ? { debugId: file.debugId } : {}),
        });
        if (file.debugId !== undefined) {
          // After the meta: an index entry the reader sees always has its meta and map.
          const index = path.join(root, appId, DEBUG_ID_DIR);
          await mkdir(index, { recursive: true, mode: PRIVATE_DIR_MODE });
          await writeFileDurably(
            path.join(index, `${file.debugId}.json`),
            `${JSON.stringify({ release, id })}\n`,
          );
          await fsyncDir(index);
        }
      }
      // fsync the folder so the renames themselves survive a crash: a 201 means the maps are on disk.
      await fsyncDir(dir);
      metrics.accepted(ROUTE, appId, stored.length);
      metrics.bytes(ROUTE, sent.length, inflated.value.length);
      return reply.code(201).send({ app: appId, release, files: stored });
    },
  });
};
