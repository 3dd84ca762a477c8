import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Command, CommandIO } from './types.js';
import { usageFailure, UsageError } from './usage.js';

const USAGE = `Usage: telltale sourcemaps upload <dir> --release <release> --url-prefix <url> [--endpoint <url>] [--key <secret>]

Uploads the source maps of one build, so stacks from that release show original files, lines and functions.

  <dir>          the build output, e.g. ./dist (searched recursively for .js, .mjs, .cjs, .bundle files and their maps)
  --release      the release the SDK reports (Telltale.init({ release })), e.g. 1.4.2
  --url-prefix   where <dir> is served, e.g. https://app.example.com/ (a file dist/assets/app.js is then
                 https://app.example.com/assets/app.js); ~/ matches any host
  --endpoint     the Telltale server (TELLTALE_ENDPOINT, default http://127.0.0.1:<TELLTALE_PORT or 8080>)
  --key          the app's SECRET key (TELLTALE_SECRET_KEY; default: the demo app's, from <TELLTALE_DATA_DIR>/demo-app.json)
  --dry-run      list what would be uploaded, upload nothing
`;

const SCRIPT = /\.(?:m?js|cjs|bundle|jsbundle)$/;
const MAX_FILES = 10_000;

/** Where the command line talks to: `--endpoint`, TELLTALE_ENDPOINT, or the local server. */
export function resolveEndpoint(option: string | undefined, env: NodeJS.ProcessEnv): string {
  const raw = option ?? env.TELLTALE_ENDPOINT ?? `http://127.0.0.1:${env.TELLTALE_PORT || '8080'}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--endpoint "${raw}" is not a URL; use e.g. http://127.0.0.1:8080`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--endpoint "${raw}" must be an http(s) URL`);
  return raw.replace(/(?<!\/)\/+$/, '');
}

/** Times one file is retried after a 429 before it counts as failed. */
export const UPLOAD_RETRIES = 5;
/** The longest Retry-After the command waits out; a longer one (a quota window) is a failure to report. */
export const MAX_RETRY_AFTER_SECONDS = 60;

/**
 * Seconds to wait before retrying a 429, from its Retry-After (delta seconds or an HTTP date);
 * 1 when absent or unreadable; undefined when longer than the command is willing to wait.
 */
export function retryDelaySeconds(header: string | null, now = Date.now()): number | undefined {
  const value = header?.trim() ?? '';
  let seconds = 1;
  if (/^\d+$/.test(value)) seconds = Number(value);
  else if (value !== '' && !Number.isNaN(Date.parse(value)))
    seconds = Math.ceil((Date.parse(value) - now) / 1000);
  seconds = Math.max(seconds, 1);
  return seconds > MAX_RETRY_AFTER_SECONDS ? undefined : seconds;
}

/** The answer's error message in our JSON shape, or the status line. */
export async function describeFailure(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string; field?: string } };
    if (body.error !== undefined)
      return `${response.status} ${body.error.code ?? ''}: ${body.error.message ?? ''}${body.error.field ? ` (${body.error.field})` : ''}`;
  } catch {
    // not JSON
  }
  return `${response.status} ${response.statusText}`;
}

async function walk(dir: string, found: string[] = []): Promise<string[]> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (found.length >= MAX_FILES) break;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') await walk(full, found);
    } else if (entry.isFile()) found.push(full);
  }
  return found;
}

const exists = (file: string): Promise<boolean> =>
  stat(file).then(
    (s) => s.isFile(),
    () => false,
  );

/** The map of a script: its `sourceMappingURL` (a file beside it, or inline base64), else `<file>.map`. */
async function mapOf(script: string): Promise<{ text: string; from: string } | undefined> {
  const code = await readFile(script, 'utf8');
  const comment = /[#@]\s*sourceMappingURL=(\S+)(?:\s*\*\/)?\s*$/.exec(code.slice(-4096))?.[1];
  if (comment !== undefined) {
    const inline = /^data:application\/json[^,]*;base64,(.+)$/.exec(comment);
    if (inline?.[1] !== undefined)
      return { text: Buffer.from(inline[1], 'base64').toString('utf8'), from: 'inline' };
    if (!/^[a-z][a-z0-9+.-]*:/i.test(comment)) {
      const file = path.resolve(path.dirname(script), decodeURIComponent(comment.split(/[?#]/)[0] ?? ''));
      if (await exists(file)) return { text: await readFile(file, 'utf8'), from: file };
    }
  }
  if (await exists(`${script}.map`))
    return { text: await readFile(`${script}.map`, 'utf8'), from: `${script}.map` };
  return undefined;
}

export interface PlannedUpload {
  /** The script's path inside <dir>, with `/` separators. */
  file: string;
  /** The URL browsers load it from. */
  name: string;
  map: string;
  /** The script's `//# debugId=` (sentry-cli sourcemaps inject, Sentry's bundler plugins), if any. */
  debugId?: string;
}

// sentry-cli writes `//# debugId=<uuid>` at the end of each script it injects.
const DEBUG_ID_COMMENT = /\/\/# debugId=([0-9a-fA-F-]{32,36})\s*$/m;

/** The debug ID written into a script, read from its last 4 KB. */
async function debugIdOf(script: string): Promise<string | undefined> {
  const code = await readFile(script, 'utf8');
  return DEBUG_ID_COMMENT.exec(code.slice(-4096))?.[1];
}

/** What `upload` sends: every script with a map, and maps whose script is not in <dir> (React Native bundles). */
export async function planUploads(
  dir: string,
  urlPrefix: string,
): Promise<{ uploads: PlannedUpload[]; withoutMap: string[] }> {
  const files = await walk(dir);
  const prefix = urlPrefix.endsWith('/') ? urlPrefix : `${urlPrefix}/`;
  const relative = (file: string): string => path.relative(dir, file).split(path.sep).join('/');
  const uploads: PlannedUpload[] = [];
  const withoutMap: string[] = [];
  const usedMaps = new Set<string>();
  const present = new Set(files);
  for (const file of files.filter((f) => SCRIPT.test(f)).sort()) {
    const map = await mapOf(file);
    if (map === undefined) {
      withoutMap.push(relative(file));
      continue;
    }
    usedMaps.add(path.resolve(map.from));
    const debugId = await debugIdOf(file);
    uploads.push({
      file: relative(file),
      name: `${prefix}${relative(file)}`,
      map: map.text,
      ...(debugId ? { debugId } : {}),
    });
  }
  for (const file of files.filter((f) => f.endsWith('.map')).sort()) {
    const script = file.slice(0, -'.map'.length);
    if (usedMaps.has(path.resolve(file)) || present.has(script) || !SCRIPT.test(script)) continue;
    uploads.push({
      file: relative(script),
      name: `${prefix}${relative(script)}`,
      map: await readFile(file, 'utf8'),
    });
  }
  return { uploads, withoutMap };
}

async function secretKey(option: string | undefined, io: CommandIO): Promise<string> {
  const key = option ?? io.env.TELLTALE_SECRET_KEY;
  if (key !== undefined && key !== '') return key;
  const file = path.resolve(io.env.TELLTALE_DATA_DIR || '.telltale', 'demo-app.json');
  const demo = await readFile(file, 'utf8')
    .then((text) => JSON.parse(text) as { secretKey?: unknown })
    .catch(() => undefined);
  if (typeof demo?.secretKey === 'string') {
    io.stderr.write(`telltale: no --key given; using the demo app's secret key from ${file}\n`);
    return demo.secretKey;
  }
  throw new UsageError("--key is required: the app's secret key (or set TELLTALE_SECRET_KEY)");
}

async function upload(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      release: { type: 'string' },
      'url-prefix': { type: 'string' },
      endpoint: { type: 'string' },
      key: { type: 'string' },
      'dry-run': { type: 'boolean' },
    },
  });
  const [dirArg] = positionals;
  if (dirArg === undefined || positionals.length > 1)
    throw new UsageError('give exactly one build folder, e.g. ./dist');
  const release = values.release;
  if (release === undefined || release.trim() === '')
    throw new UsageError('--release is required, e.g. --release 1.4.2');
  const urlPrefix = values['url-prefix'];
  if (urlPrefix === undefined || !/^(?:https?:\/\/[^/]+|~)(?:\/|$)/.test(urlPrefix))
    throw new UsageError(
      '--url-prefix is required: the URL the folder is served from, e.g. https://app.example.com/assets/ or ~/assets/',
    );
  const dir = path.resolve(dirArg);
  if (
    !(await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    throw new UsageError(`${dirArg} is not a folder`);

  const { uploads, withoutMap } = await planUploads(dir, urlPrefix);
  for (const file of withoutMap)
    io.stderr.write(`skipped ${file}: no source map found (no sourceMappingURL, no ${file}.map)\n`);
  if (uploads.length === 0) {
    io.stderr.write(
      `telltale: no source maps found in ${dirArg}; build with source maps on (esbuild --sourcemap, vite build.sourcemap)\n`,
    );
    return 1;
  }
  if (values['dry-run'] === true) {
    for (const u of uploads) io.stdout.write(`would upload ${u.file} as ${u.name}\n`);
    return 0;
  }
  const endpoint = resolveEndpoint(values.endpoint, io.env);
  const key = await secretKey(values.key, io);
  const url = `${endpoint}/v1/releases/${encodeURIComponent(release.trim())}/sourcemaps`;
  let failed = 0;
  // One file per request: bounded memory on both ends, and one bad map does not sink the others.
  for (const u of uploads) {
    // The map's own `debug_id` is read by the collector; the script's comment travels beside it.
    const body = gzipSync(
      JSON.stringify({
        files: [{ name: u.name, map: u.map, ...(u.debugId ? { debugId: u.debugId } : {}) }],
      }),
    );
    let response: Response;
    // The upload route is rate limited: a 429 with a short Retry-After is waited out, a few times.
    for (let attempt = 0; ; attempt++) {
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${key}`,
            'content-type': 'application/json',
            'content-encoding': 'gzip',
          },
          body,
        });
      } catch (error) {
        io.stderr.write(`telltale: cannot reach ${endpoint}: ${(error as Error).message}\n`);
        return 1;
      }
      if (response.status !== 429 || attempt >= UPLOAD_RETRIES) break;
      const wait = retryDelaySeconds(response.headers.get('retry-after'));
      if (wait === undefined) break;
      await response.body?.cancel();
      io.stderr.write(
        `rate limited on ${u.file}: retrying in ${wait} s (${attempt + 1} of ${UPLOAD_RETRIES})\n`,
      );
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    }
    if (response.ok) {
      const body = (await response.json()) as {
        files?: Array<{ path?: string; sources?: number; debugId?: string }>;
      };
      const stored = body.files?.[0];
      const byId = stored?.debugId ? `, debug ID ${stored.debugId}` : '';
      io.stdout.write(`uploaded ${u.file} → ${u.name} (${stored?.sources ?? '?'} sources${byId})\n`);
    } else {
      failed += 1;
      io.stderr.write(`failed ${u.file}: ${await describeFailure(response)}\n`);
      if (response.status === 401) return 1; // the same key fails for every file
    }
  }
  io.stdout.write(
    `${uploads.length - failed} of ${uploads.length} source map${uploads.length === 1 ? '' : 's'} uploaded for release ${release.trim()}\n`,
  );
  return failed === 0 ? 0 : 1;
}

export const sourcemapsCommand: Command = {
  summary:
    "upload a build's source maps: telltale sourcemaps upload ./dist --release 1.4.2 --url-prefix <url>",
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
      io.stdout.write(USAGE);
      return sub === undefined ? 2 : 0;
    }
    try {
      if (sub !== 'upload') throw new UsageError(`unknown subcommand "${sub}"`);
      return await upload(rest, io);
    } catch (error) {
      return usageFailure(io, error, USAGE);
    }
  },
};
