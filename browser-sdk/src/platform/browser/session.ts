import { newId, randomHex } from '../../core/ids.js';

const KEY = 'telltale.session';
/** A session ends after 30 minutes without an event (the usual web analytics rule). */
export const SESSION_IDLE_MS = 30 * 60_000;
/** Storage is read and written at most this often: 10,000 errors in a loop must stay cheap. */
const TOUCH_MS = 5000;
// A value another script could have written: refuse anything that would make the collector reject batches.
const VALID = /^[\w-]{1,64} [\da-f]{32} \d+$/;

let cached: string[] | undefined;

/** Session id and W3C trace id, kept in localStorage (shared by tabs) and renewed after 30 idle minutes. */
export function currentSession(now = Date.now()): [string, string] {
  let s = cached;
  if (!s || now - +s[2]! > TOUCH_MS) {
    try {
      const stored = localStorage.getItem(KEY);
      if (stored && VALID.test(stored)) s = stored.split(' ');
    } catch {
      // storage blocked (privacy mode, sandboxed iframe): the session lives as long as the page
    }
    if (!s || now - +s[2]! > SESSION_IDLE_MS) s = [newId(now), randomHex(16), ''];
    s[2] = `${now}`;
    try {
      localStorage.setItem(KEY, s.join(' '));
    } catch {
      // as above
    }
    cached = s;
  }
  return [s[0]!, s[1]!];
}
