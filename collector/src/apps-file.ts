import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { invalidConfig as invalid, jsonErrorWhere } from '@telltale/protocol';
import { resolveApps, type CollectorApp, type CollectorAppOptions } from './apps.js';

/** The file's name when `TELLTALE_CONFIG` does not say: `./telltale.config.json`. */
export const DEFAULT_CONFIG_FILE = 'telltale.config.json';

/**
 * `telltale.config.json`: the apps a collector accepts data for, written by `telltale apps …` and
 * re-read by a running server when it changes.
 *
 * ```json
 * { "apps": [{ "id": "web", "name": "Web app", "ingestKeys": ["tt_…"], "secretKeys": ["tt_secret_…"],
 *              "allowedOrigins": ["https://app.example.com"], "revokedKeys": ["<sha256 of an old key>"] }] }
 * ```
 */
export interface AppsFile {
  apps: CollectorAppOptions[];
}

const TOP_LEVEL = ['$schema', 'apps'];

/** Where the apps file is: `TELLTALE_CONFIG`, else ./telltale.config.json (resolved against `cwd`). */
export function appsFilePath(
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): { file: string; explicit: boolean } {
  const configured = env.TELLTALE_CONFIG;
  if (configured !== undefined && configured.trim() === '')
    invalid('TELLTALE_CONFIG', 'must be the path of a telltale.config.json file, or unset');
  return configured !== undefined
    ? { file: path.resolve(cwd, configured), explicit: true }
    : { file: path.resolve(cwd, DEFAULT_CONFIG_FILE), explicit: false };
}

/** Parses and validates the file's text; messages name the file and the field. */
export function parseAppsFile(text: string, file: string): { file: AppsFile; apps: CollectorApp[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    invalid(
      file,
      `${jsonErrorWhere(text, error)}; fix it or run "telltale apps add <id>" to start a new one`,
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    invalid(file, 'must be a JSON object { "apps": [ … ] }');
  for (const key of Object.keys(raw)) {
    if (!TOP_LEVEL.includes(key))
      invalid(`${file} ${key}`, `unknown setting; expected one of ${TOP_LEVEL.join(', ')}`);
  }
  const apps = resolveApps(
    (raw as { apps?: unknown }).apps,
    `${file} apps`,
    'add one with "telltale apps add <id>"',
  );
  return { file: { apps: (raw as AppsFile).apps }, apps };
}

/** Reads the apps file; undefined when it does not exist. */
export async function readAppsFile(
  file: string,
): Promise<{ file: AppsFile; apps: CollectorApp[] } | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    invalid(file, `cannot be read (${(error as Error).message})`);
  }
  return parseAppsFile(text, file);
}

/** Validates, then replaces the file atomically (tmp, fsync, rename), readable by its owner only: it holds secret keys. */
export async function writeAppsFile(file: string, contents: AppsFile): Promise<CollectorApp[]> {
  const text = JSON.stringify(contents, null, 2) + '\n';
  const { apps } = parseAppsFile(text, file);
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  return apps;
}

/** A cheap change detector for polling: size and modification time, or undefined when the file is absent. */
export async function appsFileVersion(file: string): Promise<string | undefined> {
  try {
    const info = await stat(file);
    return `${info.size}:${info.mtimeMs}:${info.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * The apps a server starts with from its apps file: none when the file is absent and was not named
 * (`required` false), a start-up error when it was named and is absent, or when an app takes an id
 * the server reserves (the built-in demo app).
 */
export async function loadAppsFile(options: {
  file: string;
  required: boolean;
  reservedIds?: readonly string[];
}): Promise<{ apps: CollectorAppOptions[]; version: string | undefined }> {
  const version = await appsFileVersion(options.file);
  const read = await readAppsFile(options.file);
  if (read === undefined) {
    if (options.required)
      invalid('TELLTALE_CONFIG', `${options.file} does not exist; create it with "telltale apps add <id>"`);
    return { apps: [], version };
  }
  read.apps.forEach((app, i) => {
    if (options.reservedIds?.includes(app.id))
      invalid(
        `${options.file} apps[${i}].id`,
        `"${app.id}" is the built-in demo app's id; choose another id`,
      );
  });
  return { apps: read.file.apps, version };
}
