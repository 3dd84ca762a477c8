import { createHash } from 'node:crypto';

/**
 * How uploaded source maps are named under `<data dir>/artifacts/<app>/`: the collector writes them,
 * the dispatchers' artifact store reads them, so the names are defined once here.
 */

const PLAIN_RELEASE = /^[A-Za-z0-9_][A-Za-z0-9._+-]{0,99}$/;

/** A release's folder: the release itself when it is a plain name, else `~` and a hash of it. */
export function releaseDirName(release: string): string {
  return PLAIN_RELEASE.test(release)
    ? release
    : `~${createHash('sha256').update(release).digest('hex').slice(0, 32)}`;
}

/** Where maps are indexed by debug ID; `@` starts no release dir name, so no release can take it. */
export const DEBUG_ID_DIR = '@debug-ids';
const DEBUG_ID = /^([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})$/i;

/** A debug ID (a UUID, with or without dashes) as its index file's name, or undefined. */
export function debugIdKey(debugId: unknown): string | undefined {
  if (typeof debugId !== 'string' || debugId.length > 36) return undefined;
  const match = DEBUG_ID.exec(debugId);
  return match === null ? undefined : match.slice(1).join('').toLowerCase();
}

/**
 * The part of a script URL that names the file on every host: `https://cdn.example.com/a/b.js?v=1`,
 * `~/a/b.js` and `/a/b.js` all become `/a/b.js`; a bare `index.android.bundle` becomes `/index.android.bundle`.
 */
export function artifactPath(url: string): string {
  let result = url.trim().replace(/[?#].*/s, '');
  result = result.replace(/^~(?=\/)/, '').replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  try {
    result = decodeURIComponent(result);
  } catch {
    // a stray % stays as it is
  }
  return result.startsWith('/') ? result : `/${result}`;
}

/** A map's file name in its release folder (`<id>.map`, `<id>.json`): a hash of its artifactPath. */
export function artifactId(urlPath: string): string {
  return createHash('sha256').update(urlPath).digest('hex').slice(0, 32);
}
